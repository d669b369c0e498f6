"""The unit of knowledge: a passage of one page of one guideline document."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field

from knowledge.sections import Heading


class TableCell(BaseModel):
    """One cell of a table row, as it stands on its page: ``text`` is the exact page text
    ``[start, end)`` of page ``page`` (the registry stores that text)."""

    header: str | None = Field(None, description="The column header, if the table has one")
    header_page: int | None = Field(
        None, description="The page the header stands on verbatim (a table may run on)"
    )
    text: str
    page: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class GuidelineChunk(BaseModel):
    """A passage of one page, with where it came from (all a citation needs).

    A ``text`` chunk is a span of the page's normalised text (``start``/``end``) made from
    the exact page text ``[source_start, source_end)``. A ``table`` chunk is rows of one
    table read as lines (``header: value; ...``); each of its ``cells`` says where its
    text stands verbatim, so its ``start``/``end`` are 0."""

    chunk_id: str
    document: str = Field(description="File name of the source PDF")
    document_sha256: str
    title: str
    page: int = Field(ge=1, description="1-based page number")
    start: int = Field(ge=0, description="Character offset in the normalised page text")
    end: int = Field(ge=0)
    text: str
    kind: Literal["text", "table"] = "text"
    source_start: int | None = Field(
        None, ge=0, description="Offset in the exact page text (None: ingested before it)"
    )
    source_end: int | None = Field(None, ge=0)
    cells: list[TableCell] = Field(default_factory=list)
    headings: list[Heading] = Field(
        default_factory=list,
        description="Headings in effect where the chunk starts and those inside it "
        "(knowledge.sections); empty for chunks ingested before headings were kept",
    )

    @property
    def document_id(self) -> str:
        """The registry id of the document version this chunk belongs to."""
        return self.document_sha256[:16]

    def metadata(self) -> dict[str, str | int]:
        data: dict[str, str | int] = {
            "document_id": self.document_id,
            "document": self.document,
            "document_sha256": self.document_sha256,
            "title": self.title,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
        }
        if self.source_start is not None and self.source_end is not None:
            data["source_start"], data["source_end"] = self.source_start, self.source_end
        if self.cells:
            data["cells"] = json.dumps([c.model_dump() for c in self.cells], ensure_ascii=False)
        if self.headings:
            data["headings"] = json.dumps(
                [h.model_dump() for h in self.headings], ensure_ascii=False
            )
        return data


class RetrievedChunk(GuidelineChunk):
    """A chunk returned for a query, with its similarity (1 = identical direction)."""

    score: float
