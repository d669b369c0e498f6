"""The regimen-structure rules' reading of cited quotes: phase, relapse regimen,
conditioning, supportive care and intrathecal route (rules.toml "regimens" block; the
breaking and passing records of each rule are in test_rules.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from service.records import ChemotherapyAdministration, PatientRecord
from service.validation import Validator
from service.validation.codes import Vocabulary
from service.validation.regimens import (
    intrathecal_quote,
    is_conditioning,
    phase_of,
    supportive_reason,
)
from tests.records import full_record_data
from tests.unit.test_rules import hodgkin, oepa_vincristine


def item(drug: str, dose: float, unit: str, *quotes: str, day: str = "2020-06-22"):
    citations = [{"chunk_id": "c", "document": "d.pdf", "page": 1, "quote": q} for q in quotes]
    return ChemotherapyAdministration(
        date=date.fromisoformat(day), cycle=3, drug=drug, dose=dose, unit=unit, citations=citations
    )


@pytest.mark.parametrize(
    ("quote", "phase"),
    [
        ("Induction (protocol IA) gives vincristine 1.5 mg/m2", "induction"),
        ("Reinduction (protocol II) gives vincristine 1.5 mg/m2", "consolidation"),
        ("During interim maintenance vincristine 1.5 mg/m2 is given", "consolidation"),
        ("Maintenance therapy combines vincristine 1.5 mg/m2", "maintenance"),
        ("Consolidación: vincristina 1,5 mg/m2 el día 1", "consolidation"),
        ("Indução com vincristina 1,5 mg/m2", "induction"),
        ("vincristine 1.5 mg/m2 on day 1", None),  # no phase named: not judged
        ("after induction, consolidation gives vincristine 1.5 mg/m2", None),  # two: not judged
    ],
)
def test_the_phase_is_the_one_the_quote_names(quote, phase):
    assert phase_of(item("vincristine", 1.5, "mg/m2", quote)) == phase


def test_the_route_nearest_the_dose_decides_whether_it_is_intrathecal():
    triple = (
        "Triple intrathecal therapy for children aged 3 years or older combines methotrexate "
        "12 mg, cytarabine 30 mg and prednisolone 10 mg"
    )
    assert intrathecal_quote(item("cytarabine", 30, "mg", triple)) == triple
    assert intrathecal_quote(item("methotrexate", 12, "mg", "IT methotrexate 12 mg on day 1"))
    ib = "cytarabine 75 mg/m2 per day IV in four blocks, with intrathecal methotrexate on day 45"
    assert intrathecal_quote(item("cytarabine", 75, "mg/m2", ib)) is None
    # "it" is a word, not the route IT
    gvhd = "For unrelated donors it is combined with short-course methotrexate 15 mg/m2"
    assert intrathecal_quote(item("methotrexate", 15, "mg/m2", gvhd)) is None


def test_conditioning_is_read_from_the_quote_or_a_conditioning_drug():
    bumel = "Autologous HSCT uses the BuMel regimen: busulfan as above, then melphalan 140 mg/m2"
    assert is_conditioning(item("melphalan", 140, "mg/m2", bumel))
    assert is_conditioning(item("busulfan", 0.8, "mg/kg", "busulfan 0.8 mg/kg every 6 hours"))
    # melphalan is chemotherapy too, where its passage says so
    assert not is_conditioning(item("melphalan", 70, "mg/m2", "melphalan 70 mg/m2 on day 1"))
    # a conditioning drug a passage gives in a chemotherapy phase
    flag = "Reinduction for relapsed AML gives fludarabine 30 mg/m2 per day"
    assert not is_conditioning(item("fludarabine", 30, "mg/m2", flag))


def test_supportive_drugs_and_supportive_uses_are_not_chemotherapy():
    assert supportive_reason(item("rasburicase", 0.2, "mg/kg", "rasburicase 0.2 mg/kg"))
    assert supportive_reason(item("Leucovorin", 15, "mg/m2", "leucovorin 15 mg/m2 rescue"))
    antiemetic = "the antiemetic regimen adds dexamethasone 6 mg/m2 IV every 6 hours"
    assert supportive_reason(item("dexamethasone", 6, "mg/m2", antiemetic))
    assert supportive_reason(item("dexamethasone", 6, "mg/m2", "dexamethasone 6 mg/m2")) is None
    assert supportive_reason(item("ciclosporin", 3, "mg/kg", "ciclosporin 3 mg/kg per day"))


def validate(data: dict[str, Any]) -> set[str]:
    data["provenance"]["language"] = "en"  # the fixture's clinical words are English
    result = Validator(Vocabulary.bundled(), None, date(2025, 1, 1)).validate(
        PatientRecord.model_validate(data)
    )
    return {f.rule_id for f in result.failures}


def administration(day: str, drug: str, dose: float, unit: str, quote: str) -> dict[str, Any]:
    cited = {"chunk_id": "c", "document": "d.pdf", "page": 1, "quote": quote}
    return {"date": day, "cycle": 1, "drug": drug, "dose": dose, "unit": unit, "citations": [cited]}


def test_conditioning_of_a_salvage_transplant_stands_in_the_second_line():
    data = full_record_data()
    data["hsct"][0]["date"] = "2022-10-03"
    data["relapse"]["second_line"].append(
        administration("2022-09-26", "busulfan", 0.8, "mg/kg", "busulfan 0.8 mg/kg every 6 h")
    )
    assert validate(data) == set()
    data["hsct"][0]["date"] = "2022-12-01"
    assert validate(data) == {"chemotherapy.conditioning_with_hsct"}


def test_phases_are_judged_per_line():
    """A second line may start with its own induction after first-line maintenance."""
    data = full_record_data()
    # a citation of its own: the record's items share theirs, and the first line opens
    # with the first cycle's, which is no maintenance
    maintenance = {**data["chemotherapy"][3]["citations"][0]}
    maintenance["quote"] = "Maintenance gives vincristine 1.5 mg/m2"
    data["chemotherapy"][3]["citations"] = [maintenance]
    data["relapse"]["second_line"][0]["citations"][0]["quote"] = (
        "Relapse induction gives irinotecan 50 mg/m2"
    )
    assert validate(data) == set()


def medulloblastoma(data: dict[str, Any]) -> dict[str, Any]:
    """The record's first tumour made a medulloblastoma (a CNS tumour, ICCC-3 group III)."""
    data["diagnosis"].update(
        tumour="medulloblastoma", icdo3_morphology="9470/3", icdo3_topography="C71.6",
        site="cerebellum", metastatic=False, metastasis_sites=[],
    )  # fmt: skip
    return data


def opening_with(quote: str, *, tumour=lambda data: data) -> set[str]:
    """The rules a record breaks whose every first-line item cites ``quote``."""
    data = tumour(full_record_data())
    for chemo in data["chemotherapy"]:
        chemo["citations"] = [{**chemo["citations"][0], "quote": quote}]
    return validate(data) & {"chemotherapy.induction_first"}


MAINTENANCE = "Maintenance chemotherapy gives cisplatin 75 mg/m2"


def test_a_first_line_opens_with_maintenance_only_in_a_cns_tumour():
    """CNS protocols give maintenance after radiotherapy with no induction before it; a
    tumour whose line has an induction or unphased regimen (rhabdomyosarcoma's IVA before
    vinorelbine and cyclophosphamide) opens with that, and consolidation (VAI, COPDAC-28)
    always follows one."""
    assert opening_with(MAINTENANCE, tumour=medulloblastoma) == set()
    assert opening_with(MAINTENANCE) == {"chemotherapy.induction_first"}  # Ewing sarcoma
    assert opening_with("Consolidation with VAI gives vincristine 1.5 mg/m2") == {
        "chemotherapy.induction_first"
    }


def test_a_cns_line_with_an_unphased_regimen_does_not_open_with_maintenance():
    data = medulloblastoma(full_record_data())
    opening = min(c["date"] for c in data["chemotherapy"])
    for chemo in data["chemotherapy"]:
        quote = MAINTENANCE if chemo["date"] == opening else "vincristine 1.5 mg/m2 weekly"
        chemo["citations"] = [{**chemo["citations"][0], "quote": quote}]
    assert validate(data) & {"chemotherapy.induction_first"} == {"chemotherapy.induction_first"}


def test_the_second_tumours_first_line_is_judged_too():
    # the second tumour's first line is a first line too
    copdac = oepa_vincristine("2023-03-15")
    copdac["citations"][0]["quote"] = "Consolidation with COPDAC-28 gives vincristine 1.5 mg/m2"
    data = full_record_data()
    data["second_tumour"] = {**hodgkin(), "chemotherapy": [copdac]}
    assert validate(data) == {"chemotherapy.induction_first"}
