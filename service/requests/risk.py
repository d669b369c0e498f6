"""The protocol risk group a request asks for: the ``risk_group`` field's names and the
prompt's words ("high-risk neuroblastoma", "standard-risk medulloblastoma", "de alto riesgo",
"riesgo intermedio", "de alto risco", "risco padrão"); "not high-risk" asks for none.

Four groups, those ``service.records.RiskGroup`` holds: "average" is standard, "medium" (the
AIEOP-BFM word) intermediate, "very high" high.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import get_args

from service.records import RiskGroup
from service.requests.common import RequestError

RISK_GROUPS: tuple[str, ...] = get_args(RiskGroup)
# Level words (accents dropped, lower case) and the group each means, in English, Spanish
# and Portuguese.
_LEVELS: dict[str, str] = {
    **{group: group for group in RISK_GROUPS},
    **dict.fromkeys(("very high", "muy alto", "muito alto", "alto"), "high"),
    **dict.fromkeys(("average", "estandar", "padrao", "habitual", "standard"), "standard"),
    **dict.fromkeys(("medium", "intermedio", "intermediario", "medio"), "intermediate"),
    **dict.fromkeys(("bajo", "baixo"), "low"),
}
_LEVEL = "|".join(sorted(map(re.escape, _LEVELS), key=len, reverse=True))
_RISK = r"(?:risk|riesgo|risco)"
# "high-risk", "alto riesgo", "riesgo alto", "risco padrão"; not "high risk of relapse",
# "riesgo de infección" (a hazard, not a group).
_NAMED = re.compile(
    rf"\b(?P<before>{_LEVEL})[\s-]*{_RISK}\b(?!\s+(?:of|de|do|da)\b)"
    rf"|\b{_RISK}(?:\s+group)?\s+(?P<after>{_LEVEL})\b",
    re.IGNORECASE,
)
# Negations with a verb or article between, which the prompt reader's rule does not pass
# ("not a high-risk", "no es de alto riesgo", "não é de alto risco").
_NOT = re.compile(r"\b(?:not|no|sin|nao|sem)\s+(?:(?:a|an|is|es|e|de|do|da|un|una|um|uma|o)\s+)*$")


def _unaccented(text: str) -> str:
    """Accents dropped character by character, so positions stay those of ``text``."""
    return "".join(unicodedata.normalize("NFD", c)[0] for c in text)


def risk_group_alias(value: str) -> str | None:
    """The group a field's value names ("High", "average", "alto riesgo"); None: none."""
    key = " ".join(_unaccented(value).lower().replace("-", " ").replace("_", " ").split())
    key = re.sub(rf"^{_RISK}\s+|\s+{_RISK}$", "", key)
    return _LEVELS.get(key)


def risk_group_asked(text: str, negated: Callable[[str, int], bool], *, check: bool) -> str | None:
    """The risk group the prompt names, not negated; two different ones are an error unless
    ``check`` is off (an explicit risk_group replaces what the prompt says)."""
    plain = _unaccented(text)
    named: dict[str, str] = {}
    for match in _NAMED.finditer(plain):
        start = match.start()
        if negated(text, start) or _NOT.search(plain[:start].lower()):
            continue
        level = (match.group("before") or match.group("after")).lower()
        named.setdefault(_LEVELS[" ".join(level.split())], match.group())
    if len(named) > 1 and check:
        raise RequestError(
            "the prompt names several risk groups ("
            + ", ".join(f"{g} in {w!r}" for g, w in named.items())
            + "): name one, or give risk_group"
        )
    return next(iter(named), None)
