"""Exports of stored records: JSON (``json``), NDJSON (``ndjson``), CSV per block (``csv``)
and FHIR R4 NDJSON, one Bundle per patient: ``fhir`` a PanCareSurPass Survivorship Passport
document Bundle (``service.exports.pcsp``), ``fhir-transaction`` a transaction Bundle to load
into a FHIR server (``service.exports.fhir``).

Every writer takes an iterable of ``PatientRecord`` and streams: records are read a page at
a time (``page_records``) and written as they come, so a batch of any size exports in
bounded memory. This module names the formats and picks the text writer for one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import StrEnum

from sqlalchemy.engine import Engine

from service.batches.store import BatchStore
from service.records import PatientRecord
from service.storage.patients import RecordStore


class ExportFormat(StrEnum):
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    fhir = "fhir"
    fhir_transaction = "fhir-transaction"


MEDIA_TYPES = {
    ExportFormat.json: "application/json",
    ExportFormat.ndjson: "application/x-ndjson",
    ExportFormat.csv: "application/zip",
    ExportFormat.fhir: "application/fhir+ndjson",
    ExportFormat.fhir_transaction: "application/fhir+ndjson",
}
FILE_SUFFIXES = {
    ExportFormat.json: ".json",
    ExportFormat.ndjson: ".ndjson",
    ExportFormat.csv: ".zip",
    ExportFormat.fhir: ".ndjson",
    ExportFormat.fhir_transaction: ".ndjson",
}
PAGE_SIZE = 200


def batch_exists(engine: Engine, batch_id: str) -> bool:
    return BatchStore(engine).exists(batch_id)


def page_records(
    store: RecordStore, *, batch_id: str | None = None, page_size: int = PAGE_SIZE
) -> Iterator[PatientRecord]:
    """A batch's records (every stored record when ``batch_id`` is None), a page at a time."""
    offset = 0
    while True:
        page = store.list(batch_id=batch_id, limit=page_size, offset=offset)
        yield from page
        if len(page) < page_size:
            return
        offset += page_size


def iter_text(records: Iterable[PatientRecord], fmt: ExportFormat) -> Iterator[str]:
    from service.exports.fhir import iter_fhir_ndjson
    from service.exports.json import iter_json
    from service.exports.ndjson import iter_ndjson
    from service.exports.pcsp import iter_document_ndjson

    writers = {
        ExportFormat.json: iter_json,
        ExportFormat.ndjson: iter_ndjson,
        ExportFormat.fhir: iter_document_ndjson,
        ExportFormat.fhir_transaction: iter_fhir_ndjson,
    }
    if fmt not in writers:
        raise ValueError(f"{fmt} is not a text format; use write_csv_folder or write_csv_zip")
    return writers[fmt](records)
