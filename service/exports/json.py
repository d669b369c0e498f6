"""Records as one JSON array, streamed one record at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from service.records import PatientRecord


def iter_json(records: Iterable[PatientRecord]) -> Iterator[str]:
    """One JSON array, streamed one record at a time."""
    first = True
    for record in records:
        yield ("[\n" if first else ",\n") + record.model_dump_json()
        first = False
    yield "[]\n" if first else "\n]\n"
