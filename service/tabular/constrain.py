"""Clinical rules compiled into the row schema, so decoding cannot break them.

A rule whose ``when`` and ``require`` are conjunctions of single-column atoms (a column
compared with constants, ``in``, ``missing(column)``, ``not missing(column)``) says: some
``when`` atom fails, or every ``when`` and ``require`` atom holds. Each of those
alternatives restricts some columns' domains; the product of every rule's alternatives,
less the empty ones, is a list of branches, and the row schema becomes ``anyOf`` one object
schema per branch. A rule without ``when`` that compares two numeric columns with an offset
(``Pregnancies <= Age - 13``, ``alk_phos > ast``) is compiled conservatively: the first
column's range where the rule can bind is cut into ``PAIR_BINS`` bins, and in each bin the
second column is held to the bound that satisfies the rule for every value of the bin (the
rest of the range leaves it free). That never admits a violating row and forbids a few
legal ones near the bin edges. Other rules stay with the prompt and the rule engine. A
comparison with a missing value leaves a rule inapplicable, so compiled comparisons admit
null wherever the column does.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from service.tabular.rules import _COMPARE, Expression, TableRule, TableRuleBook
from service.tabular.spec import ColumnSpec, TableSpec, category_key, identifier

MAX_BRANCHES = 96
PAIR_BINS = 4
Interval = tuple[int, int]  # scaled by 10**decimals, both ends included


class NotCompilable(ValueError):
    """The rule relates columns to each other, or uses something beyond the atoms."""


@dataclass(frozen=True)
class Domain:
    """The values a column may take in one branch: category keys or scaled intervals,
    and whether it may be missing."""

    categories: frozenset[str] | None
    intervals: tuple[Interval, ...] | None
    null: bool

    def empty(self) -> bool:
        values = self.categories if self.categories is not None else self.intervals
        return not values and not self.null

    def intersect(self, other: Domain) -> Domain:
        categories = (
            self.categories & other.categories
            if self.categories is not None and other.categories is not None
            else None
        )
        intervals = None
        if self.intervals is not None and other.intervals is not None:
            intervals = tuple(
                (max(a[0], b[0]), min(a[1], b[1]))
                for a in self.intervals
                for b in other.intervals
                if max(a[0], b[0]) <= min(a[1], b[1])
            )
        return Domain(categories, intervals, self.null and other.null)


def _scale(column: ColumnSpec) -> int:
    return 10**column.decimals


def full_domain(column: ColumnSpec) -> Domain:
    if column.kind == "category":
        keys = frozenset(category_key(c) for c in column.categories or ())
        return Domain(keys, None, column.nullable)
    assert column.minimum is not None and column.maximum is not None
    scale = _scale(column)
    low = math.ceil(round(column.minimum * scale, 6))
    high = math.floor(round(column.maximum * scale, 6))
    return Domain(None, ((low, high),), column.nullable)


def _satisfying(column: ColumnSpec, op: ast.cmpop, constant: Any) -> Domain:
    """Values of ``column`` for which ``column op constant`` holds (null: not applicable)."""
    test = _COMPARE[type(op)]
    if column.kind == "category":
        keys = frozenset(
            category_key(c) for c in column.categories or () if _safe(test, c, constant)
        )
        return Domain(keys, None, True)
    ((low, high),) = full_domain(column).intervals or ((0, -1),)
    scale = _scale(column)
    if isinstance(op, ast.In | ast.NotIn):
        points = sorted({round(float(v) * scale) for v in constant if _number(v)})
        inside = tuple((p, p) for p in points if low <= p <= high)
        if isinstance(op, ast.In):
            return Domain(None, inside, True)
        return Domain(None, _complement(inside, low, high), True)
    if not _number(constant):
        raise NotCompilable(f"{column.name} compared with {constant!r}")
    exact = float(constant) * scale
    at_least = math.ceil(round(exact, 6))
    at_most = math.floor(round(exact, 6))
    if isinstance(op, ast.GtE):
        intervals: tuple[Interval, ...] = ((max(low, at_least), high),)
    elif isinstance(op, ast.Gt):
        intervals = ((max(low, at_most + 1), high),)
    elif isinstance(op, ast.LtE):
        intervals = ((low, min(high, at_most)),)
    elif isinstance(op, ast.Lt):
        intervals = ((low, min(high, at_least - 1)),)
    elif isinstance(op, ast.Eq):
        intervals = ((at_least, at_least),) if at_least == at_most else ()
    else:  # NotEq
        point = ((at_least, at_least),) if at_least == at_most else ()
        intervals = _complement(point, low, high)
    return Domain(None, tuple((a, b) for a, b in intervals if a <= b), True)


def _safe(test: Any, value: Any, constant: Any) -> bool:
    try:
        return bool(test(value, constant))
    except TypeError:
        return False


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _complement(intervals: Sequence[Interval], low: int, high: int) -> tuple[Interval, ...]:
    out, start = [], low
    for a, b in sorted(intervals):
        if a > start:
            out.append((start, a - 1))
        start = max(start, b + 1)
    if start <= high:
        out.append((start, high))
    return tuple(out)


def _negate(column: ColumnSpec, domain: Domain) -> Domain:
    """Values for which a comparison atom fails; missing stays allowed (not applicable)."""
    full = full_domain(column)
    if domain.categories is not None:
        assert full.categories is not None
        return Domain(full.categories - domain.categories, None, True)
    assert full.intervals is not None and domain.intervals is not None
    low, high = full.intervals[0]
    return Domain(None, _complement(domain.intervals, low, high), True)


Atom = tuple[str, Domain, Domain]  # column, domain where it holds, domain where it fails


def _atoms(node: ast.AST, columns: Mapping[str, ColumnSpec]) -> list[Atom]:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return [atom for value in node.values for atom in _atoms(value, columns)]
    negated = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    inner = node.operand if isinstance(node, ast.UnaryOp) and negated else node
    if isinstance(inner, ast.Call):
        assert isinstance(inner.args[0], ast.Name)
        column = columns[inner.args[0].id]
        full = full_domain(column)
        missing = Domain(frozenset() if full.categories is not None else None,
                         () if full.intervals is not None else None, True)  # fmt: skip
        present = replace(full, null=False)
        holds, fails = (present, missing) if negated else (missing, present)
        return [(column.name, holds, fails)]
    if negated or not isinstance(inner, ast.Compare) or len(inner.ops) != 1:
        raise NotCompilable("not a conjunction of single-column atoms")
    left, right, op = inner.left, inner.comparators[0], inner.ops[0]
    try:
        if not isinstance(left, ast.Name):
            raise ValueError
        name, constant = left.id, ast.literal_eval(right)
    except ValueError as exc:
        raise NotCompilable("not a column compared with constants") from exc
    column = columns[name]
    holds = _satisfying(column, op, constant)
    return [(column.name, holds, _negate(column, holds))]


Branch = dict[str, Domain]


def rule_alternatives(rule: TableRule, spec: TableSpec) -> list[Branch]:
    """The alternatives under which ``rule`` holds, each as column restrictions."""
    columns = {identifier(c.name): c for c in spec.columns}
    if rule.when is None:
        pair = _pair(Expression(rule.require).tree, columns)
        if pair is not None:
            return pair
    require = _atoms(Expression(rule.require).tree, columns)
    when = _atoms(Expression(rule.when).tree, columns) if rule.when else []
    alternatives: list[Branch] = [{name: fails} for name, _, fails in when]
    holds: Branch = {}
    for name, domain, _ in when + require:
        holds[name] = holds[name].intersect(domain) if name in holds else domain
    return alternatives + [holds]


_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE,
}  # fmt: skip


def _offset_column(node: ast.AST, columns: Mapping[str, ColumnSpec]) -> tuple[str, float] | None:
    """``column``, ``column + c`` or ``column - c`` as (identifier, c)."""
    if isinstance(node, ast.Name) and node.id in columns:
        return node.id, 0.0
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Add | ast.Sub)
        and isinstance(node.left, ast.Name)
        and isinstance(node.right, ast.Constant)
        and isinstance(value := node.right.value, int | float)
        and not isinstance(value, bool)
    ):
        sign = 1.0 if isinstance(node.op, ast.Add) else -1.0
        return node.left.id, sign * float(value)
    return None


def _pair(node: ast.AST, columns: Mapping[str, ColumnSpec]) -> list[Branch] | None:
    """Branches for ``a OP b + c`` (a, b numeric columns); None if the rule is not that."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return None
    op = type(node.ops[0])
    left, right = _offset_column(node.left, columns), _offset_column(node.comparators[0], columns)
    if op not in _FLIP or left is None or right is None or left[0] == right[0]:
        return None
    a, b = columns[left[0]], columns[right[0]]
    if not (a.numeric and b.numeric):
        return None
    # a + ca OP b + cb  <=>  b FLIP(OP) a + (ca - cb): b is bounded by a, bin by bin.
    offset = left[1] - right[1]
    a_full, b_full = full_domain(a), full_domain(b)
    assert a_full.intervals and b_full.intervals
    (a_low, a_high), (b_low, b_high) = a_full.intervals[0], b_full.intervals[0]
    sa, sb = _scale(a), _scale(b)
    lower_bound = _FLIP[op] in (ast.Gt, ast.GtE)  # b must stay above a + offset
    # Where can the rule bind? Lower bound: where a + offset > b's minimum; upper: < maximum.
    strict = _FLIP[op] in (ast.Gt, ast.Lt)
    if lower_bound:  # binds where a + offset > b_low (>= when strict)
        edge = round((b_low / sb - offset) * sa, 6)
        start = max(a_low, math.ceil(edge) if strict else math.floor(edge) + 1)
        binding, free = (start, a_high), (a_low, start - 1)
    else:  # binds where a + offset < b_high (<= when strict)
        edge = round((b_high / sb - offset) * sa, 6)
        stop = min(a_high, math.floor(edge) if strict else math.ceil(edge) - 1)
        binding, free = (a_low, stop), (stop + 1, a_high)
    branches: list[Branch] = []
    if free[0] <= free[1]:
        branches.append({a.name: Domain(None, (free,), True)})
    if binding[0] <= binding[1]:
        width = binding[1] - binding[0] + 1
        edges = sorted({binding[0] + (width * i) // PAIR_BINS for i in range(PAIR_BINS)})
        for i, low in enumerate(edges):
            high = edges[i + 1] - 1 if i + 1 < len(edges) else binding[1]
            if lower_bound:  # every a in [low, high]: b OP a + offset at a = high
                limit = (high / sa + offset) * sb
                bound = math.floor(round(limit, 6)) + 1 if strict else math.ceil(round(limit, 6))
                b_domain = Domain(None, ((max(b_low, bound), b_high),), True)
            else:
                limit = (low / sa + offset) * sb
                bound = math.ceil(round(limit, 6)) - 1 if strict else math.floor(round(limit, 6))
                b_domain = Domain(None, ((b_low, min(b_high, bound)),), True)
            a_domain = Domain(None, ((low, high),), True)
            if not b_domain.intervals or b_domain.intervals[0][0] > b_domain.intervals[0][1]:
                b_domain = Domain(None, (), True)  # only a missing b satisfies it here
            branches.append({a.name: a_domain, b.name: b_domain})
    return branches


@dataclass(frozen=True)
class CompiledRules:
    branches: list[Branch]  # column restrictions; every row fits one of them
    compiled: list[str]  # rule ids enforced by the schema
    prompt_only: list[str]  # rule ids left to the prompt and the rule engine


def compile_rules(book: TableRuleBook, spec: TableSpec) -> CompiledRules:
    base: Branch = {c.name: full_domain(c) for c in spec.columns}
    branches = [base]
    compiled, prompt_only = [], []
    for rule in book:
        try:
            alternatives = rule_alternatives(rule, spec)
        except NotCompilable:
            prompt_only.append(rule.id)
            continue
        combined = [
            b for b in (_merge(x, y) for x, y in itertools.product(branches, alternatives)) if b
        ]
        if not combined or len(combined) > MAX_BRANCHES:
            prompt_only.append(rule.id)
            continue
        branches = combined
        compiled.append(rule.id)
    return CompiledRules(branches, compiled, prompt_only)


def _merge(branch: Branch, restriction: Branch) -> Branch | None:
    out = dict(branch)
    for name, domain in restriction.items():
        out[name] = out[name].intersect(domain)
        if out[name].empty():
            return None
    return out


def restrict(
    branches: Sequence[Branch], fixed: Mapping[str, Any], absent: frozenset[str], spec: TableSpec
) -> list[Branch]:
    """The branches compatible with steering (pinned categories, columns decided missing)."""
    restriction: Branch = {}
    for column in spec.columns:
        full = full_domain(column)
        if column.name in absent:
            restriction[column.name] = Domain(
                frozenset() if full.categories is not None else None,
                () if full.intervals is not None else None,
                True,
            )
        elif column.name in fixed:
            restriction[column.name] = Domain(
                frozenset({category_key(fixed[column.name])}), None, False
            )
        elif fixed or absent:
            restriction[column.name] = replace(full, null=False)
    return [b for b in (_merge(branch, restriction) for branch in branches) if b]
