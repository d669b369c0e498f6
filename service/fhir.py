"""One ``PatientRecord`` -> one FHIR R4 ``transaction`` Bundle (a plain dict), validated.

Why a transaction Bundle: it is what EHR test servers load directly (``POST [base]``, as
Synthea's per-patient output is loaded). Every entry is a ``PUT <Type>/<id>`` whose id is a
UUID5 of the record id and the item's place in the record, and every internal reference is
its ``urn:uuid:`` fullUrl: the same record always gives the same bytes, and loading it twice
updates instead of duplicating. Batches are exported as NDJSON, one Bundle per line (see
``service.exports``), the FHIR bulk-data convention of one JSON resource per line.

Resources are FHIR R4 (4.0.1) JSON. They are validated with ``fhir.resources``' R4B models
(its release 8 ships R5, R4B and STU3, not R4); R4B is wire-compatible with R4 for every
resource used here. A Bundle that fails validation raises ``FhirConversionError``: no half
bundle is ever returned.

Mapping (PanCareSurPass, https://build.fhir.org/ig/hl7-eu/pcsp/, canonical
``http://hl7.eu/fhir/ig/pcsp``): ``meta.profile`` is declared only where the content meets the
profile's constraints as read from the IG's FSH sources: Patient-eu-pcsp,
Condition-primaryCancer-eu-pcsp (primary tumour, relapse, second tumour) and
Condition-secondaryCancer-eu-pcsp (metastases). The other resources follow the PCSP shapes
(categories, ``resource-relatedInfo`` links to dose Observations, sacrificed organs, cell
source and donor type) without claiming conformance, because those profiles bind required
PCSP value sets (radiotherapy sites, ATC list, chemotherapy units) that free-text values
cannot meet. Concepts without a code we are sure of use ``CODES`` (a local code system) or
text only. Identifiers and code systems of our own live under ``http://clinsynth.local/``
and ``urn:clinsynth:``; never a real system.

Each item's citations become ``note`` entries of its resource ("Citation [chunk] document,
page N: quote"); the record's provenance (model, seed, prompts, chunks) is a ``Provenance``
resource targeting every other entry; the record summary is the Patient's narrative.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from service.records import (
    ChemotherapyAdministration,
    Citation,
    Diagnosis,
    PatientRecord,
    RadiotherapyCourse,
    Relapse,
    StemCellTransplant,
    Surgery,
)

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
_TECHNIQUES = {  # technique -> (SNOMED code or None, label)
    "external_beam": ("33195004", "External beam radiation therapy"),
    "brachytherapy": ("152198000", "Brachytherapy"),
    "metabolic": ("399315003", "Radionuclide therapy"),
    "proton": (None, "Proton beam radiation therapy"),
    "tbi": (None, "Total body irradiation"),
}
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


class FhirConversionError(ValueError):
    """A record whose Bundle does not validate as FHIR R4 (a bug, never a half bundle)."""


def record_to_bundle(record: PatientRecord) -> Json:
    """The record as a validated FHIR R4 transaction Bundle (deterministic for a record)."""
    bundle = _BundleBuilder(record).build()
    validate_bundle(bundle, record_id=record.record_id)
    return bundle


def validate_bundle(bundle: Json, *, record_id: str = "?") -> None:
    """Parse ``bundle`` with the fhir.resources R4B models; FhirConversionError if invalid."""
    from fhir.resources.R4B.bundle import Bundle

    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise FhirConversionError(
            f"record {record_id}: the FHIR R4 Bundle does not validate: {'; '.join(problems)}"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise FhirConversionError(
            f"record {record_id}: the FHIR R4 Bundle does not validate: {exc}"
        ) from exc


# --- small JSON helpers ---------------------------------------------------------------------


def _cc(system: str, code: str | None, display: str | None, text: str | None = None) -> Json:
    coding = [{"system": system, "code": code, "display": display}] if code else []
    return {"coding": coding, "text": text or display}


def _local(code: str, display: str, text: str | None = None) -> Json:
    return _cc(CODES, code, display, text)


def _sct(code: str, display: str, text: str | None = None) -> Json:
    return _cc(SCT, code, display, text)


def _text(value: str | None) -> Json | None:
    return {"text": value} if value else None


def _quantity(value: float, unit: str) -> Json:
    code = _UCUM.get(unit, unit if unit in _UCUM_SAME else None)
    return {"value": value, "unit": unit, "system": UCUM if code else None, "code": code}


def _notes(citations: Iterable[Citation]) -> list[Json]:
    return [
        {"text": f'Citation [{c.chunk_id}] {c.document}, page {c.page}: "{c.quote}"'}
        for c in citations
    ]


def _ext(url: str, **value: Any) -> Json:
    return {"url": url, **value}


def _prune(value: Any) -> Any:
    """Drop None, empty strings, lists and objects (FHIR forbids empty elements)."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [v for v in (_prune(v) for v in value) if v not in (None, "", [], {})]
    return value


CONFIRMED = _cc(VERIFICATION, "confirmed", "Confirmed")
PROCEDURE_CATEGORY = [_cc(OBS_CATEGORY, "procedure", "Procedure")]
RADIOTHERAPY = _sct("108290001", "Radiotherapy")


# --- the builder ----------------------------------------------------------------------------


class _BundleBuilder:
    """Adds one entry per resource; a key names an item's place in the record (its id seed)."""

    def __init__(self, record: PatientRecord):
        self.record = record
        self.entries: list[Json] = []
        self.patient = self.ref("patient")

    def _id(self, key: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.record.record_id}/{key}"))

    def ref(self, key: str) -> Json:
        return {"reference": f"urn:uuid:{self._id(key)}"}

    def add(self, key: str, rtype: str, **fields: Any) -> Json:
        """Add a ``rtype`` resource under ``key``; returns a reference to it."""
        rid = self._id(key)
        resource: Json = {"resourceType": rtype, "id": rid, **fields}
        for name, default in _DEFAULTS.get(rtype, {}).items():
            resource.setdefault(name, default)
        if rtype in _ABOUT_PATIENT:
            resource["subject"] = self.patient
        resource = _prune(resource)
        request = {"method": "PUT", "url": f"{rtype}/{rid}"}
        self.entries.append(
            {"fullUrl": f"urn:uuid:{rid}", "resource": resource, "request": request}
        )
        return self.ref(key)

    def build(self) -> Json:
        r = self.record
        self._patient()
        primary = self._diagnosis("primary", r.diagnosis, category="primary-tumour")
        self._chemotherapy("primary", r.chemotherapy, primary)
        self._intrathecal(primary)
        self._radiotherapy("primary", r.radiotherapy, primary)
        self._surgery("primary", r.surgery, primary)
        for i, transplant in enumerate(r.hsct):
            self._hsct(f"hsct/{i}", transplant, primary)
        self._others(primary)
        if r.relapse:
            relapse = self._relapse(r.relapse, primary)
            self._chemotherapy("relapse", r.relapse.second_line, relapse)
            self._radiotherapy("relapse", r.relapse.second_line_radiotherapy, relapse)
        if r.second_tumour:
            second = r.second_tumour
            tumour = self._diagnosis("second", second.diagnosis, category="second-tumour")
            self._chemotherapy("second", second.chemotherapy, tumour)
            self._radiotherapy("second", second.radiotherapy, tumour)
            self._surgery("second", second.surgery, tumour)
        self._cumulative_doses()
        self._provenance()
        return {
            "resourceType": "Bundle",
            "id": self._id("bundle"),
            "identifier": {"system": RECORD_SYSTEM, "value": r.record_id},
            "type": "transaction",
            "entry": self.entries,
        }

    # Patient and conditions

    def _patient(self) -> None:
        d = self.record.demographics
        email = {"system": "email", "value": d.email}
        parent = {"relationship": [_cc(ROLE, "PRN", "parent")], "telecom": [email]}
        surnames = [
            _ext(EXT + "humanname-fathers-family", valueString=d.first_surname),
            _ext(EXT + "humanname-mothers-family", valueString=d.second_surname),
        ]
        div = html.escape(self.record.summary, quote=False)
        self.add(
            "patient",
            "Patient",
            meta={"profile": [PCSP + "Patient-eu-pcsp"]},
            text={"status": "additional", "div": f'<div xmlns="{XHTML}">{div}</div>'},
            identifier=[
                {
                    "use": "official",
                    "type": _cc(V2_0203, "HC", "Health card number"),
                    "system": HEALTH_CARD_SYSTEM,
                    "value": d.health_card_number,
                },
                {
                    "use": "usual",
                    "type": _cc(V2_0203, "MR", "Medical record number"),
                    "system": MRN_SYSTEM,
                    "value": d.medical_record_number,
                },
                {"system": RECORD_SYSTEM, "value": self.record.record_id},
            ],
            name=[
                {
                    "use": "official",
                    "family": f"{d.first_surname} {d.second_surname}",
                    "_family": {"extension": surnames},
                    "given": [d.given_name],
                }
            ],
            telecom=[
                {"system": "phone", "value": d.phone, "use": "mobile"},
                email if d.email_owner == "patient" else None,
            ],
            gender=d.sex,
            birthDate=d.birth_date.isoformat(),
            contact=[parent] if d.email_owner == "parent" else [],
        )

    def _diagnosis(self, key: str, dx: Diagnosis, *, category: str) -> Json:
        """The tumour Condition, its metastases, predisposition syndromes and prosthesis."""
        morphology = _cc(ICDO3, dx.icdo3_morphology, dx.tumour)
        genetic = [
            self.add(
                f"{key}/genetic/{i}",
                "Condition",
                category=[_local("predisposition", "Cancer predisposition syndrome")],
                code=_text(name),
            )
            for i, name in enumerate(dx.genetic_conditions)
        ]
        hereditary = [_sct("32895009", "Hereditary disease")]
        condition = self.add(
            f"condition/{key}",
            "Condition",
            meta={"profile": [PRIMARY_CANCER]},
            extension=[_ext(HISTOLOGY, valueCodeableConcept=morphology)],
            verificationStatus=CONFIRMED,
            category=[_local(category, category.replace("-", " ").capitalize())],
            code=morphology,
            bodySite=[_cc(ICDO3, dx.icdo3_topography, None, dx.site)],
            onsetDateTime=dx.diagnosis_date.isoformat(),
            evidence=[{"code": hereditary, "detail": [ref]} for ref in genetic],
            note=_notes(dx.citations),
        )
        sites: list[str | None] = list(dx.metastasis_sites) or ([None] if dx.metastatic else [])
        for i, site in enumerate(sites):
            text = f"Metastasis of {dx.tumour}" + (f" to {site}" if site else "")
            self.add(
                f"{key}/metastasis/{i}",
                "Condition",
                meta={"profile": [PCSP + "Condition-secondaryCancer-eu-pcsp"]},
                extension=[_ext(EXT + "condition-related", valueReference=condition)],
                verificationStatus=CONFIRMED,
                code=_sct("128462008", "Secondary malignant neoplastic disease", text),
                bodySite=[_text(site)],
                onsetDateTime=dx.diagnosis_date.isoformat(),
            )
        if dx.prosthesis_placed:
            present = dx.prosthesis_still_present
            self.add(
                f"{key}/prosthesis",
                "Observation",
                code=_local("prosthesis-placed", "Prosthesis placed"),
                focus=[condition],
                valueBoolean=True,
                component=[
                    {
                        "code": _local("prosthesis-present", "Prosthesis still present"),
                        "valueBoolean": present,
                    }
                ]
                if present is not None
                else [],
            )
        return condition

    def _relapse(self, relapse: Relapse, primary: Json) -> Json:
        dx = self.record.diagnosis
        morphology = _cc(ICDO3, dx.icdo3_morphology, dx.tumour)
        return self.add(
            "condition/relapse",
            "Condition",
            meta={"profile": [PRIMARY_CANCER]},
            extension=[
                _ext(HISTOLOGY, valueCodeableConcept=morphology),
                _ext(EXT + "condition-occurredFollowing", valueReference=primary),
            ],
            clinicalStatus=_cc(CLINICAL, "relapse", "Relapse"),
            verificationStatus=CONFIRMED,
            category=[_local("relapse", "Relapse")],
            code={**morphology, "text": f"Relapse of {dx.tumour}"},
            bodySite=[_text(relapse.site)],
            onsetDateTime=relapse.date.isoformat(),
            note=_notes(relapse.citations),
        )

    # Chemotherapy

    def _chemotherapy(
        self, key: str, items: list[ChemotherapyAdministration], reason: Json
    ) -> None:
        for i, item in enumerate(items):
            cumulative = self.ref(f"cumulative/{item.drug}/{item.unit}")
            self.add(
                f"chemo/{key}/{i}",
                "MedicationAdministration",
                extension=[_ext(RELATED_INFO, valueReference=cumulative)],
                medicationCodeableConcept=_cc(ATC, item.atc, item.drug),
                effectiveDateTime=item.date.isoformat(),
                reasonReference=[reason],
                dosage={"text": f"cycle {item.cycle}", "dose": _quantity(item.dose, item.unit)},
                note=_notes(item.citations),
            )

    def _cumulative_doses(self) -> None:
        """One Observation per (drug, unit): the sum over every administration of the record."""
        r = self.record
        items = list(r.chemotherapy) + (r.relapse.second_line if r.relapse else [])
        items += r.second_tumour.chemotherapy if r.second_tumour else []
        groups: dict[tuple[str, str], list[ChemotherapyAdministration]] = {}
        for item in items:
            groups.setdefault((item.drug, item.unit), []).append(item)
        for (drug, unit), given in groups.items():
            dates = sorted(item.date.isoformat() for item in given)
            drug_code = {
                "code": _local("drug", "Drug"),
                "valueCodeableConcept": _cc(ATC, given[0].atc, drug),
            }
            self.add(
                f"cumulative/{drug}/{unit}",
                "Observation",
                category=PROCEDURE_CATEGORY,
                code=_local("cumulative-dose", "Cumulative dose", f"Cumulative {drug} dose"),
                effectivePeriod={"start": dates[0], "end": dates[-1]},
                method=_sct("702873001", "Calculation technique"),
                valueQuantity=_quantity(round(sum(i.dose for i in given), 6), unit),
                component=[drug_code],
            )

    def _intrathecal(self, reason: Json) -> None:
        it = self.record.intrathecal
        if it is not None:
            for i, drug in enumerate(it.drugs):
                self.add(
                    f"intrathecal/{i}",
                    "MedicationStatement",
                    category=_text("intrathecal chemotherapy"),
                    medicationCodeableConcept=_text(drug),
                    effectivePeriod={"start": it.start_date.isoformat()},
                    reasonReference=[reason],
                    dosage=[
                        {
                            "text": f"{it.injections} intrathecal injections",
                            "route": _cc(EDQM, "20042000", "Intrathecal use"),
                            "timing": {"repeat": {"count": it.injections}},
                        }
                    ],
                    note=_notes(it.citations),
                )
        if self.record.corticosteroids_over_4_weeks is not None:
            self.add(
                "corticosteroids",
                "Observation",
                code=_local("corticosteroids-over-4-weeks", "Corticosteroids for over 4 weeks"),
                valueBoolean=self.record.corticosteroids_over_4_weeks,
            )

    # Radiotherapy

    def _radiotherapy(self, key: str, courses: list[RadiotherapyCourse], reason: Json) -> None:
        for i, rt in enumerate(courses):
            k = f"rt/{key}/{i}"
            code, label = _TECHNIQUES[rt.technique]
            brachy, metabolic = rt.brachytherapy, rt.metabolic
            isotopes = [brachy.source] if brachy else []
            isotopes += [metabolic.radiopharmaceutical] if metabolic else []
            used = [brachy.applicator if brachy else None]
            used += [metabolic.radiopharmaceutical] if metabolic else []
            course = self.add(
                k,
                "Procedure",
                extension=[
                    _ext(RELATED_INFO, valueReference=self.ref(f"{k}/dose")),
                    *[
                        _ext(PCSP + "radiotherapy-energy-or-isotope", valueCodeableConcept=_text(s))
                        for s in isotopes
                    ],
                    _ext(EXT + "procedure-method", valueCodeableConcept=_text(brachy.dose_rate))
                    if brachy and brachy.dose_rate
                    else None,
                ],
                category=RADIOTHERAPY,
                code={
                    "coding": [
                        {"system": SCT, "code": code, "display": label} if code else None,
                        {"system": CODES, "code": f"rt-{rt.technique}", "display": label},
                    ],
                    "text": label,
                },
                performedPeriod={"start": rt.start_date.isoformat()},
                reasonReference=[reason],
                bodySite=[_text(rt.site)],
                usedCode=[_text(u) for u in used],
                note=_notes(rt.citations),
            )
            fractions = {"code": _local("fractions", "Fractions"), "valueInteger": rt.fractions}
            total = _sct("445461008", "Total radiation dose delivered")
            self._dose(f"{k}/dose", total, rt.site, rt.dose, course, [fractions])
            if rt.boost:
                boost = self.add(
                    f"{k}/boost",
                    "Procedure",
                    extension=[_ext(RELATED_INFO, valueReference=self.ref(f"{k}/boost/dose"))],
                    partOf=[course],
                    category=RADIOTHERAPY,
                    code=_sct("445232009", "Boost radiation therapy"),
                    reasonReference=[reason],
                    bodySite=[_text(rt.boost.site)],
                )
                total = _sct("445565002", "Total boost radiation dose delivered")
                self._dose(f"{k}/boost/dose", total, rt.boost.site, rt.boost.dose, boost, [])
            if rt.shielding_block_site:
                self.add(
                    f"{k}/shielding",
                    "Procedure",
                    partOf=[course],
                    code=_sct("228720004", "Making of shielding block for radiotherapy"),
                    bodySite=[_text(rt.shielding_block_site)],
                )
            if metabolic:
                activity = f"Administered activity of {metabolic.radiopharmaceutical}"
                self.add(
                    f"{k}/activity",
                    "Observation",
                    category=PROCEDURE_CATEGORY,
                    code=_local("administered-activity", "Administered activity", activity),
                    partOf=[course],
                    valueQuantity=_quantity(metabolic.activity, metabolic.activity_unit),
                )

    def _dose(
        self, key: str, code: Json, site: str, dose: float, of: Json, components: list[Json]
    ) -> None:
        self.add(
            key,
            "Observation",
            category=PROCEDURE_CATEGORY,
            code=code,
            partOf=[of],
            bodySite=_text(site),
            valueQuantity=_quantity(dose, "Gy"),
            component=components,
        )

    # Surgery, transplant, others

    def _device(self, key: str, kind: str, present: bool) -> Json:
        status = "active" if present else "inactive"
        return self.add(key, "Device", status=status, type=_text(kind), patient=self.patient)

    def _surgery(self, key: str, surgeries: list[Surgery], reason: Json) -> None:
        for i, s in enumerate(surgeries):
            k = f"surgery/{key}/{i}"
            shunt = None
            if s.shunt:
                shunt = self._device(f"{k}/shunt", s.shunt.type, s.shunt.still_present)
            amputation = [{"system": CODES, "code": "amputation", "display": "Amputation"}]
            self.add(
                k,
                "Procedure",
                extension=[
                    _ext(PCSP + "surgery-sacrifiedOrgan", valueCodeableConcept=_text(organ))
                    for organ in s.organs_removed
                ],
                category=_sct("387713003", "Surgical procedure"),
                code={"coding": amputation if s.amputation else [], "text": s.description},
                performedDateTime=s.date.isoformat(),
                reasonReference=[reason],
                bodySite=[_text(organ) for organ in s.organs_affected],
                focalDevice=[{"action": _text("implanted"), "manipulated": shunt}] if shunt else [],
                note=_notes(s.citations),
            )

    def _hsct(self, key: str, t: StemCellTransplant, reason: Json) -> None:
        source = t.cell_source.replace("_", " ")
        donor: str = t.type
        if t.donor:
            donor = t.donor.type.replace("_", " ")
            donor += f" ({t.donor.relationship})" if t.donor.relationship else ""
        product = self.add(
            f"{key}/product",
            "BiologicallyDerivedProduct",
            extension=[
                _ext(PCSP + "sct-donor-type", valueCodeableConcept=_text(donor)),
                _ext(PCSP + "sct-source-type", valueCodeableConcept=_text(source)),
            ],
            productCategory="cells",
            productCode=_text(f"{source} stem cells"),
            collection={"source": self.patient} if t.type == "autologous" else None,
        )
        label = f"{t.type.capitalize()} haematopoietic stem cell transplant"
        transplant = self.add(
            key,
            "Procedure",
            extension=[_ext(PCSP + "procedure-usedReference", valueReference=product)],
            category=_sct("77465005", "Transplantation"),
            code=_local(f"hsct-{t.type}", label),
            performedDateTime=t.date.isoformat(),
            reasonReference=[reason],
            note=_notes(t.citations),
        )
        groups = [("before", t.blood_group_before), ("after", t.blood_group_after)]
        for when, group in [*groups, ("donor", t.donor_blood_group)]:
            if group is None:
                continue
            donor_group = when == "donor"
            text = "Donor ABO and Rh group" if donor_group else f"ABO and Rh group {when} HSCT"
            self.add(
                f"{key}/blood-group/{when}",
                "Observation",
                code=_cc(LOINC, "882-1", "ABO and Rh group [Type] in Blood", text),
                focus=[product] if donor_group else [],
                partOf=[transplant],
                effectiveTiming=None if donor_group else {"code": _text(f"{when} transplant")},
                valueCodeableConcept=_text(group),
            )
        for i, g in enumerate(t.gvhd):
            self.add(
                f"{key}/gvhd/{i}",
                "Condition",
                extension=[
                    _ext(EXT + "condition-related", valueReference=reason),
                    _ext(EXT + "condition-dueTo", valueReference=transplant),
                ],
                code=_local(f"gvhd-{g.form}", f"{g.form.capitalize()} graft-versus-host disease"),
                bodySite=[_text(organ) for organ in g.organs],
                stage=[{"summary": _text(f"grade {g.grade}")}],
            )
        for i, drug in enumerate(t.immunosuppression):
            self.add(
                f"{key}/immunosuppression/{i}",
                "MedicationStatement",
                category=_text("immunosuppression"),
                medicationCodeableConcept=_text(drug),
                partOf=[transplant],
            )

    def _others(self, reason: Json) -> None:
        others = self.record.others
        if others is None:
            return
        notes = _notes(others.citations)  # the block's citations go with each of its resources
        for i, tox in enumerate(others.intoxications):
            status = ("resolved", "Resolved") if tox.resolved else ("active", "Active")
            self.add(
                f"others/intoxication/{i}",
                "Condition",
                clinicalStatus=_cc(CLINICAL, *status),
                verificationStatus=CONFIRMED,
                code=_sct("75478009", "Poisoning", f"Intoxication: {tox.agent}"),
                onsetDateTime=tox.date.isoformat(),
                abatementDateTime=tox.resolution_date.isoformat() if tox.resolution_date else None,
                note=notes,
            )
        if cvc := others.central_venous_catheter:
            device = self._device("others/catheter/device", cvc.type, cvc.still_present)
            self.add(
                "others/catheter",
                "Procedure",
                code=_sct(
                    "392230005", "Catheterization of vein", f"Central venous catheter ({cvc.type})"
                ),
                performedDateTime=cvc.placed_date.isoformat(),
                reasonReference=[reason],
                complication=[_text(c) for c in cvc.complications],
                focalDevice=[{"action": _text("implanted"), "manipulated": device}],
                note=notes,
            )
        if fp := others.fertility_preservation:
            stored = [{"text": f"Stored at: {fp.storage_site}"}] if fp.storage_site else []
            self.add(
                "others/fertility-preservation",
                "Procedure",
                status="completed" if fp.done else "not-done",
                category=_text("fertility preservation"),
                code=_sct("88094004", "Cryopreservation", fp.method or "Fertility preservation"),
                reasonReference=[reason],
                note=stored + notes,
            )
        if tr := others.transfusions:
            transfusion = self.add(
                "others/transfusions",
                "Procedure",
                status="completed" if tr.any else "not-done",
                code=_sct("5447007", "Transfusion"),
                reasonReference=[reason],
                note=notes,
            )
            if tr.any:
                self.add(
                    "others/transfusions/more-than-10",
                    "Observation",
                    code=_local("transfusions-over-10", "More than 10 transfusions"),
                    partOf=[transfusion],
                    valueBoolean=tr.more_than_10,
                )

    def _provenance(self) -> None:
        p = self.record.provenance
        generation = [
            _ext("seed", valueInteger=p.seed),
            _ext("request", valueString=p.request),
            _ext("backend", valueString=p.backend),
            _ext("model", valueString=p.model),
            _ext("modelSha256", valueString=p.model_sha256) if p.model_sha256 else None,
            _ext("language", valueCode=p.language),
            _ext("promptTokens", valueInteger=p.prompt_tokens),
            _ext("completionTokens", valueInteger=p.completion_tokens),
        ]
        chunks = [
            {
                "role": "source",
                "what": {
                    "identifier": {"system": CHUNK_SYSTEM, "value": c.chunk_id},
                    "display": f"{c.document} (sha256 {c.document_sha256})",
                },
            }
            for c in p.chunks
        ]
        prompts = [
            {
                "role": "derivation",
                "what": {
                    "identifier": {"system": PROMPT_SYSTEM, "value": f"{t.id}@{t.version}"},
                    "display": f"prompt template {t.id} version {t.version}",
                },
            }
            for t in p.prompts
        ]
        self.add(
            "provenance",
            "Provenance",
            extension=[{"url": GENERATION_EXTENSION, "extension": generation}],
            target=[{"reference": e["fullUrl"]} for e in self.entries],
            recorded=f"{p.reference_date.isoformat()}T00:00:00Z",
            activity=_text("synthetic record generation"),
            agent=[
                {
                    "type": _cc(PARTICIPANT, "assembler", "Assembler"),
                    "who": {"display": f"{p.generator} ({p.backend}: {p.model})"},
                }
            ],
            entity=chunks + prompts,
        )
