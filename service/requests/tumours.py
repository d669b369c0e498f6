"""Tumours as a request names them: an ICD-O-3 code, a vocabulary name or alias in English
or Spanish, a tumour group ("low-grade glioma", "glioma de baixo grau": any of its
morphologies), or a text naming one; unknown names get close matches suggested."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import cache

from knowledge.vocabulary import (
    Term,
    Tumour,
    TumourGroup,
    find_terms,
    iccc_group,
    morphologies,
    tumour_groups,
    tumour_records,
    unaccented,
)
from service.requests.common import FILLERS, RequestError

CLOSE = 0.75  # difflib ratio above which a name is suggested
_CODE = re.compile(r"^\d{4}/\d$")


def resolve_tumour(value: str, name: str) -> Term:
    """The morphology a field names: an ICD-O-3 code, a name or alias, or a text naming
    one; otherwise a RequestError with close matches."""
    text = value.strip()
    if _CODE.match(text):
        if term := next((t for t in morphologies() if t.code == text), None):
            return term
        raise RequestError(
            f"{name}: ICD-O-3 morphology {text} is not in the vocabulary; "
            "give a tumour name in English or Spanish instead"
        )
    if term := _by_name().get(_key(text)):
        return term
    if found := find_tumours(text):
        return max(found, key=lambda f: f[2] - f[1])[0]
    raise unknown_tumour(name, text)


def _key(name: str) -> str:
    return " ".join(_dehyphen(name).lower().split())


def _dehyphen(text: str) -> str:
    """Hyphens between letters as spaces ("nodular-sclerosis"); positions are unchanged."""
    return re.sub(r"(?<=\w)[-‐–](?=\w)", " ", text)


def _variants(name: str) -> list[str]:
    """A vocabulary name as people write it: hyphens as spaces, without ", nos", each half
    of "leukaemia/lymphoma", in British and American spelling."""
    base = _key(name).removesuffix(", nos")
    forms = [_key(name), base]
    if match := re.match(r"(.*?)(\w+)/(\w+)(.*)", base):
        head, left, right, tail = match.groups()
        forms += [f"{head}{left}{tail}", f"{head}{right}{tail}"]
    forms += [f.replace("leukaemia", "leukemia") for f in forms]
    return list(dict.fromkeys(forms))


@cache
def _named() -> tuple[Term, ...]:
    """Morphologies, then the tumour groups (a morphology's own name wins), then the
    catch-all terms ("carcinoma, NOS", "leukaemia, NOS") as groups: the morphologies of
    the ICCC-3 main group of their first subgroup and of their other subgroups, so "a child
    with a carcinoma" is any carcinoma. "Malignant neoplasm" (group XII) names no tumour."""
    specific = [t for t in tumour_records() if not t.unspecified]

    def members(t: Tumour) -> tuple[str, ...]:
        main = iccc_group(t.iccc[0])
        return tuple(s.code for s in specific if set(s.iccc) & set(t.iccc) or main in s.iccc_groups)

    catch_alls = [
        TumourGroup(code=t.code, term=t.term, aliases=t.aliases, members=members(t))
        for t in tumour_records()
        if t.unspecified and t.iccc and "XII" not in t.iccc_groups
    ]
    return (*morphologies(), *tumour_groups(), *catch_alls)


def covers(wanted: Term, code: str) -> bool:
    """Whether a morphology code is the tumour asked for, or one of the group asked for."""
    if isinstance(wanted, TumourGroup):
        return code in wanted.members
    return code == wanted.code


@cache
def _by_name() -> dict[str, Term]:
    names: dict[str, Term] = {}
    for term in _named():
        for name in term.names:
            for form in _variants(name):
                names.setdefault(form, term)
    return names


@cache
def _suggestable() -> dict[str, Term]:
    """The names a suggestion may show: English and Spanish ones, as the hint asks for (a
    German "osteosarkom" is understood but not offered for "osteosarkoma")."""

    def forms(names: list[str]) -> set[str]:
        return {f for n in names if n for v in _variants(n) for f in (v, unaccented(v))}

    records = tumour_records()
    other = forms([n for t in records for lang, n in t.languages if lang != "es"])
    own = forms([n for t in records for n in (t.term, dict(t.languages).get("es", ""))])
    return {name: term for name, term in _by_name().items() if name not in other - own}


@cache
def _searchable() -> tuple[Term, ...]:
    """The morphologies with every name's variants, to match "nodular-sclerosis Hodgkin
    lymphoma" or "B-lymphoblastic leukaemia" in free text."""
    return tuple(
        Term(
            t.code,
            t.term,
            tuple(
                dict.fromkeys(p for n in t.names for f in _variants(n) for p in _possessive(t, f))
            ),
        )
        for t in _named()
    )


def _possessive(term: Term, form: str) -> list[str]:
    """A name and, where the preferred term holds an eponym (a capitalised word: Hodgkin,
    Ewing, Wilms, Burkitt), the name with that eponym possessive ("hodgkin's lymphoma,
    nodular sclerosis"), as people write it."""
    forms = [form]
    for eponym in {w.lower() for w in re.findall(r"\b[A-Z][a-z]{2,}\b", term.term)}:
        if eponym.endswith("s"):
            continue  # "Wilms' tumour" is too rare to double the names for
        for apostrophe in ("'", "\u2019"):
            forms += [re.sub(rf"\b{eponym}\b(?!')", f"{eponym}{apostrophe}s", f) for f in forms[:1]]
    return list(dict.fromkeys(forms))


def find_tumours(text: str) -> list[tuple[Term, int, int]]:
    """Every tumour name in ``text``: (the vocabulary's term, start, end)."""
    by_code = {t.code: t for t in _named()}
    return [
        (by_code[term.code], match.start(), match.end())
        for term, match in find_terms(_dehyphen(text), _searchable())
    ]


def refines(specific: Term, general: Term) -> bool:
    """Whether ``specific`` is a subtype of ``general``, a "NOS" morphology of the same
    ICCC-3 subgroup ("linfoma de Hodgkin, esclerosis nodular": the nodular sclerosis one)."""
    records = {t.code: t for t in tumour_records()}
    wide, narrow = records.get(general.code), records.get(specific.code)
    if wide is None or narrow is None or wide.code == narrow.code:
        return False
    return wide.term.endswith(", NOS") and bool(set(wide.iccc) & set(narrow.iccc))


def unknown_tumour(what: str, text: str, around: tuple[int, int] | None = None) -> RequestError:
    """An unknown tumour with up to three close vocabulary names: names similar to a phrase
    of ``text`` of up to five words (around a tumour-like word when given), or containing
    it ("leukemia")."""
    words = [(m.start(), m.end()) for m in re.finditer(r"[\w/+']+", _dehyphen(text))]
    phrases = set()
    for i, (start, _) in enumerate(words):
        for j in range(i, min(i + 5, len(words))):
            end = words[j][1]
            phrase = _key(text[start:end])
            edges = {phrase.split()[0], phrase.split()[-1]} if j > i else set()
            if edges & FILLERS:
                continue  # "with leukemia": a phrase starts and ends with a content word
            if around is None or (start <= around[0] and end >= around[1] and j - i < 4):
                phrases.add(phrase)
    scored: dict[str, tuple[float, str, str]] = {}
    for name, term in _suggestable().items():
        matcher = SequenceMatcher(None, b=name)
        for phrase in phrases:
            contained = len(phrase) >= 5 and f" {phrase} " in f" {name} "
            matcher.set_seq1(phrase)
            if not contained and matcher.real_quick_ratio() < CLOSE:
                continue
            ratio = matcher.ratio()
            if (contained or ratio >= CLOSE) and ratio > scored.get(term.code, (0.0,))[0]:
                scored[term.code] = (ratio, name, phrase)
    best = sorted(scored.items(), key=lambda item: -item[1][0])[:3]
    shown = text[around[0] : around[1]] if around else text
    if best and best[0][1][0] >= CLOSE and around:
        shown = best[0][1][2]  # the phrase that looks like a known name
    hint = "use a tumour name in English or Spanish, or an ICD-O-3 morphology code such as 9180/3"
    if not best:
        return RequestError(
            f"unknown {what} {shown!r}: no similar tumour in the ICD-O-3 vocabulary; {hint}"
        )
    close = " or ".join(f"{name} ({code})" for code, (_, name, _) in best)
    return RequestError(f"unknown {what} {shown!r}: did you mean {close}? Otherwise {hint}")
