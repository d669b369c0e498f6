from datetime import date, timedelta

import pytest

from models.fake import FakeModel
from prompts import load_prompt
from service.generation.generator import GenerationError, GenerationOptions, PatientGenerator
from service.generation.identity import age_on
from service.requests import RequestError, parse_request
from tests.fakes import StaticIndex, chunk

EWING = [
    chunk(
        "Ewing sarcoma of bone. ICD-O-3 morphology 9364/3 (Ewing sarcoma). "
        "ICD-O-3 topography C40.2 (long bones of lower limb).",
        index=0,
    ),
    chunk(
        "VIDE: vincristine 1.5 mg/m2 on day 1, ifosfamide 3 g/m2 per day, "
        "doxorubicin 20 mg/m2 per day and etoposide 150 mg/m2 per day.",
        page=2,
        index=0,
    ),
    chunk(
        "Radiotherapy to the primary tumour site: 54 Gy in 30 fractions of 1.8 Gy.", page=3, index=0
    ),
]
HODGKIN = [
    chunk(
        "Classic Hodgkin lymphoma, ICD-O-3 morphology 9650/3 (Hodgkin lymphoma, NOS). "
        "ICD-O-3 topography C77.0 (lymph nodes of head, face and neck).",
        document="hodgkin.pdf",
        index=0,
    ),
]
OPTIONS = GenerationOptions(reference_date=date(2026, 6, 1))


def diagnosis_answer(**overrides):
    answer = {
        "diagnosis": {
            "tumour": "Ewing sarcoma",
            "icdo3_morphology": "9364/3",
            "source": "E1",
            "site": {
                "site": "long bones of lower limb",
                "icdo3_topography": "C40.2",
                "source": "E1",
            },
        },
        "metastasis": {"metastatic": True, "sites": ["lung", "lung"]},
    }
    answer.update(overrides)
    return answer


TREATMENT = {
    "chemotherapy": [
        {"regimen": "R1", "source": "E1", "cycles": 2},
        {"regimen": "R1", "source": "E1", "cycles": 5},
    ],
    "radiotherapy": [
        {"site": "primary tumour site", "dose": 54.0, "fractions": 30, "source": "E2"}
    ],
}


def make(model, chunks=EWING):
    return PatientGenerator(StaticIndex(chunks + HODGKIN), model, OPTIONS)


def test_record_is_built_from_the_models_choices_with_citations():
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    made = make(model).generate("8-year-old boy with Ewing sarcoma", seed=5)[0]
    record = made.record
    assert record.diagnosis.tumour == "Ewing sarcoma"
    assert record.diagnosis.icdo3_topography == "C40.2"
    assert record.diagnosis.metastasis_sites == ["lung"]
    assert record.demographics.sex == "male"
    assert age_on(record.demographics.birth_date, record.diagnosis.diagnosis_date) == 8
    # a regimen expands into dated administrations per cycle; the repeat is kept once
    vide = ["vincristine", "ifosfamide", "doxorubicin", "etoposide"]
    assert [(c.drug, c.cycle) for c in record.chemotherapy] == [
        (drug, cycle) for cycle in (1, 2) for drug in vide
    ]
    assert record.chemotherapy[4].date - record.chemotherapy[0].date == timedelta(days=21)
    assert all(c.date >= record.diagnosis.diagnosis_date for c in record.chemotherapy)
    assert record.radiotherapy[0].start_date > max(c.date for c in record.chemotherapy)
    by_id = {c.chunk_id: c for c in EWING}
    for citation in record.citations():
        source = by_id[citation.chunk_id]
        assert (citation.document, citation.page) == (source.document, source.page)
        assert citation.quote in source.text
    retrieved = {c.chunk_id for c in record.provenance.chunks}
    assert {c.chunk_id for c in record.citations()} <= retrieved


def test_treatment_is_retrieved_from_the_diagnosis_guideline_only():
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    generator = make(model)
    generator.generate("Ewing sarcoma", seed=1)
    # 0-1: the diagnosis; 2: which documents name the tumour (the whole store); then treatment
    treatment_filters = [where for _, where in generator.store.queries[3:]]
    assert treatment_filters and all(
        w == {"document_sha256": EWING[0].document_sha256} for w in treatment_filters
    )


def test_regimens_kept_in_another_document_naming_the_tumour_are_found():
    chapter = chunk("Gliomas de baixo grau: cirurgia e observação.", document="cap2.pdf")
    appendix = chunk(
        "Esquema para gliomas de baixo grau: carboplatina 550 mg/m² no D1 e "
        "vincristina 1,5 mg/m² no D1, D8 e D15.",
        document="ap4.pdf",
    )
    other = chunk("Ewing sarcoma: etoposide 100 mg/m2 on days 1-5.", document="ewing2.pdf")
    model = FakeModel().enqueue(
        {
            "diagnosis": {
                "tumour": "pilocytic astrocytoma",
                "icdo3_morphology": "9421/1",
                "source": "E1",
                "site": {"site": "brain, NOS"},
            },
            "metastasis": {"metastatic": False},
        },
        {"chemotherapy": [{"regimen": "R1", "source": "E1", "cycles": 2}]},
    )
    generator = PatientGenerator(StaticIndex([chapter, appendix, other]), model, OPTIONS)
    request = parse_request("5-year-old with a low-grade glioma, chemotherapy only")
    record = generator.generate_one(request, seed=3).record
    assert record.diagnosis.icdo3_morphology == "9421/1"
    # the chapter names no site: the group's usual site is offered, never free text
    branch = model.calls[0].schema["properties"]["diagnosis"]
    branches = branch.get("anyOf", [branch])
    assert {b["properties"]["site"]["properties"]["site"]["const"] for b in branches} == {
        "brain, NOS"
    }
    assert (record.diagnosis.site, record.diagnosis.icdo3_topography) == ("brain, NOS", None)
    assert record.diagnosis.citations[0].document == "cap2.pdf"
    assert {c.drug for c in record.chemotherapy} == {"carboplatin", "vincristine"}
    assert {c.document for item in record.chemotherapy for c in item.citations} == {"ap4.pdf"}
    assert record.provenance.parsed_request.diagnosis == "low-grade glioma"
    assert record.provenance.parsed_request.blocks == ["chemotherapy"]


def test_a_requested_block_the_guidelines_cannot_support_fails_naming_it():
    chemotherapy = {"chemotherapy": [{"regimen": "R1", "source": "E1", "cycles": 2}]}
    model = FakeModel().enqueue(diagnosis_answer(), chemotherapy)
    with pytest.raises(RequestError, match="no usable radiotherapy for Ewing sarcoma"):
        make(model, EWING[:2]).generate_one(
            parse_request("Ewing sarcoma with chemotherapy and radiotherapy"), seed=1
        )


def test_schema_offers_only_evidence_values_and_labels():
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    make(model).generate("boy with Ewing sarcoma", seed=1)
    diagnosis_schema = model.calls[0].schema
    branches = diagnosis_schema["properties"]["diagnosis"]["anyOf"]
    assert [b["properties"]["icdo3_morphology"]["const"] for b in branches] == ["9364/3"]
    chemo = model.calls[1].schema["properties"]["chemotherapy"]["items"]["anyOf"]
    assert [b["properties"]["regimen"]["const"] for b in chemo] == ["R1"]
    prompt = model.calls[1].messages[1]["content"]
    assert "R1: vincristine 1.5 mg/m2, ifosfamide 3 g/m2, doxorubicin 20 mg/m2, etoposide" in prompt


def test_same_seed_same_record_and_ids_differ_by_seed():
    def run(seed):
        model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
        return make(model).generate("boy with Ewing sarcoma", seed=seed)[0].record

    assert run(7).reproducible() == run(7).reproducible()
    assert run(7).record_id != run(8).record_id


def test_unusable_output_is_retried_then_reported_with_the_raw_text():
    model = FakeModel().enqueue("{not json", "still not json")
    with pytest.raises(GenerationError) as caught:
        make(model).generate("boy with Ewing sarcoma", seed=1)
    assert caught.value.raw == "still not json"
    assert [c.seed for c in model.calls] == [1, 1 + 7919]


def test_an_answer_outside_the_evidence_is_rejected():
    bad = dict(
        TREATMENT,
        chemotherapy=[{"regimen": "R9", "source": "E1", "cycles": 1}],
    )
    model = FakeModel().enqueue(diagnosis_answer(), bad)
    with pytest.raises(GenerationError, match="not in the evidence"):
        make(model).generate("boy with Ewing sarcoma", seed=1)


def test_a_tumour_without_a_guideline_is_a_request_error():
    with pytest.raises(RequestError, match="8500/3|no ingested guideline"):
        make(FakeModel()).generate("girl with osteosarcoma", seed=1)


def test_empty_store_is_a_request_error():
    generator = PatientGenerator(StaticIndex([]), FakeModel(), OPTIONS)
    with pytest.raises(RequestError, match="clinsynth ingest"):
        generator.generate("a child with cancer", seed=1)


def test_summary_restates_the_record_in_the_request_language():
    english = (
        make(FakeModel().enqueue(diagnosis_answer(), TREATMENT))
        .generate("8-year-old boy with Ewing sarcoma", seed=1)[0]
        .record
    )
    assert english.summary.startswith("8-year-old boy diagnosed on ")
    assert "with metastases to lung" in english.summary
    assert "Chemotherapy: 2 cycles (vincristine, ifosfamide, doxorubicin, etoposide)." in (
        english.summary
    )
    assert "Radiotherapy to primary tumour site: 54 Gy in 30 fractions." in english.summary
    spanish = (
        make(FakeModel().enqueue(diagnosis_answer(), TREATMENT))
        .generate("Niño de 8 años con sarcoma de Ewing y quimioterapia", seed=1)[0]
        .record
    )
    assert spanish.summary.startswith("Niño de 8 años diagnosticado el ")
    # tumour, site and drugs under the vocabulary's Spanish names
    assert "de sarcoma de Ewing (CIE-O-3 9364/3), localización: huesos largos" in spanish.summary
    assert "(vincristina, ifosfamida, doxorrubicina, etopósido)" in spanish.summary
    assert spanish.radiotherapy == []  # only chemotherapy was asked for
    assert "con metástasis en pulmón" in spanish.summary  # the record says pulmón too
    assert spanish.diagnosis.metastasis_sites == ["pulmón"]


def test_option_order_is_seeded():
    def offered(seed):
        model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
        make(
            model,
            EWING
            + [
                chunk(
                    "ICD-O-3 topography C41.4 (pelvic bones). ICD-O-3 "
                    "topography C41.2 (vertebral column).",
                    index=5,
                )
            ],
        ).generate("boy with Ewing sarcoma", seed=seed)
        branch = model.calls[0].schema["properties"]["diagnosis"]["anyOf"][0]
        return [
            s["properties"]["icdo3_topography"]["const"]
            for s in branch["properties"]["site"]["anyOf"]
        ]

    assert offered(1) == offered(1)
    assert len({tuple(offered(seed)) for seed in range(8)}) > 1


def test_a_metastatic_request_leaves_only_the_metastatic_branch():
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    make(model).generate("boy with metastatic Ewing sarcoma", seed=1)
    branches = model.calls[0].schema["properties"]["metastasis"]["anyOf"]
    assert [b["properties"]["metastatic"]["const"] for b in branches] == [True]


def test_feedback_is_shown_to_the_model_and_timings_are_kept_per_block():
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    request = parse_request("boy with Ewing sarcoma")
    made = make(model).generate_one(request, seed=1, feedback=["radiotherapy.boost: too high"])
    for call in model.calls:
        assert "Fix these problems: radiotherapy.boost: too high" in call.messages[1]["content"]
    assert {"diagnosis", "treatment"} <= {t.block for t in made.record.provenance.block_timings}
    assert [(p.id, p.version) for p in made.record.provenance.prompts] == [
        ("diagnosis", load_prompt("diagnosis").version),
        ("treatment", load_prompt("treatment").version),
    ]


def test_a_refusal_says_what_coverage_holds_for_the_tumour_and_its_groups():
    from service.generation.completeness import coverage_note
    from tests.records import full_record

    class Covered:
        def tumour_coverage(self, codes):
            assert {"9364/3", "bone sarcomas"} <= codes
            return [
                {"term": "Ewing sarcoma", "blocks": {"chemotherapy": {"facts": 7}}},
                {"term": "bone sarcomas", "blocks": {"radiotherapy": {"facts": 0}}},
            ]

    note = coverage_note(Covered(), full_record().diagnosis)
    assert note == (
        "`clinsynth coverage` says Ewing sarcoma: chemotherapy 7 facts; "
        "bone sarcomas: radiotherapy 0 facts"
    )
    assert "lists no ingested guideline" in coverage_note(
        type("Empty", (), {"tumour_coverage": lambda self, codes: []})(), full_record().diagnosis
    )


def test_a_patient_who_had_the_tumour_at_13_is_18_today():
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    request = parse_request("18-year-old who had the tumour at 13: Ewing sarcoma, chemotherapy")
    record = make(model).generate_one(request, seed=4).record
    assert record.diagnosis.age_at_diagnosis == 13
    assert age_on(record.demographics.birth_date, OPTIONS.reference_date) == 18
    assert record.provenance.parsed_request.age_now == 18


def test_without_a_named_tumour_those_whose_coverage_supports_every_block_are_offered():
    class Covered(StaticIndex):
        def tumour_coverage(self, codes):
            return [{"code": "9650/3", "supported": ["chemotherapy", "radiotherapy"]}]

    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    generator = PatientGenerator(Covered(EWING + HODGKIN), model, OPTIONS)
    with pytest.raises(GenerationError):  # the scripted answer names Ewing, not offered
        generator.generate("a child with chemotherapy and radiotherapy", seed=1)
    offered = model.calls[0].schema["properties"]["diagnosis"]
    codes = {b["properties"]["icdo3_morphology"]["const"] for b in offered.get("anyOf", [offered])}
    assert codes == {"9650/3"}


def test_a_spanish_summary_agrees_with_a_girl_and_speaks_the_vocabularys_spanish():
    from service.generation.narrative import summarise
    from tests.records import full_record

    record = full_record()
    girl = record.demographics.model_copy(update={"sex": "female"})
    summary = summarise(girl, record.diagnosis, record.chemotherapy, [], "es")
    assert summary.startswith("Niña de 12 años diagnosticada el 2020-05-04 de sarcoma de Ewing")
    assert "localización: huesos de la pelvis" in summary
    english = summarise(girl, record.diagnosis, record.chemotherapy, [], "en")
    assert english.startswith("12-year-old girl diagnosed on 2020-05-04 with Ewing sarcoma")
