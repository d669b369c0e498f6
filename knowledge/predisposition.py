"""Cancer predisposition syndromes a guideline ties to a tumour.

A fact is a sentence that names a syndrome of ``predisposition_syndromes.csv`` (by any of
its names, in any language the vocabulary gives) together with a tumour (by any vocabulary
name, a plural "-omas" included, or a tumour group): "Down syndrome increases the risk of
ALL about 20-fold", "Una proporción de rabdomiosarcomas embrionarios se asocia a ...
síndrome de Li-Fraumeni", "pacientes com astrocitoma pilocítico que comumente têm NF-1".
A gene stands for its syndrome only where the vocabulary says one germline variant is the
syndrome (TP53, RB1, DICER1, ...) and the sentence says the variant is germline ("germline
ALK mutations"): "TP53-mutant medulloblastoma" is the tumour's own mutation. A mention a
negation governs in its clause ("sem NF-1", "is not associated with") is no fact.
"""

from __future__ import annotations

import re
from functools import cache

from knowledge.care_facts import same_tumour
from knowledge.chunks import RetrievedChunk
from knowledge.evidence import Fact
from knowledge.facts.mentions import tumour_terms
from knowledge.facts.text import mentions, sentences
from knowledge.vocabulary import Syndrome, predisposition_syndromes, tumour_groups

# "medulloblastomas", "rabdomiosarcomas": the singular is the vocabulary's name.
_PLURAL_OMA = re.compile(r"(\w+oma)s\b", re.IGNORECASE)
_GERMLINE = re.compile(
    r"germ-?line|constitutional|heritable|hereditary|inherited|familial|l[ií]nea germinal"
    r"|germinativ|constitucional|heredad|heredit|hereditári|familiar",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|no|without|never|nor|neither|except|excluding|sin|sem|n[ãa]o|nunca|ni|nem"
    r"|excepto|exceto|salvo)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[,;:()\[\]]")


class SyndromeFact(Fact):
    """A syndrome, and the tumours (ICD-O-3 codes or tumour group names) its sentence names."""

    syndrome: str
    tumours: list[str]

    def ties(self, code: str) -> bool:
        """Whether the sentence speaks of the tumour coded ``code``: the same code, a "NOS"
        code of its group or subtype of it (``same_tumour``), or a tumour group holding it."""
        groups = {g.code: g for g in tumour_groups()}
        for named in self.tumours:
            group = groups.get(named)
            if group is not None and code in group.members:
                return True
            if group is None and same_tumour(code, named):
                return True
        return False


@cache
def _genes() -> tuple[tuple[re.Pattern[str], Syndrome], ...]:
    return tuple(
        (re.compile(rf"(?<![\w-]){re.escape(gene)}(?!\w)"), syndrome)
        for syndrome in predisposition_syndromes()
        for gene in syndrome.genes
    )


def _negated(sentence: str, start: int) -> bool:
    """A negation in the clause before ``start`` ("e sem NF-1", "(exceto ... com NF-1")."""
    clause = _CLAUSE.split(sentence[:start])[-1]
    return bool(_NEGATION.search(clause))


def _named_syndromes(sentence: str) -> list[tuple[str, int, bool]]:
    """(syndrome, offset, named by a gene) of each mention in the sentence."""
    named = [(m.term.term, m.start, False) for m in mentions(sentence, predisposition_syndromes())]
    for pattern, syndrome in _genes():
        named += [(syndrome.term, m.start(), True) for m in pattern.finditer(sentence)]
    return sorted(named, key=lambda n: n[1])


def _tumours_named(sentence: str) -> list[str]:
    """The tumours a sentence names; one named only inside a syndrome's name ("hereditary
    retinoblastoma" in a sentence on osteosarcoma) counts only where no other is named
    ("familial neuroblastoma is due to germline ALK variants")."""
    singular = _PLURAL_OMA.sub(r"\1", sentence)
    inside = [(m.start, m.end) for m in mentions(singular, predisposition_syndromes())]
    found = mentions(singular, tumour_terms())
    outside = [m for m in found if not any(a <= m.start and m.end <= b for a, b in inside)]
    return list(dict.fromkeys(m.term.code for m in outside or found))


def syndromes_in(chunk: RetrievedChunk) -> list[SyndromeFact]:
    """Each syndrome a sentence of the passage ties to the tumours it names, once per
    sentence (a sentence as ``knowledge.facts.text.sentences`` cuts it: a colon does not
    end one, so "medulloblastomas arise in a predisposition syndrome: Gorlin syndrome ..."
    is one statement)."""
    found: dict[tuple[str, str], SyndromeFact] = {}
    for begin, stop in sentences(chunk.text):
        sentence = chunk.text[begin:stop].strip()
        named = [
            syndrome
            for syndrome, at, by_gene in _named_syndromes(sentence)
            if not _negated(sentence, at) and not (by_gene and not _GERMLINE.search(sentence))
        ]
        if not named:
            continue
        tumours = _tumours_named(sentence)
        if not tumours:
            continue
        quote = " ".join(sentence.split())
        for syndrome in named:
            found.setdefault(
                (syndrome, quote),
                SyndromeFact(
                    chunk_id=chunk.chunk_id, quote=quote, syndrome=syndrome, tumours=tumours
                ),
            )
    return list(found.values())


def syndromes_tied(facts: list[SyndromeFact], code: str) -> list[SyndromeFact]:
    """The facts that tie a syndrome to the tumour coded ``code``, one per syndrome."""
    tied: dict[str, SyndromeFact] = {}
    for fact in facts:
        if fact.ties(code):
            tied.setdefault(fact.syndrome, fact)
    return list(tied.values())
