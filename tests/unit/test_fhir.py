"""FHIR R4 Bundles of records, parsed back with the fhir.resources R4B models."""

import json
from collections import Counter

import pytest
from fhir.resources.R4B.bundle import Bundle

from service.exports.fhir import (
    ATC,
    EXT,
    ICDO3,
    PCSP,
    UCUM,
    FhirConversionError,
    record_to_bundle,
    validate_bundle,
)
from service.records import PatientRecord
from tests.records import cite, full_record, full_record_data


def resources(bundle, rtype=None):
    found = [e["resource"] for e in bundle["entry"]]
    return [r for r in found if rtype is None or r["resourceType"] == rtype]


def minimal_record() -> PatientRecord:
    data = full_record_data()
    for block in ("chemotherapy", "radiotherapy", "surgery", "hsct"):
        data[block] = []
    for block in ("intrathecal", "corticosteroids_over_4_weeks", "others", "relapse"):
        data[block] = None
    data["diagnosis"]["metastatic"] = False
    data["diagnosis"]["metastasis_sites"] = []
    return PatientRecord.model_validate(data)


def second_tumour_record() -> PatientRecord:
    data = full_record_data()
    hodgkin = cite("nodular sclerosis classical Hodgkin lymphoma", chunk_id="hl-p1-c1", page=1)
    data["second_tumour"] = {
        "diagnosis": {
            **data["diagnosis"],
            "tumour": "Nodular sclerosis Hodgkin lymphoma",
            "icdo3_morphology": "9663/3",
            "icdo3_topography": "C77.1",
            "site": "mediastinal lymph nodes",
            "diagnosis_date": "2023-09-01",
            "age_at_diagnosis": 15,
            "metastatic": False,
            "metastasis_sites": [],
            "genetic_conditions": ["Li-Fraumeni syndrome"],
            "prosthesis_placed": True,
            "prosthesis_still_present": True,
            "citations": [hodgkin],
        },
        "chemotherapy": [
            {
                "date": "2023-09-10",
                "cycle": 1,
                "drug": "doxorubicin",
                "atc": "L01DB01",
                "dose": 25,
                "unit": "mg/m2",
                "citations": [hodgkin],
            }
        ],
        "radiotherapy": [
            {
                "start_date": "2024-01-08",
                "site": "mediastinum",
                "dose": 30,
                "fractions": 15,
                "technique": "proton",
                "citations": [hodgkin],
            },
            {
                "start_date": "2024-03-01",
                "site": "whole body",
                "dose": 2,
                "fractions": 1,
                "technique": "metabolic",
                "metabolic": {
                    "radiopharmaceutical": "131I-MIBG",
                    "activity": 444,
                    "activity_unit": "MBq/kg",
                },
                "citations": [hodgkin],
            },
            {
                "start_date": "2024-04-01",
                "site": "vagina",
                "dose": 12,
                "fractions": 3,
                "technique": "brachytherapy",
                "brachytherapy": {"source": "Ir-192", "applicator": "cylinder", "dose_rate": "HDR"},
                "citations": [hodgkin],
            },
        ],
        "surgery": [
            {
                "date": "2023-08-20",
                "description": "Mediastinal lymph node biopsy and shunt",
                "shunt": {"type": "ventriculoperitoneal shunt", "still_present": True},
                "amputation": True,
                "citations": [hodgkin],
            }
        ],
    }
    data["hsct"][0].update(
        {
            "type": "allogeneic",
            "donor": {"type": "matched_sibling", "relationship": "sister"},
            "donor_blood_group": "O+",
            "gvhd": [{"form": "acute", "grade": 2, "organs": ["skin", "gut"]}],
            "immunosuppression": ["ciclosporin", "methotrexate"],
        }
    )
    data["intrathecal"] = {
        "start_date": "2020-05-12",
        "injections": 6,
        "drugs": ["methotrexate", "cytarabine", "hydrocortisone"],
        "citations": [cite("triple intrathecal therapy")],
    }
    data["others"]["intoxications"] = [
        {
            "date": "2020-07-02",
            "agent": "methotrexate",
            "resolved": True,
            "resolution_date": "2020-07-09",
        }
    ]
    data["others"]["citations"] = [cite("central venous catheter care")]
    return PatientRecord.model_validate(data)


def test_full_record_bundle_validates_with_fhir_resources():
    bundle = record_to_bundle(full_record())
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "transaction"
    assert parsed.entry[0].resource.__resource_type__ == "Patient"
    counts = Counter(r["resourceType"] for r in resources(bundle))
    # 4 first-line + 1 second-line administrations; 4 (drug, unit) cumulative doses,
    # RT total dose + boost dose, blood groups before/after, steroids, transfusions > 10.
    assert counts["MedicationAdministration"] == 5
    assert counts["Observation"] == 10
    assert counts["Condition"] == 3  # primary, lung metastasis, relapse
    assert counts["Procedure"] == 8  # RT, boost, shielding, surgery, HSCT, CVC, FP, transfusion
    assert counts["Patient"] == counts["Provenance"] == 1


def test_every_reference_resolves_inside_the_bundle():
    for record in (full_record(), second_tumour_record(), minimal_record()):
        bundle = record_to_bundle(record)
        urls = {e["fullUrl"] for e in bundle["entry"]}
        refs = [m for m in _walk(bundle["entry"], "reference")]
        assert refs and set(refs) <= urls
        for entry in bundle["entry"]:
            rid = entry["resource"]["id"]
            assert entry["fullUrl"] == f"urn:uuid:{rid}"
            assert entry["request"] == {
                "method": "PUT",
                "url": f"{entry['resource']['resourceType']}/{rid}",
            }


def _walk(value, key):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, str):
                yield v
            else:
                yield from _walk(v, key)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)


def test_same_record_same_bytes_and_ids_follow_the_record():
    first = json.dumps(record_to_bundle(full_record()))
    assert first == json.dumps(record_to_bundle(full_record()))
    other = record_to_bundle(full_record(record_id="0e9f2c1a-1111-4d2e-8f00-aaaaaaaaaaaa"))
    assert not {e["fullUrl"] for e in json.loads(first)["entry"]} & {
        e["fullUrl"] for e in other["entry"]
    }


def test_patient_identifiers_are_ours_and_the_parents_email_is_a_contact():
    patient = resources(record_to_bundle(full_record()), "Patient")[0]
    assert patient["meta"]["profile"] == [PCSP + "Patient-eu-pcsp"]
    systems = {i["system"]: i["value"] for i in patient["identifier"]}
    assert systems == {
        "http://clinsynth.local/fhir/sid/health-card": "VLCA12345678",
        "http://clinsynth.local/fhir/sid/medical-record-number": "HC-0012345",
        "urn:clinsynth:record": full_record().record_id,
    }
    assert patient["name"][0]["given"] == ["Hugo"]
    assert patient["name"][0]["family"] == "García Martín"
    assert patient["gender"] == "male" and patient["birthDate"] == "2008-03-14"
    assert patient["telecom"] == [{"system": "phone", "value": "+34 612 345 678", "use": "mobile"}]
    assert patient["contact"][0]["telecom"][0]["value"] == "familia.garcia@example.org"
    assert "sarcoma de Ewing" in patient["text"]["div"]
    own = resources(
        record_to_bundle(
            full_record(
                demographics={**full_record_data()["demographics"], "email_owner": "patient"}
            )
        ),
        "Patient",
    )[0]
    assert {"system": "email", "value": "familia.garcia@example.org"} in own["telecom"]
    assert "contact" not in own


def test_conditions_carry_icdo3_topography_onset_and_metastases():
    bundle = record_to_bundle(full_record())
    primary, metastasis, relapse = resources(bundle, "Condition")
    assert primary["code"]["coding"] == [
        {"system": ICDO3, "code": "9364/3", "display": "Ewing sarcoma"}
    ]
    assert primary["code"]["text"] == "Ewing sarcoma"
    assert primary["bodySite"] == [
        {"coding": [{"system": ICDO3, "code": "C41.4"}], "text": "pelvic bones"}
    ]
    assert primary["onsetDateTime"] == "2020-05-04"
    assert metastasis["bodySite"] == [{"text": "lung"}]
    assert metastasis["extension"][0]["valueReference"]["reference"] == _url(bundle, primary)
    assert relapse["clinicalStatus"]["coding"][0]["code"] == "relapse"
    assert relapse["onsetDateTime"] == "2022-06-20"
    assert relapse["extension"][1]["valueReference"]["reference"] == _url(bundle, primary)


def _url(bundle, resource):
    return next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is resource)


def test_chemotherapy_is_coded_dosed_and_linked_to_its_condition():
    bundle = record_to_bundle(full_record())
    primary, _, relapse = resources(bundle, "Condition")
    given = resources(bundle, "MedicationAdministration")
    ifosfamide = given[1]
    assert ifosfamide["medicationCodeableConcept"]["coding"] == [
        {"system": ATC, "code": "L01AA06", "display": "ifosfamide"}
    ]
    assert ifosfamide["dosage"]["dose"] == {
        "value": 3.0,
        "unit": "g/m2",
        "system": UCUM,
        "code": "g/m2",
    }
    assert ifosfamide["effectiveDateTime"] == "2020-05-11"
    assert ifosfamide["reasonReference"] == [{"reference": _url(bundle, primary)}]
    assert given[4]["reasonReference"] == [{"reference": _url(bundle, relapse)}]
    cumulative = {
        o["code"]["text"]: o["valueQuantity"]["value"]
        for o in resources(bundle, "Observation")
        if o["code"]["coding"][0]["code"] == "cumulative-dose"
    }
    assert cumulative["Cumulative vincristine dose"] == 3.0  # two cycles of 1.5 mg/m2


def test_radiotherapy_dose_and_fractions_are_observations_of_the_procedure():
    bundle = record_to_bundle(full_record())
    course = resources(bundle, "Procedure")[0]
    assert course["code"]["coding"][0]["code"] == "33195004"
    assert course["performedPeriod"] == {"start": "2020-10-05"}
    dose = next(
        o
        for o in resources(bundle, "Observation")
        if o.get("partOf") == [{"reference": _url(bundle, course)}] and "component" in o
    )
    assert dose["valueQuantity"]["value"] == 50.4 and dose["valueQuantity"]["code"] == "Gy"
    assert dose["component"][0]["valueInteger"] == 28


def test_every_citation_is_kept_as_a_note():
    for record in (full_record(), second_tumour_record()):
        notes = {n["text"] for r in resources(record_to_bundle(record)) for n in r.get("note", [])}
        for c in record.citations():
            assert f'Citation [{c.chunk_id}] {c.document}, page {c.page}: "{c.quote}"' in notes


def test_second_tumour_transplant_and_others_map_to_their_resources():
    record = second_tumour_record()
    bundle = record_to_bundle(record)
    Bundle.model_validate(bundle)
    conditions = {c["code"].get("text") for c in resources(bundle, "Condition")}
    assert {
        "Nodular sclerosis Hodgkin lymphoma",
        "Li-Fraumeni syndrome",
        "Acute graft-versus-host disease",
        "Intoxication: methotrexate",
    } <= conditions
    second = next(
        c
        for c in resources(bundle, "Condition")
        if c["code"].get("text") == "Nodular sclerosis Hodgkin lymphoma"
    )
    assert second["meta"]["profile"] == [PCSP + "Condition-primaryCancer-eu-pcsp"]
    assert second["evidence"][0]["detail"][0]["reference"].startswith("urn:uuid:")
    statements = [
        s["medicationCodeableConcept"]["text"] for s in resources(bundle, "MedicationStatement")
    ]
    assert statements == [
        "methotrexate",
        "cytarabine",
        "hydrocortisone",
        "ciclosporin",
        "methotrexate",
    ]
    devices = {d["type"]["text"]: d["status"] for d in resources(bundle, "Device")}
    assert devices == {"ventriculoperitoneal shunt": "active", "implanted port": "inactive"}
    assert len(resources(bundle, "BiologicallyDerivedProduct")) == 1
    activity = next(
        o
        for o in resources(bundle, "Observation")
        if o["code"]["coding"][0]["code"] == "administered-activity"
    )
    assert activity["valueQuantity"]["code"] == "MBq/kg"
    brachy = next(p for p in resources(bundle, "Procedure") if p["code"]["text"] == "Brachytherapy")
    assert brachy["usedCode"] == [{"text": "cylinder"}]
    assert {"url": EXT + "procedure-method", "valueCodeableConcept": {"text": "HDR"}} in brachy[
        "extension"
    ]


def test_minimal_record_exports_only_what_it_has():
    bundle = record_to_bundle(minimal_record())
    Bundle.model_validate(bundle)
    assert Counter(r["resourceType"] for r in resources(bundle)) == {
        "Patient": 1,
        "Condition": 1,
        "Provenance": 1,
    }
    provenance = resources(bundle, "Provenance")[0]
    assert len(provenance["target"]) == 2
    assert provenance["entity"][0]["what"]["identifier"]["value"] == "ewing-p2-c1"


def test_profiles_and_identifier_systems_are_never_real_systems():
    bundle = record_to_bundle(second_tumour_record())
    profiles = [p for r in resources(bundle) for p in r.get("meta", {}).get("profile", [])]
    assert profiles and all(p.startswith(PCSP) for p in profiles)
    identifiers = [bundle["identifier"], *resources(bundle, "Patient")[0]["identifier"]]
    identifiers += [e["what"]["identifier"] for e in resources(bundle, "Provenance")[0]["entity"]]
    for identifier in identifiers:
        assert identifier["system"].startswith(("urn:clinsynth:", "http://clinsynth.local/"))


def test_an_invalid_bundle_is_a_clear_error():
    bundle = record_to_bundle(full_record())
    validate_bundle(bundle)
    del bundle["entry"][1]["resource"]["subject"]  # Condition.subject is 1..1 in R4
    with pytest.raises(FhirConversionError, match=r"record r1: .*does not validate.*subject"):
        validate_bundle(bundle, record_id="r1")
    bundle = record_to_bundle(full_record())
    bundle["entry"][3]["resource"]["dosage"]["dose"]["value"] = "a lot"
    with pytest.raises(FhirConversionError, match="dose"):
        validate_bundle(bundle)


def test_a_metabolic_therapy_dosed_by_its_activity_has_no_gy_observation():
    data = full_record_data()
    data["radiotherapy"][0].update(
        site="whole body (systemic)",
        dose=None,
        fractions=1,
        technique="metabolic",
        metabolic={"radiopharmaceutical": "131I-MIBG", "activity": 18, "activity_unit": "mCi/kg"},
        boost=None,
        shielding_block_site=None,
    )
    data["diagnosis"]["genetic_conditions"] = ["Li-Fraumeni syndrome"]
    record = PatientRecord.model_validate(data)
    bundle = record_to_bundle(record)
    validate_bundle(bundle)
    quantities = [o.get("valueQuantity", {}) for o in resources(bundle, "Observation")]
    assert {"value": 18, "unit": "mCi/kg"}.items() <= next(
        q for q in quantities if q.get("value") == 18
    ).items()
    assert not any(q.get("code") == "Gy" for q in quantities)
    from service.exports.pcsp import record_to_document

    document = record_to_document(record)
    assert not any(
        "totalDoseRad" in p
        for e in document["entry"]
        for p in e["resource"].get("meta", {}).get("profile", [])
    )


def test_a_risk_group_is_the_tumour_conditions_stage():
    data = full_record_data()
    data["diagnosis"]["risk_group"] = "standard"
    bundle = record_to_bundle(PatientRecord.model_validate(data))
    validate_bundle(bundle)
    staged = [c for c in resources(bundle, "Condition") if "stage" in c]
    assert [c["stage"][0]["summary"]["text"] for c in staged] == ["standard risk"]
    assert not any("stage" in c for c in resources(record_to_bundle(full_record()), "Condition"))
