"""Records as NDJSON: one record a line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from service.records import PatientRecord


def iter_ndjson(records: Iterable[PatientRecord]) -> Iterator[str]:
    for record in records:
        yield record.model_dump_json() + "\n"
