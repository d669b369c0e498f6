"""The same requests through several backends, side by side (``clinsynth compare``).

For each backend: schema validity (records made without a ``GenerationError``),
grounding (citation quotes found in the cited chunk's text), the validation rule engine's
rules passed (reported under ``basic_checks``, the key scripts already read), latency,
tokens and cost: price per 1K tokens where the settings give one (an API), seconds of
local compute per patient otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from knowledge.chunks import GuidelineChunk
from service.generation.generator import GenerationError, PatientGenerator
from service.generation.repair import RecordValidator
from service.records import PatientRecord
from service.requests import parse_request, seed_at
from service.validation.grounding import PageTexts, location_problems, quote_stands_on_page

if TYPE_CHECKING:
    from knowledge.store import KnowledgeStore
    from models.base import LanguageModel
    from service.settings import Settings

BACKEND_ALIASES = {"local": "llamacpp", "llamacpp": "llamacpp", "openai": "openai"}


class ChunkLookup(Protocol):
    """Stored chunks by id and page texts: what the grounding check needs from the
    knowledge store."""

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]: ...

    def page_text(self, document_id: str, page: int) -> str | None: ...


@dataclass(frozen=True)
class Prices:
    """USD per 1,000 tokens; ``None`` where the backend has no price (local compute)."""

    prompt_per_1k: float | None = None
    completion_per_1k: float | None = None

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float | None:
        if self.prompt_per_1k is None and self.completion_per_1k is None:
            return None
        return (
            prompt_tokens * (self.prompt_per_1k or 0.0)
            + completion_tokens * (self.completion_per_1k or 0.0)
        ) / 1000.0


@dataclass
class BackendRun:
    """What one backend produced for the requested records."""

    label: str
    backend: str
    model: str
    prices: Prices = field(default_factory=Prices)
    requested: int = 0
    records: list[PatientRecord] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    citations: int = 0
    grounded: int = 0
    items: int = 0  # cited items the independent verifier checked
    verified: int = 0  # of which it found every quote on its page and supporting the item
    checks: int = 0
    checks_passed: int = 0
    check_problems: list[str] = field(default_factory=list)

    def _mean(self, values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    @property
    def seconds_per_record(self) -> float | None:
        return self._mean(self.seconds)

    @property
    def prompt_tokens_per_record(self) -> float | None:
        return self._mean([float(r.provenance.prompt_tokens) for r in self.records])

    @property
    def completion_tokens_per_record(self) -> float | None:
        return self._mean([float(r.provenance.completion_tokens) for r in self.records])

    @property
    def cost_per_record(self) -> float | None:
        prompt, completion = self.prompt_tokens_per_record, self.completion_tokens_per_record
        if prompt is None or completion is None:
            return None
        return self.prices.cost(prompt, completion)

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "backend": self.backend,
            "model": self.model,
            "records": {"valid": len(self.records), "requested": self.requested},
            "schema_validity": _rate(len(self.records), self.requested),
            "grounding": {
                "grounded": self.grounded,
                "citations": self.citations,
                "rate": _rate(self.grounded, self.citations),
                "items": self.items,
                "items_verified": self.verified,
                "items_rate": _rate(self.verified, self.items),
            },
            "basic_checks": {
                "passed": self.checks_passed,
                "run": self.checks,
                "rate": _rate(self.checks_passed, self.checks),
                "problems": self.check_problems,
            },
            "seconds_per_record": self.seconds_per_record,
            "prompt_tokens_per_record": self.prompt_tokens_per_record,
            "completion_tokens_per_record": self.completion_tokens_per_record,
            "cost_usd_per_record": self.cost_per_record,
            "failures": self.failures,
        }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def grounded_citations(record: PatientRecord, chunks: ChunkLookup) -> tuple[int, int]:
    """(citations of a stored chunk, on its page and document, whose quote stands in the
    stored text of that page; all citations)."""
    citations = record.citations()
    stored = {c.chunk_id: c for c in chunks.get(sorted({c.chunk_id for c in citations}))}
    pages = PageTexts(chunks)
    found = sum(
        1
        for c in citations
        if (chunk := stored.get(c.chunk_id)) is not None
        and not location_problems(c, chunk)
        and quote_stands_on_page(c, chunk, pages)
    )
    return found, len(citations)


def run_backend(
    label: str,
    generator: PatientGenerator,
    chunks: ChunkLookup,
    validator: RecordValidator,
    *,
    prompt: str,
    seed: int,
    count: int,
    prices: Prices | None = None,
) -> BackendRun:
    """Generate ``count`` records (seeds ``seed``...) and score them with the validation
    rules (``validator``); nothing is stored."""
    request = parse_request(prompt)
    model = generator.model
    run = BackendRun(
        label=label, backend=model.backend, model=model.name, prices=prices or Prices()
    )
    for index in range(count):
        run.requested += 1
        item_seed = seed_at(seed, index)
        started = time.perf_counter()
        try:
            made = generator.generate_one(request, seed=item_seed)
        except GenerationError as exc:
            run.failures.append(f"seed {item_seed}: {exc}")
            continue
        run.seconds.append(time.perf_counter() - started)
        record = made.record
        run.records.append(record)
        grounded, citations = grounded_citations(record, chunks)
        run.grounded += grounded
        run.citations += citations
        result = validator.validate(record)
        failed = {f.rule_id for f in result.failures}
        run.items += result.grounding.items
        run.verified += result.grounding.verified
        run.checks += result.rules_checked
        run.checks_passed += result.rules_checked - len(failed)
        run.check_problems.extend(
            f"seed {item_seed}: {f.rule_id} ({f.severity}): {f.message}" for f in result.failures
        )
    return run


def _percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "n/a"


def _number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _cost(run: BackendRun) -> str:
    cost = run.cost_per_record
    if cost is not None:
        return f"USD {cost:.4f}/patient"
    if run.backend == "llamacpp" and run.seconds_per_record is not None:
        return f"{run.seconds_per_record:.1f} s local compute/patient"
    return "n/a (no price set)"


def format_report(runs: list[BackendRun], *, prompt: str, seed: int) -> str:
    """A side-by-side text table, one column per backend."""
    rows: list[tuple[str, list[str]]] = [
        ("backend", [r.backend for r in runs]),
        ("model", [r.model for r in runs]),
        ("schema validity", [_percent(len(r.records), r.requested) for r in runs]),
        ("grounding (quote on page)", [_percent(r.grounded, r.citations) for r in runs]),
        ("items verified (verifier)", [_percent(r.verified, r.items) for r in runs]),
        ("validation rules passed", [_percent(r.checks_passed, r.checks) for r in runs]),
        ("seconds per record", [_number(r.seconds_per_record, 2) for r in runs]),
        ("prompt tokens per record", [_number(r.prompt_tokens_per_record, 0) for r in runs]),
        (
            "completion tokens per record",
            [_number(r.completion_tokens_per_record, 0) for r in runs],
        ),
        ("cost", [_cost(r) for r in runs]),
    ]
    header = ("", [r.label for r in runs])
    table = [header, *rows]
    first = max(len(name) for name, _ in table)
    widths = [max(len(values[i]) for _, values in table) for i in range(len(runs))]
    lines = [f"request: {prompt!r}, seed {seed}, {runs[0].requested if runs else 0} record(s)"]
    for name, values in table:
        cells = "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True))
        lines.append(f"{name.ljust(first)}  {cells}".rstrip())
    lines.append(
        "validation rules: the rule engine of `clinsynth validate` (clinical, codes, "
        "grounding), counted per rule and record"
    )
    for run in runs:
        lines.extend(f"{run.label}: failed {failure}" for failure in run.failures)
        lines.extend(f"{run.label}: check {problem}" for problem in run.check_problems)
    return "\n".join(lines)


def compare_backends(
    settings: Settings,
    store: KnowledgeStore,
    models: dict[str, LanguageModel],
    *,
    prompt: str,
    seed: int,
    count: int,
    progress: Callable[[str], None] = lambda _: None,
) -> list[BackendRun]:
    """One ``BackendRun`` per labelled model, each through its own generator."""
    from service.components import build_generator
    from service.validation import build_validator

    validator = build_validator(settings, store)
    runs = []
    for label, model in models.items():
        progress(f"{label}: generating {count} record(s) with {model.name}")
        prices = (
            Prices(settings.openai.prompt_price_per_1k, settings.openai.completion_price_per_1k)
            if model.backend == "openai"
            else Prices()
        )
        generator = build_generator(settings, store, model)
        runs.append(
            run_backend(
                label,
                generator,
                store,
                validator,
                prompt=prompt,
                seed=seed,
                count=count,
                prices=prices,
            )
        )
    return runs
