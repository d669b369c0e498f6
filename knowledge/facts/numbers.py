"""Numbers as guidelines write them: decimal commas, the ``1, 5`` artefact of LaTeX PDFs
(1.5), thousands separators, ranges, and Unicode units (mg/m², µg, ×).

Patterns work on the exact page text (offsets must stay exact), so they accept the Unicode
forms rather than normalising first."""

from __future__ import annotations

import re

# 1 | 1.5 | 1,5 | 1, 5 (LaTeX artefact) | 1,500 | 1.500 | 1 500 is not joined
NUMBER = r"\d+(?:[.,]\s?\d+)?"
RANGE_SEPARATOR = r"\s*(?:-|–|—|−|a|to|até|hasta|e|y|and)\s*"
# "RT >= 15 Gy", "< 30 Gy", ">= 250 mg/m2": risk thresholds in follow-up advice, not doses.
THRESHOLD = re.compile(
    r"(?:[<>≤≥]=?|at least|more than|less than|above|below|over|under|mais de|menos de|"
    r"más de|acima de|abaixo de|superior a|inferior a)\s*$",
    re.IGNORECASE,
)
_THOUSANDS = re.compile(r"^(\d{1,3})[.,](\d{3})$")


def parse_number(text: str, *, decimal_comma: bool = True) -> float | None:
    """``"1, 5"`` -> 1.5, ``"1,8"`` -> 1.8, ``"1,500"`` -> 1500; ``"1.500"`` -> 1500 where
    commas are decimal (Portuguese, Spanish...), else 1.5."""
    compact = "".join(text.split())
    if not compact:
        return None
    thousands = _THOUSANDS.match(compact)
    if thousands and compact == text:  # no "1, 500": that is the LaTeX artefact
        separator = compact[len(thousands.group(1))]
        if separator == "," or decimal_comma:
            return float(thousands.group(1) + thousands.group(2))
    try:
        return float(compact.replace(",", "."))
    except ValueError:
        return None


def clean(value: float) -> float | int:
    """2.0 -> 2, 1.5 stays: figures read as people wrote them."""
    return int(value) if float(value).is_integer() else round(value, 4)
