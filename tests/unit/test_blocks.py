"""The record blocks on the real guideline corpus, with a fake model at the seam.

The corpus PDFs are chunked as ingestion chunks them and ranked by shared words (no
embeddings); the fake model answers each block's JSON schema with a seeded choice among
the options the schema offers, so every answer is one a constrained model could give.
Records must pass every error-severity rule of the validator, grounding included.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

import pytest

from ingest.chunking import chunk_pages, make_splitter
from ingest.pdf import iter_pages, open_pdf
from knowledge import ages
from knowledge.chunks import GuidelineChunk
from knowledge.vocabulary import tumour_records
from models.base import ChatMessage, Completion
from models.fake import FakeCall, FakeModel
from models.random_choice import random_instance
from service.generation.blocks.base import feedback_line
from service.generation.blocks.timeline import CONDITIONING_DAYS
from service.generation.generator import GenerationOptions, PatientGenerator
from service.records import PatientRecord
from service.requests import RequestError, request_from
from service.settings import Settings
from service.validation.rules import build_validator
from tests.conftest import CORPUS_PDF_DIR
from tests.fakes import StaticIndex

TODAY = date(2026, 6, 1)
ALL_BLOCKS = ["chemotherapy", "radiotherapy", "surgery", "hsct", "others"]


class SchemaModel(FakeModel):
    """Answers every schema with a seeded choice among what it allows."""

    def complete_json(
        self,
        messages: list[ChatMessage],
        schema: dict[str, Any],
        *,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> Completion:
        self.calls.append(FakeCall(messages, schema, seed))
        rng = random.Random(f"{seed}-{len(self.calls)}")
        return Completion(
            text=json.dumps(random_instance(schema, rng)),
            prompt_tokens=100,
            completion_tokens=20,
            seconds=0.0,
        )


CorpusIndex = StaticIndex  # also the chunk lookup the grounding rules read


@pytest.fixture(scope="module")
def corpus() -> CorpusIndex:
    splitter = make_splitter(700, 80)
    chunks: list[GuidelineChunk] = []
    pages: dict[tuple[str, int], str] = {}  # the real page texts the verifier reads
    for pdf in sorted(CORPUS_PDF_DIR.glob("*.pdf")):
        document, reader = open_pdf(pdf)
        texts = list(iter_pages(pdf, reader))
        chunks += chunk_pages(document, texts, splitter)
        pages.update({(document.sha256[:16], p.number): p.text for p in texts})
    return CorpusIndex(chunks, pages)


def generator(corpus: CorpusIndex, model: FakeModel | None = None) -> PatientGenerator:
    options = GenerationOptions(reference_date=TODAY, retrieval_k=6)
    return PatientGenerator(corpus, model or SchemaModel(), options)


def errors(corpus: CorpusIndex, record: PatientRecord) -> list[str]:
    validator = build_validator(Settings(reference_date=TODAY), corpus)
    return [f.message for f in validator.validate(record).failures if f.severity == "error"]


FULL: list[Any] = [
    dict(diagnosis="Ewing sarcoma", blocks=ALL_BLOCKS, relapse=True, second_tumour="osteosarcoma"),
    dict(
        diagnosis="acute lymphoblastic leukaemia",
        blocks=["chemotherapy", "radiotherapy", "hsct", "others"],
        relapse=True,
        second_tumour="Hodgkin lymphoma",
        language="es",
    ),
    dict(diagnosis="Hodgkin lymphoma", blocks=ALL_BLOCKS, relapse=True),
    dict(
        diagnosis="osteosarcoma",
        blocks=["chemotherapy", "surgery", "others"],
        relapse=True,
        second_tumour="Hodgkin lymphoma",
    ),
]


@pytest.mark.parametrize("fields", FULL, ids=lambda f: f["diagnosis"])
def test_full_records_pass_every_error_rule(corpus, fields):
    request = request_from(**fields)
    for seed in range(2):
        record = generator(corpus).generate_one(request, seed=seed).record
        assert errors(corpus, record) == [], (seed, record.summary)
        assert record.chemotherapy and record.others is not None
        assert record.relapse is not None and record.relapse.date > record.diagnosis.diagnosis_date
        assert bool(record.hsct) == ("hsct" in fields["blocks"])
        assert bool(record.radiotherapy) == ("radiotherapy" in fields["blocks"]) or any(
            c.technique == "tbi" for c in record.radiotherapy
        )
        assert bool(record.surgery) == ("surgery" in fields["blocks"])
        assert (record.second_tumour is not None) == ("second_tumour" in fields)
        spanish = fields.get("language") == "es"
        assert ("Recaída el" if spanish else "Relapse on") in record.summary
        by_id = {c.chunk_id: c for c in corpus.chunks}
        for citation in record.citations():
            assert citation.quote in by_id[citation.chunk_id].text
            assert citation.page == by_id[citation.chunk_id].page


def test_events_follow_clinical_order(corpus):
    request = request_from(diagnosis="Ewing sarcoma", blocks=ALL_BLOCKS, relapse=True)
    week = timedelta(days=CONDITIONING_DAYS)
    for seed in range(4):
        r = generator(corpus).generate_one(request, seed=seed).record
        diagnosis = r.diagnosis.diagnosis_date
        transplant = r.hsct[0]
        first_line = [c for c in r.chemotherapy if c.date < transplant.date - week]
        conditioning = [c for c in r.chemotherapy if c not in first_line]
        courses = [c for c in r.radiotherapy if c.technique != "tbi"]
        assert r.demographics.birth_date < diagnosis < min(c.date for c in first_line)
        assert min(c.date for c in first_line) < r.surgery[0].date
        assert all(c.start_date > r.surgery[0].date for c in courses)
        assert all(c.start_date < transplant.date for c in courses)
        assert all(0 < (transplant.date - c.date).days <= CONDITIONING_DAYS for c in conditioning)
        assert r.relapse is not None and r.relapse.date > transplant.date
        assert r.relapse.date <= TODAY
        assert r.others is not None and r.others.central_venous_catheter is not None
        assert r.others.central_venous_catheter.placed_date < min(c.date for c in first_line)


def test_transplant_block_fits_its_type(corpus):
    request = request_from(diagnosis="acute lymphoblastic leukaemia", blocks=["hsct"])
    seen = set()
    for seed in range(6):
        made = generator(corpus).generate_one(request, seed=seed)
        (transplant,) = made.record.hsct
        seen.add(transplant.donor.type if transplant.donor else None)
        assert transplant.type == "allogeneic"  # the guidance indicates allogeneic HSCT for ALL
        assert transplant.donor is not None and transplant.immunosuppression
        assert transplant.blood_group_after == transplant.donor_blood_group
        assert transplant.conditioning is not None
        # conditioning chemotherapy appears though chemotherapy was not asked for
        assert made.record.chemotherapy and made.record.chemotherapy[0].date < transplant.date
        assert "hsct" in {t.block for t in made.record.provenance.block_timings}
        summary = made.record.summary
        assert f"after {transplant.conditioning} conditioning" in summary
        assert "Chemotherapy:" not in summary  # conditioning is not a first-line cycle
    assert len(seen) > 1  # donors vary between seeds


def test_autologous_transplant_has_no_donor(corpus):
    request = request_from(diagnosis="Ewing sarcoma", blocks=["chemotherapy", "hsct"])
    record = generator(corpus).generate_one(request, seed=2).record
    (transplant,) = record.hsct
    assert transplant.type == "autologous" and transplant.donor is None
    assert transplant.blood_group_before == transplant.blood_group_after
    assert transplant.gvhd == [] and transplant.conditioning == "BuMel"
    assert {"busulfan", "melphalan"} <= {c.drug for c in record.chemotherapy}


def test_transplant_without_an_indication_is_a_request_error(corpus):
    request = request_from(diagnosis="osteosarcoma", blocks=["chemotherapy", "hsct"])
    with pytest.raises(RequestError, match="no retrieved guideline passage names HSCT"):
        generator(corpus).generate_one(request, seed=1)


def test_relapse_block_cites_its_site_and_second_line(corpus):
    request = request_from(diagnosis="Hodgkin lymphoma", blocks=["chemotherapy"], relapse=True)
    model = SchemaModel()
    record = generator(corpus, model).generate_one(request, seed=3).record
    relapse = record.relapse
    assert relapse is not None and relapse.citations
    assert relapse.second_line_regimen
    assert all(c.date >= relapse.date for c in relapse.second_line)
    assert relapse.date > max(c.date for c in record.chemotherapy)
    (asked,) = [c for c in model.calls if "relapse block" in c.messages[1]["content"]]
    assert asked.schema is not None and set(asked.schema["properties"]) == {"site", "second_line"}


def test_others_block_fits_sex_and_age(corpus):
    for sex, age, methods in (
        ("male", 15, {"sperm cryopreservation"}),
        ("female", 5, {"ovarian tissue cryopreservation"}),
    ):
        request = request_from(
            diagnosis="Ewing sarcoma", blocks=["chemotherapy", "others"], sex=sex, age=age
        )
        found = set()
        for seed in range(6):
            others = generator(corpus).generate_one(request, seed=seed).record.others
            assert others is not None and others.citations
            if others.fertility_preservation and others.fertility_preservation.done:
                found.add(others.fertility_preservation.method)
        assert found and found <= methods


def test_only_requested_blocks_appear(corpus):
    request = request_from(diagnosis="Ewing sarcoma", blocks=["radiotherapy"])
    record = generator(corpus).generate_one(request, seed=1).record
    assert record.radiotherapy and not record.chemotherapy
    assert not (record.surgery or record.hsct or record.others or record.relapse)
    assert record.second_tumour is None


def test_second_tumour_differs_and_comes_later(corpus):
    request = request_from(diagnosis="Ewing sarcoma", second_tumour="osteosarcoma")
    record = generator(corpus).generate_one(request, seed=4).record
    second = record.second_tumour
    assert second is not None and second.diagnosis.icdo3_morphology.startswith("918")
    assert second.diagnosis.diagnosis_date > max(c.date for c in record.chemotherapy)
    assert second.chemotherapy and second.diagnosis.age_at_diagnosis <= 25


def test_second_tumour_gets_exactly_the_blocks_asked_for_it(corpus):
    request = request_from(
        prompt="18-year-old patient who had the tumor at 13, osteosarcoma with surgery and "
        "chemotherapy; second tumor Hodgkin's lymphoma, nodular sclerosis, with chemo and radio"
    )
    record = generator(corpus).generate_one(request, seed=3).record
    assert record.chemotherapy and record.surgery and not record.radiotherapy
    second = record.second_tumour
    assert second is not None and second.diagnosis.icdo3_morphology == "9663/3"
    assert second.chemotherapy and second.radiotherapy and not second.surgery
    assert record.provenance.parsed_request is not None
    assert record.provenance.parsed_request.second_tumour_blocks == [
        "chemotherapy",
        "radiotherapy",
    ]
    assert errors(corpus, record) == [], record.summary


def test_second_tumour_is_treated_from_its_own_guideline(corpus):
    # The prompt describes the first tumour: retrieved for it, the Ewing guideline (which
    # names osteosarcoma once) outweighed the osteosarcoma one and gave its regimens.
    request = request_from(
        prompt="14-year-old boy with Ewing sarcoma, chemotherapy and radiotherapy; second "
        "tumour: osteosarcoma, with chemotherapy and surgery"
    )
    for seed in range(2):
        second = generator(corpus).generate_one(request, seed=seed).record.second_tumour
        assert second is not None and second.chemotherapy and second.surgery
        items = [second.diagnosis, *second.chemotherapy, *second.surgery]
        assert {c.document for item in items for c in item.citations} == {"osteosarcoma.pdf"}


def test_a_block_the_second_tumours_evidence_cannot_support_fails_naming_it(corpus):
    request = request_from(
        diagnosis="Ewing sarcoma",
        blocks=["chemotherapy"],
        second_tumour="acute lymphoblastic leukaemia",
        second_tumour_blocks=["surgery"],
    )
    with pytest.raises(RequestError, match="^the second tumour, .*leukaemia.*: surgery was asked"):
        generator(corpus).generate_one(request, seed=1)


def test_feedback_reaches_every_block_prompt(corpus):
    request = request_from(diagnosis="Hodgkin lymphoma", blocks=["chemotherapy", "hsct"])
    model = SchemaModel()
    generator(corpus, model).generate_one(request, seed=1, feedback=["dates.x: bad date"])
    prompts = [c.messages[1]["content"] for c in model.calls]
    assert len(prompts) >= 3
    assert all("Fix these problems: dates.x: bad date" in p for p in prompts)
    plain = SchemaModel()
    generator(corpus, plain).generate_one(request, seed=1)
    assert not any("Fix these problems" in c.messages[1]["content"] for c in plain.calls)


def test_feedback_line_is_short_and_deduplicated():
    assert feedback_line([]) == ""
    line = feedback_line(["a", "a", " b "] + [f"m{i}" for i in range(20)])
    assert line.startswith("Fix these problems: a; b; m0")
    assert line.count(";") == 5


def test_provenance_names_every_prompt_and_retrieved_chunk(corpus):
    request = request_from(
        diagnosis="Ewing sarcoma", blocks=ALL_BLOCKS, relapse=True, second_tumour="osteosarcoma"
    )
    made = generator(corpus).generate_one(request, seed=0)
    provenance = made.record.provenance
    assert {p.id for p in provenance.prompts} >= {"diagnosis", "treatment", "hsct", "relapse"}
    retrieved = {c.chunk_id for c in provenance.chunks}
    assert {c.chunk_id for c in made.record.citations()} <= retrieved
    assert all(len(c.document_sha256) == 64 for c in provenance.chunks)
    assert provenance.prompt_tokens > 0 and provenance.completion_tokens > 0
    assert {"diagnosis", "treatment", "hsct", "relapse", "others", "second_tumour"} <= {
        t.block for t in provenance.block_timings
    }
    again = generator(corpus).generate_one(request, seed=0)
    assert again.record.reproducible() == made.record.reproducible()
    # A transplant asked for is chosen before the treatment: its indication decides the risk
    # group, and so the regimens
    assert [t.block for t in provenance.block_timings][:3] == ["diagnosis", "hsct", "treatment"]
    assert provenance.model_seconds is not None  # the fake model takes no time


def test_surgery_is_a_procedure_the_tumours_guideline_names_for_its_site(corpus):
    request = request_from(diagnosis="osteosarcoma", blocks=["chemotherapy", "surgery"])
    procedures = set()
    for seed in range(5):
        record = generator(corpus).generate_one(request, seed=seed).record
        (surgery,) = record.surgery
        procedures.add(surgery.description)
        quote = surgery.citations[0].quote.lower()
        assert surgery.description.split(" with ")[-1].split()[0] in quote
        assert surgery.amputation == (surgery.description == "amputation")
        placed = "endoprosthesis" in surgery.description
        assert record.diagnosis.prosthesis_placed == placed
        chemotherapy = sorted({c.date for c in record.chemotherapy})
        assert chemotherapy[0] < surgery.date < chemotherapy[-1]  # local control after induction
    assert len(procedures) > 1


def test_a_transplant_for_relapsed_disease_follows_the_relapse(corpus):
    # The guidance gives autologous HSCT for relapsed Hodgkin lymphoma.
    request = request_from(
        diagnosis="Hodgkin lymphoma", blocks=["chemotherapy", "hsct"], relapse=True
    )
    record = generator(corpus).generate_one(request, seed=1).record
    (transplant,) = record.hsct
    assert record.relapse is not None and transplant.date > record.relapse.date
    assert any("relapsed Hodgkin lymphoma" in c.quote for c in transplant.citations)
    assert all(c.date < record.relapse.date for c in record.chemotherapy)
    assert errors(corpus, record) == []


class CoverageIndex(StaticIndex):
    """The corpus with a fact index's coverage: every tumour listed supports chemotherapy."""

    def __init__(self, corpus: StaticIndex, codes: list[str]):
        super().__init__(corpus.chunks, corpus.pages)
        self.codes = codes

    def tumour_coverage(self, codes: set[str] | None) -> list[dict[str, Any]]:
        entries = [{"code": c, "supported": ["chemotherapy"]} for c in self.codes]
        return [e for e in entries if codes is None or e["code"] in codes]


def test_without_a_diagnosis_the_tumour_is_one_usual_at_that_age(corpus):
    """Hodgkin lymphoma is 0.5 per million at 0-4 years and 37.3 at 15-19 (ICCC-3 IIa, New
    York State Cancer Registry 2005-2009): never drawn for a 3-year-old, drawn for teens;
    drawn among the tumours the coverage lists, whatever the first retrieval returned."""
    index = CoverageIndex(corpus, ["9650/3", "9835/3", "9364/3", "9180/3"])
    made = {
        age: [
            generator(index)
            .generate_one(request_from(age=age, blocks=["chemotherapy"]), seed=seed)
            .record.diagnosis.icdo3_morphology
            for seed in range(1, 11)
        ]
        for age in (3, 17)
    }
    hodgkin = {t.code for t in tumour_records() if "IIa" in t.iccc}
    assert not hodgkin & set(made[3]), made[3]
    assert hodgkin & set(made[17]), made[17]
    assert set(made[3]) <= {"9835/3", "9364/3", "9180/3"}, made[3]


def test_without_a_diagnosis_or_coverage_the_retrieved_tumours_are_drawn_by_age(corpus):
    made = [
        generator(corpus)
        .generate_one(request_from(age=2, blocks=["chemotherapy"]), seed=seed)
        .record.diagnosis.icdo3_morphology
        for seed in range(1, 7)
    ]
    assert all(ages.rate(c, 2) is None or ages.rate(c, 2) >= ages.USUAL for c in made), made


class BlockCoverageIndex(StaticIndex):
    """The corpus with a fact index's coverage: ``claims`` maps a morphology code to the
    blocks the index says support it, each counted in the named documents (file names)."""

    def __init__(self, corpus: StaticIndex, claims: dict[str, dict[str, dict[str, int]]]):
        super().__init__(corpus.chunks, corpus.pages)
        ids = {c.document: c.document_sha256[:16] for c in corpus.chunks}
        self.entries = [
            {
                "code": code,
                "supported": list(blocks),
                "blocks": {
                    block: {"documents": {ids[d]: n for d, n in docs.items()}}
                    for block, docs in blocks.items()
                },
            }
            for code, blocks in claims.items()
        ]

    def tumour_coverage(self, codes: set[str] | None) -> list[dict[str, Any]]:
        return [e for e in self.entries if codes is None or e["code"] in codes]


def test_the_anchor_is_the_document_that_treats_the_tumour_not_one_naming_it_in_passing(
    corpus,
):
    """The transplant chapter lists neuroblastoma among its indications; the neuroblastoma
    guideline states its surgery: the diagnosis cites that guideline, and so the surgery
    comes from it (a transplant-chapter anchor refused surgery for the adrenal gland)."""
    index = BlockCoverageIndex(
        corpus,
        {
            "9500/3": {
                "chemotherapy": {"neuroblastoma.pdf": 12, "hsct_supportive_care.pdf": 2},
                "surgery": {"neuroblastoma.pdf": 3},
                "hsct": {"neuroblastoma.pdf": 2, "hsct_supportive_care.pdf": 6},
            }
        },
    )
    request = request_from(age=3, diagnosis="neuroblastoma", blocks=["chemotherapy", "surgery"])
    for seed in range(1, 5):
        record = generator(index).generate_one(request, seed=seed).record
        assert {c.document for c in record.diagnosis.citations} == {"neuroblastoma.pdf"}
        assert record.surgery, seed
        assert {c.document for c in record.surgery[0].citations} == {"neuroblastoma.pdf"}


def test_a_drawn_tumour_whose_passages_fail_a_block_is_drawn_again(corpus):
    """The index claims surgery for acute lymphoblastic leukaemia (a page naming it in
    passing): drawn, its passages refuse surgery, and another candidate is drawn instead of
    failing a request the evidence can serve."""
    index = BlockCoverageIndex(
        corpus,
        {
            "9835/3": {
                "chemotherapy": {"acute_lymphoblastic_leukaemia.pdf": 30},
                "surgery": {"acute_lymphoblastic_leukaemia.pdf": 1},
            },
            "9364/3": {
                "chemotherapy": {"ewing_sarcoma.pdf": 20},
                "surgery": {"ewing_sarcoma.pdf": 4},
            },
        },
    )
    request = request_from(age=4, blocks=["chemotherapy", "surgery"])
    made = [generator(index).generate_one(request, seed=seed).record for seed in range(1, 7)]
    assert {r.diagnosis.icdo3_morphology for r in made} == {"9364/3"}
    assert all(r.surgery for r in made)
