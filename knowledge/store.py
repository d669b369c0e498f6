"""The knowledge store: guideline chunks and their embeddings in Chroma.

Embeddings are always computed by our own ``Embedder`` and passed explicitly, so Chroma's
default embedding function (which downloads a model) is never created. Retrieval only
sees chunks of documents the registry lists as active.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from knowledge.chunks import GuidelineChunk, RetrievedChunk, TableCell
from knowledge.embeddings import Embedder
from knowledge.facts.store import FactIndex
from knowledge.registry import DocumentRegistry
from knowledge.sections import Heading

_ADD_BATCH = 256


class PassageIndex(Protocol):
    """What retrieval needs from a store (the seam unit tests fake)."""

    def count(self) -> int: ...

    def query(
        self, text: str, *, k: int, where: dict[str, Any] | None = None
    ) -> list[RetrievedChunk]: ...


def chroma_client(path: Path | None = None, *, host: str | None = None, port: int = 8000) -> Any:
    """An embedded Chroma at ``path``, or a Chroma server at ``host``; telemetry off."""
    import chromadb

    settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
    if host:
        return chromadb.HttpClient(host=host, port=port, settings=settings)
    if path is None:
        raise ValueError("an embedded Chroma needs a folder path")
    Path(path).mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


class KnowledgeStore:
    def __init__(
        self,
        embedder: Embedder,
        registry: DocumentRegistry,
        *,
        client: Any,
        collection: str = "guidelines",
        originals: Path | None = None,
    ):
        """``originals``: the folder that keeps each ingested PDF (by sha256), for
        citations and the page viewer; None keeps none."""
        self.embedder = embedder
        self.registry = registry
        self.originals = originals
        self._collection = client.get_or_create_collection(
            name=collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )

    def count(self) -> int:
        """Visible chunks: those of active documents."""
        return sum(d.chunks for d in self.registry.documents() if d.status == "active")

    def pages_about(self, codes: set[str], kinds: Sequence[str]) -> list[tuple[str, int]]:
        """Pages of active documents that name one of ``codes`` and state facts of ``kinds``
        (the fact index), most such facts first: (document id, page)."""
        return FactIndex(self.registry.engine).pages_about(codes, kinds)

    def tumour_coverage(self, codes: set[str] | None) -> list[dict[str, Any]]:
        """``clinsynth coverage``'s entries for these morphology codes and group names
        (None: every tumour the active guidelines name)."""
        entries = FactIndex(self.registry.engine).coverage()
        return entries if codes is None else [e for e in entries if e["code"] in codes]

    def stored_chunks(self) -> int:
        """Every chunk in Chroma, superseded and unfinished ones included."""
        return int(self._collection.count())

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

    def delete_document(self, document_id: str) -> None:
        """Drop a document's chunks and its original PDF (its registry entry is the
        caller's: ``DocumentRegistry.remove``)."""
        self._collection.delete(where={"document_id": document_id})
        if self.originals is not None:
            for kept in self.originals.glob(f"{document_id}*.pdf"):
                kept.unlink(missing_ok=True)

    def keep_original(self, path: Path, sha256: str) -> Path | None:
        """Copy the PDF at ``path`` to ``originals/<sha256>.pdf`` (atomically; once)."""
        if self.originals is None:
            return None
        target = self.original_path(sha256)
        if not target.exists():
            self.originals.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            shutil.copyfile(path, partial)
            partial.replace(target)
        return target

    def original_path(self, sha256: str) -> Path:
        if self.originals is None:
            raise ValueError("this store keeps no original PDFs")
        return self.originals / f"{sha256}.pdf"

    def query(
        self,
        text: str,
        *,
        k: int,
        where: dict[str, Any] | None = None,
        documents: Sequence[str] = (),
        tags: Sequence[str] = (),
        mmr: bool = False,
        fetch_k: int | None = None,
        diversity: float = 0.5,
    ) -> list[RetrievedChunk]:
        """The ``k`` passages of active documents closest to ``text``, best first.

        ``documents`` (ids or file names) and ``tags`` narrow the documents searched;
        ``where`` filters on chunk metadata. With ``mmr``, ``fetch_k`` candidates are
        re-ranked by maximal marginal relevance (``diversity`` 0: relevance only, 1: most
        diverse).
        """
        visible = self.registry.active_ids(tags=tags, documents=documents)
        if not visible:
            return []
        query_vector = self.embedder.embed([text])[0]
        wanted = max(k, fetch_k or 4 * k) if mmr else k
        include = ["documents", "metadatas", "distances"] + (["embeddings"] if mmr else [])
        if documents or tags:
            # A narrowed search names its (few) documents: an exact, selective filter.
            scope: dict[str, Any] = {"document_id": {"$in": visible}}
            result = self._search(query_vector, wanted, _and(scope, where), include)
        else:
            # Filtering on every active id makes Chroma scan all metadata (p50 650 ms at
            # 100k chunks, bench/ingest.py); search unfiltered, over-fetching, and drop
            # chunks of unfinished or superseded versions; only if too many were dropped,
            # fall back to the exact filter.
            fetched = wanted + 2 * k
            result = self._search(query_vector, fetched, where, include)
            kept = _keep_visible(result, set(visible))
            exhausted = len(result["ids"][0]) < fetched
            if len(kept["ids"][0]) >= wanted or exhausted:
                result = kept
            else:
                scope = {"document_id": {"$in": visible}}
                result = self._search(query_vector, wanted, _and(scope, where), include)
        ids = result["ids"][0]
        documents_ = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        order = list(range(min(len(ids), wanted)))
        if mmr and ids:
            import numpy as np
            from langchain_core.vectorstores.utils import maximal_marginal_relevance

            vectors = result["embeddings"]
            order = maximal_marginal_relevance(
                np.array(query_vector),
                list(vectors[0]) if vectors is not None else [],
                lambda_mult=1.0 - diversity,
                k=k,
            )
        return [
            RetrievedChunk(
                chunk_id=ids[i],
                text=documents_[i],
                score=1.0 - float(distances[i]),
                **_meta(metadatas[i]),
            )
            for i in order[:k]
        ]

    def _search(
        self, vector: list[float], n: int, where: dict[str, Any] | None, include: list[str]
    ) -> Any:
        return self._collection.query(
            query_embeddings=[vector], n_results=n, where=where, include=include
        )

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]:
        """Stored chunks by id (superseded ones included), in the order asked."""
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

    def page_text(self, document_id: str, page: int) -> str | None:
        """The stored text of a page of a document version (superseded ones included), as
        ingested: what the grounding verifier finds citations' quotes in."""
        stored = self.registry.page(document_id, page)
        return stored.text if stored else None


def _and(scope: dict[str, Any], where: dict[str, Any] | None) -> dict[str, Any]:
    return {"$and": [scope, where]} if where else scope


def _keep_visible(result: Any, visible: set[str]) -> Any:
    """The query result without rows of documents that are not active."""
    rows = [i for i, meta in enumerate(result["metadatas"][0]) if meta["document_id"] in visible]
    kept = {}
    for field in ("ids", "documents", "metadatas", "distances", "embeddings"):
        values = result.get(field)
        kept[field] = None if values is None else [[values[0][i] for i in rows]]
    return kept


def _meta(metadata: Any) -> dict[str, Any]:
    """Chunk fields from Chroma metadata; chunks written before tables and source offsets
    existed lack those keys."""
    source = metadata.get("source_start"), metadata.get("source_end")
    return {
        "document": str(metadata["document"]),
        "document_sha256": str(metadata["document_sha256"]),
        "title": str(metadata["title"]),
        "page": int(metadata["page"]),
        "start": int(metadata["start"]),
        "end": int(metadata["end"]),
        "kind": str(metadata.get("kind") or "text"),
        "source_start": None if source[0] is None else int(source[0]),
        "source_end": None if source[1] is None else int(source[1]),
        "cells": [TableCell(**c) for c in json.loads(metadata.get("cells") or "[]")],
        "headings": [Heading(**h) for h in json.loads(metadata.get("headings") or "[]")],
    }
