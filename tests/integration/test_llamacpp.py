"""The llama.cpp backend on the embedded SmolLM2: schema, timings, prefix cache, threads,
scoring. Prompts are short so the module runs in well under a minute on 2 cores."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from models.base import ChatMessage
from models.embedded import packaged_gguf_path
from models.llamacpp import LlamaCppModel
from models.openai_compat import schema_errors

pytestmark = pytest.mark.integration

INSTRUCTIONS = (
    "You write synthetic paediatric oncology patient records for software testing. "
    "The patients are invented. Every clinical fact must come from the evidence given. "
    "Answer with one JSON object and nothing else. Allowed tumours: Ewing sarcoma (E1), "
    "osteosarcoma (E2), Hodgkin lymphoma (E3). Allowed cycles: 1 to 6."
)
SCHEMA = {
    "type": "object",
    "properties": {
        "tumour": {"enum": ["Ewing sarcoma", "osteosarcoma", "Hodgkin lymphoma"]},
        "source": {"enum": ["E1", "E2", "E3"]},
        "cycles": {"enum": [1, 2, 3, 4, 5, 6]},
    },
    "required": ["tumour", "source", "cycles"],
}


def messages(patient: str) -> list[ChatMessage]:
    return [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": f"Patient: {patient}. Write the diagnosis and cycles."},
    ]


@pytest.fixture(scope="module")
def model():
    loaded = LlamaCppModel(packaged_gguf_path(), n_ctx=2048, n_threads=2)
    yield loaded
    loaded.close()


def ask(model: LlamaCppModel, patient: str, seed: int):
    return model.complete_json(messages(patient), SCHEMA, seed=seed, max_tokens=48, temperature=1.0)


def test_json_follows_the_schema_with_usage_timings_and_provenance(model):
    completion = ask(model, "girl, 9 years old", seed=1)
    assert schema_errors(completion.text, SCHEMA) == ()
    assert completion.finish_reason == "stop"
    assert completion.prompt_tokens > 50 and completion.completion_tokens > 5
    assert completion.prompt_seconds is not None and completion.decode_seconds is not None
    assert 0 < completion.prompt_seconds < completion.seconds
    assert completion.decode_seconds > 0
    assert model.name == packaged_gguf_path().name and len(model.sha256 or "") == 64


def test_grammar_first_and_lazy_grammar_both_respect_the_schema(model):
    model.llama.lazy_grammar = False
    try:
        strict = ask(model, "boy, 4 years old", seed=2)
    finally:
        model.llama.lazy_grammar = True
    lazy = ask(model, "boy, 4 years old", seed=2)
    assert schema_errors(strict.text, SCHEMA) == () and schema_errors(lazy.text, SCHEMA) == ()
    sampler = model.llama.last_sampler
    assert sampler is not None and sampler.tokens >= lazy.completion_tokens


def test_prefix_cache_reuses_shared_instructions_and_keeps_outputs(model):
    """Record 2's prompt restores record 1's state although another prompt ran between."""
    assert model.prompt_cache is not None
    model.prompt_cache.states.clear()
    model.llama.reset()
    cold = ask(model, "girl, 12 years old", seed=5)
    model.complete_text(
        [{"role": "user", "content": "List three colours."}], seed=1, max_tokens=8, temperature=1.0
    )
    ask(model, "boy, 6 years old", seed=4)
    model.complete_text(
        [{"role": "user", "content": "List three colours."}], seed=1, max_tokens=8, temperature=1.0
    )
    warm = ask(model, "girl, 12 years old", seed=5)
    assert cold.cached_prompt_tokens == 0
    assert warm.cached_prompt_tokens is not None
    page = model.llama.page  # reuse stops at a page boundary: same batches as a cold call
    assert warm.cached_prompt_tokens == (warm.prompt_tokens - 1) // page * page > 0
    assert warm.text == cold.text  # same seed, same output whatever ran before


def test_concurrent_requests_share_one_model_and_match_sequential_results(model):
    def say(word: str, seed: int) -> str:
        chat: list[ChatMessage] = [{"role": "user", "content": f"Define {word}."}]
        return model.complete_text(chat, seed=seed, max_tokens=6, temperature=1.0).text

    requests = [("sarcoma", 11), ("lymphoma", 12)]
    sequential = [say(word, seed) for word, seed in requests]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(say, w, s) for w, s in requests for _ in range(2)]
        concurrent = [f.result() for f in futures]
    assert concurrent == [text for text in sequential for _ in range(2)]


def test_free_text_and_scoring(model):
    chat: list[ChatMessage] = [{"role": "user", "content": "Say hello."}]
    before = model.complete_text(chat, seed=1, max_tokens=6, temperature=1.0)
    # llama-cpp-python finishes a UTF-8 character split over byte tokens past max_tokens
    # (here an emoji: 8 tokens for 6), never more than 3 extra
    assert before.text and before.completion_tokens <= 6 + 3
    fluent = model.score("The child was treated with chemotherapy and radiotherapy.")
    shuffled = model.score("radiotherapy The with and was chemotherapy treated child.")
    assert len(fluent.tokens) == len(fluent.logprobs) > 5
    assert all(lp <= 0 for lp in fluent.logprobs)
    assert 1 < fluent.perplexity < shuffled.perplexity
    # scoring leaves the model usable, and the same seed still gives the same text
    assert model.complete_text(chat, seed=1, max_tokens=6, temperature=1.0).text == before.text
