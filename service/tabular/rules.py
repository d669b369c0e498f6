"""Clinical rules for tables: declarative, per data set, in a TOML file.

A rule reads like the clinical-rule prompt states it: ``when`` a condition holds (optional),
``require`` another. Both are Python-syntax expressions over the row's columns (a column is
named by its identifier: ``alk.phos`` is ``alk_phos``), evaluated by a small interpreter
that knows comparisons, ``and``/``or``/``not``, arithmetic, ``in`` and ``missing(column)``;
nothing else runs. A comparison that touches a missing value makes the rule not apply to the
row. Each rule has the fields of the record rule engine (``service.validation.rules``): id,
description, severity, fields, message; failures are its ``RuleFailure``.
"""

from __future__ import annotations

import ast
import operator
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from service.tabular.spec import TableSpec, identifier
from service.validation.rules import RuleFailure, RuleFileError, Severity, _text

DATA_DIR = Path(__file__).parent / "data"


class NotApplicable(Exception):
    """The expression touched a missing value."""


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class Expression:
    """A parsed rule expression; ``names`` are the column identifiers it reads."""

    def __init__(self, source: str):
        self.source = source
        try:
            self.tree = ast.parse(source, mode="eval").body
        except SyntaxError as exc:
            raise RuleFileError(f"cannot parse {source!r}: {exc.msg}") from exc
        self.names: set[str] = set()
        self._check(self.tree)

    def _check(self, node: ast.AST) -> None:
        allowed = (
            ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare,
            ast.BinOp, ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List, ast.Call,
        )  # fmt: skip
        if isinstance(node, ast.cmpop | ast.operator):
            if type(node) not in _COMPARE and type(node) not in _ARITHMETIC:
                raise RuleFileError(f"{self.source!r}: operator {type(node).__name__} not allowed")
            return
        if not isinstance(node, allowed):
            raise RuleFileError(f"{self.source!r}: {type(node).__name__} not allowed")
        if isinstance(node, ast.Call):
            if not (
                isinstance(node.func, ast.Name)
                and node.func.id == "missing"
                and len(node.args) == 1
                and isinstance(node.args[0], ast.Name)
                and not node.keywords
            ):
                raise RuleFileError(f"{self.source!r}: only missing(column) may be called")
            self.names.add(node.args[0].id)
            return
        if isinstance(node, ast.Name):
            self.names.add(node.id)
        for child in ast.iter_child_nodes(node):
            self._check(child)

    def __call__(self, row: Mapping[str, Any]) -> Any:
        return self._eval(self.tree, row)

    def _eval(self, node: ast.AST, row: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            value = row[node.id]
            if value is None:
                raise NotApplicable(node.id)
            return value
        if isinstance(node, ast.Tuple | ast.List):
            return tuple(self._eval(e, row) for e in node.elts)
        if isinstance(node, ast.Call):
            name = node.args[0]
            assert isinstance(name, ast.Name)
            return row[name.id] is None
        if isinstance(node, ast.UnaryOp):
            value = self._eval(node.operand, row)
            return (not value) if isinstance(node.op, ast.Not) else -value
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self._eval(v, row) for v in node.values)
            return any(self._eval(v, row) for v in node.values)
        if isinstance(node, ast.BinOp):
            return _ARITHMETIC[type(node.op)](
                self._eval(node.left, row), self._eval(node.right, row)
            )
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, row)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self._eval(right_node, row)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        raise RuleFileError(f"{self.source!r}: cannot evaluate {type(node).__name__}")


class TableRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    description: str = Field(min_length=1, description="The rule as the rules prompt states it")
    severity: Severity = "error"
    fields: list[str] = Field(min_length=1)
    message: str = Field(min_length=1)
    when: str | None = None
    require: str

    @model_validator(mode="after")
    def _parses(self) -> TableRule:
        for source in (self.when, self.require):
            if source is not None:
                Expression(source)
        return self


@dataclass(frozen=True)
class RowCheck:
    """The failures of one row and how many rules applied to it."""

    failures: list[RuleFailure]
    applicable: int

    @property
    def passed(self) -> bool:
        return not any(f.severity == "error" for f in self.failures)


class TableRuleBook:
    """The rules of one data set, checked against its spec's columns when loaded."""

    def __init__(self, rules: Sequence[TableRule], spec: TableSpec, *, source: str = "rules"):
        ids = [r.id for r in rules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise RuleFileError(f"{source}: repeated rule ids: {', '.join(repeated)}")
        self.spec = spec
        self._names = {identifier(c.name): c.name for c in spec.columns}
        self.rules = list(rules)
        self._compiled: list[tuple[TableRule, Expression | None, Expression]] = []
        for rule in self.rules:
            when = Expression(rule.when) if rule.when else None
            require = Expression(rule.require)
            unknown = (require.names | (when.names if when else set())) - set(self._names)
            unknown |= set(rule.fields) - set(spec.names)
            if unknown:
                raise RuleFileError(
                    f"{source}: rule {rule.id} names unknown columns: {', '.join(sorted(unknown))}"
                )
            self._compiled.append((rule, when, require))

    @classmethod
    def load(cls, path: Path, spec: TableSpec) -> TableRuleBook:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RuleFileError(f"cannot read rules file {path}: {exc}") from exc
        rules = []
        for index, raw in enumerate(data.get("rule", [])):
            try:
                rules.append(TableRule.model_validate(raw))
            except (ValidationError, RuleFileError) as exc:
                name = raw.get("id", "?") if isinstance(raw, dict) else "?"
                raise RuleFileError(f"{path}: rule {index + 1} ({name}): {exc}") from exc
        return cls(rules, spec, source=str(path))

    def __iter__(self) -> Iterator[TableRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def check(self, row: Mapping[str, Any]) -> RowCheck:
        """``row`` maps column names to normalised values (None for missing)."""
        values = {ident: _plain(row.get(name)) for ident, name in self._names.items()}
        failures: list[RuleFailure] = []
        applicable = 0
        for rule, when, require in self._compiled:
            try:
                if when is not None and not when(values):
                    continue
                holds = require(values)
            except NotApplicable:
                continue
            applicable += 1
            if holds:
                continue
            shown = {identifier(f): _text(_plain(row.get(f))) for f in rule.fields}
            failures.append(
                RuleFailure(
                    rule_id=rule.id,
                    severity=rule.severity,
                    message=rule.message.format(**shown),
                    fields=list(rule.fields),
                )
            )
        return RowCheck(failures, applicable)


def _plain(value: Any) -> Any:
    """NaN is missing; numpy scalars become Python numbers."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def bundled_rules_path(name: str) -> Path:
    return DATA_DIR / f"{name}.rules.toml"


@dataclass(frozen=True)
class ViolationSummary:
    rows: int
    rows_violating: int
    failures_by_rule: dict[str, int]

    @property
    def rate(self) -> float:
        return self.rows_violating / self.rows if self.rows else 0.0


def summarise_violations(
    book: TableRuleBook, rows: Sequence[Mapping[str, Any]]
) -> ViolationSummary:
    by_rule = {rule.id: 0 for rule in book}
    violating = 0
    for row in rows:
        result = book.check(row)
        errors = [f for f in result.failures if f.severity == "error"]
        violating += bool(errors)
        for failure in errors:
            by_rule[failure.rule_id] += 1
    return ViolationSummary(len(rows), violating, by_rule)
