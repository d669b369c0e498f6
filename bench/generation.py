"""Seconds per patient record, and constrained vs raw llama.cpp decode speed.

Ingests the bundled corpus into a temporary store, generates N records with the embedded
model through clinsynth, then times raw llama-cpp-python on the same first prompt without
a grammar. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

# Run as a script, bench/ comes first on sys.path, where bench/ingest.py would shadow the
# ingest package: drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from service.offline import enforce_offline  # noqa: E402

enforce_offline()

from ingest.pipeline import ingest_paths  # noqa: E402
from models.base import ChatMessage  # noqa: E402
from models.recording import Recording  # noqa: E402
from service.components import (  # noqa: E402
    build_generator,
    build_knowledge_store,
    build_language_model,
)
from service.settings import Settings  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "knowledge" / "corpus" / "pdf"
PROMPT = "8-year-old boy with Ewing sarcoma, chemotherapy and radiotherapy"


def seconds(
    llm: Any, messages: list[ChatMessage], max_tokens: int, schema: Any
) -> tuple[int, float]:
    """(completion tokens, seconds) of one call from an empty KV cache."""
    llm.reset()
    extra = {"response_format": {"type": "json_object", "schema": schema}} if schema else {}
    started = time.perf_counter()
    out = llm.create_chat_completion(
        messages=messages, max_tokens=max_tokens, temperature=1.0, seed=1, **extra
    )
    return int(out["usage"]["completion_tokens"]), time.perf_counter() - started


def decode_rate(llm: Any, messages: list[ChatMessage], max_tokens: int, schema: Any) -> float:
    """Decode tokens/s: a full call minus a one-token call (prompt evaluation), median of 3."""
    rates = []
    for _ in range(3):
        _, prompt_seconds = seconds(llm, messages, 1, schema)
        tokens, total = seconds(llm, messages, max_tokens, schema)
        rates.append((tokens - 1) / max(total - prompt_seconds, 1e-9))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), reference_date=date(2026, 6, 1))
        store = build_knowledge_store(settings)
        ingest_paths([CORPUS], store)
        model = Recording(build_language_model(settings))
        generator = build_generator(settings, store, model)
        started = time.perf_counter()
        made = generator.generate(PROMPT, seed=1, count=args.records)
        wall = (time.perf_counter() - started) / args.records
        tokens = [m.record.provenance.completion_tokens for m in made]
        last = model.calls[-1]  # a treatment block: the longer answer
        messages, schema, first = last.messages, last.schema, last.completion
        llm = model.inner._llm  # type: ignore[attr-defined]
        budget = max(first.completion_tokens, 32)
        _, prompt_seconds = seconds(llm, messages, 1, None)
        constrained = decode_rate(llm, messages, budget, schema)
        raw = decode_rate(llm, messages, budget, None)
    print(f"records:                         {args.records}")
    print(f"seconds per record (wall):       {wall:.2f}")
    print(f"completion tokens per record:    {statistics.mean(tokens):.0f}")
    print(
        f"prompt tokens per record:        "
        f"{statistics.mean(m.record.provenance.prompt_tokens for m in made):.0f}"
    )
    print(f"prompt evaluation of one block:  {prompt_seconds:.2f} s (cold cache)")
    print(f"schema-constrained decode tok/s: {constrained:.1f} (treatment block)")
    print(f"raw unconstrained decode tok/s:  {raw:.1f} (same prompt and token budget)")
    print(f"ratio constrained / raw:         {constrained / raw:.2f}")


if __name__ == "__main__":
    main()
