"""Reference vocabularies shipped as CSV data files (drugs with ATC, ICD-O-3 codes, ICCC-3).

``drugs()``, ``morphologies()`` and ``topographies()`` give plain :class:`Term` records whose
aliases include every abbreviation, brand and language name of the row, so ``find_terms``
sees them; ``drug_records()``, ``tumour_records()`` and ``tumour_groups()`` give the richer
records (roles, ICCC-3 subgroups, names by language). Sources: ``vocab/README.md``.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

VOCAB_DIR = Path(__file__).parent / "vocab"
SHORT_NAME = 4
LANGUAGES = ("es", "pt", "it", "de", "fr")
DRUG_ROLES = frozenset(
    {
        "antineoplastic",
        "conditioning",
        "immunosuppressant",
        "corticosteroid",
        "supportive",
        "intrathecal",
    }
)
ICCC_GROUPS: dict[str, str] = {
    "I": "Leukaemias, myeloproliferative diseases and myelodysplastic diseases",
    "II": "Lymphomas and reticuloendothelial neoplasms",
    "III": "CNS and miscellaneous intracranial and intraspinal neoplasms",
    "IV": "Neuroblastoma and other peripheral nervous cell tumours",
    "V": "Retinoblastoma",
    "VI": "Renal tumours",
    "VII": "Hepatic tumours",
    "VIII": "Malignant bone tumours",
    "IX": "Soft tissue and other extraosseous sarcomas",
    "X": "Germ cell tumours, trophoblastic tumours and neoplasms of gonads",
    "XI": "Other malignant epithelial neoplasms and malignant melanomas",
    "XII": "Other and unspecified malignant neoplasms",
}
_ICCC = re.compile(r"^(XII|XI|IX|X|VIII|VII|VI|IV|V|III|II|I)(?:[a-f]\d{0,2})?$")


@dataclass(frozen=True)
class Term:
    """A vocabulary entry: a code, its preferred term and lower-case aliases."""

    code: str
    term: str
    aliases: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.term.lower(), *self.aliases)


@dataclass(frozen=True)
class Drug(Term):
    """A drug: ``code`` is its WHO ATC code, ``term`` the lower-case INN."""

    roles: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()  # as written ("VP-16", "Ara-C")
    brands: tuple[str, ...] = ()
    languages: tuple[tuple[str, str], ...] = ()  # (language, preferred name)
    intrathecal: bool = False
    anthracycline: bool = False

    @property
    def names_by_language(self) -> dict[str, str]:
        return {"en": self.term, **dict(self.languages)}


@dataclass(frozen=True)
class Tumour(Term):
    """An ICD-O-3 morphology with its ICCC-3 subgroups (first: the usual paediatric site;
    site-dependent codes such as germ cell tumours list every subgroup they fall in)."""

    iccc: tuple[str, ...] = ()
    es_gender: str = ""  # grammatical gender of the Spanish name's head noun: m or f
    languages: tuple[tuple[str, str], ...] = ()
    unspecified: bool = False  # a catch-all ("leukaemia, NOS"): classifies, names no tumour

    @property
    def names_by_language(self) -> dict[str, str]:
        return {"en": self.term, **dict(self.languages)}

    @property
    def iccc_groups(self) -> tuple[str, ...]:
        """The ICCC-3 main groups (I..XII) of the subgroups."""
        return tuple(dict.fromkeys(iccc_group(s) for s in self.iccc))


@dataclass(frozen=True)
class TumourGroup(Term):
    """A diagnosis clinicians use without a single code ("low-grade glioma"): ``code`` is the
    group's id, ``members`` the morphology codes it covers."""

    members: tuple[str, ...] = ()


def iccc_group(subgroup: str) -> str:
    """The main group of an ICCC-3 subgroup ("IIIc1" -> "III")."""
    match = _ICCC.match(subgroup)
    if match is None:
        raise ValueError(f"not an ICCC-3 subgroup: {subgroup!r}")
    return match.group(1)


def unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


# A word that lost letters in extraction must keep this many, and the name this many
# characters, for its letters-dropped form to be matched (shorter ones turn into other words).
_DROPPED_MIN_WORD = 4
_DROPPED_MIN_NAME = 8


def letters_dropped(name: str) -> str | None:
    """``name`` as a PDF whose font lacks its accented letters extracts it: those letters
    gone ("ressecção cirúrgica" -> "resseco cirrgica", as the pypdf text layer of a
    Portuguese manual reads). None where nothing is dropped or the result is too short to
    be safe (every shortened word keeps 4 letters, the name 8 characters)."""
    words = name.split()
    kept = ["".join(c for c in w if c.isascii()) for w in words]
    if kept == words:
        return None
    if any(k != w and len(k) < _DROPPED_MIN_WORD for k, w in zip(kept, words, strict=True)):
        return None
    dropped = " ".join(kept)
    return dropped if len(dropped) >= _DROPPED_MIN_NAME else None


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split("|") if v.strip())


def _rows(name: str) -> list[dict[str, str]]:
    with open(VOCAB_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _aliases(term: str, *groups: Iterable[str]) -> tuple[str, ...]:
    """Lower-case aliases in order, each followed by its unaccented form, without the term."""
    seen = dict.fromkeys(
        form
        for group in groups
        for name in group
        if name
        for form in (name.lower(), unaccented(name.lower()))
    )
    seen.pop(term.lower(), None)
    return tuple(seen)


def _languages(row: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((lang, row[lang].strip()) for lang in LANGUAGES if (row.get(lang) or "").strip())


def _plain_forms(term: Term, taken: set[str]) -> list[str]:
    """A term's names without ", NOS" (", SAI", ", SOE"), where no other term has them."""
    return [p for a in term.names if (p := _NOS.sub("", a)) not in taken]


_NOS = re.compile(r",\s*(?:nos|sai|soe|nas|nsa)$", re.IGNORECASE)


def _read(name: str, code_column: str, term_column: str) -> tuple[Term, ...]:
    """Plain terms; language columns, when the file has them, become aliases too."""
    terms = []
    for row in _rows(name):
        term = row[term_column].strip()
        names = [name for _, name in _languages(row)]
        terms.append(
            Term(row[code_column].strip(), term, _aliases(term, _split(row.get("aliases")), names))
        )
    return tuple(terms)


def _plain(records: Iterable[Term]) -> tuple[Term, ...]:
    return tuple(Term(r.code, r.term, r.aliases) for r in records)


@cache
def drug_records() -> tuple[Drug, ...]:
    records = []
    for row in _rows("drugs.csv"):
        name, languages = row["name"].strip(), _languages(row)
        abbreviations, brands = _split(row.get("abbreviations")), _split(row.get("brands"))
        records.append(
            Drug(
                code=row["atc"].strip(),
                term=name,
                aliases=_aliases(
                    name, _split(row["aliases"]), abbreviations, brands, (n for _, n in languages)
                ),
                roles=_split(row.get("role")),
                abbreviations=abbreviations,
                brands=brands,
                languages=languages,
                intrathecal=row["intrathecal"].strip() == "yes",
                anthracycline=row["anthracycline"].strip() == "yes",
            )
        )
    return tuple(records)


@cache
def tumour_records() -> tuple[Tumour, ...]:
    records = []
    for row in _rows("icdo3_morphology.csv"):
        term, languages = row["term"].strip(), _languages(row)
        records.append(
            Tumour(
                code=row["code"].strip(),
                term=term,
                aliases=_aliases(term, _split(row["aliases"]), (n for _, n in languages)),
                iccc=_split(row.get("iccc")),
                es_gender=(row.get("es_gender") or "").strip(),
                languages=languages,
                unspecified=(row.get("unspecified") or "").strip() == "yes",
            )
        )
    return tuple(records)


@cache
def tumour_groups() -> tuple[TumourGroup, ...]:
    return tuple(
        TumourGroup(
            code=row["name"].strip(),
            term=row["name"].strip(),
            aliases=_aliases(row["name"], _split(row["aliases"])),
            members=_split(row["codes"]),
        )
        for row in _rows("tumour_groups.csv")
    )


@cache
def drugs() -> tuple[Term, ...]:
    """Drugs: code is the ATC code, term the lower-case generic name."""
    return _plain(drug_records())


@cache
def morphologies() -> tuple[Term, ...]:
    """Morphologies a patient's tumour can be named by: the catch-all "NOS" codes that only
    classify ("leukaemia, NOS", "sarcoma, NOS") are in ``tumour_records()`` alone, so a request
    for "leukemia" is asked to say which one and a record cannot be coded that vaguely."""
    return _plain(t for t in tumour_records() if not t.unspecified)


@cache
def topographies() -> tuple[Term, ...]:
    """Sites; a name "rim, SOE" or "riñón, SAI" (not otherwise specified) is also written
    plain ("rim") in a guideline, so the plain form is an alias too."""
    read = _read("icdo3_topography.csv", "code", "term")
    taken = {n for t in read for n in t.names}
    return tuple(
        Term(
            t.code,
            t.term,
            _aliases(t.term, t.aliases, _plain_forms(t, taken)),
        )
        for t in read
    )


@cache
def radiotherapy_sites() -> tuple[Term, ...]:
    """Irradiated sites: code and term are both the preferred site name."""
    return _read("radiotherapy_sites.csv", "site", "site")


@dataclass(frozen=True)
class Syndrome(Term):
    """A cancer predisposition syndrome: ``code`` and ``term`` are its English name;
    ``genes`` name it only where one germline variant is the syndrome (dominant ones)."""

    genes: tuple[str, ...] = ()
    languages: tuple[tuple[str, str], ...] = ()


@cache
def predisposition_syndromes() -> tuple[Syndrome, ...]:
    """Cancer predisposition syndromes (``predisposition_syndromes.csv``) by any name."""
    records = []
    for row in _rows("predisposition_syndromes.csv"):
        term, languages = row["syndrome"].strip(), _languages(row)
        records.append(
            Syndrome(
                code=term,
                term=term,
                aliases=_aliases(term, _split(row["aliases"]), (n for _, n in languages)),
                genes=_split(row.get("genes")),
                languages=languages,
            )
        )
    return tuple(records)


def syndrome_by_name(name: str) -> Syndrome | None:
    """The syndrome a name denotes (English, Spanish or Portuguese name, or an alias)."""
    key = _key(name)
    return next((s for s in predisposition_syndromes() if key in map(_key, s.names)), None)


@cache
def radiation_terms(kind: str) -> tuple[Term, ...]:
    """Rows of ``radiation_sources.csv`` of one kind: ``brachytherapy_source``,
    ``applicator``, ``dose_rate`` or ``radiopharmaceutical`` (code and term: its name)."""
    rows = [r for r in _rows("radiation_sources.csv") if r["kind"].strip() == kind]
    if not rows:
        raise ValueError(f"radiation_sources.csv has no rows of kind {kind!r}")
    return tuple(
        Term(
            r["name"].strip(),
            r["name"].strip(),
            _aliases(r["name"], _split(r["aliases"]), (n for _, n in _languages(r))),
        )
        for r in rows
    )


def _key(name: str) -> str:
    return unaccented(" ".join(name.split()).casefold())


@cache
def _drugs_by_name() -> dict[str, Drug]:
    return {_key(n): d for d in reversed(drug_records()) for n in d.names}


@cache
def _tumours_by_name() -> dict[str, Tumour]:
    by_name = {_key(n): t for t in reversed(tumour_records()) for n in t.names}
    return by_name | {t.code: t for t in tumour_records()}


def drug_by_name(name: str) -> Drug | None:
    """The drug a name denotes: INN, alias, abbreviation, brand or a language's name."""
    return _drugs_by_name().get(_key(name))


def groups_holding(code: str) -> tuple[TumourGroup, ...]:
    """The tumour groups a morphology code belongs to, smallest first ("low-grade glioma"
    before "CNS tumours")."""
    return tuple(
        sorted((g for g in tumour_groups() if code in g.members), key=lambda g: len(g.members))
    )


def tumour_group_by_name(name: str) -> TumourGroup | None:
    """The group a name denotes ("glioma de baixo grau" -> low-grade glioma)."""
    wanted = _key(name)
    return next((g for g in tumour_groups() if wanted in {_key(n) for n in g.names}), None)


def tumour_by_name(name: str) -> Tumour | None:
    """The morphology a name (any language, with or without accents) or code denotes."""
    return _tumours_by_name().get(_key(name))


def _is_short(name: str) -> bool:
    return len(name) <= SHORT_NAME


@cache
def _name_pattern(name: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive; names of up to 4 characters are acronyms and must be
    written in capitals ("ALL" the leukaemia, not "all" the word)."""
    if _is_short(name):
        return re.compile(rf"(?<!\w){re.escape(name.upper())}(?!\w)")
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)


def _trie_pattern(names: Iterable[str]) -> str:
    """One regex for many literal names, factored by common prefix so the engine branches on
    each character instead of trying every name in turn; at a position it matches the
    longest name that ends at a word boundary."""
    trie: dict[str, dict] = {}
    for name in names:
        node = trie
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, dict]) -> str:
        branches = [re.escape(c) + pattern(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return pattern(trie)


@dataclass(frozen=True)
class _Index:
    """Every name of a vocabulary: one regex for acronyms (capitals), one for longer names
    (any case), and which terms each name belongs to."""

    short: re.Pattern[str] | None
    long: re.Pattern[str] | None
    by_short: dict[str, list[tuple[int, int, Term, str]]]
    by_long: dict[str, list[tuple[int, int, Term, str]]]

    @classmethod
    def of(cls, terms: tuple[Term, ...]) -> _Index:
        by_short: dict[str, list[tuple[int, int, Term, str]]] = {}
        by_long: dict[str, list[tuple[int, int, Term, str]]] = {}
        for t_index, term in enumerate(terms):
            for n_index, name in enumerate(dict.fromkeys(term.names)):
                if not name:
                    continue
                table, key = (
                    (by_short, name.upper()) if _is_short(name) else (by_long, name.lower())
                )
                table.setdefault(key, []).append((t_index, n_index, term, name))

        def compile_(keys: Iterable[str], flags: int) -> re.Pattern[str] | None:
            keys = list(keys)
            if not keys:
                return None
            return re.compile(rf"(?<!\w)(?=({_trie_pattern(keys)})(?!\w))", flags)

        return cls(
            short=compile_(by_short, 0),
            long=compile_(by_long, re.IGNORECASE),
            by_short=by_short,
            by_long=by_long,
        )

    def find(self, text: str) -> list[tuple[int, int, int, Term, re.Match[str]]]:
        found = []
        for regex, table, fold in (
            (self.short, self.by_short, False),
            (self.long, self.by_long, True),
        ):
            if regex is None:
                continue
            for hit in regex.finditer(text):
                start, longest = hit.start(), hit.group(1)
                # Every name matching here is a prefix of the longest one ending at a word edge.
                for end in range(1, len(longest) + 1):
                    if end < len(longest) and (longest[end].isalnum() or longest[end] == "_"):
                        continue
                    piece = longest[:end]
                    for t_index, n_index, term, name in table.get(
                        piece.lower() if fold else piece, ()
                    ):
                        match = _name_pattern(name).match(text, start)
                        if match is not None:
                            found.append((start, t_index, n_index, term, match))
        return found


@lru_cache(maxsize=32)
def _index(terms: tuple[Term, ...]) -> _Index:
    """Built once per vocabulary (hashing a 300-term tuple costs ~40 microseconds)."""
    return _Index.of(terms)


def find_terms(text: str, terms: tuple[Term, ...]) -> list[tuple[Term, re.Match[str]]]:
    """Every mention of any term's name in ``text`` (whole words; names of up to 4 characters
    only in capitals, longer ones in any case), overlapping mentions included ("hodgkin" and
    "hodgkin lymphoma"), in order of position, then of term and name."""
    found = _index(terms).find(text)
    found.sort(key=lambda hit: hit[:3])
    return [(term, match) for _, _, _, term, match in found]


def match_morphology(request: str) -> Term | None:
    """The tumour a request names, longest name first ("nodular sclerosis" over "hodgkin")."""
    best: tuple[int, Term] | None = None
    for term, match in find_terms(request, morphologies()):
        length = match.end() - match.start()
        if best is None or length > best[0]:
            best = (length, term)
    return best[1] if best else None


# Where the tumours of an ICCC-3 main group arise, as ICD-O-3 topography terms (ICCC-3,
# Steliarova-Foucher et al., Cancer 2005;103:1457-67, whose site-defined groups these are).
# Germ cell tumours (X), carcinomas (XI) and group XII have no single site.
USUAL_SITES = {
    "I": "bone marrow",
    "II": "lymph node, NOS",
    "III": "brain, NOS",
    "IV": "adrenal gland, NOS",
    "V": "retina",
    "VI": "kidney, NOS",
    "VII": "liver",
    "VIII": "bone, NOS",
    "IX": "connective, subcutaneous and other soft tissues, NOS",
}


def usual_site(code: str) -> str | None:
    """The usual site of a morphology's first ICCC-3 group, for a guideline that names none."""
    record = next((t for t in tumour_records() if t.code == code), None)
    if record is None or not record.iccc:
        return None
    return USUAL_SITES.get(iccc_group(record.iccc[0]))


# Files of named things with a column per language ("es"): (kind, the column of the
# English name) for ``name_in``.
NAMED_IN_LANGUAGES = {
    "body_site": ("body_sites.csv", "site"),
    "radiotherapy_site": ("radiotherapy_sites.csv", "site"),
    "procedure": ("surgical_procedures.csv", "procedure"),
    "supportive": ("supportive_care.csv", "term"),
    "conditioning": ("conditioning_regimens.csv", "name"),
    "syndrome": ("predisposition_syndromes.csv", "syndrome"),
    "radiation": ("radiation_sources.csv", "name"),
}


@cache
def _names_in(language: str) -> dict[tuple[str, str], str]:
    """(kind, English term or code) -> the vocabulary's name in ``language``, for tumours
    (by code), topographies (by code and by term, and a "NOS" term also without it: "lower
    limb" is "miembro inferior"), drugs (by INN) and the kinds of ``NAMED_IN_LANGUAGES``."""
    names: dict[tuple[str, str], str] = {}
    for t in tumour_records():
        if name := dict(t.languages).get(language):
            names[("tumour", t.code)] = name
    for row in _rows("icdo3_topography.csv"):
        if name := (row.get(language) or "").strip():
            term = row["term"].strip()
            names[("site", row["code"].strip())] = name
            names[("site", term)] = name
            if _NOS.search(term):
                names.setdefault(("site", _NOS.sub("", term)), _NOS.sub("", name))
    for d in drug_records():
        if name := dict(d.languages).get(language):
            names[("drug", d.term)] = name
    for kind, (file, column) in NAMED_IN_LANGUAGES.items():
        for row in _rows(file):
            if name := (row.get(language) or "").strip():
                names[(kind, row[column].strip())] = name
    for row in _rows("surgical_procedures.csv"):
        if name := (row.get(f"removes_{language}") or "").strip():
            names[("removed", row["removes"].strip())] = name
    return names


def name_in(language: str, kind: str, key: str, default: str) -> str:
    """The vocabulary's ``language`` name of a tumour (by code), a site (by topography code
    or term), a drug (by INN), an organ a procedure removes, or a body site, radiotherapy
    site, procedure, supportive-care term or conditioning regimen (by its English name);
    ``default`` where it has none."""
    if language == "en":
        return default
    return _names_in(language).get((kind, key), default)
