"""The knowledge store: guideline chunks and their embeddings in Chroma.

Embeddings are always computed by our own ``Embedder`` and passed explicitly, so Chroma's
default embedding function (which downloads a model) is never created.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from knowledge.chunks import GuidelineChunk, RetrievedChunk
from knowledge.embeddings import Embedder

_ADD_BATCH = 256


class PassageIndex(Protocol):
    """What retrieval needs from a store (the seam unit tests fake)."""

    def count(self) -> int: ...

    def query(
        self, text: str, *, k: int, where: dict[str, Any] | None = None
    ) -> list[RetrievedChunk]: ...


class KnowledgeStore:
    """Chroma embedded (a folder) by default; pass ``client`` for a Chroma server."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        path: Path | None = None,
        collection: str = "guidelines",
        client: Any = None,
    ):
        import chromadb

        if client is None:
            if path is None:
                raise ValueError("KnowledgeStore needs a folder path or a Chroma client")
            Path(path).mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(path),
                settings=chromadb.Settings(anonymized_telemetry=False, allow_reset=False),
            )
        self.embedder = embedder
        self._collection = client.get_or_create_collection(
            name=collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )

    def count(self) -> int:
        return int(self._collection.count())

    def has_document(self, sha256: str) -> bool:
        found = self._collection.get(where={"document_sha256": sha256}, limit=1, include=[])
        return bool(found["ids"])

    def add(self, chunks: Sequence[GuidelineChunk]) -> None:
        """Embed and upsert chunks; ids are content-derived, so re-adding is harmless."""
        for offset in range(0, len(chunks), _ADD_BATCH):
            batch = chunks[offset : offset + _ADD_BATCH]
            self._collection.upsert(
                ids=[c.chunk_id for c in batch],
                documents=[c.text for c in batch],
                embeddings=self.embedder.embed([c.text for c in batch]),
                metadatas=[c.metadata() for c in batch],
            )

    def query(
        self, text: str, *, k: int, where: dict[str, Any] | None = None
    ) -> list[RetrievedChunk]:
        """The ``k`` passages closest to ``text``, best first."""
        if self.count() == 0:
            return []
        result = self._collection.query(
            query_embeddings=self.embedder.embed([text]),
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            RetrievedChunk(chunk_id=i, text=d, score=1.0 - float(dist), **_meta(m))
            for i, d, m, dist in zip(ids, documents, metadatas, distances, strict=True)
        ]

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]:
        """Stored chunks by id, in the order asked; unknown ids are left out."""
        if not chunk_ids:
            return []
        result = self._collection.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        found = {
            i: GuidelineChunk(chunk_id=i, text=d, **_meta(m))
            for i, d, m in zip(
                result["ids"], result["documents"] or [], result["metadatas"] or [], strict=True
            )
        }
        return [found[i] for i in chunk_ids if i in found]


def _meta(metadata: Any) -> dict[str, Any]:
    return {
        "document": str(metadata["document"]),
        "document_sha256": str(metadata["document_sha256"]),
        "title": str(metadata["title"]),
        "page": int(metadata["page"]),
        "start": int(metadata["start"]),
        "end": int(metadata["end"]),
    }
