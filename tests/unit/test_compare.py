"""clinsynth compare's logic and report with fake backends: no model, no server."""

import json

from models.fake import FakeModel, FakeResponse
from service.evaluation.compare import (
    BackendRun,
    Prices,
    format_report,
    grounded_citations,
    run_backend,
)
from service.validation import Validator
from service.validation.codes import Vocabulary
from tests.fakes import page_texts
from tests.unit.test_generation import EWING, HODGKIN, TREATMENT, diagnosis_answer, make

PROMPT = "8-year-old boy with Ewing sarcoma"


class Chunks:
    """Stored chunks by id, as KnowledgeStore.get returns them."""

    def __init__(self, chunks):
        self.by_id = {c.chunk_id: c for c in chunks}

    def get(self, chunk_ids):
        return [self.by_id[i] for i in chunk_ids if i in self.by_id]

    def page_text(self, document_id, page):
        return page_texts(list(self.by_id.values())).get((document_id, page))


CHUNKS = Chunks(EWING + HODGKIN)
RULES = Validator(Vocabulary.bundled(), CHUNKS, None)


def answers(tokens: int = 100):
    return [
        FakeResponse(json.dumps(diagnosis_answer()), prompt_tokens=400, completion_tokens=tokens),
        FakeResponse(json.dumps(TREATMENT), prompt_tokens=600, completion_tokens=tokens),
    ]


def test_run_backend_counts_validity_grounding_checks_and_tokens():
    model = FakeModel(backend="openai", name="gpt-test").enqueue(*answers(), "{bad", "{bad")
    generator = make(model)
    run = run_backend(
        "openai",
        generator,
        CHUNKS,
        RULES,
        prompt=PROMPT,
        seed=1,
        count=2,
        prices=Prices(prompt_per_1k=0.01, completion_per_1k=0.03),
    )
    assert (run.requested, len(run.records), len(run.failures)) == (2, 1, 1)
    assert run.failures[0].startswith("seed 2: diagnosis block")
    assert run.citations > 0 and run.grounded == run.citations
    expected = RULES.validate(run.records[0])
    assert expected.passed and run.checks == expected.rules_checked > 40
    assert run.checks_passed == run.checks and not run.check_problems
    assert run.prompt_tokens_per_record == 1000
    assert run.completion_tokens_per_record == 200
    assert run.cost_per_record == (1000 * 0.01 + 200 * 0.03) / 1000


def test_a_quote_missing_from_its_page_is_not_grounded():
    model = FakeModel().enqueue(*answers())
    record = make(model).generate(PROMPT, seed=1)[0].record
    first = record.citations()[0]
    altered = [
        c.model_copy(update={"text": "other text"}) for c in EWING if c.chunk_id == first.chunk_id
    ]
    others = [c for c in EWING + HODGKIN if c.chunk_id != first.chunk_id]
    grounded, total = grounded_citations(record, Chunks(others + altered))
    cited_in_first = sum(c.chunk_id == first.chunk_id for c in record.citations())
    assert (grounded, total) == (total - cited_in_first, len(record.citations()))


def test_report_puts_backends_side_by_side_with_costs():
    local = run_backend(
        "local",
        make(FakeModel(backend="llamacpp", name="smol.gguf").enqueue(*answers())),
        CHUNKS,
        RULES,
        prompt=PROMPT,
        seed=3,
        count=1,
    )
    api = BackendRun(label="openai", backend="openai", model="gpt-x", requested=1)
    api.failures.append("seed 3: diagnosis block: the model did not return a JSON object")
    text = format_report([local, api], prompt=PROMPT, seed=3)
    lines = text.splitlines()
    assert lines[0] == f"request: {PROMPT!r}, seed 3, 1 record(s)"
    assert lines[1].split() == ["local", "openai"]
    assert "smol.gguf" in lines[3] and "gpt-x" in lines[3]
    assert "1/1 (100%)" in lines[4] and "0/1 (0%)" in lines[4]
    assert f"{local.checks}/{local.checks} (100%)" in text
    assert "s local compute/patient" in text and "n/a (no price set)" in text
    assert "validation rules: the rule engine of `clinsynth validate`" in text
    assert "openai: failed seed 3" in text
    column = lines[1].index("openai")
    assert lines[3].index("gpt-x") == lines[4].index("0/1 (0%)") == column  # aligned
    summary = local.summary()
    assert summary["schema_validity"] == 1.0 and summary["basic_checks"]["rate"] == 1.0
    json.dumps([local.summary(), api.summary()])


def test_rule_failures_are_counted_per_rule_and_listed():
    ungrounded = Validator(Vocabulary.bundled(), Chunks([]), None)
    model = FakeModel().enqueue(*answers())
    run = run_backend("local", make(model), CHUNKS, ungrounded, prompt=PROMPT, seed=1, count=1)
    failed = {f.rule_id for f in ungrounded.validate(run.records[0]).failures}
    assert failed and run.checks_passed == run.checks - len(failed)
    assert any("grounding." in problem for problem in run.check_problems)
    assert run.summary()["basic_checks"]["problems"] == run.check_problems
