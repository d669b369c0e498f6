"""The bounded repair loop and the eval measures, with a scripted generator at the seam."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from knowledge.chunks import GuidelineChunk
from knowledge.vocabulary import tumour_records
from service.evaluation.runner import (
    EvalRequest,
    content_key,
    load_requests,
    render_summary,
    run_eval,
    verified_items,
)
from service.generation.generator import GeneratedPatient, GenerationError
from service.generation.repair import REPAIR_SEED_STEP, RepairLoop
from service.records import PatientRecord
from service.requests import MAX_SEED, RequestFields, build_request, parse_request
from service.validation import ValidationResult
from service.validation.codes import Vocabulary
from service.validation.rules import RuleFailure
from tests.fakes import page_texts, validation_result
from tests.records import full_record, full_record_data


@dataclass
class ScriptedModel:
    name: str = "scripted"
    backend: str = "fake"


@dataclass
class ScriptedGenerator:
    """Returns records by seed; a seed listed in ``bad`` makes a record that fails a rule."""

    bad: set[int] = field(default_factory=set)
    broken: set[int] = field(default_factory=set)
    calls: list[tuple[int, tuple[str, ...] | None]] = field(default_factory=list)
    model: ScriptedModel = field(default_factory=ScriptedModel)

    def generate_one(
        self, request: Any, *, seed: int, feedback: Sequence[str] | None = None
    ) -> GeneratedPatient:
        self.calls.append((seed, tuple(feedback) if feedback is not None else None))
        if seed in self.broken:
            raise GenerationError("diagnosis block: no JSON", raw="{")
        record = full_record()
        tumour = "bad" if seed in self.bad else f"tumour {seed}"
        record = record.model_copy(
            update={
                "record_id": f"id-{seed}",
                "diagnosis": record.diagnosis.model_copy(update={"tumour": tumour}),
                "provenance": record.provenance.model_copy(update={"seed": seed}),
            }
        )
        return GeneratedPatient(record, seconds=1.0)


def fake_validate(record: PatientRecord) -> ValidationResult:
    failures = (
        [RuleFailure(rule_id="codes.morphology_name", severity="error", message="bad tumour")]
        if record.diagnosis.tumour == "bad"
        else []
    )
    return validation_result(record, failures)


REQUEST = parse_request("8-year-old boy with Ewing sarcoma, chemotherapy")


def test_a_passing_record_is_not_regenerated():
    generator = ScriptedGenerator()
    repaired = RepairLoop(generator, fake_validate, max_rounds=2).generate(REQUEST, seed=5)
    assert generator.calls == [(5, None)]
    assert repaired.rounds == 0 and repaired.final.passed


def test_a_failing_record_is_regenerated_with_the_messages_and_keeps_its_id():
    generator = ScriptedGenerator(bad={5})
    repaired = RepairLoop(generator, fake_validate, max_rounds=2).generate(REQUEST, seed=5)
    assert generator.calls == [(5, None), (5 + REPAIR_SEED_STEP, ("bad tumour",))]
    assert not repaired.first.passed and repaired.final.passed
    assert repaired.rounds == 1
    assert repaired.made.record.record_id == "id-5"  # the request's id, not the retry's
    assert repaired.final.record_id == "id-5"
    assert repaired.seconds == 2.0


def test_repair_seeds_of_the_largest_seed_stay_within_32_bits():
    generator = ScriptedGenerator(bad={MAX_SEED})
    repaired = RepairLoop(generator, fake_validate, max_rounds=1).generate(REQUEST, seed=MAX_SEED)
    retry = generator.calls[1][0]
    assert retry == REPAIR_SEED_STEP - 1 and 0 <= retry <= MAX_SEED
    assert repaired.final.passed


def test_repair_is_bounded_and_keeps_the_first_attempt_when_none_is_better():
    seeds = {5 + k * REPAIR_SEED_STEP for k in range(4)}
    generator = ScriptedGenerator(bad=seeds)
    repaired = RepairLoop(generator, fake_validate, max_rounds=2).generate(REQUEST, seed=5)
    assert len(generator.calls) == 3
    assert repaired.rounds == 2 and not repaired.final.passed
    assert repaired.made.record.provenance.seed == 5


class Chunks:
    """Chunks by id; a page's text is its chunks' texts."""

    def __init__(self, chunks: list[GuidelineChunk]):
        self.chunks = {c.chunk_id: c for c in chunks}

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]:
        return [self.chunks[i] for i in chunk_ids if i in self.chunks]

    def page_text(self, document_id: str, page: int) -> str | None:
        return page_texts(list(self.chunks.values())).get((document_id, page))


def chunk(chunk_id: str, page: int, text: str) -> GuidelineChunk:
    return GuidelineChunk(
        chunk_id=chunk_id,
        document="ewing_sarcoma.pdf",
        document_sha256="0" * 64,
        title="Ewing sarcoma",
        page=page,
        start=0,
        end=len(text),
        text=text,
    )


def test_an_item_counts_as_verified_only_when_the_independent_verifier_passes_it():
    record = full_record(chemotherapy=full_record_data()["chemotherapy"][:1], radiotherapy=[])
    record = record.model_copy(update={"surgery": [], "hsct": [], "relapse": None})
    citation = record.chemotherapy[0].citations[0]
    right = chunk(citation.chunk_id, citation.page, f"Induction: {citation.quote}.")
    vocabulary = Vocabulary.bundled()
    assert verified_items(record, Chunks([right]), vocabulary) == 1
    wrong_page = chunk(right.chunk_id, right.page + 1, right.text)
    assert verified_items(record, Chunks([wrong_page]), vocabulary) == 0
    other_text = chunk(right.chunk_id, right.page, "Nothing about that drug here.")
    assert verified_items(record, Chunks([other_text]), vocabulary) == 0
    assert verified_items(record, Chunks([]), vocabulary) == 0
    wrong_dose = record.chemotherapy[0].model_copy(update={"dose": 3.0})
    changed = record.model_copy(update={"chemotherapy": [wrong_dose]})
    assert verified_items(changed, Chunks([right]), vocabulary) == 0


def test_run_eval_counts_validity_repair_citations_and_distinct_records():
    generator = ScriptedGenerator(bad={2}, broken={3})
    loop = RepairLoop(generator, fake_validate, max_rounds=1)
    record = full_record()
    texts: dict[str, tuple[int, list[str]]] = {}
    for item in [*record.chemotherapy, *record.radiotherapy]:
        for citation in item.citations:
            page, quotes = texts.setdefault(citation.chunk_id, (citation.page, []))
            quotes.append(citation.quote)
    store = Chunks([chunk(i, page, " ".join(q)) for i, (page, q) in texts.items()])
    requests = [
        EvalRequest(id=f"r{seed}", fields=RequestFields(prompt="Ewing sarcoma"), seed=seed)
        for seed in (1, 2, 3)
    ]
    report = run_eval(requests, loop, store, requests_file="inline")
    assert report.requests == 3 and report.schema_valid == 2
    assert report.rule_pass_before == 0.5 and report.rule_pass_after == 1.0
    assert report.cited_items > 0 and report.verified_items <= report.cited_items
    assert report.distinct_records == 2
    broken = report.items[2]
    assert not broken.schema_valid and broken.error and "GenerationError" in broken.error
    summary = render_summary(report)
    assert "2/3" in summary and "r3  INVALID GenerationError" in summary
    assert "random choice" not in summary


def test_eval_reports_what_each_request_asked_for_and_lacks_and_the_baseline_beside_it():
    record = full_record()
    asked = record.provenance.parsed_request
    assert asked is not None and "radiotherapy" in asked.blocks
    without_rt = record.model_copy(update={"radiotherapy": []})

    @dataclass
    class Fixed(ScriptedGenerator):
        def generate_one(self, request: Any, *, seed: int, feedback: Any = None) -> Any:
            made = record if seed == 1 else without_rt
            return GeneratedPatient(made.model_copy(update={"record_id": f"id-{seed}"}), 1.0)

    requests = [
        EvalRequest(id=f"r{seed}", fields=RequestFields(prompt="Ewing sarcoma"), seed=seed)
        for seed in (1, 2)
    ]
    store = Chunks([])
    loop = RepairLoop(Fixed(), lambda r: validation_result(r, []), max_rounds=0)
    report = run_eval(requests, loop, store, requests_file="inline")
    assert report.items[0].missing == []
    assert report.items[1].missing == ["radiotherapy: asked for, not in the record"]
    assert report.every_block == 0.5
    report.baseline = run_eval(requests[:1], loop, store, requests_file="inline")
    summary = render_summary(report)
    assert "every requested block     50% of requests   (random choice: 100%)" in summary
    assert "missing radiotherapy: asked for, not in the record" in summary
    assert "|  pass; verified" in summary  # r1's baseline outcome beside the model's


def test_content_key_ignores_identity_and_provenance():
    one = full_record()
    other = one.model_copy(update={"record_id": "another"})
    assert content_key(one) == content_key(other)


def test_the_bundled_request_set_spans_the_corpus_and_the_ways_users_ask():
    requests = load_requests()
    assert len(requests) >= 60
    assert len({r.seed for r in requests}) == len(requests)
    parsed = [build_request(r.fields) for r in requests]
    usual_group = {t.code: t.iccc_groups[:1] for t in tumour_records()}
    groups = {g for p in parsed if p.morphology for g in usual_group.get(p.morphology.code, ())}
    assert len(groups) >= 8, groups  # every ICCC-3 group the bundled corpus treats
    assert sum(p.morphology is None for p in parsed) >= 6  # the tumour left to the agent
    assert sum(p.language == "es" for p in parsed) >= 15
    assert sum(bool(p.relapse) for p in parsed) >= 4
    assert sum(bool(p.second_tumour) for p in parsed) >= 2
    # a second tumour with its own blocks, asked in English and in Spanish
    assert {p.language for p in parsed if p.second_tumour_blocks} == {"en", "es"}
    assert any(p.age_now is not None for p in parsed)  # "had the tumour at 13"


def test_a_malformed_request_file_is_an_error_naming_the_entry(tmp_path: Path):
    path = tmp_path / "set.toml"
    path.write_text('[[request]]\nid = "bad"\nprompt = "x"\nage = -3\n')
    with pytest.raises(ValueError, match=r"'bad'.*age"):
        load_requests(path)
    path.write_text("[[request]\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_requests(path)
