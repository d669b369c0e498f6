"""Tabular rows from the embedded SmolLM2 under the rule-compiled row schema: two Pima rows
(about 10 s on 2 idle cores; PBC rows are twice as long and left to bench/tabular.py)."""

from __future__ import annotations

import pytest

from models.embedded import packaged_gguf_path
from models.llamacpp import LlamaCppModel
from service.tabular.generate import GenerationOptions, TabularGenerator
from service.tabular.runs import open_reference

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model():
    loaded = LlamaCppModel(packaged_gguf_path(), n_ctx=4096, n_threads=2)
    yield loaded
    loaded.close()


def test_rows_fit_the_schema_and_the_compiled_rules(model):
    ref, book, _ = open_reference("pima")
    prompt_type = "rules"
    generator = TabularGenerator(model, ref, book)
    run = generator.generate(
        prompt_type,
        GenerationOptions(rows=2, seed=3, steer=prompt_type == "statistics", repair_rounds=0),
    )
    assert all(slot.first_valid for slot in run.slots), [s.errors for s in run.slots]
    compiled = set(generator.compiled.compiled)
    for slot in run.slots:
        assert not {f.rule_id for f in slot.first_failures} & compiled
    frame = run.frame(ref.spec)
    for column in ref.spec.columns:
        values = frame[column.name].dropna()
        if column.numeric:
            assert values.between(column.minimum, column.maximum).all()
    assert run.prompt_tokens > 100 and run.completion_tokens > 20
