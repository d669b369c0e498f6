"""The PCSP document against the PanCareSurPass IG itself, independent of the exporter.

Every profile an entry claims (and BundlePcsp for the Bundle) is checked against the rules the
IG's FSH states, read at test time from ../shared/fhir/pcsp/input/fsh by ``tests/pcsp_fsh.py``
(required elements, slices with a minimum, fixed values, required bindings, the profiles of
referenced resources); base-resource validity is checked with fhir.resources. The records
cover every block of the schema; one test compares our shapes with a partner hospital's
example resources.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from service.exports.pcsp import record_to_document
from service.records import PatientRecord
from tests.pcsp_fsh import Checker, Fsh
from tests.records import full_record, full_record_data
from tests.unit.test_fhir import minimal_record, second_tumour_record

REPO = Path(__file__).resolve().parents[2]
PCSP_DIR = REPO.parent / "shared" / "fhir" / "pcsp"
pytestmark = pytest.mark.skipif(
    not (PCSP_DIR / "input" / "fsh").is_dir(),
    reason=f"the PanCareSurPass IG sources are not at {PCSP_DIR} (hl7-eu/pcsp input/fsh)",
)
SD = "http://hl7.eu/fhir/ig/pcsp/StructureDefinition/"


def varied_record() -> PatientRecord:
    """What the other records leave out: per-kg, flat and unit doses, chronic GvHD from a
    haploidentical donor, total body irradiation, many transfusions, no fertility preservation,
    a protocol risk group."""
    data = full_record_data()
    data["chemotherapy"] += [
        {**data["chemotherapy"][0], "drug": "carboplatin", "atc": "L01XA02", "dose": 6.6,
         "unit": "mg/kg", "cycle": 1},
        {**data["chemotherapy"][0], "drug": "carboplatin", "atc": "L01XA02", "dose": 200,
         "unit": "mg", "cycle": 2},
        {**data["chemotherapy"][0], "drug": "asparaginase", "atc": "L01XX02", "dose": 2500,
         "unit": "IU/m2"},
        {**data["chemotherapy"][0], "drug": "dactinomycin", "atc": "L01DA01", "dose": 45,
         "unit": "microgram/kg"},
    ]  # fmt: skip
    data["radiotherapy"].append(
        {**data["radiotherapy"][0], "site": "whole body", "dose": 12, "fractions": 6,
         "technique": "tbi", "boost": None, "shielding_block_site": None}
    )  # fmt: skip
    data["hsct"][0].update(
        {
            "type": "allogeneic",
            "cell_source": "bone_marrow",
            "donor": {"type": "haploidentical", "relationship": "father"},
            "donor_blood_group": "AB-",
            "blood_group_after": "AB-",
            "gvhd": [{"form": "chronic", "grade": 2, "organs": ["liver"]}],
            "immunosuppression": ["tacrolimus"],
            "conditioning": "TBI and cyclophosphamide",
        }
    )
    data["others"]["transfusions"] = {"any": True, "more_than_10": True}
    data["others"]["fertility_preservation"] = {"done": False}
    data["diagnosis"]["genetic_conditions"] = ["Neurofibromatosis type 2"]
    data["diagnosis"]["risk_group"] = "high"  # the Condition's stage
    data["measures_at_diagnosis"] = {"weight_kg": 40.0, "height_cm": 150.0}
    return PatientRecord.model_validate(data)


RECORDS = {
    "full": full_record,
    "second tumour": second_tumour_record,
    "minimal": minimal_record,
    "varied": varied_record,
}
# Every profile the issue asks for, and what it takes to get each one.
EXPECTED = {
    "Bundle-eu-pcsp", "Composition-surpass-eu-pcsp", "Patient-eu-pcsp",
    "Condition-primaryCancer-eu-pcsp", "Condition-secondaryCancer-eu-pcsp",
    "MedicationAdministration-eu-pcsp", "Observation-cumulativeDoseChemo-eu-pcsp",
    "MedicationStatement-eu-pcsp", "Procedure-radiotheraphy-eu-pcsp",
    "Procedure-radiotheraphyBoost-eu-pcsp", "Procedure-radiotheraphyShield-eu-pcsp",
    "Observation-totalDoseRad-eu-pcsp", "Procedure-surgery-eu-pcsp", "Procedure-sct-eu-pcsp",
    "BiologicallyDerivedProduct-sct-eu-pcsp", "Procedure-sct-prophylaxis-eu-pcsp",
    "Condition-gvhd-eu-pcsp", "Observation-bld-abo-rh-eu-pcsp", "Procedure-flt-eu-pcsp",
    "PlanDefinition-flt-eu-pcsp", "Procedure-cvc-otherinfos-eu-pcsp",
    "Procedure-cryopreservation-otherinfos-eu-pcsp", "Procedure-transfusion-otherinfos-eu-pcsp",
    "Condition-toxicity-eu-pcsp", "Observation-predisposition-eu-pcsp", "CarePlan-eu-pcsp",
}  # fmt: skip


@pytest.fixture(scope="module")
def fsh() -> Fsh:
    return Fsh(PCSP_DIR / "input" / "fsh")


def problems(fsh: Fsh, bundle: dict) -> tuple[list[str], Checker]:
    checker = Checker(fsh, bundle)
    found = checker.check(bundle, fsh.profile_urls[bundle["meta"]["profile"][0]])
    for entry in bundle["entry"]:
        for url in entry["resource"].get("meta", {}).get("profile", []):
            assert url in fsh.profile_urls, f"{url} is no profile of the IG"
            found += checker.check(entry["resource"], fsh.profile_urls[url])
    return found, checker


def claimed(bundle: dict) -> set[str]:
    profiles = {
        p for e in bundle["entry"] for p in e["resource"].get("meta", {}).get("profile", [])
    }
    return {p.removeprefix(SD) for p in profiles | set(bundle["meta"]["profile"])}


@pytest.mark.parametrize("name", RECORDS)
def test_every_claimed_profile_meets_the_fsh(fsh, name):
    bundle = record_to_document(RECORDS[name]())
    found, checker = problems(fsh, bundle)
    assert found == []
    assert checker.unchecked == set(), "rules the checker could not decide"


def test_every_profile_the_passport_needs_is_emitted_and_checked(fsh):
    emitted = set().union(*(claimed(record_to_document(make())) for make in RECORDS.values()))
    assert emitted == EXPECTED
    assert {SD + p for p in emitted} <= set(fsh.profile_urls)


def test_the_checker_finds_faults_it_is_meant_to_find(fsh):
    """Guards the guard: a conformant document with one fault planted at a time."""
    good = record_to_document(full_record())

    def with_fault(profile: str, change) -> list[str]:
        bundle = copy.deepcopy(good)
        resource = next(
            e["resource"] if profile != "Bundle" else bundle
            for e in bundle["entry"]
            if profile == "Bundle"
            or SD + profile in e["resource"].get("meta", {}).get("profile", [])
        )
        change(resource, bundle)
        return problems(fsh, bundle)[0]

    def patient_as_reason(r, b):
        r["reasonReference"] = [{"reference": b["entry"][1]["fullUrl"]}]

    faults = {
        "MedicationAdministration-eu-pcsp": lambda r, b: r.pop("reasonReference"),
        "Observation-cumulativeDoseChemo-eu-pcsp": lambda r, b: r["valueQuantity"].update(
            code="mg/kg"
        ),
        "Procedure-radiotheraphy-eu-pcsp": lambda r, b: r.update(bodySite=[{"text": "pelvis"}]),
        "Procedure-sct-eu-pcsp": lambda r, b: r["category"]["coding"][0].update(code="1"),
        "Observation-bld-abo-rh-eu-pcsp": lambda r, b: r["component"].pop(),
        "Composition-surpass-eu-pcsp": lambda r, b: r["section"][0]["code"]["coding"][0].update(
            code="1"
        ),
        "Procedure-surgery-eu-pcsp": patient_as_reason,
        "Bundle": lambda r, b: b["entry"][1].update(request={"method": "PUT", "url": "P/1"}),
    }
    for profile, change in faults.items():
        assert with_fault(profile, change), f"a fault in {profile} went unnoticed"


@pytest.mark.parametrize("name", RECORDS)
def test_base_resources_are_valid_fhir(name):
    # fhir.resources 8 ships FHIR R5, R4B and STU3 models, not R4: these are the R4B models,
    # which are wire-compatible with R4 for every resource this document uses.
    bundle = Bundle.model_validate(record_to_document(RECORDS[name]()))
    assert bundle.type == "document"


def _example(relative: str) -> dict:
    return json.loads((PCSP_DIR / "examples" / relative).read_text(encoding="utf-8"))


def _shape(resource: dict) -> set[str]:
    return set(resource) - {"id", "meta", "text"}


def test_shapes_match_a_partner_example():
    """Lübeck's chemotherapy examples: every element they fill that the passport has a datum
    for, we fill too (their event-location has no datum in our records; dates may be a period
    there and a day here: effective[x] either way)."""
    bundle = record_to_document(full_record())
    ours = {
        p.removeprefix(SD): e["resource"]
        for e in bundle["entry"]
        for p in e["resource"].get("meta", {}).get("profile", [])
    }
    given = _example("Germany/lubeck/test-data/MedicationAdministration-9953.json")
    mine = ours["MedicationAdministration-eu-pcsp"]
    effective = {k for k in _shape(given) if k.startswith("effective")}
    assert _shape(given) - effective <= _shape(mine)
    assert any(k.startswith("effective") for k in mine)
    their_ext = {x["url"] for x in given["extension"]} - {SD + "event-location"}
    assert their_ext <= {x["url"] for x in mine["extension"]}
    system = given["medicationCodeableConcept"]["coding"][0]["system"]
    assert mine["medicationCodeableConcept"]["coding"][0]["system"] == system
    dose = _example("Germany/lubeck/test-data/Observation-5971.json")
    mine = ours["Observation-cumulativeDoseChemo-eu-pcsp"]
    assert _shape(dose) <= _shape(mine)
    assert mine["code"]["coding"][0]["system"] == dose["code"]["coding"][0]["system"]
    assert mine["code"]["coding"][0]["code"] == dose["code"]["coding"][0]["code"]
    assert set(dose["valueQuantity"]) == set(mine["valueQuantity"])
