"""A complete, clinically coherent ``PatientRecord`` for unit tests of validation and exports.

``full_record()`` fills every block of the schema (a 12-year-old boy with relapsed Ewing
sarcoma, transplanted, with a second tumour) with values that pass every clinical rule;
tests plant one fault at a time with ``model_copy(update=...)`` or by editing a dump.
Quotes are real sentences of the bundled Ewing sarcoma guideline; chunk ids and pages are those
of the fake chunk store in tests/unit/test_grounding.py, not of the real PDF.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from service.records import PatientRecord

DOC = "ewing_sarcoma.pdf"


def cite(quote: str, *, chunk_id: str = "ewing-p2-c1", page: int = 2) -> dict[str, Any]:
    return {"chunk_id": chunk_id, "document": DOC, "page": page, "quote": quote}


VIDE = cite("vincristine 1.5 mg/m2 (maximum 2 mg) IV on day 1, ifosfamide 3 g/m2 per day")
DOXO = cite("doxorubicin 20 mg/m2 per day on days 1-3 and etoposide 150 mg/m2 per day")
RT = cite(
    "Postoperative radiotherapy to the tumour bed after marginal or intralesional resection",
    chunk_id="ewing-p2-c3",
)
CODE = cite("ICD-O-3 morphology 9364/3 (Ewing sarcoma)", chunk_id="ewing-p1-c4", page=1)


def chemo(day: date, drug: str, dose: float, unit: str = "mg/m2", cycle: int = 1) -> dict:
    atc = {"vincristine": "L01CA02", "ifosfamide": "L01AA06", "doxorubicin": "L01DB01"}
    return {
        "date": day.isoformat(),
        "cycle": cycle,
        "drug": drug,
        "atc": atc.get(drug),
        "dose": dose,
        "unit": unit,
        "citations": [DOXO if drug == "doxorubicin" else VIDE],
    }


def full_record_data() -> dict[str, Any]:
    """The JSON form of ``full_record()``, for tests that edit it freely (a deep copy, so
    edits never reach the shared citation dicts above)."""
    return copy.deepcopy(_record_data())


def _record_data() -> dict[str, Any]:
    return {
        "record_id": "5b0c3c2e-6a53-4f38-9d55-2f0a1c8e7b11",
        "summary": "Niño de 12 años con sarcoma de Ewing de pelvis.",
        "demographics": {
            "given_name": "Hugo",
            "first_surname": "García",
            "second_surname": "Martín",
            "birth_date": "2008-03-14",
            "sex": "male",
            "phone": "+34 612 345 678",
            "email": "familia.garcia@example.org",
            "email_owner": "parent",
            "health_card_number": "VLCA12345678",
            "medical_record_number": "HC-0012345",
        },
        "diagnosis": {
            "tumour": "Ewing sarcoma",
            "icdo3_morphology": "9364/3",
            "icdo3_topography": "C41.4",
            "site": "pelvic bones",
            "diagnosis_date": "2020-05-04",
            "age_at_diagnosis": 12,
            "metastatic": True,
            "metastasis_sites": ["lung"],
            "prosthesis_placed": False,
            "prosthesis_still_present": None,
            "genetic_conditions": [],
            "citations": [CODE],
        },
        "chemotherapy": [
            chemo(date(2020, 5, 11), "vincristine", 1.5),
            chemo(date(2020, 5, 11), "ifosfamide", 3, "g/m2"),
            chemo(date(2020, 5, 11), "doxorubicin", 20),
            chemo(date(2020, 6, 1), "vincristine", 1.5, cycle=2),
        ],
        "intrathecal": None,
        "corticosteroids_over_4_weeks": False,
        "radiotherapy": [
            {
                "start_date": "2020-10-05",
                "site": "pelvis",
                "dose": 50.4,
                "unit": "Gy",
                "fractions": 28,
                "technique": "external_beam",
                "boost": {"site": "tumour bed", "dose": 5.4, "unit": "Gy"},
                "shielding_block_site": "testes",
                "brachytherapy": None,
                "metabolic": None,
                "citations": [RT],
            }
        ],
        "surgery": [
            {
                "date": "2020-09-07",
                "description": "Internal hemipelvectomy with wide resection",
                "organs_affected": ["pelvis"],
                "organs_removed": ["ilium"],
                "amputation": False,
                "shunt": None,
                "citations": [cite("Wide surgical resection is preferred when it is feasible")],
            }
        ],
        "hsct": [
            {
                "date": "2021-02-01",
                "type": "autologous",
                "cell_source": "peripheral_blood",
                "blood_group_before": "A+",
                "blood_group_after": "A+",
                "donor": None,
                "donor_blood_group": None,
                "gvhd": [],
                "immunosuppression": [],
                "citations": [cite("autologous stem cell rescue (BuMel)")],
            }
        ],
        "others": {
            "intoxications": [],
            "central_venous_catheter": {
                "type": "implanted port",
                "placed_date": "2020-05-08",
                "still_present": False,
                "complications": [],
            },
            "fertility_preservation": {
                "done": True,
                "method": "sperm cryopreservation",
                "storage_site": "hospital sperm bank",
            },
            "transfusions": {"any": True, "more_than_10": False},
            "citations": [],
        },
        "relapse": {
            "date": "2022-06-20",
            "site": "lung",
            "second_line": [
                {
                    "date": "2022-07-01",
                    "cycle": 1,
                    "drug": "irinotecan",
                    "atc": "L01CE02",
                    "dose": 50,
                    "unit": "mg/m2",
                    "citations": [cite("irinotecan with temozolomide, topotecan with")],
                }
            ],
            "second_line_radiotherapy": [],
            "citations": [cite("Late relapses more than 5 years after diagnosis occur")],
        },
        "second_tumour": None,
        "provenance": {
            "generator": "clinsynth test",
            "backend": "fake",
            "model": "fake",
            "model_sha256": None,
            "prompts": [{"id": "diagnosis", "version": 3}],
            "chunks": [{"chunk_id": "ewing-p2-c1", "document": DOC, "document_sha256": "0" * 64}],
            "seed": 7,
            "request": "12-year-old boy with metastatic Ewing sarcoma",
            "reference_date": "2024-01-01",
            "language": "es",
            "prompt_tokens": 100,
            "completion_tokens": 50,
            "parsed_request": {
                "blocks": ["chemotherapy", "radiotherapy", "surgery", "hsct", "others"],
                "age": 12,
                "sex": None,
                "diagnosis": "Ewing sarcoma",
                "diagnosis_codes": ["9364/3"],
                "metastatic": True,
                "relapse": True,
                "second_tumour": None,
                "second_tumour_codes": [],
                "from_fields": [],
            },
        },
    }


def full_record(**updates: Any) -> PatientRecord:
    """A valid record; top-level fields in ``updates`` replace the defaults (JSON form)."""
    data = full_record_data()
    data.update(updates)
    return PatientRecord.model_validate(data)
