"""The rule engine: rules.toml names each rule's check, severity, fields and message.

Loading fails loudly when a rule names an unknown check, a check has no rule, or an id
repeats, so the data file and the code cannot drift apart. ``Validator.validate`` runs
every rule on a record and returns a ``ValidationResult``, the JSON stored with the record.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The check modules register their checks on import.
from service.validation import (  # noqa: F401
    applicability,
    clinical,
    codes,
    cycles,
    grounding,
    language,
    line_opening,
    metastases,
    regimens,
    risk_groups,
    treatments,
)
from service.validation.bounds import Bounds
from service.validation.codes import Vocabulary
from service.validation.context import CHECKS, CheckContext, Offending
from service.validation.grounding import ChunkLookup, grounding_of

if TYPE_CHECKING:
    from service.records import PatientRecord
    from service.settings import Settings

RULES_FILE = Path(__file__).with_name("rules.toml")
Severity = Literal["error", "warning"]


class RuleFailure(BaseModel):
    rule_id: str
    severity: Severity
    message: str
    fields: list[str] = Field(default_factory=list)


class GroundingSummary(BaseModel):
    """Cited items checked against the knowledge store, and how many it fully supports.

    ``skipped``: no knowledge store was available, so nothing was checked (items 0)."""

    items: int = 0
    verified: int = 0
    skipped: bool = False


class ValidationResult(BaseModel):
    record_id: str
    passed: bool = Field(description="No failure of severity 'error'")
    rules_checked: int
    failures: list[RuleFailure] = Field(default_factory=list)
    grounding: GroundingSummary = Field(default_factory=GroundingSummary)
    validated_at: datetime


class RuleFileError(ValueError):
    """The rules file is unreadable or does not fit the registered checks."""


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    description: str = Field(min_length=1)
    severity: Severity
    fields: list[str] = Field(min_length=1)
    message: str = Field(min_length=1)
    check: str

    def render(self, values: Offending) -> str:
        try:
            return self.message.format(**{k: _text(v) for k, v in values.items()})
        except (KeyError, IndexError) as exc:
            raise RuntimeError(
                f"rule {self.id}: message placeholder {exc} not among the values "
                f"{sorted(values)} that check {self.check!r} gives"
            ) from exc

    def placeholders(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.message) if name}


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(map(_text, value))
    return str(value)


class RuleBook:
    """The rules of a data file, checked against the registered checks."""

    def __init__(self, rules: list[Rule], *, source: str = "rules"):
        ids = [r.id for r in rules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        unknown = sorted({r.check for r in rules} - set(CHECKS))
        used = [r.check for r in rules]
        shared = sorted({c for c in used if used.count(c) > 1})
        orphans = sorted(set(CHECKS) - set(used))
        problems = [
            f"{label}: {', '.join(names)}"
            for label, names in (
                ("repeated rule ids", repeated),
                ("unknown checks", unknown),
                ("checks used by several rules", shared),
                ("checks without a rule", orphans),
            )
            if names
        ]
        if problems:
            raise RuleFileError(f"{source}: " + "; ".join(problems))
        self.rules = rules

    @classmethod
    def load(cls, path: Path = RULES_FILE) -> RuleBook:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RuleFileError(f"cannot read rules file {path}: {exc}") from exc
        rules = []
        for index, raw in enumerate(data.get("rule", [])):
            try:
                rules.append(Rule.model_validate(raw))
            except ValidationError as exc:
                name = raw.get("id", "?") if isinstance(raw, dict) else "?"
                raise RuleFileError(f"{path}: rule {index + 1} ({name}): {exc}") from exc
        if not rules:
            raise RuleFileError(f"{path}: no [[rule]] tables")
        return cls(rules, source=str(path))

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)


class Validator:
    """Runs every rule on a record. Without ``chunks`` the grounding rules are skipped
    (not counted in ``rules_checked``) and the grounding summary says so."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        chunks: ChunkLookup | None,
        reference_date: date | None = None,
        *,
        rules: RuleBook | None = None,
        bounds: Bounds | None = None,
    ):
        self.vocabulary = vocabulary
        self.chunks = chunks
        self.reference_date = reference_date
        self.rules = rules or RuleBook.load()
        self.bounds = bounds or Bounds.load()
        missing = vocabulary.anthracyclines - set(
            self.bounds.anthracyclines.doxorubicin_equivalence
        )
        if missing:
            raise ValueError(
                f"anthracyclines without a doxorubicin equivalence in bounds.toml: {missing}"
            )
        if self.bounds.radiotherapy.tbi_site not in self.bounds.radiotherapy.sites:
            raise ValueError("bounds.toml: radiotherapy.tbi_site has no site bounds")

    def validate(self, record: PatientRecord) -> ValidationResult:
        context = CheckContext(
            record=record,
            vocabulary=self.vocabulary,
            bounds=self.bounds,
            reference_date=self.reference_date or date.today(),
            chunks=self.chunks,
        )
        failures: list[RuleFailure] = []
        checked = 0
        for rule in self.rules:
            spec = CHECKS[rule.check]
            if spec.needs_chunks and self.chunks is None:
                continue
            checked += 1
            failures += [
                RuleFailure(
                    rule_id=rule.id,
                    severity=rule.severity,
                    message=rule.render(values),
                    fields=list(rule.fields),
                )
                for values in spec.function(context)
            ]
        if self.chunks is None:
            summary = GroundingSummary(skipped=True)
        else:
            report = grounding_of(context)
            summary = GroundingSummary(items=report.items, verified=report.verified)
        return ValidationResult(
            record_id=record.record_id,
            passed=not any(f.severity == "error" for f in failures),
            rules_checked=checked,
            failures=failures,
            grounding=summary,
            validated_at=datetime.now(UTC),
        )


def build_validator(settings: Settings, knowledge_store: ChunkLookup | None) -> Validator:
    """The validator a deployment uses; ``knowledge_store`` None skips grounding."""
    return Validator(Vocabulary.bundled(), knowledge_store, settings.records.reference_date)
