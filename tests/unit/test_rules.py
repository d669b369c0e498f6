"""Every rule of rules.toml: a record that breaks it (flagged by that rule id, with a message
naming the planted value) and one that passes. Cases are keyed by rule id and the tests are
parametrized from the data file, so a rule added without cases fails here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from service.records import PatientRecord
from service.validation import ValidationResult, Validator
from service.validation.codes import Vocabulary
from service.validation.rules import RULES_FILE, RuleBook, RuleFileError
from tests.records import cite, full_record_data
from tests.unit.test_grounding import (
    ALL_DOC,
    CHUNKS,
    HODGKIN_DOC,
    HSCT_DOC,
    VAC,
    FakeChunks,
    allogeneic_hsct,
    cite_in,
    grounded_record_data,
    nodular_sclerosis,
    tbi,
    triple_it,
)
from tests.unit.test_risk_groups import (
    CADO,
    CSI_HIGH,
    CSI_STANDARD,
    RISK_CHUNKS,
    TVD,
    mb,
    nb,
)

TODAY = date(2025, 1, 1)
Edit = Callable[[dict[str, Any]], None]


def put(path: str, value: Any) -> Edit:
    """An edit setting ``path`` ("a.b[0].c") of the record data to ``value``."""

    def edit(data: dict[str, Any]) -> None:
        keys: list[Any] = []
        for part in path.split("."):
            name, _, index = part.partition("[")
            keys.append(name)
            if index:
                keys.append(int(index.rstrip("]")))
        target: Any = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def in_spanish(data: dict[str, Any]) -> None:
    """The record as the generator writes it for a Spanish request."""
    from service.generation.localise import in_language

    spanish = in_language(PatientRecord.model_validate(data), "es").model_dump(mode="json")
    data.clear()
    data.update(spanish)
    data["summary"] = "Niño de 12 años con sarcoma de Ewing de la pelvis."
    data["provenance"]["language"] = "es"


def extra_doxorubicin(cycles: int) -> Edit:
    """``cycles`` more doxorubicin 20 mg/m2 cycles, three weeks apart from 2020-06-22."""

    def edit(data: dict[str, Any]) -> None:
        template = data["chemotherapy"][2]
        for n in range(cycles):
            day = date.fromordinal(date(2020, 6, 22).toordinal() + 21 * n)
            data["chemotherapy"].append({**template, "cycle": 3 + n, "date": day.isoformat()})

    return edit


def intrathecal(drugs: list[str], start: str = "2020-05-11") -> dict[str, Any]:
    citations = [triple_it(), cite("vincristine 1.5 mg/m2 (maximum 2 mg) IV on day 1")]
    return {"start_date": start, "injections": 4, "drugs": drugs, "citations": citations}


TRIPLE = ["methotrexate", "cytarabine", "hydrocortisone"]
WHOLE_LUNG_18 = (
    "Whole-lung irradiation for pulmonary metastases in patients aged 14 years or older: "
    "18 Gy in 12 fractions of 1.5 Gy"
)


def allogeneic(**changes: Any) -> dict[str, Any]:
    transplant = {
        "date": "2021-02-01",
        "type": "allogeneic",
        "cell_source": "bone_marrow",
        "blood_group_before": "A+",
        "blood_group_after": "O+",
        "donor": {"type": "matched_sibling", "relationship": "sister"},
        "donor_blood_group": "O+",
        "gvhd": [{"form": "acute", "grade": 2, "organs": ["skin"]}],
        "immunosuppression": ["ciclosporin"],
        "citations": [allogeneic_hsct()],
    }
    return {**transplant, **changes}


def hodgkin(**changes: Any) -> dict[str, Any]:
    diagnosis = {
        "tumour": "classic Hodgkin lymphoma, nodular sclerosis",
        "icdo3_morphology": "9663/3",
        "icdo3_topography": "C77.0",
        "site": "lymph nodes of head, face and neck",
        "diagnosis_date": "2023-03-01",
        "age_at_diagnosis": 14,
        "metastatic": False,
        "metastasis_sites": [],
        "citations": [nodular_sclerosis()],
    }
    return {"diagnosis": {**diagnosis, **changes}}


def tbi_course(start: str) -> dict[str, Any]:
    return {
        "start_date": start,
        "site": "total body",
        "dose": 12,
        "fractions": 6,
        "technique": "tbi",
        "shielding_block_site": "lungs",
        "citations": [tbi()],
    }


# Quotes of the fake store that say what a dose is: its phase, a relapse regimen,
# conditioning, supportive care, an intrathecal dose.
VIDE_INDUCTION = cite(
    "Induction in EURO-EWING 99 and Ewing 2008 consisted of six cycles of VIDE given every "
    "21 days: vincristine 1.5 mg/m2 (maximum 2 mg) IV on day 1"
)
VAI_CONSOLIDATION = cite(
    "Consolidation for standard-risk patients was given as cycles of VAI every 21 days: "
    "vincristine 1.5 mg/m2 (maximum 2 mg) on day 1",
    chunk_id="ewing-p2-c2",
)
RELAPSED = cite("Relapsed or refractory disease is treated with second-line regimens such as")
BUMEL = cite_in(
    HSCT_DOC,
    "hsct-p1-c4",
    1,
    "Autologous HSCT in high-risk neuroblastoma and Ewing sarcoma uses the BuMel regimen: "
    "weight-based IV busulfan as above, then melphalan 140 mg/m2 IV.",
)
ANTIEMETIC = cite_in(
    HSCT_DOC,
    "hsct-p1-c4",
    1,
    "For highly emetogenic chemotherapy the antiemetic regimen is ondansetron 0.15 mg/kg IV",
)
REINDUCTION = cite_in(
    ALL_DOC, "all-p2-c2", 2, "Reinduction (protocol II) gives dexamethasone 10 mg/m2 per day"
)
IB_CYTARABINE = cite_in(
    ALL_DOC,
    "all-p2-c2",
    2,
    "cytarabine 75 mg/m2 per day IV in four blocks of four days, and mercaptopurine 60 mg/m2 "
    "per day orally on days 36-63, with intrathecal methotrexate on days 45 and 59",
)

NLPHL_CVP = cite_in(
    HODGKIN_DOC,
    "hodgkin-p2-c1",
    2,
    "Other early-stage NLPHL is treated with three cycles of low-dose CVP every 21 days: "
    "cyclophosphamide 500 mg/m2 IV on day 1",
)


def oepa_vincristine(day: str) -> dict[str, Any]:
    quote = (
        "All patients receive two cycles of OEPA, repeated on day 29: vincristine 1.5 mg/m2 "
        "(maximum 2 mg) IV on days 1, 8 and 15"
    )
    return {
        "date": day,
        "cycle": 1,
        "drug": "vincristine",
        "dose": 1.5,
        "unit": "mg/m2",
        "citations": [cite_in(HODGKIN_DOC, "hodgkin-p2-c1", 2, quote)],
    }


def oepa_cycles(*days: str) -> list[Edit]:
    """OEPA's vincristine ("two cycles of OEPA, repeated on day 29") as cycles 3, 4, ..."""
    return [
        dose(day, "vincristine", 1.5, "mg/m2", oepa_vincristine(day)["citations"][0], cycle=3 + n)
        for n, day in enumerate(days)
    ]


def dose(
    day: str, drug: str, amount: float, unit: str, *citations: dict[str, Any], cycle: int = 3
) -> Edit:
    """One more first-line chemotherapy item (cycle 3: after the record's two)."""

    def edit(data: dict[str, Any]) -> None:
        item = {"date": day, "cycle": cycle, "drug": drug, "dose": amount, "unit": unit}
        data["chemotherapy"].append({**item, "citations": list(citations)})

    return edit


@dataclass
class Case:
    edits: list[Edit]
    mentions: str  # a planted value the message must name
    also: frozenset[str] = field(default_factory=frozenset)  # other rules the fault breaks
    pages: bool = False  # seen only with the cited page's text (a heading above the quote)


def case(*edits: Edit, mentions: str, also: tuple[str, ...] = (), pages: bool = False) -> Case:
    return Case(list(edits), mentions, frozenset(also), pages)


DX = "diagnosis"
MIBG = {"radiopharmaceutical": "131I-MIBG", "activity": 18, "activity_unit": "mCi/kg"}
CHEMO0 = "chemotherapy[0]"
RT0 = "radiotherapy[0]"
HSCT0 = "hsct[0]"
OTHERS = "others"


def risk_group(group: str, *citations: dict[str, Any]) -> list[Edit]:
    """The diagnosis in ``group``, citing ``citations`` (naming it) besides its codes."""

    def cite_more(data: dict[str, Any]) -> None:
        data["diagnosis"]["citations"] += [dict(c) for c in citations]

    return [put(f"{DX}.risk_group", group), cite_more]


def craniospinal(dose: float, fractions: int, quote: str) -> list[Edit]:
    """The radiotherapy course as craniospinal irradiation at ``dose`` Gy, citing ``quote``."""
    return [
        put(f"{RT0}.site", "craniospinal axis"),
        put(f"{RT0}.dose", dose),
        put(f"{RT0}.fractions", fractions),
        put(f"{RT0}.boost", None),
        put(f"{RT0}.citations", [mb(quote)]),
    ]


NOT_METASTATIC = [put(f"{DX}.metastatic", False), put(f"{DX}.metastasis_sites", [])]
WHOLE_LUNG = [
    put(f"{RT0}.site", "Whole-lung"),
    put(f"{RT0}.dose", 18),
    put(f"{RT0}.fractions", 12),
    put(f"{RT0}.citations", [cite(WHOLE_LUNG_18, chunk_id="ewing-p2-c3")]),
]
HIGH_RISK = risk_group("high", BUMEL)  # "Autologous HSCT in high-risk neuroblastoma and ..."


BREAKS: dict[str, Case] = {
    "dates.after_birth": case(
        put(f"{OTHERS}.central_venous_catheter.placed_date", "2007-01-01"), mentions="2007-01-01"
    ),
    "dates.not_future": case(
        put(f"{OTHERS}.central_venous_catheter.placed_date", "2024-06-01"), mentions="2024-01-01"
    ),
    "diagnosis.age_consistent": case(
        put(f"{DX}.age_at_diagnosis", 11), mentions="(age 12)", also=("request.honoured",)
    ),
    "diagnosis.metastatic_sites": case(put(f"{DX}.metastasis_sites", []), mentions="true"),
    "diagnosis.prosthesis_placed": case(put(f"{DX}.prosthesis_still_present", True), mentions=DX),
    "chemotherapy.after_diagnosis": case(
        put(f"{CHEMO0}.date", "2020-05-01"), mentions="2020-05-01"
    ),
    "chemotherapy.cycles_ordered": case(
        put("chemotherapy[3].date", "2020-05-11"), mentions="cycle 2 starts on 2020-05-11"
    ),
    "chemotherapy.anthracycline_cumulative": case(extra_doxorubicin(22), mentions="460"),
    "intrathecal.after_diagnosis": case(
        put("intrathecal", intrathecal(TRIPLE, start="2020-05-01")), mentions="2020-05-01"
    ),
    "intrathecal.drugs_allowed": case(
        put("intrathecal", intrathecal(["methotrexate", "vincristine"])), mentions="vincristine"
    ),
    "radiotherapy.after_diagnosis": case(
        put(f"{RT0}.start_date", "2020-04-01"), mentions="tumour bed"
    ),
    "radiotherapy.total_dose": case(
        put(f"{RT0}.site", "whole lung"),
        mentions="total 50.4 Gy outside 12-21 Gy for whole lung",
        also=("grounding.radiotherapy_site_dose",),  # its quote gives the tumour bed 50.4 Gy
    ),
    "radiotherapy.fraction_dose": case(put(f"{RT0}.fractions", 5), mentions="10.08 Gy"),
    "radiotherapy.boost": case(put(f"{RT0}.boost.dose", 30), mentions="boost 30 Gy"),
    "radiotherapy.tbi_with_hsct": case(
        put("radiotherapy", [tbi_course("2020-10-05")]), mentions="2020-10-05"
    ),
    # whole-lung irradiation "for pulmonary metastases" of a tumour diagnosed without any
    "radiotherapy.metastases_if_metastatic": case(
        *NOT_METASTATIC,
        *WHOLE_LUNG,
        mentions="radiotherapy[0]: Whole-lung 18 Gy in 12 fractions (2020-10-05) treats "
        "metastases ('Whole-lung irradiation for pulmonary metastases in patients aged 14",
    ),
    "surgery.after_diagnosis": case(
        put("surgery[0].date", "2020-04-20"), mentions="hemipelvectomy"
    ),
    "hsct.after_diagnosis": case(put(f"{HSCT0}.date", "2020-04-20"), mentions="autologous HSCT"),
    "hsct.allogeneic_donor": case(
        put(HSCT0, allogeneic(donor=None, donor_blood_group=None)), mentions="2021-02-01"
    ),
    "hsct.autologous_no_donor": case(
        put(f"{HSCT0}.donor", {"type": "matched_sibling", "relationship": "sister"}),
        mentions="matched_sibling",
    ),
    "hsct.autologous_gvhd": case(
        put(f"{HSCT0}.gvhd", [{"form": "chronic", "grade": 2}]), mentions="chronic grade 2"
    ),
    "hsct.donor_relationship": case(
        put(HSCT0, allogeneic(donor={"type": "matched_unrelated", "relationship": "mother"})),
        mentions="'mother'",
    ),
    "hsct.blood_group_allogeneic": case(
        put(HSCT0, allogeneic(blood_group_after="A+")), mentions="A+"
    ),
    "hsct.blood_group_autologous": case(put(f"{HSCT0}.blood_group_after", "B+"), mentions="B+"),
    "sex.sites": case(put(f"{RT0}.shielding_block_site", "ovaries"), mentions="'ovaries'"),
    "sex.procedures": case(
        put(f"{OTHERS}.fertility_preservation.method", "oocyte cryopreservation"),
        mentions="oocyte cryopreservation",
    ),
    "relapse.after_first_line": case(put("relapse.date", "2020-05-20"), mentions="tumour bed"),
    "relapse.second_line_after_relapse": case(
        put("relapse.second_line[0].date", "2022-06-01"), mentions="cyclophosphamide"
    ),
    "chemotherapy.phase_order": case(
        put(f"{CHEMO0}.citations", [VAI_CONSOLIDATION]),
        put("chemotherapy[3].citations", [VIDE_INDUCTION]),
        mentions="induction dose vincristine 1.5 mg/m2 (cycle 2, 2020-06-01) comes after "
        "consolidation began",
        also=("chemotherapy.induction_first",),  # the line opens with that consolidation
    ),
    "chemotherapy.induction_first": case(
        put(f"{CHEMO0}.citations", [VAI_CONSOLIDATION]),
        mentions="chemotherapy begins on 2020-05-11 with a consolidation dose, vincristine",
    ),
    "chemotherapy.cycles_as_stated": case(
        *oepa_cycles("2020-06-22", "2020-07-20", "2020-08-17"),
        mentions="3 cycles of vincristine, but its cited passage gives 2 ('All patients",
    ),
    "chemotherapy.interval_as_stated": case(
        put(f"{CHEMO0}.citations", [VIDE_INDUCTION]),
        put("chemotherapy[3].citations", [VIDE_INDUCTION]),
        put("chemotherapy[3].date", "2020-05-25"),
        mentions="cycle 2 of vincristine starts on 2020-05-25, 14 days after the cycle before, "
        "but its cited passage gives every 21 days",
    ),
    "diagnosis.risk_group_cited": case(
        put(f"{DX}.risk_group", "high"), mentions="risk group high, but no cited quote names it"
    ),
    # CADO stands under "4. Chemotherapy for low and intermediate risk"
    "chemotherapy.regimen_for_risk_group": case(
        *HIGH_RISK,
        put("chemotherapy[3].citations", [nb(CADO)]),
        mentions="vincristine 1.5 mg/m2 (cycle 2, 2020-06-01) cites a passage for low and "
        "intermediate risk ('CADO: cyclophosphamide 300 mg/m² per day on days 1-5, vincristine "
        "1.5 mg/m² on days 1 and 5' under the heading '4. Chemotherapy for low and intermediate "
        "risk'), but the risk group is high",
        pages=True,
    ),
    "radiotherapy.course_for_risk_group": case(
        *HIGH_RISK,
        *craniospinal(23.4, 13, CSI_STANDARD),
        mentions="cites a passage for standard risk ('Craniospinal irradiation for "
        "standard-risk medulloblastoma",
    ),
    "chemotherapy.relapse_regimen_in_relapse": case(
        dose("2020-06-22", "cyclophosphamide", 1500, "mg/m2", cite(VAC), RELAPSED),
        mentions="the relapse on 2022-06-20 has its own second-line treatment",
    ),
    "chemotherapy.conditioning_with_hsct": case(
        dose("2020-06-22", "melphalan", 140, "mg/m2", BUMEL),
        mentions="melphalan 140 mg/m2 (cycle 3, 2020-06-22) is not within 21 days",
    ),
    "chemotherapy.not_supportive": case(
        dose("2020-06-22", "ondansetron", 0.15, "mg/kg", ANTIEMETIC),
        mentions="ondansetron 0.15 mg/kg (cycle 3, 2020-06-22) is a supportive drug",
    ),
    "chemotherapy.intrathecal_in_block": case(
        dose("2020-06-22", "methotrexate", 12, "mg", triple_it()),
        mentions="methotrexate 12 mg (cycle 3, 2020-06-22) is given intrathecally",
    ),
    "chemotherapy.regimen_fits_patient": case(
        dose("2020-06-22", "cyclophosphamide", 500, "mg/m2", NLPHL_CVP),
        mentions="names only nodular lymphocyte predominant Hodgkin lymphoma",
    ),
    "language.spanish_terms": case(
        put("provenance.language", "es"),
        mentions="chemotherapy[0].drug: 'vincristine' is English in a Spanish record; "
        "the vocabulary says 'vincristina'",
    ),
    "request.honoured": case(
        put("provenance.parsed_request.diagnosis", "osteosarcoma"),
        put("provenance.parsed_request.diagnosis_codes", ["9180/3"]),
        mentions="osteosarcoma asked for",
    ),
    "second_tumour.different": case(
        put(
            "second_tumour",
            hodgkin(
                tumour="Ewing sarcoma",
                icdo3_morphology="9364/3",
                icdo3_topography=None,
                site="rib",
                citations=[cite("ICD-O-3 morphology 9364/3", chunk_id="ewing-p1-c4", page=1)],
            ),
        ),
        mentions="Ewing sarcoma (9364/3)",
    ),
    "second_tumour.after_first": case(
        put("second_tumour", hodgkin(diagnosis_date="2019-01-01", age_at_diagnosis=10)),
        mentions="2019-01-01",
    ),
    "others.intoxication_resolution": case(
        put(
            f"{OTHERS}.intoxications",
            [
                {
                    "date": "2020-07-01",
                    "agent": "methotrexate",
                    "resolved": True,
                    "resolution_date": "2020-06-28",
                }
            ],
        ),
        mentions="2020-06-28",
    ),
    "others.transfusions": case(
        put(f"{OTHERS}.transfusions", {"any": False, "more_than_10": True}), mentions="false"
    ),
    "others.fertility_preservation": case(
        put(f"{OTHERS}.fertility_preservation.done", False), mentions="sperm cryopreservation"
    ),
    "codes.morphology_known": case(
        put(f"{DX}.icdo3_morphology", "9999/3"),
        mentions="9999/3",
        also=("grounding.code_supported", "request.honoured"),
    ),
    "codes.morphology_matches_tumour": case(
        put(f"{DX}.icdo3_morphology", "9180/3"),
        mentions="9180/3 is osteosarcoma, NOS, not Ewing sarcoma",
        also=("grounding.code_supported", "request.honoured"),
    ),
    "codes.tumour_recognised": case(put(f"{DX}.tumour", "pilomatrixoma"), mentions="pilomatrixoma"),
    "codes.topography_known": case(
        put(f"{DX}.icdo3_topography", "C99.9"),
        mentions="C99.9",
        also=("grounding.code_supported",),
    ),
    "codes.topography_matches_site": case(
        put(f"{DX}.site", "distal femur"), mentions="not distal femur"
    ),
    "codes.drug_known": case(
        put("relapse.second_line[0].drug", "unobtainium"),
        put("relapse.second_line[0].atc", None),
        mentions="unobtainium",
        also=("grounding.drug_in_quote",),
    ),
    "codes.drug_atc": case(put(f"{CHEMO0}.atc", "L01CA01"), mentions="expected L01CA02"),
    "grounding.citation_exists": case(
        put("surgery[0].citations[0].chunk_id", "no-such-chunk"), mentions="no-such-chunk"
    ),
    "grounding.citation_location": case(
        put("surgery[0].citations[0].page", 3),
        mentions="ewing_sarcoma.pdf p. 3",
        also=("grounding.quote_on_page",),  # nor is the quote on page 3
    ),
    "grounding.quote_on_page": case(
        put("surgery[0].citations[0].quote", "Amputation is always preferred"),
        mentions="Amputation is always preferred",
        also=("grounding.item_named",),
    ),
    "grounding.drug_in_quote": case(
        put("relapse.second_line[0].drug", "dactinomycin"),
        put("relapse.second_line[0].atc", "L01DA01"),
        mentions="dactinomycin",
    ),
    "grounding.dose_in_quote": case(
        put(f"{CHEMO0}.dose", 3), mentions="no cited quote gives vincristine 3 mg/m2"
    ),
    "grounding.radiotherapy_site_dose": case(put(f"{RT0}.dose", 60), mentions="tumour bed 60 Gy"),
    "grounding.item_named": case(
        put("hsct[0].citations[0].quote", "stem cell rescue (BuMel)"),
        mentions="autologous HSCT",
    ),
    "grounding.code_supported": case(
        put(f"{DX}.icdo3_topography", "C40.1"), put(f"{DX}.site", "hand bones"), mentions="C40.1"
    ),
    "grounding.syndrome_in_quote": case(
        put(f"{DX}.genetic_conditions", ["Li-Fraumeni syndrome"]), mentions="Li-Fraumeni"
    ),
    "grounding.activity_in_quote": case(
        put(f"{RT0}.technique", "metabolic"),
        put(f"{RT0}.dose", None),
        put(f"{RT0}.metabolic", MIBG),
        mentions="131I-MIBG 18 mCi/kg",
    ),
    "grounding.brachytherapy_in_quote": case(
        put(f"{RT0}.technique", "brachytherapy"),
        put(f"{RT0}.brachytherapy", {"source": "Ir-192", "dose_rate": "HDR"}),
        mentions="brachytherapy, Ir-192, HDR",
    ),
}

# Records close to each rule's limit, or filling the block it reads, that pass every rule.
PASSES: dict[str, list[Edit]] = {
    "dates.after_birth": [put(f"{OTHERS}.central_venous_catheter.placed_date", "2008-03-14")],
    "dates.not_future": [put("relapse.date", "2024-01-01"), put("relapse.second_line", [])],
    "diagnosis.metastatic_sites": [
        put(f"{DX}.metastatic", False),
        put(f"{DX}.metastasis_sites", []),
    ],
    "diagnosis.prosthesis_placed": [
        put(f"{DX}.prosthesis_placed", True),
        put(f"{DX}.prosthesis_still_present", True),
    ],
    "chemotherapy.after_diagnosis": [put(f"{CHEMO0}.date", "2020-05-04")],
    "chemotherapy.cycles_ordered": [put("chemotherapy[3].date", "2020-05-12")],
    "chemotherapy.anthracycline_cumulative": [extra_doxorubicin(21)],
    "intrathecal.after_diagnosis": [put("intrathecal", intrathecal(TRIPLE, start="2020-05-04"))],
    "intrathecal.drugs_allowed": [put("intrathecal", intrathecal(TRIPLE))],
    # an alias: whole lung bounds, 12-21 Gy; the dose its quote states (a passage at 21 Gy: none)
    "radiotherapy.total_dose": WHOLE_LUNG,
    "radiotherapy.fraction_dose": [put(f"{RT0}.fractions", 23)],  # 2.19 Gy: tumour bed 2.2
    "radiotherapy.boost": [put(f"{RT0}.boost.dose", 19.6)],  # 70 Gy in all
    "radiotherapy.tbi_with_hsct": [put("radiotherapy", [tbi_course("2021-01-25")])],
    # the same course in the record's metastatic Ewing sarcoma (lung metastases)
    "radiotherapy.metastases_if_metastatic": WHOLE_LUNG,
    "hsct.allogeneic_donor": [put(HSCT0, allogeneic())],
    "hsct.donor_relationship": [
        put(HSCT0, allogeneic(donor={"type": "haploidentical", "relationship": "Father"}))
    ],
    "hsct.blood_group_allogeneic": [put(HSCT0, allogeneic())],
    "sex.sites": [put(f"{RT0}.shielding_block_site", "testes")],
    "relapse.after_first_line": [put("relapse.date", "2020-10-06")],
    "chemotherapy.phase_order": [
        put(f"{CHEMO0}.citations", [VIDE_INDUCTION]),
        put("chemotherapy[3].citations", [VAI_CONSOLIDATION]),
        # a later phase of another kind, named by its own passage
        dose("2020-06-22", "dexamethasone", 10, "mg/m2", REINDUCTION),
    ],
    # a line opens with a regimen of no named phase, then consolidation
    "chemotherapy.induction_first": [put("chemotherapy[3].citations", [VAI_CONSOLIDATION])],
    "chemotherapy.cycles_as_stated": oepa_cycles("2020-06-22", "2020-07-20"),
    "chemotherapy.interval_as_stated": [
        put(f"{CHEMO0}.citations", [VIDE_INDUCTION]),
        put("chemotherapy[3].citations", [VIDE_INDUCTION]),
        put("chemotherapy[3].date", "2020-06-04"),  # 24 days: a delay is no fault
    ],
    # VAI consolidation "for standard-risk patients" names the group
    "diagnosis.risk_group_cited": [
        *risk_group("standard", VAI_CONSOLIDATION),
        put("chemotherapy[3].citations", [VAI_CONSOLIDATION]),
    ],
    # TVD's sentence names no group; it stands under "5. High-risk induction"
    "chemotherapy.regimen_for_risk_group": [
        *HIGH_RISK,
        put("chemotherapy[3].citations", [nb(TVD)]),
    ],
    "radiotherapy.course_for_risk_group": [*HIGH_RISK, *craniospinal(36, 20, CSI_HIGH)],
    "chemotherapy.relapse_regimen_in_relapse": [
        put("relapse.second_line[0].citations", [cite(VAC), RELAPSED])
    ],
    "chemotherapy.conditioning_with_hsct": [
        dose("2021-01-25", "melphalan", 140, "mg/m2", BUMEL),  # day -7 of the transplant
    ],
    "chemotherapy.not_supportive": [
        dose("2020-06-22", "dexamethasone", 10, "mg/m2", REINDUCTION),
    ],
    "chemotherapy.intrathecal_in_block": [
        put("intrathecal", intrathecal(TRIPLE)),
        # its passage gives methotrexate intrathecally, cytarabine IV
        dose("2020-06-22", "cytarabine", 75, "mg/m2", IB_CYTARABINE),
    ],
    # classic Hodgkin lymphoma's OEPA (its passage names no tumour) for a nodular sclerosis
    "chemotherapy.regimen_fits_patient": [
        put("second_tumour", {**hodgkin(), "chemotherapy": [oepa_vincristine("2023-03-15")]})
    ],
    "second_tumour.different": [put("second_tumour", hodgkin())],
    "second_tumour.after_first": [put("second_tumour", hodgkin())],
    "others.intoxication_resolution": [
        put(
            f"{OTHERS}.intoxications",
            [{"date": "2020-07-01", "agent": "methotrexate", "resolved": True}],
        )
    ],
    "others.transfusions": [put(f"{OTHERS}.transfusions", {"any": True, "more_than_10": True})],
    "others.fertility_preservation": [
        put(f"{OTHERS}.fertility_preservation", {"done": False, "method": None})
    ],
    "codes.tumour_recognised": [put(f"{DX}.tumour", "extraosseous Ewing sarcoma")],
    # Every rule, the verifier's included, passes the record in Spanish.
    "language.spanish_terms": [in_spanish],
    "codes.topography_matches_site": [put(f"{DX}.site", "pelvis")],
    "codes.drug_known": [put(f"{CHEMO0}.drug", "Vincristina")],
    "codes.drug_atc": [put(f"{CHEMO0}.atc", None)],
    "grounding.dose_in_quote": [put(f"{CHEMO0}.dose", 0.0015), put(f"{CHEMO0}.unit", "g/m2")],
    "grounding.radiotherapy_site_dose": [put(f"{RT0}.dose", 50.4)],
}

RULE_IDS = [rule.id for rule in RuleBook.load()]


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(Vocabulary.bundled(), FakeChunks([*CHUNKS, *RISK_CHUNKS]), TODAY)


def record_with(edits: list[Edit]) -> PatientRecord:
    data = grounded_record_data()
    data["provenance"]["language"] = "en"  # its clinical words are English
    for edit in edits:
        edit(data)
    return PatientRecord.model_validate(data)


def failed_ids(result: ValidationResult) -> set[str]:
    return {f.rule_id for f in result.failures}


def test_the_data_file_has_at_least_25_rules_and_every_rule_has_cases():
    assert len(RULE_IDS) >= 25
    assert set(BREAKS) == set(RULE_IDS), "each rule needs a breaking record in BREAKS"
    assert set(PASSES) <= set(RULE_IDS)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_a_record_that_breaks_the_rule_is_flagged_by_its_id(validator, rule_id):
    if rule_id not in BREAKS:
        pytest.fail(f"rule {rule_id} has no breaking record in BREAKS")
    planted = BREAKS[rule_id]
    result = validator.validate(record_with(planted.edits))
    assert failed_ids(result) == {rule_id} | planted.also, [f.message for f in result.failures]
    failures = [f for f in result.failures if f.rule_id == rule_id]
    assert any(planted.mentions in f.message for f in failures), [f.message for f in failures]
    rule = validator.rules.get(rule_id)
    assert all(f.severity == rule.severity and f.fields == rule.fields for f in failures)
    assert result.passed is (rule.severity == "warning" and not planted.also)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_a_record_that_keeps_the_rule_passes(validator, rule_id):
    result = validator.validate(record_with(PASSES.get(rule_id, [])))
    assert result.failures == [] and result.passed
    assert result.rules_checked == len(RULE_IDS)
    assert result.grounding.items == result.grounding.verified > 0


def test_without_chunks_grounding_is_skipped_not_passed():
    result = Validator(Vocabulary.bundled(), None, TODAY).validate(
        record_with(BREAKS["grounding.citation_exists"].edits)
    )
    grounding_rules = [r for r in RULE_IDS if r.startswith("grounding.")]
    assert result.passed and result.failures == []
    assert result.rules_checked == len(RULE_IDS) - len(grounding_rules)
    assert result.grounding.skipped and result.grounding.items == 0


def test_the_validation_date_bounds_future_events_too():
    data = full_record_data()
    data["provenance"]["language"] = "en"  # its clinical words are English
    data["provenance"]["reference_date"] = "2030-01-01"
    data["others"]["central_venous_catheter"]["placed_date"] = "2026-01-01"
    result = Validator(Vocabulary.bundled(), None, TODAY).validate(PatientRecord(**data))
    assert [f.message for f in result.failures] == [
        "central venous catheter placement on 2026-01-01 is after the reference date 2025-01-01"
    ]


def test_second_tumour_treatment_is_dated_from_its_own_diagnosis(validator):
    second = hodgkin()
    second["chemotherapy"] = [
        {
            "date": "2023-02-01",
            "cycle": 1,
            "drug": "vincristine",
            "atc": "L01CA02",
            "dose": 1.5,
            "unit": "mg/m2",
            "citations": [cite("vincristine 1.5 mg/m2 (maximum 2 mg) IV on day 1")],
        }
    ]
    result = validator.validate(record_with([put("second_tumour", second)]))
    assert [f.rule_id for f in result.failures] == ["chemotherapy.after_diagnosis"]
    assert "before diagnosis on 2023-03-01" in result.failures[0].message


SECOND_ASKED = [
    put("provenance.parsed_request.second_tumour", "Hodgkin lymphoma"),
    put("provenance.parsed_request.second_tumour_codes", ["9650/3", "9663/3"]),
    put("provenance.parsed_request.second_tumour_blocks", ["chemotherapy"]),
]


def test_request_honoured_checks_the_blocks_asked_for_the_second_tumour(validator):
    untreated = record_with([put("second_tumour", hodgkin())])
    assert validator.validate(untreated).passed  # none asked: none required
    result = validator.validate(record_with([put("second_tumour", hodgkin()), *SECOND_ASKED]))
    assert [(f.rule_id, f.message) for f in result.failures] == [
        (
            "request.honoured",
            "second tumour's chemotherapy: asked for, not in the record's second tumour "
            "(classic Hodgkin lymphoma, nodular sclerosis)",
        )
    ]


def test_request_honoured_passes_a_second_tumour_with_every_block_asked_for_it(validator):
    second = {**hodgkin(), "chemotherapy": [oepa_vincristine("2023-03-15")]}
    result = validator.validate(record_with([put("second_tumour", second), *SECOND_ASKED]))
    assert result.failures == [] and result.passed


def test_a_female_patient_with_male_sites_and_procedures(validator):
    result = validator.validate(record_with([put("demographics.sex", "female")]))
    messages = {f.rule_id: f.message for f in result.failures}
    assert set(messages) == {"sex.sites", "sex.procedures"}
    assert "'testes'" in messages["sex.sites"]


def test_result_json_is_what_storage_keeps(validator):
    result = validator.validate(record_with(BREAKS["radiotherapy.boost"].edits))
    stored = result.model_dump(mode="json")
    assert set(stored) == {
        "record_id",
        "passed",
        "rules_checked",
        "failures",
        "grounding",
        "validated_at",
    }
    assert ValidationResult.model_validate(stored) == result
    assert stored["failures"][0]["rule_id"] == "radiotherapy.boost"


def rules_file(tmp_path: Path, transform: Callable[[str], str]) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(transform(RULES_FILE.read_text(encoding="utf-8")), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("transform", "problem"),
    [
        (
            lambda t: t.replace('check = "after_birth"', 'check = "after_brith"'),
            "unknown checks: after_brith; checks without a rule: after_birth",
        ),
        (
            lambda t: t.replace('id = "dates.not_future"', 'id = "dates.after_birth"'),
            "repeated rule ids: dates.after_birth",
        ),
        (lambda t: t.replace('severity = "warning"', 'severity = "fatal"', 1), "severity"),
        (lambda t: t + "\n[[rule]]\nid = ", "cannot read rules file"),
    ],
)
def test_a_bad_rules_file_fails_at_load_naming_the_problem(tmp_path, transform, problem):
    with pytest.raises(RuleFileError, match=problem.replace("(", r"\(")):
        RuleBook.load(rules_file(tmp_path, transform))
