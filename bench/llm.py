"""The llama.cpp backend measured against raw llama-cpp-python, in one run, same model.

1. Generates N records with the embedded model through clinsynth (bundled corpus in a
   temporary store), recording every model call: seconds per record, and the prompt
   evaluation of record 2 against record 1 (the prompt-state cache at work).
2. On the real treatment prompt of the last record, from a cold cache each time:
   prompt-eval and decode tokens/s through clinsynth's backend and through a plain
   ``llama_cpp.Llama`` (free text, same token budget), and schema-constrained decode:
   clinsynth's lazy grammar, llama-cpp-python's grammar-first chain, and unconstrained.

Prompt-eval tokens/s is llama.cpp's own counter (tokens evaluated / prompt time); decode
tokens/s is completion tokens / (wall time - prompt time), so it includes sampling and
the grammar. Medians of ``--repeats`` interleaved runs. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

# Run as a script, bench/ comes first on sys.path, where bench/ingest.py would shadow the
# ingest package: drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from service.offline import enforce_offline  # noqa: E402

enforce_offline()

import llama_cpp  # noqa: E402

from ingest.pipeline import ingest_paths  # noqa: E402
from models.base import ChatMessage  # noqa: E402
from models.llamacpp import LlamaCppModel, model_params, use_extra_buffers  # noqa: E402
from models.recording import Recording  # noqa: E402
from service.components import build_generator, build_knowledge_store  # noqa: E402
from service.settings import Settings  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "knowledge" / "corpus" / "pdf"
PROMPT = "8-year-old boy with Ewing sarcoma, chemotherapy and radiotherapy"


@dataclass
class Rates:
    prompt_tokens_per_s: float
    decode_tokens_per_s: float
    completion_tokens: int


def rates(prompt_tokens: int, prompt_seconds: float, tokens: int, seconds: float) -> Rates:
    return Rates(prompt_tokens / prompt_seconds, tokens / (seconds - prompt_seconds), tokens)


def clinsynth_call(
    model: LlamaCppModel, messages: list[ChatMessage], schema: Any, budget: int
) -> Rates:
    """One call through the backend from a cold state (no prefix to reuse)."""
    model.llama.reset()
    if model.prompt_cache is not None:
        model.prompt_cache.states.clear()
    options = {"seed": 1, "max_tokens": budget, "temperature": 1.0}
    if schema is None:
        c = model.complete_text(messages, **options)
    else:
        c = model.complete_json(messages, schema, **options)
    assert c.prompt_seconds is not None
    return rates(c.prompt_tokens, c.prompt_seconds, c.completion_tokens, c.seconds)


def raw_call(llm: llama_cpp.Llama, messages: list[ChatMessage], schema: Any, budget: int) -> Rates:
    """The same call straight through llama-cpp-python (its grammar-first chain)."""
    llm.reset()
    context = llm._ctx.ctx
    llama_cpp.llama_perf_context_reset(context)
    extra = {"response_format": {"type": "json_object", "schema": schema}} if schema else {}
    started = time.perf_counter()
    out: Any = llm.create_chat_completion(
        messages=messages,  # type: ignore[arg-type]
        max_tokens=budget,
        temperature=1.0,
        seed=1,
        **extra,
    )
    seconds = time.perf_counter() - started
    perf = llama_cpp.llama_perf_context(context)
    return rates(
        int(perf.n_p_eval),
        perf.t_p_eval_ms / 1000.0,
        int(out["usage"]["completion_tokens"]),
        seconds,
    )


def median(values: list[Rates], field: str) -> float:
    return statistics.median(getattr(v, field) for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=int, default=96, help="max tokens, free-text runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            home=Path(home), reference_date=date(2026, 6, 1), llm_n_threads=args.threads
        )
        store = build_knowledge_store(settings)
        ingest_paths([CORPUS], store)
        model = LlamaCppModel(
            settings.llm.model_path, n_ctx=settings.llm.n_ctx, n_threads=args.threads
        )
        recording = Recording(model)
        generator = build_generator(settings, store, recording)
        walls = []
        started = time.perf_counter()
        for made in generator.iter_generate(PROMPT, seed=1, count=args.records):
            walls.append(time.perf_counter() - started)
            started = time.perf_counter()
            del made
        calls = list(recording.calls)

        treatment = calls[-1]
        # the same CPU kernels as clinsynth's model (see models.llamacpp.use_extra_buffers)
        with model_params(use_extra_bufts=use_extra_buffers(settings.llm.extra_buffers)):
            raw = llama_cpp.Llama(
                model_path=str(settings.llm.model_path),
                n_ctx=settings.llm.n_ctx,
                n_threads=args.threads,
                verbose=False,
            )
        runs: dict[str, list[Rates]] = {}
        counters = []
        for _ in range(args.repeats):
            text = treatment.messages
            runs.setdefault("raw text", []).append(raw_call(raw, text, None, args.budget))
            runs.setdefault("clinsynth text", []).append(
                clinsynth_call(model, text, None, args.budget)
            )
            runs.setdefault("raw json (grammar first)", []).append(
                raw_call(raw, text, treatment.schema, 512)
            )
            runs.setdefault("clinsynth json (lazy grammar)", []).append(
                clinsynth_call(model, text, treatment.schema, 512)
            )
            sampler = model.llama.last_sampler
            if sampler is not None:
                counters.append((sampler.tokens, sampler.rejected, sampler.full_passes))
            model.llama.lazy_grammar = False
            runs.setdefault("clinsynth json (grammar first)", []).append(
                clinsynth_call(model, text, treatment.schema, 512)
            )
            model.llama.lazy_grammar = True
        raw.close()
        model.close()

    print(f"model: {settings.llm.model_path.name}, {args.threads} threads, {args.records} records")
    print("\n## per call of the batch (prompt-state cache at work from record 2)")
    print("record  block      prompt tok  cached tok  prompt s  decode s  completion tok")
    for index, call in enumerate(calls):
        c = call.completion
        block = "diagnosis" if index % 2 == 0 else "treatment"
        print(
            f"{index // 2 + 1:>6}  {block:<9}  {c.prompt_tokens:>10}  {c.cached_prompt_tokens:>10}"
            f"  {c.prompt_seconds:>8.2f}  {c.decode_seconds:>8.2f}  {c.completion_tokens:>14}"
        )
    first = sum(c.completion.prompt_seconds or 0 for c in calls[:2])
    second = sum(c.completion.prompt_seconds or 0 for c in calls[2:4])
    if len(calls) >= 4:
        print(
            f"prompt evaluation, record 2 vs record 1: {second:.2f} s vs {first:.2f} s "
            f"({second / first:.2f}x)"
        )
    print(
        f"seconds per record (wall, retrieval included): {statistics.mean(walls):.2f} "
        f"(first {walls[0]:.2f}, later {statistics.mean(walls[1:] or walls):.2f})"
    )
    print(
        "tokens per record: prompt "
        f"{sum(c.completion.prompt_tokens for c in calls) / args.records:.0f}, completion "
        f"{sum(c.completion.completion_tokens for c in calls) / args.records:.0f}"
    )

    print(f"\n## treatment prompt, cold cache, medians of {args.repeats}")
    print("run                             prompt tok/s  decode tok/s  completion tok")
    for name, values in runs.items():
        print(
            f"{name:<30}  {median(values, 'prompt_tokens_per_s'):>12.1f}"
            f"  {median(values, 'decode_tokens_per_s'):>12.1f}"
            f"  {median(values, 'completion_tokens'):>14.0f}"
        )

    def ratio(a: str, b: str, field: str) -> float:
        return median(runs[a], field) / median(runs[b], field)

    print("\n## ratios")
    print(
        f"clinsynth / raw prompt eval (free text):        "
        f"{ratio('clinsynth text', 'raw text', 'prompt_tokens_per_s'):.2f}  (target >= 0.95)"
    )
    print(
        f"clinsynth / raw decode (free text):             "
        f"{ratio('clinsynth text', 'raw text', 'decode_tokens_per_s'):.2f}  (target >= 0.95)"
    )
    print(
        f"lazy-grammar json / unconstrained decode:       "
        f"{ratio('clinsynth json (lazy grammar)', 'clinsynth text', 'decode_tokens_per_s'):.2f}"
        "  (target >= 0.8)"
    )
    print(
        f"grammar-first json / unconstrained decode:      "
        f"{ratio('clinsynth json (grammar first)', 'clinsynth text', 'decode_tokens_per_s'):.2f}"
        "  (llama-cpp-python's chain)"
    )
    if counters:
        tokens, rejected, full = (sum(c[i] for c in counters) for i in range(3))
        print(
            f"lazy grammar: {rejected}/{tokens} first draws rejected by the grammar "
            f"({100 * rejected / tokens:.0f}%), {full} full-vocabulary passes"
        )


if __name__ == "__main__":
    main()
