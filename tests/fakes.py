"""Fakes at the seams: a passage index over fixed chunks (the model fake is models.fake)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from knowledge.chunks import GuidelineChunk, RetrievedChunk
from service.records import PatientRecord
from service.validation import ValidationResult
from service.validation.rules import RuleFailure


def page_texts(chunks: Sequence[GuidelineChunk]) -> dict[tuple[str, int], str]:
    """Page texts made of their chunks (in order, one per line): where a fake store has no
    real page text, each chunk's text stands on its page as it does on a real one."""
    pages: dict[tuple[str, int], list[GuidelineChunk]] = {}
    for c in chunks:
        pages.setdefault((c.document_id, c.page), []).append(c)
    return {
        key: "\n".join(c.text for c in sorted(group, key=lambda c: (c.kind, c.start)))
        for key, group in pages.items()
    }


class StaticIndex:
    """Ranks fixed chunks by shared words with the query; honours ``where`` equality and
    Chroma's ``{"$in": [...]}``.

    Its page texts (the grounding verifier's) are ``pages``, or made of the chunks."""

    def __init__(
        self,
        chunks: list[GuidelineChunk],
        pages: dict[tuple[str, int], str] | None = None,
    ):
        self.chunks = chunks
        self.pages = page_texts(chunks) if pages is None else pages
        self.queries: list[tuple[str, dict[str, Any] | None]] = []

    def count(self) -> int:
        return len(self.chunks)

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]:
        """The chunks with these ids (the validator's grounding lookup)."""
        wanted = set(chunk_ids)
        return [c for c in self.chunks if c.chunk_id in wanted]

    def page_text(self, document_id: str, page: int) -> str | None:
        return self.pages.get((document_id, page))

    def query(
        self, text: str, *, k: int, where: dict[str, Any] | None = None
    ) -> list[RetrievedChunk]:
        self.queries.append((text, where))
        words = set(text.lower().split())
        candidates = [
            c
            for c in self.chunks
            if not where or all(_holds(c.metadata().get(k), value) for k, value in where.items())
        ]
        scored = sorted(candidates, key=lambda c: -len(words & set(c.text.lower().split())))
        return [
            RetrievedChunk(**c.model_dump(), score=1.0 / (rank + 1))
            for rank, c in enumerate(scored[:k])
        ]


def chunk(
    text: str, *, document: str = "ewing.pdf", page: int = 1, index: int = 0, sha: str | None = None
) -> GuidelineChunk:
    sha = sha or (document.encode().hex() * 8)[:64]
    return GuidelineChunk(
        chunk_id=f"{sha[:16]}-p{page:04d}-c{index:03d}",
        document=document,
        document_sha256=sha,
        title=document,
        page=page,
        start=0,
        end=len(text),
        text=text,
    )


def validation_result(record: PatientRecord, failures: list[RuleFailure]) -> ValidationResult:
    """What a scripted validator returns: these failures, passed unless one is an error."""
    return ValidationResult(
        record_id=record.record_id,
        passed=not any(f.severity == "error" for f in failures),
        rules_checked=1,
        failures=failures,
        validated_at=datetime.now(UTC),
    )


def _holds(held: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict) and set(wanted) == {"$in"}:
        return held in wanted["$in"]
    return bool(held == wanted)
