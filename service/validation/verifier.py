"""The independent grounding verifier's text checks: is a quote on its page, does it name a
drug and state that drug's dose, a radiotherapy site with its dose, a procedure, a
transplant type or a relapse.

It shares no code with the fact extractors (``knowledge.evidence``, ``knowledge.care_facts``,
``knowledge.facts``) that generation reads its values with, only their data (the drug,
radiotherapy-site and procedure vocabularies), so an extractor's mistake is not repeated
here: a dose belongs to the drug named nearest before it in its sentence (or nearest after
it, where the sentence writes doses before drugs), whatever the extractor decided.

Matching is deliberately plain: text is folded (Unicode NFKC, accents and case dropped,
dashes unified) and quotes are compared with pages on their letters and digits alone, so
line breaks, hyphenation, ``mg/m²`` and decimal commas do not matter, and nothing else does.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from knowledge.vocabulary import VOCAB_DIR, drug_records, radiotherapy_sites

TOLERANCE = 0.005  # relative: 1.505 mg/m2 is the 1.5 mg/m2 a passage states
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_SHORT = 4  # names this short (VCR, DOX, BV) count only when written in capitals


def plain(text: str) -> str:
    """NFKC, no accents or soft hyphens, one kind of dash, single spaces; case kept."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "").translate(_DASHES)
    plain = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(plain.split())


def fold(text: str) -> str:
    """Plain text in lower case: what names, doses and quotes are compared in."""
    return plain(text).lower()


def _skeleton(text: str) -> str:
    """Letters and digits only (decimal commas read as points): what a quote and its page
    must share, whatever the PDF did to spaces, line ends and hyphenation."""
    text = re.sub(r"(?<=\d),\s?(?=\d)", ".", fold(text))
    return "".join(c for c in text if c.isalnum() or c == ".")


# -- quote on the page ------------------------------------------------------------------


def quote_on_page(quote: str, page_text: str) -> bool:
    """The quote stands on the page (spacing, hyphenation, case and Unicode forms aside)."""
    wanted = _skeleton(quote)
    return bool(wanted) and wanted in _skeleton(page_text)


def table_quote_on_page(quote: str, page_text: str, header_pages: Sequence[str] = ()) -> bool:
    """A quote of a table chunk (``header: cell; header: cell`` lines): every cell is on
    the page, every header on it or on one of ``header_pages`` (a table runs on)."""
    page = _skeleton(page_text)
    headers = [page, *map(_skeleton, header_pages)]
    for line in re.split(r"[;\n]", quote):
        header, colon, cell = line.partition(":")
        if not colon:
            header, cell = "", header
        for part, places in ((cell, [page]), (header, headers)):
            wanted = _skeleton(part)
            if wanted and not any(wanted in place for place in places):
                return False
    return True


# -- names --------------------------------------------------------------------------------


def _name_pattern(name: str) -> str:
    """A name as a pattern: any dash or space between its words, whole words only."""
    words = [w for w in re.split(r"[\s-]+", name) if w]
    return r"(?<![\w])" + r"[\s-]*".join(map(re.escape, words)) + r"(?![\w])"


def _compact(name: str) -> str:
    """A name's key: folded, without spaces or dashes ("Whole-lung" is "whole lung")."""
    return "".join(re.split(r"[\s-]+", fold(name)))


@dataclass(frozen=True)
class _Names:
    """Names of a vocabulary, each mapped to its entry, found longest first."""

    spelled: dict[str, str]  # folded name -> entry
    entry: dict[str, str]  # compact name -> entry
    long: re.Pattern[str] | None  # names matched without case
    short: re.Pattern[str] | None  # short names, matched in capitals on the unfolded text

    @classmethod
    def of(cls, names: Iterable[tuple[str, str]]) -> _Names:
        spelled: dict[str, str] = {}
        for name, of in names:
            key = fold(name)
            if key and not key.isdigit():
                spelled.setdefault(key, of)
        long = sorted((n for n in spelled if len(n) > _SHORT), key=len, reverse=True)
        short = sorted((n for n in spelled if len(n) <= _SHORT), key=len, reverse=True)
        return cls(
            spelled,
            {_compact(n): of for n, of in reversed(spelled.items())},
            re.compile("|".join(map(_name_pattern, long))) if long else None,
            re.compile("|".join(_name_pattern(s.upper()) for s in short)) if short else None,
        )

    def find(self, text: str) -> list[tuple[int, str]]:
        """(position in ``fold(text)``, entry) of every name in ``text``, in order."""
        folded = fold(text)
        found: dict[int, tuple[int, str]] = {}
        if self.long:
            for m in self.long.finditer(folded):
                found[m.start()] = (m.end(), self.entry[_compact(m.group())])
        if self.short:
            for m in self.short.finditer(plain(text)):
                key = _compact(m.group())
                if key in self.entry and not any(s <= m.start() < e for s, (e, _) in found.items()):
                    found[m.start()] = (m.end(), self.entry[key])
        return [(at, of) for at, (_, of) in sorted(found.items())]


@cache
def _drugs() -> _Names:
    return _Names.of(
        (name, drug.term)
        for drug in drug_records()
        for name in (drug.term, *drug.aliases, *drug.abbreviations, *drug.brands)
    )


def drug_entry(name: str) -> str | None:
    """The generic name of the drug ``name`` (generic, alias, brand or abbreviation) denotes."""
    return _drugs().entry.get(_compact(name))


def names_drug(quote: str, drug: str) -> bool:
    wanted = drug_entry(drug) or fold(drug)
    return any(of == wanted for _, of in _drugs().find(quote))


# -- doses -------------------------------------------------------------------------------

# Dose units as a passage writes them (folded), and the unit and factor they compare in.
_DOSE_UNITS: tuple[tuple[str, str, float], ...] = (
    (r"(?:μg|ug|mcg|micrograms?|microgramos?|microgramas?)\s*/\s*kg", "mg/kg", 0.001),
    (r"(?:iu|ui|u|units?|unidades?)\s*(?:/|per|por)\s*m\s*2", "IU/m2", 1.0),
    (r"mg\s*(?:/|per|por)\s*m\s*2", "mg/m2", 1.0),
    (r"g\s*(?:/|per|por)\s*m\s*2", "mg/m2", 1000.0),
    (r"mg\s*(?:/|per|por)\s*kg", "mg/kg", 1.0),
    (r"mg(?![\w/])", "mg", 1.0),
)
# A record's units, in the same terms.
RECORD_UNITS: dict[str, tuple[str, float]] = {
    "mg/m2": ("mg/m2", 1.0),
    "g/m2": ("mg/m2", 1000.0),
    "mg/kg": ("mg/kg", 1.0),
    "microgram/kg": ("mg/kg", 0.001),
    "IU/m2": ("IU/m2", 1.0),
    "mg": ("mg", 1.0),
}
_NUMBER = r"\d+(?:[.,]\d+)*"
_RANGE = rf"({_NUMBER})(?:\s*(?:-|to|a|ate|al)\s*({_NUMBER}))?\s*"
_DOSE = re.compile(rf"(?<![\w.,]){_RANGE}(?:{'|'.join(f'({u})' for u, _, _ in _DOSE_UNITS)})")
_GRAY = re.compile(rf"(?<![\w.,]){_RANGE}(c?gy|gray)(?!\w)")
# "1, 5 mg/m2": a decimal a PDF's text layer broke, not a list.
_BROKEN_DECIMAL = re.compile(r"(?<=\d), (?=\d{1,2} ?(?:mg|g|μg|ug|mcg|iu|ui|u|c?gy)\b)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\d\s])|\n")


def _values(number: str) -> set[float]:
    """What a written number can mean: "1,5" 1.5; "1,500" 1.5 or 1500; "1.000" 1 or 1000."""
    parts = re.split(r"[.,]", number)
    if len(parts) == 1:
        return {float(number)}
    values = {float("".join(parts[:-1]) + "." + parts[-1])}
    if all(len(p) == 3 for p in parts[1:]):
        values.add(float("".join(parts)))
    return values


@dataclass(frozen=True)
class StatedDose:
    """A dose a sentence states: possible values (in ``unit``), and where it stands."""

    values: frozenset[float]
    unit: str  # mg/m2, mg/kg, IU/m2 or mg (g/m2 and microgram/kg converted)
    at: int
    text: str


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def doses_in(sentence: str) -> list[StatedDose]:
    """Every dose a (folded) sentence states, each end of a range a dose of its own."""
    stated = []
    for m in _DOSE.finditer(sentence):
        index = next(i for i, g in enumerate(m.groups()[2:]) if g is not None)
        _, unit, factor = _DOSE_UNITS[index]
        values = {v * factor for n in m.groups()[:2] if n for v in _values(n)}
        stated.append(StatedDose(frozenset(values), unit, m.start(), m.group().strip()))
    return stated


def doses_of(quote: str, drug: str) -> list[StatedDose]:
    """The doses ``quote`` states for ``drug``: in each sentence a dose belongs to the drug
    named nearest before it, or, where the sentence writes its first dose before any drug
    ("1.5 mg/m2 vincristine"), to the drug named nearest after it."""
    return [dose for _, dose in owned_doses(quote, drug)]


def owned_doses(quote: str, drug: str) -> list[tuple[str, StatedDose]]:
    """``doses_of``, each dose with its sentence (accents dropped, case kept; the dose's
    ``at`` is its offset there), for checks that read the words around a dose."""
    wanted = drug_entry(drug) or fold(drug)
    found = []
    for raw in _sentences(_BROKEN_DECIMAL.sub(".", quote)):
        sentence = fold(raw)
        names = _drugs().find(raw)
        doses = doses_in(sentence)
        if not names or not doses:
            continue
        dose_first = doses[0].at < names[0][0]
        for dose in doses:
            if dose_first:
                owner = next((of for at, of in names if at > dose.at), None)
            else:
                owner = next((of for at, of in reversed(names) if at < dose.at), None)
            if owner == wanted:
                found.append((plain(raw), dose))
    return found


def stated_doses(quote: str, drug: str, dose: float, unit: str) -> list[tuple[str, StatedDose]]:
    """The doses of ``owned_doses`` equal to ``dose`` in ``unit`` (g/m2 as mg/m2 ...)."""
    base, factor = RECORD_UNITS[unit]
    return [
        (sentence, d)
        for sentence, d in owned_doses(quote, drug)
        if d.unit == base and _close(dose * factor, d.values)
    ]


def _close(value: float, stated: Iterable[float]) -> bool:
    return any(abs(value - s) <= TOLERANCE * s for s in stated)


def states_dose(quote: str, drug: str, dose: float, unit: str) -> bool:
    """The quote gives ``drug`` this dose in this unit (g/m2 as mg/m2 and so on)."""
    return bool(stated_doses(quote, drug, dose, unit))


# -- radiotherapy ------------------------------------------------------------------------


@cache
def _rt_sites() -> _Names:
    return _Names.of((name, site.term) for site in radiotherapy_sites() for name in site.names)


def _site_pattern(site: str) -> re.Pattern[str]:
    """The site by any vocabulary name of it, or by its own words in order."""
    entry = _rt_sites().entry.get(_compact(site))
    names = [n for n, of in _rt_sites().spelled.items() if of == entry] if entry else []
    ordered = sorted({fold(site), *names}, key=len, reverse=True)  # longest first
    return re.compile("|".join(map(_name_pattern, ordered)))


def gray_in(sentence: str) -> list[float]:
    """The doses in Gy a (folded) sentence states (cGy converted)."""
    found = []
    for m in _GRAY.finditer(sentence):
        factor = 0.01 if m.group(3) == "cgy" else 1.0
        found += [v * factor for n in m.groups()[:2] if n for v in _values(n)]
    return found


def site_with_dose(quote: str, site: str, gray: float) -> bool:
    """One sentence (or table row) of the quote names the site and states the dose in Gy."""
    pattern = _site_pattern(site)
    for raw in _sentences(_BROKEN_DECIMAL.sub(".", quote)):
        sentence = fold(raw)
        if pattern.search(sentence) and _close(gray, gray_in(sentence)):
            return True
    return False


# -- procedures, transplants, relapse ----------------------------------------------------


@cache
def _procedures() -> _Names:
    with open(VOCAB_DIR / "surgical_procedures.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return _Names.of(
        (form, row["procedure"])
        for row in rows
        for name in (row["procedure"], *row["aliases"].split("|"))
        if name.strip()
        for form in (name, _without_accented_letters(name))
        if form
    )


def _without_accented_letters(name: str) -> str:
    """The name as a PDF lacking its accented glyphs extracts it ("resseco cirrgica" for
    "ressecção cirúrgica"); empty where no letter goes, or a word or the name gets short."""
    words = name.split()
    kept = ["".join(c for c in w if ord(c) < 128) for w in words]
    if kept == words or any(len(k) < 4 for k, w in zip(kept, words, strict=True) if k != w):
        return ""
    joined = " ".join(kept)
    return joined if len(joined) >= 8 else ""


_STOP = frozenset({"with", "from", "after", "before", "under", "and", "the", "con", "para"})


def names_procedure(quote: str, description: str) -> bool:
    """The quote names a procedure the description names (by any vocabulary name of it),
    or, for a description the vocabulary does not know, every word of it."""
    named = {of for _, of in _procedures().find(description)}
    if named:
        return any(of in named for _, of in _procedures().find(quote))
    words = [w for w in re.findall(r"\w{4,}", fold(description)) if w not in _STOP]
    text = fold(quote)
    return bool(words) and all(re.search(rf"(?<!\w){re.escape(w)}", text) for w in words)


# Stems in English, Spanish and Portuguese (folded: no accents).
_TRANSPLANT_TYPES = {
    "autologous": re.compile(r"(?<!\w)(?:autolog|auto-?(?:trasplant|transplant|h?sct|tph|tcph))"),
    "allogeneic": re.compile(
        r"(?<!\w)(?:allogen|alogen|allo-?(?:transplant|h?sct)|alo-?(?:trasplant|transplant|tph|tcph))"
    ),
}
_RELAPSE = re.compile(r"(?<!\w)(?:relaps|recurr|recaid|recidiv|recorrenc|recorrent)")


def names_transplant(quote: str, transplant_type: str) -> bool:
    return bool(_TRANSPLANT_TYPES[transplant_type].search(fold(quote)))


def names_relapse(quote: str) -> bool:
    return bool(_RELAPSE.search(fold(quote)))
