"""The headings a passage stands under: "5. High-risk induction" says whom the COJEC table
and the TVD sentence below it are for, though neither names a risk group itself.

Ingest (``ingest.chunking``) records on each chunk the chain of headings in effect where it
starts (carried over page breaks) and every heading that starts inside it, each with the
chunk and page it stands on, so a statement read from the chunk can be scoped by its
section and the heading can be cited verbatim. Numbered headings nest by their numbering
("5.1" under "5."); an unnumbered heading sits under the last numbered one, replacing the
unnumbered heading before it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # knowledge.chunks imports Heading from here
    from knowledge.chunks import GuidelineChunk

_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?\s")


class Heading(BaseModel):
    """A heading as it stands on its page: ``text`` is found verbatim in chunk ``chunk_id``.

    ``at`` is where the heading starts in the text of the chunk that carries this record of
    it; -1 when it stands before that chunk (on its page or an earlier one).
    """

    text: str
    chunk_id: str
    page: int = Field(ge=1)
    depth: int = Field(ge=1)
    at: int = -1


def heading_depth(text: str, previous: list[Heading]) -> int:
    """1 for "5.", 2 for "5.1", ...; an unnumbered heading one below the last numbered."""
    numbered = _NUMBER.match(text)
    if numbered:
        return numbered.group(1).count(".") + 1
    return next((h.depth + 1 for h in reversed(previous) if _NUMBER.match(h.text)), 1)


def nest(chain: list[Heading], heading: Heading) -> list[Heading]:
    """The chain of headings in effect after ``heading``."""
    return [h for h in chain if h.depth < heading.depth] + [heading]


def section_at(headings: list[Heading], position: int) -> list[Heading]:
    """The headings in effect at ``position`` of a chunk's text, outermost first."""
    chain: list[Heading] = []
    for heading in headings:
        if heading.at <= position:
            chain = nest(chain, heading)
    return chain


def section_text(quote: str, chunk: GuidelineChunk) -> str:
    """The headings a quote of ``chunk`` stands under, joined (empty: none recorded)."""
    position = max(chunk.text.find(quote), 0)
    return " ".join(h.text for h in section_at(chunk.headings, position))
