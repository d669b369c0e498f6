"""What the Survivorship Passport document says: doses per m², sections, determinism, and the
seeded weight and height it rests on."""

from __future__ import annotations

import json

import pytest

from service.body_measures import body_measures, estimate_body_measures
from service.exports.pcsp import record_to_document
from service.records import BodyMeasures, PatientRecord
from tests.records import full_record, full_record_data
from tests.unit.test_fhir import minimal_record, second_tumour_record
from tests.unit.test_pcsp_conformance import varied_record

SD = "http://hl7.eu/fhir/ig/pcsp/StructureDefinition/"


def profiled(bundle: dict, profile: str) -> list[dict]:
    return [
        e["resource"]
        for e in bundle["entry"]
        if SD + profile in e["resource"].get("meta", {}).get("profile", [])
    ]


def cumulative(bundle: dict) -> dict[str, dict]:
    return {
        o["code"]["text"].removeprefix("Cumulative ").removesuffix(" dose"): o
        for o in profiled(bundle, "Observation-cumulativeDoseChemo-eu-pcsp")
    }


def test_a_document_bundle_with_the_composition_first_and_no_requests():
    bundle = record_to_document(full_record())
    assert bundle["type"] == "document" and bundle["timestamp"] == "2024-01-01T00:00:00Z"
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "Composition" and types.count("Composition") == 1  # bdl-pcsp-1
    assert all("request" not in e for e in bundle["entry"])
    assert json.dumps(bundle) == json.dumps(record_to_document(full_record()))
    composition = bundle["entry"][0]["resource"]
    assert "SYNTHETIC PATIENT - NOT A REAL PERSON" in composition["title"]
    assert composition["language"] == "es"
    urls = {e["fullUrl"] for e in bundle["entry"]}
    refs = json.dumps(bundle).split('"reference": "')[1:]
    assert {r.split('"')[0] for r in refs} <= urls


def test_sections_hold_the_treatments_and_the_relapse():
    composition = record_to_document(full_record())["entry"][0]["resource"]
    primary, care_plan = composition["section"]
    assert primary["code"]["coding"][0]["code"] == "72135-7"
    titles = [s["title"] for s in primary["section"]]
    assert titles == [
        "Chemotherapy",
        "Stem cell transplantation",
        "Radiotherapy",
        "Surgery",
        "Other information",
        "Relapse after end of treatment",
    ]
    relapse = primary["section"][-1]
    assert [s["title"] for s in relapse["section"]] == ["Chemotherapy"]
    assert len(relapse["section"][0]["entry"]) == 1  # irinotecan, second line
    assert "irinotecan 50.0 mg/m2 (2022-07-01)" in relapse["section"][0]["text"]["div"]
    assert care_plan["code"]["coding"][0]["code"] == "18776-5"
    second = record_to_document(second_tumour_record())["entry"][0]["resource"]
    assert [s["title"] for s in second["section"]][1].startswith("Second tumour")


def test_cumulative_doses_per_m2_are_the_sums_of_the_administrations():
    record = varied_record()
    bundle = record_to_document(record)
    doses = cumulative(bundle)
    assert doses["vincristine"]["valueQuantity"] == {
        "value": 3.0,
        "unit": "mg/m2",
        "system": "http://unitsofmeasure.org",
        "code": "mg/m2",
    }
    assert doses["ifosfamide"]["valueQuantity"]["code"] == "g/m2"
    assert doses["asparaginase"]["valueQuantity"]["code"] == "[iU]/m2"
    bsa = record.measures_at_diagnosis.bsa_m2  # 40 kg, 150 cm: sqrt(150 * 40 / 3600)
    assert bsa == pytest.approx(1.291, abs=1e-3)
    carboplatin = doses["carboplatin"]
    expected = 6.6 * 40 / bsa + 200 / bsa  # one dose per kg, one flat
    assert carboplatin["valueQuantity"]["value"] == pytest.approx(expected, rel=1e-4)
    as_given = {
        c["valueQuantity"]["code"]: c["valueQuantity"]["value"] for c in carboplatin["component"]
    }
    assert as_given == {"mg/kg": 6.6, "mg": 200}
    assert "1.291 m2 (Mosteller" in carboplatin["note"][0]["text"]
    dactinomycin = doses["dactinomycin"]["valueQuantity"]["value"]
    assert dactinomycin == pytest.approx(45 * 40 / 1000 / bsa, rel=1e-4)
    for drug in ("vincristine", "ifosfamide", "doxorubicin", "irinotecan"):
        given = [c.dose for c in record.chemotherapy + record.relapse.second_line if c.drug == drug]
        assert doses[drug]["valueQuantity"]["value"] == pytest.approx(sum(given))


def test_each_administration_keeps_its_dose_and_links_its_cumulative_dose():
    bundle = record_to_document(varied_record())
    urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    doses = {urls[o["id"]]: o for o in cumulative(bundle).values()}
    given = profiled(bundle, "MedicationAdministration-eu-pcsp")
    per_kg = next(m for m in given if m["dosage"]["dose"]["code"] == "mg/kg")
    assert per_kg["dosage"]["dose"]["value"] == 6.6
    assert "6.6 mg/kg = 204.49 mg/m2 (BSA 1.291 m2)" in per_kg["dosage"]["text"]
    for item in given:
        linked = doses[item["extension"][0]["valueReference"]["reference"]]
        assert item["medicationCodeableConcept"]["text"] in linked["code"]["text"]


def test_codes_come_from_the_ig_not_from_us():
    text = json.dumps([record_to_document(r()) for r in (full_record, varied_record)])
    assert "clinsynth.local/fhir/CodeSystem" not in text
    rt = profiled(record_to_document(varied_record()), "Procedure-radiotheraphy-eu-pcsp")
    sites = [c["bodySite"][0]["coding"][0] for c in rt]
    assert [(s["code"], s["system"].rsplit("/", 1)[1]) for s in sites] == [
        ("11", "cs-radiotherapy-pcsp"),
        ("50.50", "cs-radiotherapy-pcsp"),
    ]
    assert rt[0]["extension"][-1]["valueTiming"] == {"repeat": {"count": 28}}


def test_body_measures_are_seeded_plausible_and_kept():
    first = estimate_body_measures(key="a", age=12, sex="male")
    assert first == estimate_body_measures(key="a", age=12, sex="male")
    assert first != estimate_body_measures(key="b", age=12, sex="male")
    for age in range(0, 26):
        for sex in ("female", "male"):
            m = estimate_body_measures(key=f"{age}{sex}", age=age, sex=sex)
            assert 5 <= m.weight_kg <= 90 and 60 <= m.height_cm <= 195
    toddler = estimate_body_measures(key="x", age=2, sex="female")
    teen = estimate_body_measures(key="x", age=16, sex="female")
    assert toddler.bsa_m2 < 0.7 < 1.3 < teen.bsa_m2
    old = full_record()  # stored before the measures existed: derived from its id
    assert old.measures_at_diagnosis is None
    assert body_measures(old) == estimate_body_measures(key=old.record_id, age=12, sex="male")
    data = full_record_data() | {"measures_at_diagnosis": {"weight_kg": 30, "height_cm": 130}}
    kept = PatientRecord.model_validate(data)
    assert body_measures(kept) == BodyMeasures(weight_kg=30, height_cm=130)


def test_minimal_record_still_makes_a_passport():
    bundle = record_to_document(minimal_record())
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[:3] == ["Composition", "Patient", "Condition"]
    flt = bundle["entry"][0]["resource"]["section"][0]
    assert flt["section"][0]["emptyReason"]["coding"][0]["code"] == "nilknown"


def test_a_risk_group_is_the_tumour_conditions_stage_as_the_logical_model_maps_it():
    """The PCSP Diagnosis model's "Stage/Risk" (free text) maps to Condition.stage."""
    (tumour,) = [
        c
        for c in profiled(record_to_document(varied_record()), "Condition-primaryCancer-eu-pcsp")
        if "stage" in c
    ]
    assert tumour["stage"] == [
        {"summary": {"text": "high risk"}, "type": {"text": "Protocol risk group"}}
    ]
    assert not any(
        "stage" in c
        for c in profiled(record_to_document(full_record()), "Condition-primaryCancer-eu-pcsp")
    )
