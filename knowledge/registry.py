"""The document registry: which guideline versions exist and which are visible.

The registry (SQL) is the source of truth for visibility; Chroma holds the chunks. A
document's chunks are written while its row says ``ingesting`` and become visible in the
same transaction that supersedes the previous version, so readers see the old version or
the new one, never half of either. Superseded chunks stay in Chroma, invisible to
retrieval, so citations of records made from them still resolve to their text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from knowledge.text import SourceMap

Status = Literal["ingesting", "active", "superseded"]


class RegistryBase(DeclarativeBase):
    pass


class DocumentRow(RegistryBase):
    __tablename__ = "documents"

    document_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    pages: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), index=True)
    superseded_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    ocr_pages: Mapped[int] = mapped_column(Integer, default=0)
    ocr_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)  # other names it came as


class PageRow(RegistryBase):
    """The exact text of one page as ingested (what citations quote), with its language,
    how it was read, and the map from its normalised text back to it."""

    __tablename__ = "document_pages"

    document_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    page: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8))  # text, ocr, empty
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    ocr_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    normalised_length: Mapped[int] = mapped_column(Integer)
    source_map: Mapped[list[list[int]]] = mapped_column(JSON)


class FactRow(RegistryBase):
    """One fact of the fact index (knowledge.facts): it lives and dies with its document
    version (deleted with it, and when a new version supersedes it)."""

    __tablename__ = "document_facts"

    fact_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    document_id: Mapped[str] = mapped_column(
        String(16), ForeignKey("documents.document_id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), index=True)
    page: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    quote: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)


@dataclass(frozen=True)
class Document:
    """A registered guideline version, as listed to users."""

    document_id: str
    file_name: str
    sha256: str
    title: str
    pages: int
    chunks: int
    size_bytes: int
    tags: list[str]
    status: Status
    superseded_by: str | None
    ingested_at: datetime
    language: str | None = None  # the language of most of its text
    ocr_pages: int = 0
    ocr_confidence: float | None = None  # mean over its OCRed pages
    aliases: list[str] = field(default_factory=list)  # other file names of the same content

    def as_json(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["ingested_at"] = self.ingested_at.isoformat()
        return data


def document_id_for(sha256: str) -> str:
    """Content-derived: the same bytes always get the same id (and the same chunk ids).

    Kept equal to ``GuidelineChunk.document_id``."""
    return sha256[:16]


def _document(row: DocumentRow) -> Document:
    ingested = row.ingested_at
    if ingested.tzinfo is None:  # SQLite drops the zone
        ingested = ingested.replace(tzinfo=UTC)
    return Document(
        document_id=row.document_id,
        file_name=row.file_name,
        sha256=row.sha256,
        title=row.title,
        pages=row.pages,
        chunks=row.chunks,
        size_bytes=row.size_bytes,
        tags=list(row.tags or []),
        status=row.status,  # type: ignore[arg-type]
        superseded_by=row.superseded_by,
        ingested_at=ingested,
        language=row.language,
        ocr_pages=row.ocr_pages or 0,
        ocr_confidence=row.ocr_confidence,
        aliases=list(row.aliases or []),
    )


@dataclass(frozen=True)
class DocumentPage:
    """One page as ingested: ``text`` exactly as read; ``source_map`` maps spans of its
    normalised text (chunk offsets) back to ``text``."""

    document_id: str
    page: int
    text: str
    source: str  # text (text layer), ocr, empty
    language: str | None
    ocr_confidence: float | None
    source_map: SourceMap

    def verbatim(self, start: int, end: int) -> str:
        """The exact page text that normalised ``[start, end)`` was made from."""
        begin, stop = self.source_map.source_span(start, end)
        return self.text[begin:stop]


class DocumentRegistry:
    def __init__(self, engine: Engine):
        """``engine``'s schema must be migrated (service.storage.database.open_database)."""
        self.engine = engine

    def get(self, document_id: str) -> Document | None:
        with Session(self.engine) as session:
            row = session.get(DocumentRow, document_id)
            return _document(row) if row else None

    def by_sha256(self, sha256: str) -> Document | None:
        return self.get(document_id_for(sha256))

    def documents(self, *, include_superseded: bool = False) -> list[Document]:
        """Active documents; with ``include_superseded``, every version and unfinished
        ingest too (status says which)."""
        query = select(DocumentRow).order_by(DocumentRow.file_name, DocumentRow.ingested_at)
        if not include_superseded:
            query = query.where(DocumentRow.status == "active")
        with Session(self.engine) as session:
            return [_document(r) for r in session.scalars(query)]

    def active_ids(self, *, tags: Sequence[str] = (), documents: Sequence[str] = ()) -> list[str]:
        """Visible document ids, narrowed to those carrying every tag and to the given ids
        or file names (aliases included)."""
        with Session(self.engine) as session:
            rows = session.scalars(select(DocumentRow).where(DocumentRow.status == "active"))
            return [
                r.document_id
                for r in rows
                if all(t in (r.tags or []) for t in tags)
                and (
                    not documents
                    or r.document_id in documents
                    or r.file_name in documents
                    or any(alias in documents for alias in r.aliases or [])
                )
            ]

    def begin(
        self,
        *,
        sha256: str,
        file_name: str,
        title: str,
        pages: int,
        size_bytes: int,
        tags: Sequence[str],
    ) -> Document:
        """Register a version as ``ingesting`` (invisible); an interrupted one is resumed."""
        document_id = document_id_for(sha256)
        with Session(self.engine) as session, session.begin():
            row = session.get(DocumentRow, document_id)
            if row is None:
                row = DocumentRow(document_id=document_id, sha256=sha256, chunks=0)
                session.add(row)
            row.file_name, row.title, row.pages = file_name, title, pages
            row.size_bytes, row.tags, row.status = size_bytes, sorted(set(tags)), "ingesting"
            row.superseded_by = None
            row.ingested_at = datetime.now(UTC)
            row.aliases = [a for a in row.aliases or [] if a != file_name]
        return self.get(document_id)  # type: ignore[return-value]

    def add_alias(self, document_id: str, file_name: str) -> Document:
        """Record that the same content came again as ``file_name``: the document keeps its
        name and chunks, and lists the new name among its aliases. KeyError if unknown."""
        with Session(self.engine) as session, session.begin():
            row = session.get(DocumentRow, document_id)
            if row is None:
                raise KeyError(document_id)
            if file_name != row.file_name and file_name not in (row.aliases or []):
                row.aliases = sorted({*(row.aliases or []), file_name})
        return self.get(document_id)  # type: ignore[return-value]

    def activate(self, document_id: str, *, chunks: int) -> list[str]:
        """Make a version visible and supersede the active versions of the same file name,
        in one transaction. Returns the superseded ids."""
        with Session(self.engine) as session, session.begin():
            row = session.get(DocumentRow, document_id)
            if row is None:
                raise KeyError(document_id)
            older = session.scalars(
                select(DocumentRow).where(
                    DocumentRow.file_name == row.file_name,
                    DocumentRow.status == "active",
                    DocumentRow.document_id != document_id,
                )
            ).all()
            for old in older:
                old.status, old.superseded_by = "superseded", document_id
            if older:  # facts live and die with their version
                gone = [old.document_id for old in older]
                session.execute(delete(FactRow).where(FactRow.document_id.in_(gone)))
            row.status, row.chunks = "active", chunks
            return [old.document_id for old in older]

    def remove(self, document_id: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(FactRow).where(FactRow.document_id == document_id))
            row = session.get(DocumentRow, document_id)
            if row is not None:
                session.delete(row)
            session.execute(delete(PageRow).where(PageRow.document_id == document_id))

    def put_pages(self, document_id: str, pages: Sequence[DocumentPage]) -> None:
        """Store a version's pages (replacing any of an interrupted ingest) and its
        language (that of most of its text) and OCR figures."""
        letters: dict[str, int] = {}
        for page in pages:
            if page.language:
                letters[page.language] = letters.get(page.language, 0) + len(page.text)
        ocr = [p.ocr_confidence or 0.0 for p in pages if p.source == "ocr"]
        with Session(self.engine) as session, session.begin():
            row = session.get(DocumentRow, document_id)
            if row is None:
                raise KeyError(document_id)
            row.language = max(letters, key=lambda k: letters[k]) if letters else None
            row.ocr_pages = len(ocr)
            row.ocr_confidence = sum(ocr) / len(ocr) if ocr else None
            session.execute(delete(PageRow).where(PageRow.document_id == document_id))
            session.add_all(
                PageRow(
                    document_id=document_id,
                    page=p.page,
                    text=p.text,
                    source=p.source,
                    language=p.language,
                    ocr_confidence=p.ocr_confidence,
                    normalised_length=p.source_map.length,
                    source_map=p.source_map.as_json(),
                )
                for p in pages
            )

    def page(self, document_id: str, page: int) -> DocumentPage | None:
        """A stored page, superseded versions' included (their citations still resolve)."""
        with Session(self.engine) as session:
            row = session.get(PageRow, (document_id, page))
            return _page(row) if row else None

    def pages(self, document_id: str) -> list[DocumentPage]:
        query = select(PageRow).where(PageRow.document_id == document_id).order_by(PageRow.page)
        with Session(self.engine) as session:
            return [_page(r) for r in session.scalars(query)]


def _page(row: PageRow) -> DocumentPage:
    return DocumentPage(
        document_id=row.document_id,
        page=row.page,
        text=row.text,
        source=row.source,
        language=row.language,
        ocr_confidence=row.ocr_confidence,
        source_map=SourceMap.from_json(row.source_map, row.normalised_length),
    )
