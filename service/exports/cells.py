"""Spreadsheet-safe CSV cells: a text cell that a spreadsheet would run as a formula is
written with a leading single quote (OWASP's advice against CSV injection).

A cell is neutralised when it is text starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return, so ``=HYPERLINK(...)`` from a prompt arrives as ``'=HYPERLINK(...)``.
Numbers are never touched: an ``int`` or ``float`` is data, and so is text that is exactly
a plain number (``-3.5``, ``+2``, ``-1e-3``): exports turn numbers into text before writing
them, and a spreadsheet reads such a cell as the number it is, never as a formula. Every
CSV the product writes goes through ``safe_cell`` (records, tabular rows, their headers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV cell: formula-like text quoted, anything else as is."""
    formula_like = isinstance(value, str) and value.startswith(FORMULA_STARTS)
    if formula_like and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``csv.DictWriter`` row with every cell made safe (keys are column names, kept)."""
    return {key: safe_cell(value) for key, value in row.items()}
