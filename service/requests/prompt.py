"""The plain-language prompt (English or Spanish) read into request fields: age, sex,
tumour, treatment blocks, relapse, second tumour and its treatment blocks, metastases, a
shunt, triple intrathecal therapy, brachytherapy, metabolic therapy, predisposition
syndromes, a protocol risk group and language.

The treatments named in the clause about the second tumour ("second tumour: Hodgkin
lymphoma, with chemo and radio") are the second tumour's; the others are the first's."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.vocabulary import Term
from service.records import Sex
from service.requests.common import (
    BLOCKS,
    DEFAULT_BLOCKS,
    FILLERS,
    SECOND_TUMOUR_BLOCKS,
    Block,
    RequestError,
    age_problem,
)
from service.requests.items import (
    BRACHYTHERAPY,
    METABOLIC,
    SHUNT,
    TRIPLE_INTRATHECAL,
    syndromes_named,
)
from service.requests.risk import risk_group_asked
from service.requests.tumours import find_tumours, refines, unknown_tumour

_AGE = re.compile(
    r"(?<![\d-])(\d{1,3})\s*-?\s*(?:years?|yrs?|y/o|años|año|anos)\b|\baged?\s+(\d{1,3})\b",
    re.I,
)
# "18-year-old who had the tumour at 13", "diagnosticada a los 5 años": the age at diagnosis,
# the other age being the patient's age now.
_AGE_AT_DIAGNOSIS = re.compile(
    r"\b(?:had|got|developed|diagnosed)\b[^.;\d]{0,30}?\b(?:at|aged?)\s+(?:age\s+)?(\d{1,2})\b"
    r"|\b(?:tuvo|present[oó]|diagnosticad[oa])\b[^.;\d]{0,30}?\ba\s+los\s+(\d{1,2})\b",
    re.IGNORECASE,
)
_NEGATIVE_AGE = re.compile(r"(?<![\w-])-\s*(\d{1,3})\s*-?\s*(?:years?|yrs?|años|año)\b", re.I)
_MONTHS = re.compile(r"(?<![\d-])(\d{1,3})\s*-?\s*(?:months?|meses|mes)\b", re.I)
_MALE = re.compile(r"\b(boy|male|man|son|niño|nino|varón|varon|chico|masculino|hombre)\b", re.I)
_FEMALE = re.compile(r"\b(girl|female|woman|daughter|niña|nina|chica|femenino|mujer)\b", re.I)
_BLOCK_WORDS: dict[Block, re.Pattern[str]] = {
    "chemotherapy": re.compile(r"chemo|quimio", re.I),
    "radiotherapy": re.compile(
        r"radiotherap|radioterap|irradia|radiaci|\bradiation\b|radiochemo|radioquimio|\bradio\b|"
        r"proton\s*therapy|protonterapia|(?-i:\b(?:TBI|ICT)\b)",
        re.I,
    ),
    "surgery": re.compile(
        r"surg|cirug|quir[uú]rg|resect|resecc|(?<!\w)opera[tdc]|amputa|ectom[iyí]", re.I
    ),
    "hsct": re.compile(
        r"transplant|trasplant|stem[\s-]*cell|progenitores\s+hematopoy|autologous|allogeneic|"
        r"aut[oó]log|alog[eé]nic|(?-i:\b(?:HSCT|SCT|TPH|TMO|BMT)\b)",
        re.I,
    ),
    "others": re.compile(
        r"(?<!\w)(?:others|otros|otras)(?!\w)|cat[eé]ter|catheter|reservorio|fertility|"
        r"fertilidad|transfus|intoxica|poisoning",
        re.I,
    ),
}
_ALL_BLOCKS = re.compile(
    r"\b(?:all|every)\s+(?:the\s+)?(?:treatments|blocks|therapies)\b|"
    r"\btodos\s+los\s+(?:tratamientos|bloques)\b",
    re.I,
)
_RELAPSE = re.compile(r"relaps|reca[ií]d|recidiv|recurren", re.I)
_SECOND = re.compile(
    r"\b(?:second|2nd)\s+(?:primary\s+|malignant\s+)?(?:tumou?rs?|malignancy|cancer|neoplasm)|"
    r"\bsegund[oa]\s+(?:tumor|tumour|c[aá]ncer|neoplasia)\b",
    re.I,
)
_SECOND_LEAD = re.compile(r"[\s:(,–—-]*(?:(?:of|de|an?|una?|with|con)\s+)?", re.I)
_CLAUSE_END = re.compile(r"[.;\n)]")
_SENTENCE_END = re.compile(r"[.;\n]")
_SUBTYPE_GAP = re.compile(r"[\s,:(–-]*(?:(?:sub)?(?:type|tipo)\s+)?", re.I)
# After "(Burkitt lymphoma)": words that go on about the second tumour.
_GOES_ON = re.compile(
    r"\s*,?\s*(?:treated|managed|given|receiv|which|that|with|tratad|recib|que|con)\b", re.I
)
# "radiation-induced", "secondary to radiotherapy": a cause, not a treatment asked for.
_CAUSE_AFTER = re.compile(
    r"-(?:induced|related|associated|inducid[oa]s?|relacionad[oa]s?|asociad[oa]s?)$", re.I
)
_CAUSE_BEFORE = re.compile(
    r"\b(?:induced|caused|secondary|related|due|inducid[oa]s?|causad[oa]s?|secundari[oa]s?|"
    r"asociad[oa]s?|relacionad[oa]s?|debid[oa]s?)\s+(?:by|to|por|a|al|con)\s+"
    r"(?:(?:the|a|an|previous|prior|earlier|la|el|una?|previa|anterior)\s+)*$",
    re.I,
)
_ONLY_BEFORE = re.compile(
    r"\b(?:only|just|solo|sólo|solamente|únicamente|unicamente|exclusivamente|exclusively)"
    r"(?:\s+(?:with|con|received|recibió|recibio|a|la))*\s*$",
    re.I,
)
_ONLY_AFTER = re.compile(r"^\s*(?:only|alone|sola|solo|solamente|únicamente)\b", re.I)
_NEGATION = re.compile(r"\b(without|no|not|never|nor|sin|ni|nunca)\b", re.I)
_CONNECTORS = {"", "and", "y", "e", "or", "o", "u", "plus", "&", "+", "with", "con", "then"}
_NOT_METASTATIC = re.compile(
    r"\b(non-?metastatic|locali[sz]ed|without metastas[ie]s|no metastas[ie]s|localizad[oa]|"
    r"sin metástasis|sin metastasis)\b",
    re.I,
)
_METASTATIC = re.compile(
    r"\b(metastatic|metastas[ie]s|metastásic[oa]|metástasis|metastasis)\b", re.I
)
_SPANISH = re.compile(r"\b(años|niño|niña|con|quimioterapia|radioterapia|y|de|el|la)\b", re.I)
_TUMOUR_WORD = re.compile(r"\b\w{3,}omas?\b|\b\w*leu[ck]\w*mia\b", re.I)
_NOT_TUMOURS = {
    "coma", "diploma", "aroma", "idioma", "idiomas", "síntoma", "síntomas", "sintoma",
    "sintomas", "paloma", "roma", "goma", "broma", "axioma", "cromosoma", "cromosomas",
    "genoma", "stroma", "estroma", "hematoma", "haematoma", "glaucoma",
}  # fmt: skip


@dataclass
class Reading:
    """What the prompt says; None where it says nothing."""

    age: int | None = None
    age_now: int | None = None  # when the prompt tells the age at diagnosis apart
    sex: Sex | None = None
    morphology: Term | None = None
    blocks: frozenset[str] | None = None
    relapse: bool | None = None
    second_tumour: Term | None = None
    second_tumour_blocks: frozenset[str] | None = None  # named in its clause
    second_tumour_refused: frozenset[str] = frozenset()  # refused there, none named
    metastatic: bool | None = None
    language: str | None = None
    shunt: bool | None = None
    triple_intrathecal: bool | None = None
    brachytherapy: bool | None = None
    metabolic_therapy: bool | None = None
    genetic_conditions: tuple[str, ...] = ()  # syndromes named (English names), not negated
    risk_group: str | None = None  # "high-risk", "de alto riesgo"; not "not high-risk"


@dataclass(frozen=True)
class _Mention:
    block: str
    start: int
    end: int
    negated: bool
    words: str = field(compare=False)


def read_prompt(text: str, *, explicit: set[str]) -> Reading:
    """Errors about something an explicit field replaces are not raised: the field wins."""
    read = Reading(metastatic=_metastatic(text))
    read.language = "es" if len(_SPANISH.findall(text)) >= 2 else "en"
    try:
        read.age = _age(text)
        if (at := _AGE_AT_DIAGNOSIS.search(text)) is not None:
            at_diagnosis = int(next(g for g in at.groups() if g is not None))
            if read.age is not None and read.age > at_diagnosis:
                read.age_now = read.age
            read.age = at_diagnosis
    except RequestError:
        if "age" not in explicit:
            raise
    if _MALE.search(text) and not _FEMALE.search(text):
        read.sex = "male"
    elif _FEMALE.search(text) and not _MALE.search(text):
        read.sex = "female"
    primary = text
    second: _SecondMention | None = None
    if marker := _SECOND.search(text):
        second = _second_tumour(text, marker, check="second_tumour" not in explicit)
        read.second_tumour = second.term
        primary = _blank(text, *second.hidden)
    read.morphology = _tumour_in(primary, check="diagnosis" not in explicit)
    _read_blocks(read, text, second, explicit)
    read.relapse = _asked(_RELAPSE, text)
    read.shunt = _asked(SHUNT, text)
    read.triple_intrathecal = _asked(TRIPLE_INTRATHECAL, text)
    read.brachytherapy = _asked(BRACHYTHERAPY, text)
    read.metabolic_therapy = _asked(METABOLIC, text)
    read.genetic_conditions = syndromes_named(text, _negated)
    read.risk_group = risk_group_asked(text, _negated, check="risk_group" not in explicit)
    return read


def _asked(pattern: re.Pattern[str], text: str) -> bool | None:
    """True where the prompt names it, False where every mention is negated ("sin
    válvula"), None where it says nothing."""
    if mentions := list(pattern.finditer(text)):
        return not all(_negated(text, m.start()) for m in mentions)
    return None


def _age(text: str) -> int | None:
    if negative := _NEGATIVE_AGE.search(text):
        raise RequestError(f"age {age_problem(-int(negative.group(1)))}")
    if match := _AGE.search(text):
        age = int(next(g for g in match.groups() if g is not None))
    elif months := _MONTHS.search(text):
        age = int(months.group(1)) // 12
    else:
        return None
    if problem := age_problem(age):
        raise RequestError(f"age {problem}")
    return age


def _metastatic(text: str) -> bool | None:
    if _NOT_METASTATIC.search(text):
        return False
    return True if _METASTATIC.search(text) else None


def _negated(text: str, start: int) -> bool:
    """Whether a negation ("without", "no", "sin"...) governs the words at ``start``, with
    only fillers or treatment words between ("without chemotherapy or radiotherapy")."""
    clause = re.split(r"[,;.:\n(]", text[:start])[-1]
    negations = list(_NEGATION.finditer(clause))
    if not negations:
        return False
    between = clause[negations[-1].end() :].split()
    return all(
        w.lower() in FILLERS or any(p.search(w) for p in _BLOCK_WORDS.values()) for w in between
    )


def _mentions(text: str) -> list[_Mention]:
    # "metabolic radiotherapy" asks for a metabolic course, not external-beam radiotherapy
    courses = [m.span() for m in METABOLIC.finditer(text)]
    found = []
    for block, pattern in _BLOCK_WORDS.items():
        for match in pattern.finditer(text):
            start, end = match.start(), match.end()
            if any(a <= start < b or start <= a < end for a, b in courses):
                continue
            while start > 0 and text[start - 1].isalnum():
                start -= 1
            while end < len(text) and (text[end].isalnum() or text[end] == "-"):
                end += 1
            words = text[start:end]
            if _CAUSE_AFTER.search(words) or _CAUSE_BEFORE.search(text, 0, start):
                continue  # "a radiation-induced sarcoma": no radiotherapy asked for
            found.append(_Mention(block, start, end, _negated(text, start), words))
    return sorted(set(found), key=lambda m: (m.start, m.block))


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _read_blocks(
    read: Reading, text: str, second: _SecondMention | None, explicit: set[str]
) -> None:
    """The first tumour's blocks from the prompt outside the second tumour's clause, the
    second tumour's from inside it (supportive care, "others", is the record's)."""
    mentions = _mentions(text)
    if second is None or second.clause is None:
        read.blocks = _blocks(text, mentions, check="blocks" not in explicit)
        return
    start, end = second.clause
    name_start, name_end = second.name
    inside = [m for m in mentions if start <= m.start < end]
    outside = [m for m in mentions if m not in inside]
    inside = [m for m in inside if m.end <= name_start or m.start >= name_end]
    read.blocks = _blocks(_blank(text, start, end), outside, check="blocks" not in explicit)
    positive = [m for m in inside if not m.negated]
    named = {m.block for m in positive}
    if _ALL_BLOCKS.search(text, start, end):
        named |= set(SECOND_TUMOUR_BLOCKS)
    if "second_tumour_blocks" not in explicit:
        _check_only(text, positive)
    if "others" in named:  # supportive care is kept once per record
        named.discard("others")
        read.blocks = (DEFAULT_BLOCKS if read.blocks is None else read.blocks) | {"others"}
    read.second_tumour_blocks = frozenset(named) or None
    read.second_tumour_refused = frozenset({m.block for m in inside if m.negated} - named)


def _blocks(text: str, mentions: list[_Mention], *, check: bool) -> frozenset[str] | None:
    """The blocks the prompt names (None: none); "only X" with another block is an error."""
    positive = [m for m in mentions if not m.negated]
    named = {m.block for m in positive} | (set(BLOCKS) if _ALL_BLOCKS.search(text) else set())
    negated = {m.block for m in mentions if m.negated} - named
    if check:
        _check_only(text, positive)
    if named:
        return frozenset(named)
    return DEFAULT_BLOCKS - negated if negated else None


def _check_only(text: str, positive: list[_Mention]) -> None:
    runs: list[list[_Mention]] = []
    for mention in positive:  # runs: mentions joined by "and", ",", "y"... or one word
        if runs:
            gap = text[runs[-1][-1].end : mention.start].replace(",", " ").split()
            if mention.start < runs[-1][-1].end or all(w.lower() in _CONNECTORS for w in gap):
                runs[-1].append(mention)
                continue
        runs.append([mention])
    for run in runs:
        before, after = text[: run[0].start], text[run[-1].end :]
        if _ONLY_BEFORE.search(before) or _ONLY_AFTER.search(after):
            only = {m.block for m in run}
            if other := next((m for m in positive if m.block not in only), None):
                asked = " and ".join(m.words for m in run)
                raise RequestError(
                    f"the prompt asks for only {asked} but also names {other.words!r} "
                    f"({other.block}): remove 'only' or the other treatment"
                )


@dataclass(frozen=True)
class _SecondMention:
    """Where the prompt speaks of the second tumour."""

    term: Term | None
    hidden: tuple[int, int]  # hidden from the first tumour's search
    name: tuple[int, int]  # the tumour's name: its words name no treatment
    clause: tuple[int, int] | None  # what is said of it; None: "without a second tumour"


def _second_tumour(text: str, marker: re.Match[str], *, check: bool) -> _SecondMention:
    """The second tumour the prompt names after "second tumour"/"segundo tumor", and the
    spans of its name and clause."""
    if _negated(text, marker.start()):
        span = (marker.start(), marker.end())
        return _SecondMention(None, span, span, None)
    lead = _SECOND_LEAD.match(text, marker.end())
    start = lead.end() if lead else marker.end()
    end = m.start() if (m := _CLAUSE_END.search(text, start)) else len(text)
    clause = text[start:end]
    found = find_tumours(clause)
    if found:
        term, name_start, name_end = min(found, key=lambda f: (f[1], f[1] - f[2]))
        term, name_end = _subtype(clause, found, term, name_end)
        name = (start + name_start, start + name_end)
        spoken = (marker.start(), _clause_end(text, name[1]))
        return _SecondMention(term, (marker.start(), name[1]), name, spoken)
    if not check:
        spoken = (marker.start(), _clause_end(text, marker.end()))
        return _SecondMention(None, (marker.start(), end), (marker.start(), marker.end()), spoken)
    phrase = re.split(r",|\band\b|\by\b|\bwith\b|\bcon\b", clause)[0].strip()
    if not phrase:
        raise RequestError(
            "the prompt asks for a second tumour but does not name it: write "
            "'second tumour: <name>' (e.g. second tumour: Hodgkin lymphoma) or give second_tumour"
        )
    raise unknown_tumour("second tumour", phrase)


def _subtype(
    clause: str, found: list[tuple[Term, int, int]], term: Term, end: int
) -> tuple[Term, int]:
    """The tumour's subtype where a name right after it gives one ("linfoma de Hodgkin,
    esclerosis nodular"), with where its name ends."""
    after = [f for f in found if f[1] >= end and _SUBTYPE_GAP.fullmatch(clause, end, f[1])]
    for subtype, _, subtype_end in sorted(after, key=lambda f: (f[1], f[1] - f[2])):
        if refines(subtype, term):
            return subtype, subtype_end
    return term, end


def _clause_end(text: str, after: int) -> int:
    """Where what the prompt says of the second tumour ends: at the end of its sentence (a
    full stop, semicolon or new line), or at a parenthesis closing one opened before its
    name ("a second malignancy (Burkitt lymphoma), chemotherapy and surgery") unless the
    words after it go on about it ("(Burkitt lymphoma) treated with chemotherapy")."""
    sentence = _SENTENCE_END.search(text, after)
    end = sentence.start() if sentence else len(text)
    depth = 0
    for i in range(after, end):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            if depth == 0:
                return end if _GOES_ON.match(text, i + 1) else i
            depth -= 1
    return end


def _tumour_in(text: str, *, check: bool) -> Term | None:
    """The tumour the text names, longest name first ("nodular sclerosis" over "hodgkin");
    a tumour-like word that is in no vocabulary is an error with close matches."""
    if found := find_tumours(text):
        return max(found, key=lambda f: f[2] - f[1])[0]
    if check:
        for word in _TUMOUR_WORD.finditer(text):
            if word.group().lower() not in _NOT_TUMOURS:
                raise unknown_tumour("tumour in the prompt", text, (word.start(), word.end()))
    return None
