"""Seconds per patient record, and constrained vs raw llama.cpp decode speed.

Ingests the bundled corpus into a temporary store, generates N records with the embedded
model through clinsynth, then times raw llama-cpp-python on the same first prompt without
a grammar. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from service.offline import enforce_offline

enforce_offline()

from ingest.pipeline import ingest_paths  # noqa: E402
from models.base import ChatMessage, Completion, LanguageModel  # noqa: E402
from service.components import (  # noqa: E402
    build_generator,
    build_knowledge_store,
    build_language_model,
)
from service.settings import Settings  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "knowledge" / "corpus" / "pdf"
PROMPT = "8-year-old boy with Ewing sarcoma, chemotherapy and radiotherapy"


class Recording(LanguageModel):
    """Wraps a backend and keeps each call's messages and completion."""

    def __init__(self, inner: LanguageModel):
        self.inner, self.backend, self.name, self.sha256 = (
            inner,
            inner.backend,
            inner.name,
            inner.sha256,
        )
        self.calls: list[tuple[list[ChatMessage], Completion]] = []

    def complete_json(self, messages, schema, **kwargs):  # type: ignore[no-untyped-def]
        completion = self.inner.complete_json(messages, schema, **kwargs)
        self.calls.append((messages, completion))
        return completion


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
        decode = sum(c.completion_tokens for _, c in model.calls) / sum(
            c.seconds for _, c in model.calls
        )
        messages, first = model.calls[0]
        llm = model.inner._llm  # type: ignore[attr-defined]
        raw_rates = []
        for _ in range(3):
            t0 = time.perf_counter()
            out = llm.create_chat_completion(
                messages=messages, max_tokens=first.completion_tokens, temperature=0.7, seed=1
            )
            raw_rates.append(out["usage"]["completion_tokens"] / (time.perf_counter() - t0))
        raw = statistics.median(raw_rates)
    print(f"records:                         {args.records}")
    print(f"seconds per record (wall):       {wall:.2f}")
    print(f"completion tokens per record:    {statistics.mean(tokens):.0f}")
    print(
        f"prompt tokens per record:        "
        f"{statistics.mean(m.record.provenance.prompt_tokens for m in made):.0f}"
    )
    print(f"clinsynth constrained tokens/s:  {decode:.1f} (prompt eval included)")
    print(f"raw llama.cpp tokens/s:          {raw:.1f} (same first prompt, no grammar)")
    print(f"ratio constrained / raw:         {decode / raw:.2f}")


if __name__ == "__main__":
    main()
