"""The JSON schema of one row, and reading a row back from the model's JSON.

llama-cpp-python's schema-to-grammar converter ignores ``minimum``/``maximum``, so a
numeric value is a JSON string under a ``pattern`` that admits exactly the decimal numbers
of the column's range at its precision (``range_pattern``): the grammar makes an
out-of-range value impossible to write, not merely unlikely. Categories are enums of the
spec's values. A row read back is checked against the spec again (``parse_row``), because
not every backend constrains decoding.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from service.tabular.constrain import Branch, Domain, full_domain, restrict
from service.tabular.spec import ColumnSpec, TableSpec, category_key

DIGIT = "[0-9]"


def _digit_class(low: int, high: int) -> str:
    return str(low) if low == high else f"[{low}-{high}]"


def _fixed_width(low: str, high: str) -> str:
    """A regex for the digit strings of one width from ``low`` to ``high`` (zero-padded)."""
    if not low:
        return ""
    if low == high:
        return low
    width = len(low)
    if set(low) == {"0"} and set(high) == {"9"}:
        return DIGIT * width
    first_low, first_high = int(low[0]), int(high[0])
    if first_low == first_high:
        return low[0] + _fixed_width(low[1:], high[1:])
    rest = width - 1
    parts = [low[0] + _group(_fixed_width(low[1:], "9" * rest))]
    if first_high - first_low > 1:
        parts.append(_digit_class(first_low + 1, first_high - 1) + DIGIT * rest)
    parts.append(high[0] + _group(_fixed_width("0" * rest, high[1:])))
    return "(" + "|".join(parts) + ")"


def _group(regex: str) -> str:
    return f"({regex})" if "|" in regex and not regex.startswith("(") else regex


def integer_pattern(low: int, high: int) -> str:
    """A regex for the integers ``low..high`` (both >= 0) written without leading zeros."""
    if low < 0 or high < low:
        raise ValueError(f"integer range [{low}, {high}] must be non-negative and ordered")
    parts = []
    for width in range(len(str(low)), len(str(high)) + 1):
        start = max(low, 10 ** (width - 1) if width > 1 else 0)
        stop = min(high, 10**width - 1)
        if start <= stop:
            parts.append(_fixed_width(str(start), str(stop)))
    return parts[0] if len(parts) == 1 else "(" + "|".join(parts) + ")"


def interval_regex(low: int, high: int, decimals: int) -> str:
    """An unanchored regex for the numbers ``low / 10**decimals`` .. ``high / 10**decimals``
    written with exactly ``decimals`` digits after the point (none for 0)."""
    if decimals == 0:
        return integer_pattern(low, high)
    scale = 10**decimals
    whole_low, frac_low = divmod(low, scale)
    whole_high, frac_high = divmod(high, scale)

    def fraction(a: int, b: int) -> str:
        return _group(_fixed_width(str(a).zfill(decimals), str(b).zfill(decimals)))

    if whole_low == whole_high:
        return f"{whole_low}[.]{fraction(frac_low, frac_high)}"
    parts = [f"{whole_low}[.]{fraction(frac_low, scale - 1)}"]
    if whole_high - whole_low > 1:
        middle = _group(integer_pattern(whole_low + 1, whole_high - 1))
        parts.append(f"{middle}[.]{DIGIT * decimals}")
    parts.append(f"{whole_high}[.]{fraction(0, frac_high)}")
    return "(" + "|".join(parts) + ")"


def range_pattern(minimum: float, maximum: float, decimals: int) -> str:
    """An anchored regex for the numbers in [minimum, maximum] at ``decimals`` digits."""
    scale = 10**decimals
    low, high = math.ceil(round(minimum * scale, 6)), math.floor(round(maximum * scale, 6))
    return f"^{interval_regex(low, high, decimals)}$"


def domain_schema(column: ColumnSpec, domain: Domain) -> dict[str, Any]:
    """The schema of one value restricted to ``domain`` (see ``service.tabular.constrain``)."""
    values: dict[str, Any] | None = None
    if column.kind == "category":
        keys = domain.categories or frozenset()
        allowed = [c for c in column.categories or () if category_key(c) in keys]
        values = {"enum": allowed} if allowed else None
    elif domain.intervals:
        if column.minimum is not None and column.minimum < 0:
            raise ValueError(f"column {column.name}: negative ranges are not supported")
        regexes = [interval_regex(a, b, column.decimals) for a, b in domain.intervals]
        body = regexes[0] if len(regexes) == 1 else "(" + "|".join(regexes) + ")"
        values = {"type": "string", "pattern": f"^{body}$"}
    if values is None:
        return {"type": "null"}
    return {"anyOf": [values, {"type": "null"}]} if domain.null else values


def row_schema(
    spec: TableSpec,
    *,
    fixed: Mapping[str, Any] | None = None,
    absent: frozenset[str] = frozenset(),
    branches: Sequence[Branch] | None = None,
) -> dict[str, Any]:
    """The schema of a row: every column but ``absent`` ones (decided missing beforehand),
    in spec order, all required; ``fixed`` pins category values (steering). ``branches``
    (compiled rules) make it ``anyOf`` one object per branch that fits the steering; when
    none fits, the steering wins and the rule engine will report the row."""
    base: Branch = {c.name: full_domain(c) for c in spec.columns}
    candidates = restrict(branches or [base], fixed or {}, absent, spec)
    if not candidates:
        candidates = restrict([base], fixed or {}, absent, spec)
    objects = []
    for branch in candidates:
        properties = {
            c.name: domain_schema(c, branch[c.name]) for c in spec.columns if c.name not in absent
        }
        objects.append({"type": "object", "properties": properties, "required": list(properties)})
    unique = [o for i, o in enumerate(objects) if o not in objects[:i]]
    return unique[0] if len(unique) == 1 else {"anyOf": unique}


def format_value(column: ColumnSpec, value: Any) -> Any:
    """A normalised value as the row schema writes it (numbers as strings, None as null)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if column.kind == "category":
        return value.item() if hasattr(value, "item") else value
    return f"{float(value):.{column.decimals}f}"


def row_key(spec: TableSpec, row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A row as written at the spec's precision: equal keys are exact copies."""
    return tuple(format_value(c, row.get(c.name)) for c in spec.columns)


def format_row(spec: TableSpec, row: Mapping[str, Any]) -> str:
    return json.dumps({c.name: format_value(c, row.get(c.name)) for c in spec.columns})


class RowError(ValueError):
    """Model output that is not a row of the spec (kept with the reasons)."""


def parse_row(
    spec: TableSpec, text: str, *, absent: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The normalised row (None for missing) from a model's JSON text; RowError saying every
    way in which it does not fit the spec."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RowError("not a JSON object")
    problems = []
    row: dict[str, Any] = {}
    for column in spec.columns:
        value = data.get(column.name)
        if column.name in absent or value is None:
            if column.name not in absent and (column.name not in data or not column.nullable):
                problems.append(f"{column.name}: missing")
            row[column.name] = None
            continue
        if column.kind == "category":
            category = column.category(value)
            if category is None:
                problems.append(f"{column.name}: {value!r} is not a category")
            row[column.name] = category
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            problems.append(f"{column.name}: {value!r} is not a number")
            row[column.name] = None
            continue
        assert column.minimum is not None and column.maximum is not None
        if not column.minimum <= number <= column.maximum or math.isnan(number):
            problems.append(
                f"{column.name}: {value} outside [{column.minimum:g}, {column.maximum:g}]"
            )
        row[column.name] = round(number, column.decimals)
    extra = sorted(set(data) - set(spec.names))
    if extra:
        problems.append(f"unknown columns: {', '.join(extra)}")
    if problems:
        raise RowError("; ".join(problems))
    return row
