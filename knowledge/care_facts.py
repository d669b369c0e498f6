"""Facts for the record blocks beyond drugs and doses: surgery, transplant, supportive care,
relapse. Each is read from a retrieved passage with a vocabulary of ``knowledge/vocab`` (where
the vocabularies name their sources) and keeps the sentence that states it, so a record
built from it can cite that sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Literal

from pydantic import BaseModel, Field

from knowledge.chunks import RetrievedChunk
from knowledge.evidence import Fact, sentence_of, sentences_matching, vocabulary_rows
from knowledge.vocabulary import (
    Term,
    Tumour,
    drugs,
    find_terms,
    letters_dropped,
    morphologies,
    tumour_by_name,
    unaccented,
)

TransplantType = Literal["autologous", "allogeneic"]
DonorType = Literal["matched_sibling", "matched_unrelated", "haploidentical"]
CellSource = Literal["bone_marrow", "peripheral_blood", "cord_blood"]
GvhdForm = Literal["acute", "chronic"]
CareKind = Literal["catheter", "catheter_complication", "fertility", "transfusion"]
# Grades offered: acute GvHD I-IV (MAGIC); chronic mild, moderate, severe (NIH 2014) as 1-3.
GVHD_GRADES: dict[str, int] = {"acute": 4, "chronic": 3}
# Ewing sarcoma's ICD-O-3 code and its ICD-O-3.2 successor: one tumour under two codes.
_EWING = {9260, 9364}

_TYPE = re.compile(r"\b(allogeneic|autologous)\b", re.IGNORECASE)
_RELAPSE = re.compile(r"relaps|refractor", re.IGNORECASE)
# A type is an indication only where the sentence says so ("is indicated", "is reserved",
# "uses the BuMel regimen", "stem cell rescue"), not "G-CSF ... after autologous HSCT".
_INDICATION = re.compile(r"indicat|reserved|supports|rescue|is used|are used|uses the", re.I)
_CODE = re.compile(r"\b(\d{4}/\d)\b")
_SOURCE_SENTENCE = re.compile(r"\bsources?\b", re.IGNORECASE)
_DONOR_SENTENCE = re.compile(r"\bdonors?\b", re.IGNORECASE)
_CELL_SOURCES: dict[CellSource, re.Pattern[str]] = {
    "bone_marrow": re.compile(r"\bbone marrow\b", re.I),
    "peripheral_blood": re.compile(r"\bperipheral blood\b", re.I),
    "cord_blood": re.compile(r"\bcord blood\b", re.I),
}
_DONORS: dict[DonorType, re.Pattern[str]] = {
    "matched_sibling": re.compile(r"\bmatched sibling\b", re.I),
    "matched_unrelated": re.compile(
        r"\bmatched unrelated\b|(?<!matched )\bunrelated donors?\b", re.I
    ),
    "haploidentical": re.compile(r"\bhaploidentical\b", re.I),
}
_PROPHYLAXIS = re.compile(r"\bprophylaxis\b|\bpost-transplant\b", re.IGNORECASE)
_GVHD = re.compile(r"\b(acute|chronic) (?:graft-versus-host disease|GvHD)\b", re.IGNORECASE)
_GVHD_TREATMENT = re.compile(
    r"\btreatment of (acute|chronic) (?:GvHD|graft-versus-host disease)"
    r"(?: of grade (I|II|III|IV) or higher)?",
    re.IGNORECASE,
)
_GVHD_ORGANS = re.compile(r"\baffects?\b|\bby organ\b|\binvolv", re.IGNORECASE)
# "relapsed Hodgkin lymphoma" is relapse-only; "high-risk or relapsed ALL" is not.
_RELAPSED_BEFORE = re.compile(r"(?<!or )relapsed\s+(?:or refractory\s+)?$", re.IGNORECASE)
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
_CARE_CUES: dict[str, re.Pattern[str]] = {
    "catheter": re.compile(r"catheter|\bline\b|\bport\b", re.I),
    "catheter_complication": re.compile(r"catheter", re.I),
    "fertility": re.compile(r"cryopreserv|banking|fertility", re.I),
    "transfusion": re.compile(r"transfus", re.I),
}
# Relapse as English, Spanish and Portuguese guidelines write it (accents may be lost in
# extraction: "recada" for "recaída").
PRIMARY_SITE = "primary site"  # the body_sites.csv term of a local relapse
_RELAPSE_WORDS = r"relaps|recurr|recidiv|reca[ií]?da|recorr[eê]n"
_RELAPSE_CUE = re.compile(_RELAPSE_WORDS, re.IGNORECASE)
_SITE_CUE = re.compile(
    rf"metast|{_RELAPSE_WORDS}|spread|extranodal|extramedullary|extramedular|disemina|dissemina",
    re.I,
)
_SECOND_LINE = re.compile(
    rf"{_RELAPSE_WORDS}|refractor|refrat|salvage|second-line|resgate|rescate|segunda l[ií]nea"
    r"|segunda linha",
    re.IGNORECASE,
)
_WITH = re.compile(r"\s+(?:with|com|con)\s+")
_NOT_SECOND_LINE = re.compile(r"stem cell|\bHSCT\b|transplant|rescue|GvHD|graft-versus-host", re.I)
_IMMUNOSUPPRESSIVE_L01 = frozenset({"methotrexate", "cyclophosphamide"})


class ProcedureFact(Fact):
    procedure: str
    amputation: bool
    prosthesis: bool
    removes: str  # "site", "limb", or what is removed ("pulmonary metastases")
    topography: list[str]  # ICD-O-3 topography prefixes it fits; empty: any site
    requires_metastasis: str  # a metastasis site it needs ("lung"); empty: none
    timing: Literal["diagnosis", "local_control"]
    # A CSF diversion: "implanted" (a shunt that stays unless removed), "endoscopic" (an
    # opening, no device), "temporary" (a drain, removed); empty: not one.
    shunt: Literal["", "implanted", "endoscopic", "temporary"] = ""


class TransplantTypeFact(Fact):
    type: TransplantType
    tumours: list[str]  # ICD-O-3 morphology codes the sentence names
    relapsed_tumours: list[str]  # those named as relapsed ("relapsed Hodgkin lymphoma")
    relapse: bool  # the sentence speaks of relapsed or refractory disease


class TransplantOptionFact(Fact):
    kind: Literal["cell_source", "donor"]
    value: str


class ConditioningFact(Fact):
    """A conditioning regimen of ``conditioning_regimens.csv`` that a passage names."""

    name: str
    type: TransplantType
    drugs: list[str]
    tbi: bool
    indications: list[str]
    min_age: int | None

    def indicated_for(self, code: str) -> bool:
        return any(code_in_range(code, spec) for spec in self.indications)


class ProphylaxisFact(Fact):
    donors: list[DonorType]
    drugs: list[list[str]]  # each inner list: alternatives ("tacrolimus or ciclosporin")


class GvhdFact(Fact):
    form: GvhdForm
    organs: list[str]


class GvhdTreatmentFact(Fact):
    form: GvhdForm
    min_grade: int
    drugs: list[str]


class CareFact(Fact):
    kind: CareKind
    term: str
    sex: Literal["female", "male"] | None
    min_age: int | None
    max_age: int | None

    def fits(self, sex: str, age: int) -> bool:
        return (
            (self.sex is None or self.sex == sex)
            and (self.min_age is None or age >= self.min_age)
            and (self.max_age is None or age <= self.max_age)
        )


class IntoxicationFact(Fact):
    drug: str


class SiteFact(Fact):
    site: str
    relapse: bool  # the sentence is about relapse, not only metastasis
    sex: Literal["female", "male"] | None
    named: bool = True  # False: a relapse sentence naming no site, read as local (primary site)


class SecondLineFact(Fact):
    """Drug groups a passage names for relapsed or refractory disease."""

    options: list[list[str]]


class CareFacts(BaseModel):
    procedures: list[ProcedureFact] = Field(default_factory=list)
    transplant_types: list[TransplantTypeFact] = Field(default_factory=list)
    transplant_options: list[TransplantOptionFact] = Field(default_factory=list)
    conditioning: list[ConditioningFact] = Field(default_factory=list)
    prophylaxis: list[ProphylaxisFact] = Field(default_factory=list)
    gvhd: list[GvhdFact] = Field(default_factory=list)
    gvhd_treatments: list[GvhdTreatmentFact] = Field(default_factory=list)
    supportive: list[CareFact] = Field(default_factory=list)
    intoxications: list[IntoxicationFact] = Field(default_factory=list)
    sites: list[SiteFact] = Field(default_factory=list)
    second_line: list[SecondLineFact] = Field(default_factory=list)

    def options(self, kind: Literal["cell_source", "donor"]) -> list[TransplantOptionFact]:
        return [o for o in self.transplant_options if o.kind == kind]

    def supportive_of(self, kind: CareKind) -> list[CareFact]:
        return [c for c in self.supportive if c.kind == kind]


def code_in_range(code: str, spec: str) -> bool:
    """``spec`` is a code ("9364/3") or an inclusive range ("9811/3-9837/3")."""
    low, _, high = spec.partition("-")
    number = int(code[:4])
    return int(low[:4]) <= number <= int((high or low)[:4])


def same_tumour(code: str, named: str) -> bool:
    """Whether a passage naming ``named`` speaks of the tumour coded ``code``: the same
    code, or one of them the "NOS" code of the other's finest ICCC-3 group (a passage on
    "acute lymphoblastic leukaemia", 9835/3, speaks of B- and T-ALL; one on NLPHL does not
    speak of nodular sclerosis). The groups come from the vocabulary, not a list kept here."""
    a, b = int(code[:4]), int(named[:4])
    if a == b or {a, b} <= _EWING:
        return True
    first, second = tumour_by_name(code), tumour_by_name(named)
    if first is None or second is None or not first.iccc or not second.iccc:
        return False
    return first.iccc[0] == second.iccc[0] and (_is_nos(first) or _is_nos(second))


def _is_nos(tumour: Tumour) -> bool:
    return tumour.unspecified or tumour.term.lower().endswith(", nos")


def _flag(value: str) -> bool:
    return value == "yes"


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split("|") if v.strip()]


def _age(value: str) -> int | None:
    return int(value) if value else None


@cache
def _word_pattern(name: str) -> re.Pattern[str]:
    flags = 0 if name.isupper() else re.IGNORECASE  # "CNS" the acronym, any "skin"
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", flags)


def _find(text: str, terms: tuple[Term, ...]) -> list[tuple[Term, re.Match[str]]]:
    """Whole-word mentions; unlike drug and tumour names, short words ("skin", "bone")
    are words here, and only names written in capitals in the CSV are acronyms."""
    found = [
        (term, match)
        for term in terms
        for name in term.aliases
        for match in _word_pattern(name).finditer(text)
    ]
    return sorted(found, key=lambda pair: pair[1].start())


def _terms(
    name: str, column: str, rows: Iterable[dict[str, str]] | None = None
) -> tuple[Term, ...]:
    return tuple(
        Term(code=r[column], term=r[column], aliases=(r[column], *_split(r["aliases"])))
        for r in (vocabulary_rows(name) if rows is None else rows)
    )


def _longest(found: list[tuple[Term, re.Match[str]]]) -> list[tuple[Term, re.Match[str]]]:
    """Mentions not inside a longer one ("bone marrow" hides its "bone")."""
    kept: list[tuple[Term, re.Match[str]]] = []
    for term, match in sorted(found, key=lambda p: (p[1].start(), -(p[1].end() - p[1].start()))):
        if not any(k.start() <= match.start() and match.end() <= k.end() for _, k in kept):
            kept.append((term, match))
    return kept


@cache
def _by_name(name: str, column: str) -> dict[str, dict[str, str]]:
    return {r[column]: r for r in vocabulary_rows(name)}


@cache
def _procedure_terms() -> tuple[Term, ...]:
    """Procedure names as written, without accents, and with the accented letters dropped
    (the text layer of a PDF whose font lacks them: "resseco cirrgica")."""
    return tuple(
        Term(
            t.code,
            t.term,
            tuple(
                dict.fromkeys(
                    form
                    for name in t.aliases
                    for form in (name, unaccented(name), letters_dropped(name))
                    if form
                )
            ),
        )
        for t in _terms("surgical_procedures.csv", "procedure")
    )


def procedures_in(chunk: RetrievedChunk) -> list[ProcedureFact]:
    rows = _by_name("surgical_procedures.csv", "procedure")
    facts: dict[str, ProcedureFact] = {}
    for term, match in _find(chunk.text, _procedure_terms()):
        row = rows[term.term]
        facts.setdefault(
            term.term,
            ProcedureFact(
                chunk_id=chunk.chunk_id,
                quote=_sentence(chunk.text, match),
                procedure=term.term,
                amputation=_flag(row["amputation"]),
                prosthesis=_flag(row["prosthesis"]),
                removes=row["removes"],
                topography=_split(row["topography"]),
                requires_metastasis=row["requires_metastasis"],
                timing="diagnosis" if row["timing"] == "diagnosis" else "local_control",
                shunt=_shunt_kind(row.get("shunt", "")),
            ),
        )
    return list(facts.values())


def _shunt_kind(value: str) -> Literal["", "implanted", "endoscopic", "temporary"]:
    if value in ("implanted", "endoscopic", "temporary"):
        return value  # type: ignore[return-value]
    return ""


def _sentence(text: str, match: re.Match[str]) -> str:
    return sentence_of(text, match.start(), match.end())


def _named_tumours(sentence: str) -> tuple[list[str], list[str]]:
    """Codes of the tumours a sentence names, and of those it names as relapsed."""
    named = [(m.group(1), m.start()) for m in _CODE.finditer(sentence)]
    named += [(t.code, m.start()) for t, m in find_terms(sentence, morphologies())]
    relapsed = [c for c, at in named if _RELAPSED_BEFORE.search(sentence[max(0, at - 40) : at])]
    return list(dict.fromkeys(c for c, _ in named)), list(dict.fromkeys(relapsed))


def transplant_in(chunk: RetrievedChunk) -> CareFacts:
    """Transplant types with the tumours they serve, donors, sources, conditioning, GvHD."""
    text, facts = chunk.text, CareFacts()
    for quote, _, _ in sentences_matching(text, _TYPE):
        if not _INDICATION.search(quote):
            continue
        tumours, relapsed = _named_tumours(quote)
        for kind in dict.fromkeys(m.group(1).lower() for m in _TYPE.finditer(quote)):
            facts.transplant_types.append(
                TransplantTypeFact(
                    chunk_id=chunk.chunk_id,
                    quote=quote,
                    type="autologous" if kind == "autologous" else "allogeneic",
                    tumours=tumours,
                    relapsed_tumours=relapsed,
                    relapse=bool(_RELAPSE.search(quote)),
                )
            )
    for quote, _, _ in sentences_matching(text, _SOURCE_SENTENCE):
        for source, pattern in _CELL_SOURCES.items():
            if "stem cell" in quote.lower() and pattern.search(quote):
                facts.transplant_options.append(
                    TransplantOptionFact(
                        chunk_id=chunk.chunk_id, quote=quote, kind="cell_source", value=source
                    )
                )
    for quote, _, _ in sentences_matching(text, _DONOR_SENTENCE):
        for donor, pattern in _DONORS.items():
            if pattern.search(quote) and not _PROPHYLAXIS.search(quote):
                facts.transplant_options.append(
                    TransplantOptionFact(
                        chunk_id=chunk.chunk_id, quote=quote, kind="donor", value=donor
                    )
                )
    facts.conditioning = _conditioning_in(chunk)
    facts.prophylaxis = _prophylaxis_in(chunk)
    facts.gvhd, facts.gvhd_treatments = _gvhd_in(chunk)
    return facts


def _conditioning_in(chunk: RetrievedChunk) -> list[ConditioningFact]:
    rows = _by_name("conditioning_regimens.csv", "name")
    found: dict[tuple[str, str], ConditioningFact] = {}
    for term, match in _find(chunk.text, _terms("conditioning_regimens.csv", "name")):
        row = rows[term.term]
        found.setdefault(
            (term.term, _sentence(chunk.text, match)),
            ConditioningFact(
                chunk_id=chunk.chunk_id,
                quote=_sentence(chunk.text, match),
                name=term.term,
                type="autologous" if row["type"] == "autologous" else "allogeneic",
                drugs=_split(row["drugs"]),
                tbi=_flag(row["tbi"]),
                indications=_split(row["indications"]),
                min_age=_age(row["min_age"]),
            ),
        )
    return list(found.values())


def _immunosuppressive(term: Term) -> bool:
    return term.code.startswith("L04") or term.term in _IMMUNOSUPPRESSIVE_L01


def _drug_groups(
    sentence: str, joiner: re.Pattern[str], keep: Callable[[Term], bool] | None = None
) -> list[list[str]]:
    """Drugs of a sentence in order; neighbours joined by ``joiner`` form one group."""
    groups: list[list[str]] = []
    previous_end = None
    for term, match in _longest(find_terms(sentence, drugs())):
        if keep is not None and not keep(term):
            continue
        between = sentence[previous_end : match.start()] if previous_end is not None else ""
        if groups and joiner.fullmatch(between):
            if term.term not in groups[-1]:
                groups[-1].append(term.term)
        elif not any(term.term in g for g in groups):
            groups.append([term.term])
        previous_end = match.end()
    return groups


def _prophylaxis_in(chunk: RetrievedChunk) -> list[ProphylaxisFact]:
    section = bool(re.search(r"GvHD prophylaxis", chunk.text, re.IGNORECASE))
    facts = []
    for quote, _, _ in sentences_matching(chunk.text, _DONOR_SENTENCE_OR_TYPE):
        if not (section or _PROPHYLAXIS.search(quote)):
            continue
        donors = [d for d, p in _DONORS.items() if p.search(quote)]
        groups = _drug_groups(quote, re.compile(r"\s+or\s+"), _immunosuppressive)
        if donors and groups:
            facts.append(
                ProphylaxisFact(chunk_id=chunk.chunk_id, quote=quote, donors=donors, drugs=groups)
            )
    return facts


_DONOR_SENTENCE_OR_TYPE = re.compile(
    r"\bdonors?\b|\bhaploidentical\b|\bmatched (?:sibling|unrelated)\b", re.IGNORECASE
)


def _gvhd_in(chunk: RetrievedChunk) -> tuple[list[GvhdFact], list[GvhdTreatmentFact]]:
    organs = _terms(
        "body_sites.csv",
        "site",
        [r for r in vocabulary_rows("body_sites.csv") if r["gvhd"] == "yes"],
    )
    facts: dict[tuple[str, str], GvhdFact] = {}
    for quote, _, _ in sentences_matching(chunk.text, _GVHD):
        for match in _GVHD.finditer(quote):
            clause = re.split(r";", quote[match.start() :], maxsplit=1)[0]
            if not _GVHD_ORGANS.search(clause):
                continue  # "follow-up for chronic GvHD, ... pulmonary dysfunction": no organs
            named = [t.term for t, _ in _longest(_find(clause, organs))]
            form: GvhdForm = "acute" if match.group(1).lower() == "acute" else "chronic"
            if named:
                facts.setdefault(
                    (form, quote),
                    GvhdFact(
                        chunk_id=chunk.chunk_id,
                        quote=quote,
                        form=form,
                        organs=list(dict.fromkeys(named)),
                    ),
                )
    treatments = []
    for quote, _, _ in sentences_matching(chunk.text, _GVHD_TREATMENT):
        treated = _GVHD_TREATMENT.search(quote)
        named = [t.term for t, _ in find_terms(quote, drugs())]
        if treated and named:
            treatments.append(
                GvhdTreatmentFact(
                    chunk_id=chunk.chunk_id,
                    quote=quote,
                    form="acute" if treated.group(1).lower() == "acute" else "chronic",
                    min_grade=_ROMAN.get((treated.group(2) or "I").upper(), 1),
                    drugs=list(dict.fromkeys(named)),
                )
            )
    return list(facts.values()), treatments


def supportive_in(chunk: RetrievedChunk) -> list[CareFact]:
    rows = _by_name("supportive_care.csv", "term")
    found: dict[str, CareFact] = {}
    for term, match in _find(chunk.text, _terms("supportive_care.csv", "term")):
        row = rows[term.term]
        quote = _sentence(chunk.text, match)
        if not _CARE_CUES[row["kind"]].search(quote):
            continue
        found.setdefault(
            term.term,
            CareFact(
                chunk_id=chunk.chunk_id,
                quote=quote,
                kind=row["kind"],
                term=term.term,
                sex=row["sex"] or None,
                min_age=_age(row["min_age"]),
                max_age=_age(row["max_age"]),
            ),
        )
    return list(found.values())


@cache
def _intoxication_pattern() -> re.Pattern[str]:
    names = sorted((n for t in drugs() for n in t.names if len(n) > 4), key=len, reverse=True)
    alternatives = "|".join(re.escape(n) for n in names)
    return re.compile(
        rf"(?<!\w)({alternatives})\s+(?:elimination|toxicity|intoxication|overdose)\b", re.I
    )


def intoxications_in(chunk: RetrievedChunk) -> list[IntoxicationFact]:
    by_name = {n: t.term for t in drugs() for n in t.names}
    found: dict[str, IntoxicationFact] = {}
    for match in _intoxication_pattern().finditer(chunk.text):
        drug = by_name[match.group(1).lower()]
        found.setdefault(
            drug,
            IntoxicationFact(
                chunk_id=chunk.chunk_id, quote=_sentence(chunk.text, match), drug=drug
            ),
        )
    return list(found.values())


def sites_in(chunk: RetrievedChunk) -> list[SiteFact]:
    """Sites a sentence of spread or relapse names; a relapse sentence naming none ("na
    primeira recidiva") stands for a relapse at the primary site (``named`` False)."""
    rows = [r for r in vocabulary_rows("body_sites.csv") if r["relapse"] == "yes"]
    sex = {r["site"]: r["sex"] or None for r in rows}
    found: dict[tuple[str, str], SiteFact] = {}
    for quote, _, _ in sentences_matching(chunk.text, _SITE_CUE):
        relapse = bool(_RELAPSE_CUE.search(quote))
        named = [t.term for t, _ in _longest(_find(quote, _terms("body_sites.csv", "site", rows)))]
        local = [PRIMARY_SITE] if relapse and not named else []
        for site in named or local:
            found.setdefault(
                (site, quote),
                SiteFact(
                    chunk_id=chunk.chunk_id,
                    quote=quote,
                    site=site,
                    relapse=relapse,
                    sex=sex[site],
                    named=bool(named),
                ),
            )
    return list(found.values())


def second_line_in(chunk: RetrievedChunk) -> list[SecondLineFact]:
    facts = []
    for quote, _, _ in sentences_matching(chunk.text, _SECOND_LINE):
        if _NOT_SECOND_LINE.search(quote):
            continue
        options = _drug_groups(quote, _WITH)
        if options:
            facts.append(SecondLineFact(chunk_id=chunk.chunk_id, quote=quote, options=options))
    return facts


def care_facts(chunks: Iterable[RetrievedChunk]) -> CareFacts:
    """Every fact of these kinds in the passages, in passage order."""
    facts = CareFacts()
    for chunk in {c.chunk_id: c for c in chunks}.values():
        found = transplant_in(chunk)
        for name in CareFacts.model_fields:
            getattr(facts, name).extend(getattr(found, name))
        facts.procedures += procedures_in(chunk)
        facts.supportive += supportive_in(chunk)
        facts.intoxications += intoxications_in(chunk)
        facts.sites += sites_in(chunk)
        facts.second_line += second_line_in(chunk)
    return facts
