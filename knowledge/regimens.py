"""Regimens of retrieved passages: the doses one cycle gives together, with what the
passages state of their phase, cycle count and interval.

Doses are grouped by ``knowledge.regimen_rows`` (a sentence's; a table's rows apart from the
prose after it; one group per course label), and a group only keeps a cycle's doses
(``knowledge.dose_facts.cycle_dose``): not a supportive drug (mesna, filgrastim), a
conditioning agent (busulfan, treosulfan), a dose in a passage on a transplant (BuMel
melphalan) or on supportive care (antiemetic dexamethasone), nor an intrathecal dose.

A regimen whose own text states no cycle count or interval takes them from the sentence
before it that does ("IVA (...), en ciclos de 21 días administrados cada 3 semanas durante
9 ciclos ..." two sentences before the IVA table), where that sentence gives no dose, speaks
of no transplant or relapse, and introduces this regimen alone: a lead-in followed by
several regimens ("six induction cycles every 21 days. Cycles 1 and 2: ... Cycles 3 and 5:
...") counts their cycles together, which no one regimen's count can say, so it is not read
for any. The regimen's items cite the lead-in as well, so the validator reads it too.
"""

from __future__ import annotations

from functools import lru_cache

from knowledge.chunks import RetrievedChunk
from knowledge.dose_facts import (
    DrugDoseFact,
    Fact,
    Regimen,
    cycle_dose,
    placed_doses,
    regimen_phase,
    sentence_bounds,
    transplant_context,
)
from knowledge.facts.cycles import CycleSchedule, cycle_schedule
from knowledge.facts.mentions import phases_named
from knowledge.regimen_rows import DoseGroup, dose_groups, table_groups
from knowledge.sections import section_text
from knowledge.text import sentence_spans
from knowledge.vocabulary import drugs


def regimens_of(chunks: list[RetrievedChunk]) -> list[Regimen]:
    """Every regimen the passages give, each once (the first passage giving it)."""
    regimens: dict[tuple[tuple[str, float, str], ...], Regimen] = {}
    for chunk in chunks:
        for regimen in _chunk_regimens(chunk.model_dump_json()):
            key = tuple((d.drug, d.dose, d.unit) for d in regimen.drugs)
            regimens.setdefault(key, regimen)
    return list(regimens.values())


@lru_cache(maxsize=1024)
def _chunk_regimens(chunk_json: str) -> tuple[Regimen, ...]:
    chunk = RetrievedChunk.model_validate_json(chunk_json)
    placed = sorted(placed_doses(chunk, drugs()), key=lambda pair: pair[0])
    spans = [span for span, _ in placed]
    if chunk.kind == "table":
        groups = table_groups(chunk.text, spans)
    else:
        groups = dose_groups(chunk.text, spans, [sentence_bounds(chunk.text, *s) for s in spans])
    groups.sort(key=lambda g: g.start)
    found = []
    for index, group in enumerate(groups):
        quote = chunk.text[group.start : group.end]
        given = [
            d
            for i in group.doses
            if not (d := placed[i][1].model_copy(update={"quote": quote})).cumulative
            and not d.intrathecal
            and cycle_dose(d, section_text(quote, chunk))
        ]
        if given:
            lead = None if chunk.kind == "table" else _lead_in(chunk, groups, index)
            # A phase the sentence does not name, its section's heading may ("9.
            # Maintenance: isotretinoin and anti-GD2 immunotherapy" over dinutuximab).
            section = section_text(quote, chunk)
            found.append(_regimen(chunk.chunk_id, quote, given, lead, section))
    return tuple(found)


def _regimen(
    chunk_id: str,
    quote: str,
    given: list[DrugDoseFact],
    lead: tuple[str, CycleSchedule] | None,
    section: str = "",
) -> Regimen:
    unique = list({d.drug: d for d in reversed(given)}.values())[::-1]
    own = cycle_schedule(quote)
    if lead is None or own != CycleSchedule():
        return Regimen(
            chunk_id=chunk_id,
            quote=quote,
            drugs=unique,
            phase=regimen_phase(quote) or regimen_phase(section),
            cycles=own.cycles,
            interval_days=own.interval_days,
        )
    lead_quote, stated = lead
    return Regimen(
        chunk_id=chunk_id,
        quote=quote,
        drugs=unique,
        # the phases both quotes name, as a reader of all the items' quotes finds them
        phase=regimen_phase(f"{lead_quote} {quote}") or regimen_phase(section),
        cycles=stated.cycles,
        interval_days=stated.interval_days,
        lead_in=Fact(chunk_id=chunk_id, quote=lead_quote),
    )


def _lead_in(
    chunk: RetrievedChunk, groups: list[DoseGroup], index: int
) -> tuple[str, CycleSchedule] | None:
    """The sentence stating the cycles of group ``index`` alone, between it and the group
    before it (see the module's docstring), with what it states."""
    text = chunk.text
    after = groups[index + 1].start if index + 1 < len(groups) else None
    if after is not None and not text[groups[index].end : after].strip(" .;,"):
        return None  # the next regimen follows at once: a lead-in would be theirs too
    start = groups[index - 1].end if index else 0
    for left, right in reversed(sentence_spans(text, start, groups[index].start)):
        sentence = text[left:right].strip()
        stated = cycle_schedule(sentence)
        if stated == CycleSchedule():
            continue
        if transplant_context(sentence) or "relapse" in phases_named(sentence):
            return None
        return sentence, stated
    return None
