"""What every part of the FHIR mapping shares: code systems, small JSON helpers, the builder core.

``service.exports.fhir`` (record -> Bundle) and ``service.exports.fhir_treatments``
(treatment mappings) both build on ``ResourceBuilder``, which gives each resource a
deterministic id and a ``PUT`` entry; this module imports neither of them.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable
from typing import Any

from service.records import Citation, PatientRecord

Json = dict[str, Any]

LOCAL = "http://clinsynth.local/fhir"
CODES = f"{LOCAL}/CodeSystem/clinsynth"
HEALTH_CARD_SYSTEM = f"{LOCAL}/sid/health-card"
MRN_SYSTEM = f"{LOCAL}/sid/medical-record-number"
RECORD_SYSTEM = "urn:clinsynth:record"
CHUNK_SYSTEM = "urn:clinsynth:chunk"
PROMPT_SYSTEM = "urn:clinsynth:prompt"
GENERATION_EXTENSION = f"{LOCAL}/StructureDefinition/generation"

PCSP = "http://hl7.eu/fhir/ig/pcsp/StructureDefinition/"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ATC = "http://www.whocc.no/atc"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
EDQM = "https://standardterms.edqm.eu"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
EXT = "http://hl7.org/fhir/StructureDefinition/"
XHTML = "http://www.w3.org/1999/xhtml"
HISTOLOGY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
PRIMARY_CANCER = PCSP + "Condition-primaryCancer-eu-pcsp"
RELATED_INFO = PCSP + "resource-relatedInfo"

# Fixed namespace: the resource ids of a record depend on nothing but the record.
_NAMESPACE = uuid.UUID("6f1f8f5e-2c1d-4d8e-9a57-8c3f0b6a4e21")
_UCUM = {"microgram/kg": "ug/kg", "IU/m2": "[iU]/m2"}  # other units are their own UCUM code
_UCUM_SAME = {"mg/m2", "g/m2", "mg/kg", "mg", "Gy", "MBq", "GBq", "mCi", "MBq/kg", "mCi/kg"}
# Resources about the patient get ``subject``; events get their usual status by default.
_ABOUT_PATIENT = {
    "Condition",
    "MedicationAdministration",
    "MedicationStatement",
    "Observation",
    "Procedure",
}
_DEFAULTS: dict[str, Json] = {
    "Observation": {"status": "final"},
    "Procedure": {"status": "completed"},
    "MedicationAdministration": {"status": "completed"},
    "MedicationStatement": {"status": "completed"},
}


# --- small JSON helpers ---------------------------------------------------------------------


def intrathecal_dosage(injections: int) -> list[Json]:
    """A MedicationStatement's dosage for ``injections`` intrathecal injections."""
    return [
        {
            "text": f"{injections} intrathecal injections",
            "route": cc(EDQM, "20042000", "Intrathecal use"),
            "timing": {"repeat": {"count": injections}},
        }
    ]


def cc(system: str, code: str | None, display: str | None, text: str | None = None) -> Json:
    """A CodeableConcept with one coding (none without a code) and its text."""
    coding = [{"system": system, "code": code, "display": display}] if code else []
    return {"coding": coding, "text": text or display}


def local(code: str, display: str, text: str | None = None) -> Json:
    return cc(CODES, code, display, text)


def sct(code: str, display: str, text: str | None = None) -> Json:
    return cc(SCT, code, display, text)


def as_text(value: str | None) -> Json | None:
    """A text-only CodeableConcept, or None (pruned) for no value."""
    return {"text": value} if value else None


def risk_stage(risk_group: str | None) -> list[Json]:
    """A diagnosis's protocol risk group as ``Condition.stage``: the PCSP logical model's
    Diagnosis "Stage/Risk" (free text, e.g. the risk of a leukaemia) maps to it."""
    if risk_group is None:
        return []
    return [{"summary": as_text(f"{risk_group} risk"), "type": as_text("Protocol risk group")}]


def quantity(value: float, unit: str) -> Json:
    code = _UCUM.get(unit, unit if unit in _UCUM_SAME else None)
    return {"value": value, "unit": unit, "system": UCUM if code else None, "code": code}


def citation_notes(citations: Iterable[Citation]) -> list[Json]:
    return [
        {"text": f'Citation [{c.chunk_id}] {c.document}, page {c.page}: "{c.quote}"'}
        for c in citations
    ]


def ext(url: str, **value: Any) -> Json:
    return {"url": url, **value}


def prune(value: Any) -> Any:
    """Drop None, empty strings, lists and objects (FHIR forbids empty elements)."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [v for v in (prune(v) for v in value) if v not in (None, "", [], {})]
    return value


CONFIRMED = cc(VERIFICATION, "confirmed", "Confirmed")
PROCEDURE_CATEGORY = [cc(OBS_CATEGORY, "procedure", "Procedure")]


# --- the builder core -----------------------------------------------------------------------


class ResourceBuilder:
    """Adds one entry per resource; a key names an item's place in the record (its id seed).

    Entries carry a ``PUT`` request (a transaction) unless ``transaction`` is False (a
    document Bundle, whose entries have none).
    """

    transaction = True

    def __init__(self, record: PatientRecord):
        self.record = record
        self.entries: list[Json] = []
        self.patient = self.ref("patient")

    def resource_id(self, key: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.record.record_id}/{key}"))

    def ref(self, key: str) -> Json:
        return {"reference": f"urn:uuid:{self.resource_id(key)}"}

    def add(self, key: str, rtype: str, **fields: Any) -> Json:
        """Add a ``rtype`` resource under ``key``; returns a reference to it."""
        rid = self.resource_id(key)
        resource: Json = {"resourceType": rtype, "id": rid, **fields}
        for name, default in _DEFAULTS.get(rtype, {}).items():
            resource.setdefault(name, default)
        if rtype in _ABOUT_PATIENT:
            resource["subject"] = self.patient
        resource = prune(resource)
        entry: Json = {"fullUrl": f"urn:uuid:{rid}", "resource": resource}
        if self.transaction:
            entry["request"] = {"method": "PUT", "url": f"{rtype}/{rid}"}
        self.entries.append(entry)
        return self.ref(key)


def patient_fields(record: PatientRecord) -> Json:
    """The Patient (PatientPcsp): identifiers, Spanish two-surname name, contact, summary."""
    d = record.demographics
    email = {"system": "email", "value": d.email}
    parent = {"relationship": [cc(ROLE, "PRN", "parent")], "telecom": [email]}
    surnames = [
        ext(EXT + "humanname-fathers-family", valueString=d.first_surname),
        ext(EXT + "humanname-mothers-family", valueString=d.second_surname),
    ]
    div = html.escape(record.summary, quote=False)
    return {
        "meta": {"profile": [PCSP + "Patient-eu-pcsp"]},
        "text": {"status": "additional", "div": f'<div xmlns="{XHTML}">{div}</div>'},
        "identifier": [
            {
                "use": "official",
                "type": cc(V2_0203, "HC", "Health card number"),
                "system": HEALTH_CARD_SYSTEM,
                "value": d.health_card_number,
            },
            {
                "use": "usual",
                "type": cc(V2_0203, "MR", "Medical record number"),
                "system": MRN_SYSTEM,
                "value": d.medical_record_number,
            },
            {"system": RECORD_SYSTEM, "value": record.record_id},
        ],
        "name": [
            {
                "use": "official",
                "family": f"{d.first_surname} {d.second_surname}",
                "_family": {"extension": surnames},
                "given": [d.given_name],
            }
        ],
        "telecom": [
            {"system": "phone", "value": d.phone, "use": "mobile"},
            email if d.email_owner == "patient" else None,
        ],
        "gender": d.sex,
        "birthDate": d.birth_date.isoformat(),
        "contact": [parent] if d.email_owner == "parent" else [],
    }
