"""The Composition (CompositionSurpassPcsp) that makes the PCSP Bundle a document, and the
care-plan section it closes with.

One ``flt`` section per tumour (LOINC 72135-7: the tumour, its metastases and its front-line
treatment) holds sub-sections by treatment (chemotherapy, stem-cell transplant, radiotherapy,
surgery, other information) and, for a relapse after the end of treatment, a
``relapseAfterEOT`` section with the relapse and its own treatment sub-sections. Each section
has a title, its IG code and a narrative listing what it holds. A section the record has
nothing for is left out (the IG requires entries in each one it lists).

The care plan is a CarePlanPcsp in draft: the long-term follow-up plan that the PanCareSurPass
platform would generate from this passport; a synthetic record has no such plan, and the
draft says so rather than invent recommendations.
"""

from __future__ import annotations

import html

from service.exports.fhir_common import LOINC, XHTML, Json, cc
from service.exports.pcsp_builder import PassportBuilder
from service.exports.pcsp_codes import CS_GENERIC, Profile, generic

# Section slice name -> (code, title); codes as CompositionSurpassPcsp fixes them.
SECTIONS: dict[str, tuple[Json, str]] = {
    "chemotherapy": (cc(LOINC, "11486-8", "Chemotherapy records"), "Chemotherapy"),
    "stemCellTransplantation": (
        generic("section-sct", "Stem Cell Transplantation"),
        "Stem cell transplantation",
    ),
    "radiotherapy": (generic("section-rt", "Radiotherapy"), "Radiotherapy"),
    "majorSurgery": (cc(LOINC, "8690-0", "History of Surgical procedures"), "Surgery"),
    "otherInfos": (cc(LOINC, "55752-0", "Clinical information"), "Other information"),
}
RELAPSE = (
    generic("section-relapseAfterEOT", "Relapse After EOT"),
    "Relapse after end of treatment",
)
FLT = cc(LOINC, "72135-7", "Summary of episode note")
CARE_PLAN = cc(LOINC, "18776-5", "Plan of care note")
NIL = cc("http://terminology.hl7.org/CodeSystem/list-empty-reason", "nilknown", "Nil Known")


def _describe(resource: Json) -> str:
    """One line of narrative for a resource: what it is and when."""
    concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    what = concept.get("text") or next(
        (c.get("display") for c in concept.get("coding", []) if c.get("display")), None
    )
    when = (
        resource.get("onsetDateTime")
        or resource.get("performedDateTime")
        or resource.get("effectiveDateTime")
        or resource.get("performedPeriod", {}).get("start")
        or resource.get("effectivePeriod", {}).get("start")
    )
    dose = resource.get("dosage", {})
    if isinstance(dose, dict) and "dose" in dose:
        what = f"{what} {dose['dose']['value']} {dose['dose']['unit']}"
    return f"{what or resource['resourceType']}" + (f" ({when})" if when else "")


def narrative(lines: list[str]) -> Json:
    items = "".join(f"<li>{html.escape(line, quote=False)}</li>" for line in lines)
    return {"status": "generated", "div": f'<div xmlns="{XHTML}"><ul>{items}</ul></div>'}


class _Sections:
    def __init__(self, b: PassportBuilder):
        self.b = b
        self.by_url = {e["fullUrl"]: e["resource"] for e in b.entries}

    def section(self, path: str, code: Json, title: str, children: list[Json]) -> Json | None:
        refs = self.b.sections.get(path, [])
        if path.endswith("/chemotherapy") and not any(
            self.by_url[r["reference"]]["resourceType"] == "MedicationAdministration" for r in refs
        ):
            refs = []  # the chemotherapy section needs an administration; statements alone don't
        if not refs and not children:
            return None
        lines = [_describe(self.by_url[r["reference"]]) for r in refs]
        return {
            "title": title,
            "code": code,
            "text": narrative(lines or [title]),
            "entry": refs,
            "section": children,
        }

    def treatments(self, path: str, names: list[str]) -> list[Json]:
        found = [self.section(f"{path}/{n}", *SECTIONS[n], []) for n in names]
        return [s for s in found if s]

    def tumour(self, key: str, title: str) -> Json | None:
        children = self.treatments(key, list(SECTIONS))
        relapse = self.section(
            f"{key}/relapseAfterEOT",
            *RELAPSE,
            self.treatments(f"{key}/relapseAfterEOT", ["chemotherapy", "radiotherapy"]),
        )
        children += [relapse] if relapse else []
        if not children:  # the IG wants a sub-section; other information may be empty
            code, heading = SECTIONS["otherInfos"]
            text = "No treatment or other information recorded"
            children = [
                {"title": heading, "code": code, "text": narrative([text]), "emptyReason": NIL}
            ]
        return self.section(key, FLT, title, children)


def add_care_plan(b: PassportBuilder, addresses: list[Json], created: str) -> None:
    text = (
        "Draft: the long-term follow-up care plan is to be generated from this passport by "
        "the PanCareSurPass platform and reviewed by a clinician. Synthetic patient."
    )
    b.put(
        "carePlan",
        "care-plan",
        "CarePlan",
        Profile.CARE_PLAN,
        text=narrative([text]),
        status="draft",
        intent="proposal",
        subject=b.patient,
        created=created,
        addresses=addresses,
        activity=[{"detail": {"status": "not-started", "description": text}}],
    )


def composition(b: PassportBuilder, date: str) -> Json:
    """The Composition resource (not yet an entry): the passport's table of contents."""
    s = _Sections(b)
    r = b.record
    sections = [
        s.tumour("primary", f"Diagnosis and treatment: {r.diagnosis.tumour}"),
        s.tumour("second", f"Second tumour: {r.second_tumour.diagnosis.tumour}")
        if r.second_tumour
        else None,
        s.section("carePlan", CARE_PLAN, "Plan of care", []),
    ]
    d = r.demographics
    return {
        "resourceType": "Composition",
        "id": b.resource_id("composition"),
        "meta": {"profile": [Profile.COMPOSITION]},
        "language": r.provenance.language,
        "status": "final",
        "type": cc(CS_GENERIC, "surpass", "Childhood Cancer Survivor Passport"),
        "subject": b.patient,
        "date": date,
        "author": [{"display": f"{r.provenance.generator} (synthetic record generator)"}],
        "title": f"Childhood Cancer Survivor Passport: {d.given_name} {d.first_surname} "
        "(SYNTHETIC PATIENT - NOT A REAL PERSON)",
        "section": [x for x in sections if x],
    }
