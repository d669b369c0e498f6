"""The model pass of the fact index on the embedded SmolLM2 (llama.cpp, CPU): one short
passage, a short answer under the schema, and nothing kept that fails the literal checks.
What the tiny model proposes is not asserted (bench/extraction.py measures it)."""

from __future__ import annotations

import pytest

from knowledge.facts import extract_page
from knowledge.facts.proposals import MAX_PROPOSALS, model_pass, parse_proposals, schema
from models.embedded import packaged_gguf_path
from models.llamacpp import LlamaCppModel
from models.openai_compat import schema_errors

pytestmark = pytest.mark.integration

PAGE = (
    "Esquema de resgate.\nA carboplatina, conforme a função renal e a contagem de plaquetas "
    "do paciente, é dada na dose de 450 mg/m2 no dia 1.\n"
)  # the patterns miss that dose (its drug is named too far before it): the model reads it


class Recording(LlamaCppModel):
    """The real backend, keeping each raw answer to check it against the schema."""

    answers: list[str]

    def complete_json(self, messages, schema, **options):  # type: ignore[no-untyped-def]
        completion = super().complete_json(messages, schema, **options)
        self.answers = [*getattr(self, "answers", []), completion.text]
        return completion


def test_the_embedded_model_answers_under_the_schema_and_only_checked_facts_are_kept():
    model = Recording(packaged_gguf_path(), n_ctx=2048, n_threads=2, n_gpu_layers=0)
    try:
        found = extract_page(1, PAGE, language="pt")
        new, stats = model_pass(model, 1, PAGE, found=found, language="pt", limit=1)
    finally:
        model.close()
    assert stats.windows == 1 and len(model.answers) == 1
    window = PAGE.strip().split("\n", 1)[1]
    assert schema_errors(model.answers[0], schema(window)) == ()
    assert len(parse_proposals(model.answers[0])) <= MAX_PROPOSALS
    assert stats.kept + sum(stats.dropped.values()) <= stats.proposed  # repeats kept once
    for fact in new:
        assert fact.quote == PAGE[fact.start : fact.end]
        assert fact.fields["source"] == "model" and fact.fields["drug"] == "carboplatin"
    assert stats.seconds > 0
