"""A batch's quality report kept with its batch, rebuilt only when the batch gained records
or validations since it was built. ``service.quality.metrics.build_report`` computes it;
``service.quality.html`` renders it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from knowledge.chunks import GuidelineChunk
from service.batches.store import BatchNotFound, BatchStore
from service.quality.html import render_html
from service.quality.metrics import TextEmbedder, TextScorer, build_report, prompt_examples
from service.quality.models import BatchReport
from service.records import PatientRecord
from service.storage.patients import RecordStore
from service.validation import ValidationResult

log = logging.getLogger(__name__)

__all__ = [
    "BatchNotFound",
    "BatchReport",
    "ReportNotStored",
    "ReportOutdated",
    "current_report",
    "load_or_build_report",
    "render_html",
    "store_batch_report",
    "stored_report",
]


class KnowledgeLookup(Protocol):
    """The knowledge store as the report uses it: its embedder and stored chunks."""

    @property
    def embedder(self) -> TextEmbedder: ...

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]: ...


class ChunkLookup(Protocol):
    """Stored chunks by id (``knowledge.store.KnowledgeStore.get``)."""

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]: ...


def store_batch_report(engine: Engine, batch_id: str, report: BatchReport) -> None:
    """Keep ``report`` with its batch; BatchNotFound for an unknown batch."""
    BatchStore(engine).save_report(batch_id, report.model_dump(mode="json"))


def stored_report(engine: Engine, batch_id: str) -> BatchReport | None:
    """The stored report while it is current (the batch has the same number of records and
    of validated records as when it was built); None otherwise. BatchNotFound if unknown."""
    stored = BatchStore(engine).report(batch_id)
    if stored is None:
        return None
    try:
        report = BatchReport.model_validate(stored)
    except ValidationError:  # written by an older version of this schema: rebuild
        return None
    current = (report.counts.records, report.counts.validated)
    return report if current == RecordStore(engine).batch_counts(batch_id) else None


class ReportNotStored(LookupError):
    """The batch has no stored report yet (it is built when the batch finishes)."""


class ReportOutdated(LookupError):
    """The stored report predates records or validations the batch has gained since."""


def current_report(engine: Engine, batch_id: str) -> BatchReport:
    """The stored report, read only: nothing is built here (reads never run the model).

    BatchNotFound, ReportNotStored (none, or one of an older schema) or ReportOutdated."""
    stored = BatchStore(engine).report(batch_id)
    if stored is None:
        raise ReportNotStored(f"batch {batch_id} has no stored report yet")
    try:
        report = BatchReport.model_validate(stored)
    except ValidationError as exc:
        raise ReportNotStored(f"batch {batch_id}'s stored report is of an older version") from exc
    counts = RecordStore(engine).batch_counts(batch_id)
    if (report.counts.records, report.counts.validated) != counts:
        raise ReportOutdated(
            f"batch {batch_id}'s stored report covers {report.counts.records} records "
            f"({report.counts.validated} validated); the batch now has {counts[0]} "
            f"({counts[1]} validated)"
        )
    return report


def batch_contents(
    engine: Engine, batch_id: str
) -> tuple[list[PatientRecord], list[ValidationResult | None], int]:
    """The batch's records in batch order, their stored validations, and its total."""
    total = BatchStore(engine).total(batch_id)
    items = RecordStore(engine).batch_items(batch_id)
    return [record for record, _ in items], [validation for _, validation in items], total


def cited_passages(records: Sequence[PatientRecord], chunks: ChunkLookup | None) -> list[str]:
    """Full texts of the chunks retrieved for the records (what the model was shown)."""
    if chunks is None:
        return []
    ids = list(
        dict.fromkeys(
            [c.chunk_id for r in records for c in r.provenance.chunks]
            + [c.chunk_id for r in records for c in r.citations()]
        )
    )
    return [chunk.text for chunk in chunks.get(ids)]


def load_or_build_report(
    engine: Engine,
    batch_id: str,
    *,
    scorer: TextScorer | None,
    embedder: TextEmbedder | None,
    chunks: ChunkLookup | None = None,
    examples: Sequence[str] | None = None,
    refresh: bool = False,
) -> BatchReport:
    """The stored report if still current (and not ``refresh``), else a new one, stored.

    Privacy checks the narratives against the full text of every chunk the records were
    built from (``chunks``) and the prompt templates' examples (``examples``, by default
    those of ``prompts/templates``). BatchNotFound for an unknown batch.
    """
    if not refresh and (current := stored_report(engine, batch_id)) is not None:
        return current
    records, validations, total = batch_contents(engine, batch_id)
    report = build_report(
        records,
        validations,
        scorer=scorer,
        embedder=embedder,
        corpus_passages=cited_passages(records, chunks),
        examples=prompt_examples() if examples is None else examples,
        batch_id=batch_id,
        requested=total,
    )
    store_batch_report(engine, batch_id, report)
    return report


def report_builder(
    engine: Engine, scorer: TextScorer | None, knowledge: KnowledgeLookup | None
) -> Callable[[str], None]:
    """What a batch executor calls when a batch is done: build and store its quality report
    (scored by ``scorer``, embedded and checked for privacy with ``knowledge``)."""

    def build(batch_id: str) -> None:
        load_or_build_report(
            engine,
            batch_id,
            scorer=scorer,
            embedder=knowledge.embedder if knowledge is not None else None,
            chunks=knowledge,
        )
        log.info("stored the quality report of batch %s", batch_id)

    return build
