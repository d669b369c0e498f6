"""The unit of knowledge: a passage of one page of one guideline document."""

from __future__ import annotations

from pydantic import BaseModel, Field


class GuidelineChunk(BaseModel):
    """A passage of one page, with where it came from (all a citation needs)."""

    chunk_id: str
    document: str = Field(description="File name of the source PDF")
    document_sha256: str
    title: str
    page: int = Field(ge=1, description="1-based page number")
    start: int = Field(ge=0, description="Character offset in the normalised page text")
    end: int = Field(ge=0)
    text: str

    @property
    def document_id(self) -> str:
        """The registry id of the document version this chunk belongs to."""
        return self.document_sha256[:16]

    def metadata(self) -> dict[str, str | int]:
        return {
            "document_id": self.document_id,
            "document": self.document,
            "document_sha256": self.document_sha256,
            "title": self.title,
            "page": self.page,
            "start": self.start,
            "end": self.end,
        }


class RetrievedChunk(GuidelineChunk):
    """A chunk returned for a query, with its similarity (1 = identical direction)."""

    score: float
