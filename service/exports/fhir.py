"""One ``PatientRecord`` -> one FHIR R4 ``transaction`` Bundle (a plain dict), validated.

This is the ``fhir-transaction`` export format; ``fhir`` is the PanCareSurPass Survivorship
Passport document (``service.exports.pcsp``), which reuses this module's validation and
provenance.

Why a transaction Bundle: it is what EHR test servers load directly (``POST [base]``, as
Synthea's per-patient output is loaded). Every entry is a ``PUT <Type>/<id>`` whose id is a
UUID5 of the record id and the item's place in the record, and every internal reference is
its ``urn:uuid:`` fullUrl: the same record always gives the same bytes, and loading it twice
updates instead of duplicating. Batches are exported as NDJSON, one Bundle per line (see
``iter_fhir_ndjson``), the FHIR bulk-data convention of one JSON resource per line.

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

This module builds the Bundle (patient, conditions, relapse, provenance) and validates it;
``service.exports.fhir_treatments`` maps the treatment blocks and
``service.exports.fhir_common`` holds the code systems, small JSON helpers and the builder
core both build on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from pydantic import ValidationError

from service.exports.fhir_common import (
    ATC,
    CHUNK_SYSTEM,
    CLINICAL,
    CONFIRMED,
    EXT,
    GENERATION_EXTENSION,
    HISTOLOGY,
    ICDO3,
    PARTICIPANT,
    PCSP,
    PRIMARY_CANCER,
    PROMPT_SYSTEM,
    RECORD_SYSTEM,
    UCUM,
    Json,
    ResourceBuilder,
    as_text,
    cc,
    citation_notes,
    ext,
    local,
    patient_fields,
    risk_stage,
    sct,
)
from service.exports.fhir_treatments import (
    add_chemotherapy,
    add_cumulative_doses,
    add_hsct,
    add_intrathecal,
    add_others,
    add_radiotherapy,
    add_surgery,
)
from service.records import Diagnosis, PatientRecord, Relapse

# The names other modules and the tests import from here (code systems live in fhir_common).
__all__ = [
    "ATC",
    "EXT",
    "ICDO3",
    "PCSP",
    "UCUM",
    "FhirConversionError",
    "Json",
    "record_to_bundle",
    "validate_bundle",
]


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


# --- the builder ----------------------------------------------------------------------------


class _BundleBuilder(ResourceBuilder):
    """The whole record: patient, conditions, treatments (``fhir_treatments``), provenance."""

    def build(self) -> Json:
        r = self.record
        self._patient()
        primary = self._diagnosis("primary", r.diagnosis, category="primary-tumour")
        add_chemotherapy(self, "primary", r.chemotherapy, primary)
        add_intrathecal(self, primary)
        add_radiotherapy(self, "primary", r.radiotherapy, primary)
        add_surgery(self, "primary", r.surgery, primary)
        for i, transplant in enumerate(r.hsct):
            add_hsct(self, f"hsct/{i}", transplant, primary)
        add_others(self, primary)
        if r.relapse:
            relapse = self._relapse(r.relapse, primary)
            add_chemotherapy(self, "relapse", r.relapse.second_line, relapse)
            add_radiotherapy(self, "relapse", r.relapse.second_line_radiotherapy, relapse)
        if r.second_tumour:
            second = r.second_tumour
            tumour = self._diagnosis("second", second.diagnosis, category="second-tumour")
            add_chemotherapy(self, "second", second.chemotherapy, tumour)
            add_radiotherapy(self, "second", second.radiotherapy, tumour)
            add_surgery(self, "second", second.surgery, tumour)
        add_cumulative_doses(self)
        add_provenance(self)
        return {
            "resourceType": "Bundle",
            "id": self.resource_id("bundle"),
            "identifier": {"system": RECORD_SYSTEM, "value": r.record_id},
            "type": "transaction",
            "entry": self.entries,
        }

    # Patient and conditions

    def _patient(self) -> None:
        self.add("patient", "Patient", **patient_fields(self.record))

    def _diagnosis(self, key: str, dx: Diagnosis, *, category: str) -> Json:
        """The tumour Condition, its metastases, predisposition syndromes and prosthesis."""
        morphology = cc(ICDO3, dx.icdo3_morphology, dx.tumour)
        genetic = [
            self.add(
                f"{key}/genetic/{i}",
                "Condition",
                category=[local("predisposition", "Cancer predisposition syndrome")],
                code=as_text(name),
            )
            for i, name in enumerate(dx.genetic_conditions)
        ]
        hereditary = [sct("32895009", "Hereditary disease")]
        condition = self.add(
            f"condition/{key}",
            "Condition",
            meta={"profile": [PRIMARY_CANCER]},
            extension=[ext(HISTOLOGY, valueCodeableConcept=morphology)],
            verificationStatus=CONFIRMED,
            category=[local(category, category.replace("-", " ").capitalize())],
            code=morphology,
            bodySite=[cc(ICDO3, dx.icdo3_topography, None, dx.site)],
            onsetDateTime=dx.diagnosis_date.isoformat(),
            stage=risk_stage(dx.risk_group),
            evidence=[{"code": hereditary, "detail": [ref]} for ref in genetic],
            note=citation_notes(dx.citations),
        )
        sites: list[str | None] = list(dx.metastasis_sites) or ([None] if dx.metastatic else [])
        for i, site in enumerate(sites):
            text = f"Metastasis of {dx.tumour}" + (f" to {site}" if site else "")
            self.add(
                f"{key}/metastasis/{i}",
                "Condition",
                meta={"profile": [PCSP + "Condition-secondaryCancer-eu-pcsp"]},
                extension=[ext(EXT + "condition-related", valueReference=condition)],
                verificationStatus=CONFIRMED,
                code=sct("128462008", "Secondary malignant neoplastic disease", text),
                bodySite=[as_text(site)],
                onsetDateTime=dx.diagnosis_date.isoformat(),
            )
        if dx.prosthesis_placed:
            present = dx.prosthesis_still_present
            self.add(
                f"{key}/prosthesis",
                "Observation",
                code=local("prosthesis-placed", "Prosthesis placed"),
                focus=[condition],
                valueBoolean=True,
                component=[
                    {
                        "code": local("prosthesis-present", "Prosthesis still present"),
                        "valueBoolean": present,
                    }
                ]
                if present is not None
                else [],
            )
        return condition

    def _relapse(self, relapse: Relapse, primary: Json) -> Json:
        dx = self.record.diagnosis
        morphology = cc(ICDO3, dx.icdo3_morphology, dx.tumour)
        return self.add(
            "condition/relapse",
            "Condition",
            meta={"profile": [PRIMARY_CANCER]},
            extension=[
                ext(HISTOLOGY, valueCodeableConcept=morphology),
                ext(EXT + "condition-occurredFollowing", valueReference=primary),
            ],
            clinicalStatus=cc(CLINICAL, "relapse", "Relapse"),
            verificationStatus=CONFIRMED,
            category=[local("relapse", "Relapse")],
            code={**morphology, "text": f"Relapse of {dx.tumour}"},
            bodySite=[as_text(relapse.site)],
            onsetDateTime=relapse.date.isoformat(),
            note=citation_notes(relapse.citations),
        )


def add_provenance(b: ResourceBuilder) -> None:
    """The record's provenance (model, seed, prompts, chunks), targeting every entry so far."""
    p = b.record.provenance
    generation = [
        ext("seed", valueInteger=p.seed),
        ext("request", valueString=p.request),
        ext("backend", valueString=p.backend),
        ext("model", valueString=p.model),
        ext("modelSha256", valueString=p.model_sha256) if p.model_sha256 else None,
        ext("language", valueCode=p.language),
        ext("promptTokens", valueInteger=p.prompt_tokens),
        ext("completionTokens", valueInteger=p.completion_tokens),
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
    b.add(
        "provenance",
        "Provenance",
        extension=[{"url": GENERATION_EXTENSION, "extension": generation}],
        target=[{"reference": e["fullUrl"]} for e in b.entries],
        recorded=f"{p.reference_date.isoformat()}T00:00:00Z",
        activity=as_text("synthetic record generation"),
        agent=[
            {
                "type": cc(PARTICIPANT, "assembler", "Assembler"),
                "who": {"display": f"{p.generator} ({p.backend}: {p.model})"},
            }
        ],
        entity=chunks + prompts,
    )


def iter_fhir_ndjson(records: Iterable[PatientRecord]) -> Iterator[str]:
    """One FHIR R4 Bundle per line; FhirConversionError stops the stream on a bad record."""
    for record in records:
        yield json.dumps(record_to_bundle(record), ensure_ascii=False, separators=(",", ":"))
        yield "\n"
