"""Mentions: tumours (by the vocabulary, any language), regimens (drug combinations and
named schemes), and surgery, transplant and supportive care named on a page.

Each kind of mention is kept once per page (its first occurrence): a page that names
"medulloblastoma" twenty times says one thing about it."""

from __future__ import annotations

import re
from functools import cache

from knowledge import vocabulary
from knowledge.facts.model import Fact, FactKind
from knowledge.facts.text import mentions, sentences, within
from knowledge.vocabulary import Term, TumourGroup, drugs, morphologies

# Treatment words in English, Spanish, Portuguese (and close enough for Italian, French):
# general clinical vocabulary, not one corpus's phrasing.
_ITEMS: dict[FactKind, tuple[tuple[str, str], ...]] = {
    "surgery": (
        ("resection", r"ress[eé]c[cç][aã]o|resecci[oó]n|resection|exérèse|resezione"),
        ("surgery", r"cirurgia|cirug[ií]a|surgery|surgical|cir[uú]rgic[oa]|chirurgi"),
        ("biopsy", r"bi[oó]psias?|biopsy|biopsies"),
        ("amputation", r"amputa[cç][aã]o|amputaci[oó]n|amputation"),
        ("nephrectomy", r"nefrectom[ií]a|nephrectomy"),
        ("enucleation", r"enuclea[cç][aã]o|enucleaci[oó]n|enucleation"),
        ("shunt", r"deriva[cç][aã]o ventricular|derivaci[oó]n ventricular|shunt"),
    ),
    "transplant": (
        (
            "stem cell transplant",
            r"transplantes? de (?:medula|c[eé]lulas)|trasplantes? de (?:m[eé]dula|progenitores|"
            r"c[eé]lulas)|stem[- ]cell (?:transplant|rescue)|bone marrow transplant|"
            r"resgate (?:de|com) c[eé]lulas",
        ),
        ("HSCT", r"\bHSCT\b|\bTCTH\b|\bTPH\b|\bTMO\b|\bASCT\b|\bHCT\b"),
        ("autologous transplant", r"aut[oó]log[oa]|autologous"),
        ("allogeneic transplant", r"alog[eê]nic[oa]|alog[eé]nic[oa]|allogeneic"),
    ),
    "supportive": (
        ("G-CSF", r"\bG-CSF\b|filgrastim"),
        ("antiemetic", r"antiem[eé]tic|ondansetr"),
        ("hydration", r"hiper-?hidrata|hyperhydrat|hidrata[cç][aã]o|hidrataci[oó]n|hydration"),
        ("transfusion", r"transfus"),
        ("infection prophylaxis", r"profilax|prophyla|cotrimoxazol|sulfametoxazol|trimethoprim"),
        ("mesna", r"\bmesna\b"),
        ("nutrition", r"nutri[cç][aã]o|nutrici[oó]n|nutritional support|nutrição enteral"),
    ),
}
_SCHEME = re.compile(
    r"(?:esquema|regime|regimen|régimen|protocol[oe]?|bloco|block|ciclos? de)\s+"
    r"(?P<name>[A-Z][A-Z0-9/+\-]{1,9})\b"
)
_ACRONYM_WITH_DRUGS = re.compile(r"\b(?P<name>[A-Z][A-Z0-9]{1,6})\s*\((?=[^)]{0,200}\d)")
_JOINER = re.compile(r"^\s*(?:,|/|\+|-|e|y|and|et|com|con|with|plus|mais)\s*$", re.IGNORECASE)
_PHASES = (
    # not inside "reinduction", "re-inducción": that is a phase of its own
    ("induction", r"(?<!re)(?<!re-)(?:indu[cç][aã]o|inducci[oó]n|induction)"),
    ("consolidation", r"consolida[cç][aã]o|consolidaci[oó]n|consolidation"),
    ("maintenance", r"manuten[cç][aã]o|mantenimiento|maintenance"),
    ("reinduction", r"reindu[cç]|reinducci|reinduction|re-induction"),
    ("intensification", r"intensifica"),
    ("relapse", r"resgate|recidiva|reca[ií]da|relapse|recurrent|recorrente|rescate"),
)


@cache
def tumour_terms() -> tuple[Term, ...]:
    """ICD-O-3 morphologies, and tumour groups ("low-grade glioma") where the vocabulary
    has them."""
    groups = getattr(vocabulary, "tumour_groups", None)
    return morphologies() + (tuple(groups()) if callable(groups) else ())


# A disease status written next to a tumour's name: "meduloblastoma recidivado",
# "ependimoma recorrente", "recurrent medulloblastoma", "recidiva de ependimoma".
_RELAPSED_AFTER = re.compile(
    r"^,?\s{0,3}(?:recorrentes?|recurrentes?|recidivad[oa]s?|recidivantes?|recidivati|"
    r"em recidiva|en reca[ií]da|reca[ií]d[oa]s?|refrat[aá]ri[oa]s?|refractari[oa]s?|"
    r"relapsed|recurrent|r[ée]cidivant[e]?s?|en rechute)\b",
    re.IGNORECASE,
)
_RELAPSED_BEFORE = re.compile(
    r"(?:\brecurrent|\brelapsed|\brecidivad[oa]s?|\brecidivas? (?:de|do|da|del|of)|"
    r"\breca[ií]das? (?:de|do|da|del)|\brecorr[eê]ncias? (?:de|do|da)|\brelapse of|"
    r"\brecurrence of)\s{1,3}(?:(?:um|uma|un|una|a|the)\s)?$",
    re.IGNORECASE,
)


@cache
def _relapse_groups() -> tuple[TumourGroup, ...]:
    """The vocabulary's relapse groups ("relapsed CNS tumours"): a relapse word next to a
    member tumour's name is a mention of the group."""
    return tuple(g for g in vocabulary.tumour_groups() if g.term.lower().startswith("relapsed "))


def _relapse_group(term: Term, text: str, start: int, end: int) -> TumourGroup | None:
    codes = set(term.members) if isinstance(term, TumourGroup) else {term.code}
    for group in _relapse_groups():
        if group.code == term.code or not codes or not codes <= set(group.members):
            continue
        if _RELAPSED_AFTER.match(text[end : end + 40]) or _RELAPSED_BEFORE.search(
            text[max(0, start - 40) : start]
        ):
            return group
    return None


def tumour_mentions(page: int, text: str) -> list[Fact]:
    facts, seen = [], set()
    for mention in mentions(text, tumour_terms()):
        found = [(mention.term, mention.start, mention.end)]
        group = _relapse_group(mention.term, text, mention.start, mention.end)
        if group is not None:  # the relapse word joins the quote
            after = _RELAPSED_AFTER.match(text[mention.end : mention.end + 40])
            before = _RELAPSED_BEFORE.search(text[max(0, mention.start - 40) : mention.start])
            start = mention.start - (len(before.group(0)) if before else 0)
            end = mention.end + (after.end() if after else 0)
            found.append((group, start, end))
        for term, start, end in found:
            if term.code in seen:
                continue
            seen.add(term.code)
            fields = {"code": term.code, "term": term.term}
            facts.append(Fact("tumour_mention", page, start, end, text[start:end], fields))
    return facts


def item_mentions(page: int, text: str) -> list[Fact]:
    """Surgery, transplant and supportive care items, once per item and page."""
    facts = []
    for kind, items in _ITEMS.items():
        for item, pattern in items:
            match = re.search(pattern, text, flags=0 if pattern.startswith(r"\b") else re.I)
            if match:
                quote = text[match.start() : match.end()]
                facts.append(Fact(kind, page, match.start(), match.end(), quote, {"item": item}))
    return facts


def phases_named(text: str) -> list[str]:
    """The treatment phases a text names (induction, consolidation, maintenance,
    reinduction, intensification, relapse), in that order."""
    return [phase for phase, pattern in _PHASES if re.search(pattern, text, re.IGNORECASE)]


def _phase(text: str) -> str | None:
    named = phases_named(text)
    return named[0] if named else None


def regimens(page: int, text: str) -> list[Fact]:
    """Named schemes ("esquema ICE", "PCV (...)") and combinations of two or more drugs
    joined by "and", "e", "/", "+" ("carboplatina e vincristina")."""
    facts, seen = [], set()
    named = mentions(text, drugs())
    for begin, stop in sentences(text):
        sentence = text[begin:stop]
        found = within(named, begin, stop)
        phase = _phase(sentence)
        for pattern in (_SCHEME, _ACRONYM_WITH_DRUGS):
            for match in pattern.finditer(sentence):
                name = match.group("name")
                drug_after = any(m.start >= match.end() for m in found)
                if pattern is _ACRONYM_WITH_DRUGS and not drug_after:
                    continue
                if name in seen or name.isdigit():
                    continue
                seen.add(name)
                start, end = begin + match.start("name"), begin + match.end("name")
                fields = {"name": name, "phase": phase}
                facts.append(Fact("regimen", page, start, end, text[start:end], fields))
        run: list = []
        for mention in [*found, None]:
            if (
                mention is not None
                and run
                and _JOINER.match(sentence[run[-1].end : mention.start])
                and mention.term != run[-1].term
            ):
                run.append(mention)
                continue
            if len(run) >= 2:
                name = " + ".join(dict.fromkeys(m.term.term for m in run))
                if name not in seen:
                    seen.add(name)
                    start, end = begin + run[0].start, begin + run[-1].end
                    fields = {"name": name, "phase": phase}
                    facts.append(Fact("regimen", page, start, end, text[start:end], fields))
            run = [mention] if mention is not None else []
    return facts
