"""What a prompt asks for inside a block, as patterns ``prompt`` reads with its negation
rule: a shunt, triple intrathecal therapy, brachytherapy, metabolic therapy, and the
predisposition syndromes the patient has (by the vocabulary's names)."""

from __future__ import annotations

import re
from collections.abc import Callable

from knowledge.facts.text import mentions
from knowledge.vocabulary import predisposition_syndromes

# A CSF diversion in English, Spanish and Portuguese ("VP shunt" one mention, so that
# "without a VP shunt" is one negated mention).
SHUNT = re.compile(
    r"(?:\bVP\s+|\bventr[ií]culo-?peritoneal\s+)?\bshunts?\b|\bderivaci[oó]n(?:es)?\b"
    r"|\bderiva[çc](?:[ãa]o|[õo]es)\b|\bv[aá]lvulas?\b|(?-i:\bDVP\b)",
    re.I,
)
TRIPLE_INTRATHECAL = re.compile(
    r"\btripl[ea]\s+intrat(?:h)?ecal|\bintrat(?:h)?ecal\s+tripl[ea]\b|(?-i:\bTIT\b)", re.I
)
# Brachytherapy and metabolic therapy are radiotherapy courses of their own: named, they
# bring the radiotherapy block without asking for external-beam radiotherapy too.
BRACHYTHERAPY = re.compile(r"brachytherap|braquiterap", re.I)
METABOLIC = re.compile(
    r"\bmetabolic\s+(?:radio)?therap|\bterapia\s+metab[oó]lica|\bradioterapia\s+metab[oó]lica"
    r"|\bradionuclide\s+therap|\bradioligand\s+therap|\bterapia\s+con\s+radion[uú]clidos"
    r"|(?-i:\b(?:131I-)?m?MIBG\b|\bmIBG\b)|\blutathera\b|\b177\s*Lu\b",
    re.I,
)


def syndromes_named(text: str, negated: Callable[[str, int], bool]) -> tuple[str, ...]:
    """The predisposition syndromes the prompt gives the patient ("with Li-Fraumeni
    syndrome", "con síndrome de Down", "with NF1"); "without NF1" gives none."""
    named = [
        m.term.term
        for m in mentions(text, predisposition_syndromes())
        if not negated(text, m.start)
    ]
    return tuple(dict.fromkeys(named))
