"""Rows from the model: one call per row under the row schema, checked by the rules.

Row ``i`` of a run uses seed ``seed + i``; a row that is not schema-valid or breaks an
error rule is generated again with the rule messages as feedback and a seed far from its
neighbours' (``service.repair.REPAIR_SEED_STEP``), at most ``repair_rounds`` times, and
dropped if it still fails. Nothing is silently lost: every slot reports its first check,
its attempts and its fate, and the run counts first-attempt violations, repairs and drops.

An answer that copies a training row exactly is refused like a failed one, so no prompt
type (the example-seeded one above all) can hand out a real row.

Steering (``steer=True``; the default for the statistics prompt): before each row the
category values and the missingness pattern are taken together from one training row drawn
with the row's seed, and pinned in that row's schema, so category frequencies and missing
shares follow the data by construction; numeric values stay the model's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from models.base import LanguageModel
from service.generation.repair import REPAIR_SEED_STEP
from service.requests import seed_at
from service.tabular.constrain import compile_rules
from service.tabular.prompting import PromptType, RenderedPrompt, render_prompt
from service.tabular.reference import Reference
from service.tabular.rules import TableRuleBook
from service.tabular.schema import RowError, parse_row, row_key, row_schema
from service.tabular.spec import TableSpec
from service.validation.rules import RuleFailure

RowFate = Literal["kept", "repaired", "dropped"]


@dataclass
class RowSlot:
    """One requested row: its attempts and what became of it."""

    index: int
    seed: int
    fate: RowFate
    row: dict[str, Any] | None  # the kept row (None when dropped)
    attempts: int
    first_valid: bool  # the first answer fitted the schema
    first_failures: list[RuleFailure]  # rule failures of the first schema-valid answer
    raw: list[str] = field(default_factory=list)  # every answer's text
    errors: list[str] = field(default_factory=list)  # why each failed attempt failed
    copies: int = 0  # answers refused as exact copies of a training row


@dataclass
class GenerationOptions:
    rows: int
    seed: int = 1
    steer: bool = False
    rule_schema: bool = True  # compile what rules can be compiled into the row schema
    repair_rounds: int = 2
    max_tokens: int = 384
    temperature: float = 1.0
    examples: int = 5


@dataclass
class TabularRun:
    prompt: RenderedPrompt
    options: GenerationOptions
    slots: list[RowSlot]
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    model: str
    model_sha256: str | None
    backend: str
    rules_in_schema: list[str] = field(default_factory=list)

    def kept_rows(self) -> list[dict[str, Any]]:
        return [s.row for s in self.slots if s.row is not None]

    def frame(self, spec: TableSpec) -> pd.DataFrame:
        """Kept rows, typed like a normalised reference: floats with NaN for numbers,
        objects with None for categories (pandas would turn [1, 2, None] into floats)."""
        rows = self.kept_rows()
        return pd.DataFrame(
            {
                c.name: pd.Series([r[c.name] for r in rows], dtype=float if c.numeric else object)
                for c in spec.columns
            }
        )

    def summary(self) -> dict[str, Any]:
        n = len(self.slots)
        valid_first = [s for s in self.slots if s.first_valid]
        violating_first = sum(
            bool([f for f in s.first_failures if f.severity == "error"]) for s in valid_first
        )
        kept = sum(s.fate != "dropped" for s in self.slots)
        return {
            "requested": n,
            "kept": kept,
            "repaired": sum(s.fate == "repaired" for s in self.slots),
            "dropped": sum(s.fate == "dropped" for s in self.slots),
            "drop_rate": (n - kept) / n if n else 0.0,
            "schema_valid_first": len(valid_first),
            "schema_valid_rate_first": len(valid_first) / n if n else 0.0,
            "rule_violation_rate_first": violating_first / len(valid_first) if valid_first else 0.0,
            "rows_violating_first": violating_first,
            "attempts": sum(s.attempts for s in self.slots),
            "training_copies_refused": sum(s.copies for s in self.slots),
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(kept / self.seconds, 4) if self.seconds > 0 else None,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }

    def provenance(self) -> dict[str, Any]:
        return {
            "prompt_type": self.prompt.prompt_type,
            "template": {"id": self.prompt.template_id, "version": self.prompt.template_version},
            "example_rows_shown": list(self.prompt.example_rows),
            "model": self.model,
            "model_sha256": self.model_sha256,
            "backend": self.backend,
            "seed": self.options.seed,
            "steer": self.options.steer,
            "rule_schema": self.options.rule_schema,
            "rules_in_schema": self.rules_in_schema,
            "repair_rounds": self.options.repair_rounds,
            "temperature": self.options.temperature,
        }


def _feedback(errors: list[str]) -> str:
    if not errors:
        return ""
    return (
        "\nThe previous row was rejected: "
        + "; ".join(errors)
        + ". Write a different row that fits."
    )


class TabularGenerator:
    def __init__(self, model: LanguageModel, reference: Reference, rules: TableRuleBook):
        self.model = model
        self.reference = reference
        self.rules = rules
        self._train = reference.train
        self.compiled = compile_rules(rules, reference.spec)
        self._train_keys = {row_key(reference.spec, r) for r in self._train.to_dict("records")}

    def _steering(self, seed: int) -> tuple[dict[str, Any], frozenset[str]]:
        """Category values and missing columns of one training row drawn with ``seed``."""
        row = self._train.iloc[int(np.random.default_rng(seed).integers(len(self._train)))]
        fixed: dict[str, Any] = {}
        absent = set()
        for column in self.reference.spec.columns:
            value = row[column.name]
            if value is None or (isinstance(value, float) and np.isnan(value)):
                absent.add(column.name)
            elif column.kind == "category":
                fixed[column.name] = value
        return fixed, frozenset(absent)

    def generate(
        self,
        prompt_type: PromptType,
        options: GenerationOptions,
        *,
        on_row: Callable[[RowSlot], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TabularRun:
        prompt = render_prompt(
            prompt_type, self.reference, self.rules, seed=options.seed, examples=options.examples
        )
        slots: list[RowSlot] = []
        usage = [0, 0]
        started = time.perf_counter()
        for index in range(options.rows):
            if should_stop is not None and should_stop():
                break
            slot = self._one(prompt, options, index, usage)
            slots.append(slot)
            if on_row is not None:
                on_row(slot)
        return TabularRun(
            prompt=prompt,
            options=options,
            slots=slots,
            seconds=time.perf_counter() - started,
            prompt_tokens=usage[0],
            completion_tokens=usage[1],
            model=self.model.name,
            model_sha256=self.model.sha256,
            backend=self.model.backend,
            rules_in_schema=self.compiled.compiled if options.rule_schema else [],
        )

    def _one(
        self, prompt: RenderedPrompt, options: GenerationOptions, index: int, usage: list[int]
    ) -> RowSlot:
        spec = self.reference.spec
        seed = seed_at(options.seed, index)
        fixed, absent = self._steering(seed) if options.steer else ({}, frozenset[str]())
        branches = self.compiled.branches if options.rule_schema else None
        schema = row_schema(spec, fixed=fixed, absent=absent, branches=branches)
        slot = RowSlot(index, seed, "dropped", None, 0, False, [])
        errors: list[str] = []
        for attempt in range(options.repair_rounds + 1):
            completion = self.model.complete_json(
                prompt.messages(_feedback(errors)),
                schema,
                seed=seed_at(seed, attempt * REPAIR_SEED_STEP),
                max_tokens=options.max_tokens,
                temperature=options.temperature,
            )
            usage[0] += completion.prompt_tokens
            usage[1] += completion.completion_tokens
            slot.attempts += 1
            slot.raw.append(completion.text)
            try:
                row = parse_row(spec, completion.text, absent=absent)
            except RowError as exc:
                errors = [f"not a valid row ({exc})"]
                slot.errors.append(errors[0])
                continue
            check = self.rules.check(row)
            if attempt == 0:
                slot.first_valid = True
                slot.first_failures = list(check.failures)
            if row_key(spec, row) in self._train_keys:
                # Never hand out a training row, whatever the prompt showed the model.
                errors = ["the row copies a row of the real training data"]
                slot.errors.append(errors[0])
                slot.copies += 1
                continue
            if check.passed:
                slot.row = row
                slot.fate = "kept" if attempt == 0 else "repaired"
                return slot
            errors = [f.message for f in check.failures if f.severity == "error"]
            slot.errors.append("; ".join(errors))
        return slot
