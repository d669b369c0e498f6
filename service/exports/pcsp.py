"""One ``PatientRecord`` -> one PanCareSurPass Survivorship Passport: a FHIR R4 document Bundle.

The Bundle follows BundlePcsp (``type: document``, an identifier and a timestamp, entries
with a ``fullUrl`` and no request); its first entry is a CompositionSurpassPcsp whose sections
list the passport (``service.exports.pcsp_composition``), and every entry the IG profiles
declares its profile in ``meta.profile`` (canonical URLs from the IG's FSH sources, see
``service.exports.pcsp_codes``) and meets that profile's required elements, fixed values and
required bindings (checked in ``tests/unit/test_pcsp_conformance.py`` against the FSH itself).
Resources the IG does not profile (Provenance, Device, a donor's blood group, the activity of
a radionuclide) follow base FHIR R4 and declare nothing.

Ids are UUID5 of the record id and the item's place in the record, as in the transaction
export (``service.exports.fhir``, format ``fhir-transaction``), so the same record always
gives the same bytes. Like it, the Bundle is validated with fhir.resources' R4B models before
it is returned (``FhirConversionError`` otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from service.exports.fhir import FhirConversionError, add_provenance, validate_bundle
from service.exports.fhir_common import RECORD_SYSTEM, Json
from service.exports.pcsp_builder import PassportBuilder
from service.exports.pcsp_codes import Profile
from service.exports.pcsp_composition import add_care_plan, composition
from service.exports.pcsp_diagnosis import add_patient, add_relapse, add_tumour
from service.exports.pcsp_procedures import add_front_line, add_hsct, add_others, add_surgery
from service.exports.pcsp_treatments import (
    add_chemotherapy,
    add_cumulative_doses,
    add_radiotherapy,
    add_statements,
)
from service.records import PatientRecord

__all__ = ["FhirConversionError", "iter_document_ndjson", "record_to_document"]


def record_to_document(record: PatientRecord) -> Json:
    """The record as a validated PCSP document Bundle (deterministic for a record)."""
    bundle = _build(PassportBuilder(record))
    validate_bundle(bundle, record_id=record.record_id)
    return bundle


def _build(b: PassportBuilder) -> Json:
    r = b.record
    add_patient(b)
    primary = add_tumour(b, "primary", r.diagnosis)
    first_line = [i.date.isoformat() for i in r.chemotherapy]
    first_line += [c.start_date.isoformat() for c in r.radiotherapy]
    first_line += [s.date.isoformat() for s in r.surgery] + [t.date.isoformat() for t in r.hsct]
    add_front_line(b, "primary", primary, sorted(first_line))
    add_chemotherapy(b, "primary/chemotherapy", r.chemotherapy, primary)
    add_statements(b, "primary/chemotherapy", primary)
    add_radiotherapy(b, "primary/radiotherapy", r.radiotherapy, primary)
    add_surgery(b, "primary/majorSurgery", r.surgery, primary)
    for i, transplant in enumerate(r.hsct):
        add_hsct(b, "primary/stemCellTransplantation", f"hsct/{i}", transplant, primary)
    add_others(b, "primary/otherInfos", primary)
    given = list(r.chemotherapy)
    if r.relapse:
        relapse = add_relapse(b, r.relapse, primary)
        section = "primary/relapseAfterEOT"
        add_chemotherapy(b, f"{section}/chemotherapy", r.relapse.second_line, relapse)
        add_radiotherapy(b, f"{section}/radiotherapy", r.relapse.second_line_radiotherapy, relapse)
        given += r.relapse.second_line
    tumours = [primary]
    if r.second_tumour:
        second = r.second_tumour
        tumour = add_tumour(b, "second", second.diagnosis)
        dates = [i.date.isoformat() for i in second.chemotherapy]
        dates += [c.start_date.isoformat() for c in second.radiotherapy]
        dates += [s.date.isoformat() for s in second.surgery]
        add_front_line(b, "second", tumour, sorted(dates))
        add_chemotherapy(b, "second/chemotherapy", second.chemotherapy, tumour)
        add_radiotherapy(b, "second/radiotherapy", second.radiotherapy, tumour)
        add_surgery(b, "second/majorSurgery", second.surgery, tumour)
        given += second.chemotherapy
        tumours.append(tumour)
    add_cumulative_doses(b, given)
    timestamp = f"{r.provenance.reference_date.isoformat()}T00:00:00Z"
    add_care_plan(b, tumours, timestamp)
    add_provenance(b)
    document = composition(b, timestamp)
    first = {"fullUrl": f"urn:uuid:{document['id']}", "resource": document}
    return {
        "resourceType": "Bundle",
        "id": b.resource_id("document"),
        "meta": {"profile": [Profile.BUNDLE]},
        "identifier": {"system": RECORD_SYSTEM, "value": r.record_id},
        "type": "document",
        "timestamp": timestamp,
        "entry": [first, *b.entries],
    }


def iter_document_ndjson(records: Iterable[PatientRecord]) -> Iterator[str]:
    """One PCSP document Bundle per line; FhirConversionError stops the stream on a bad record."""
    for record in records:
        yield json.dumps(record_to_document(record), ensure_ascii=False, separators=(",", ":"))
        yield "\n"
