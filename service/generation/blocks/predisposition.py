"""The diagnosis's genetic conditions: cancer predisposition syndromes the tumour's own
guideline ties to it (``knowledge.predisposition``), each cited to that sentence.

Asked for, every syndrome must be tied to the tumour by a retrieved passage, or the request
fails naming what the guideline ties instead. Not asked for, a record gets one of the tied
syndromes with ``PREDISPOSITION_WHEN_TIED`` odds: about 8.5% of children with cancer carry a
germline variant of a predisposition gene (Zhang J et al., N Engl J Med 2015;373:2336-46,
1,120 patients), which the tied syndromes stand for. That draw uses a generator of its own
(seeded from the record's seed), so records without a syndrome keep every other choice.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from knowledge.chunks import RetrievedChunk
from knowledge.predisposition import SyndromeFact, syndromes_in, syndromes_tied
from service.generation.blocks.base import Agent
from service.generation.completeness import coverage_note
from service.records import Diagnosis
from service.requests import RequestError

PREDISPOSITION_WHEN_TIED = 0.085


def _tied(chunks: list[RetrievedChunk], code: str) -> list[SyndromeFact]:
    return syndromes_tied([f for c in chunks for f in syndromes_in(c)], code)


def predisposition_block(
    agent: Agent, diagnosis: Diagnosis, anchor: str, asked: Sequence[str]
) -> Diagnosis:
    """The diagnosis with its genetic conditions and their citations (unchanged when none)."""
    code = diagnosis.icdo3_morphology
    wanted = list(asked)
    query = f"{diagnosis.tumour}: genetic predisposition, cancer predisposition syndromes"
    if wanted:
        query += f" ({', '.join(wanted)}), germline variants"

    def enough(found: list[RetrievedChunk]) -> bool:
        named = {f.syndrome for f in _tied(found, code)}
        return set(wanted) <= named if wanted else bool(named)

    chunks = agent.retrieve_until([query], enough, agent.protocol(anchor, wide=True))
    tied = {f.syndrome: f for f in _tied(chunks, code)}
    if wanted:
        if missing := [s for s in wanted if s not in tied]:
            raise RequestError(
                f"{', '.join(missing)} was asked for, but no retrieved passage of the "
                f"{diagnosis.tumour} guideline ties it to {diagnosis.tumour} (they tie "
                f"{', '.join(tied) or 'no predisposition syndrome'} to it); "
                f"{coverage_note(agent.store, diagnosis)}"
            )
        chosen = [tied[s] for s in wanted]
    else:
        draw = random.Random(f"{agent.seed}:predisposition")
        if not tied or draw.random() >= PREDISPOSITION_WHEN_TIED:
            return diagnosis
        chosen = [draw.choice(sorted(tied.values(), key=lambda f: f.syndrome))]
    return diagnosis.model_copy(
        update={
            "genetic_conditions": [f.syndrome for f in chosen],
            "citations": diagnosis.citations + agent.cite_all(chosen),
        }
    )
