"""``clinsynth export``: a batch (or every stored record) as JSON, NDJSON, CSV or FHIR.

Files are written next to their target under a temporary name and renamed into place when
complete, so a failed export never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from service.cli.common import components_of, configuration_errors, err, error, say
from service.exports.csv import write_csv_folder, write_csv_zip
from service.exports.fhir import FhirConversionError
from service.exports.formats import ExportFormat, iter_text, page_records
from service.records import PatientRecord


def export(
    ctx: typer.Context,
    batch: Annotated[
        str | None, typer.Option("--batch", help="Batch id; every stored record when omitted")
    ] = None,
    output_format: Annotated[
        ExportFormat, typer.Option("--format", help="json, ndjson, csv, fhir or fhir-transaction")
    ] = ExportFormat.json,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File (json, ndjson, fhir), folder or .zip (csv); default stdout"
        ),
    ] = None,
) -> None:
    """Export stored records as JSON, NDJSON, CSV or FHIR R4.

    json: one array; ndjson: one record a line; csv: a zip (or folder) with one file per
    block; fhir: NDJSON of PCSP Survivorship Passports (FHIR R4 document Bundles), one per
    patient; fhir-transaction: NDJSON of FHIR R4 transaction Bundles, one per patient."""
    if output_format is ExportFormat.csv and output is None:
        error("csv writes one file per block: give --output FOLDER or --output FILE.zip")
        raise typer.Exit(2)
    with configuration_errors():
        components = components_of(ctx)
        store = components.records
        known = batch is None or components.batches.exists(batch)
        total = store.count(batch_id=batch)
    if not known:
        error(f"no batch with id {batch}")
        raise typer.Exit(1)
    target = str(output) if output else "stdout"
    with _progress(total) as advance:
        records = advance(page_records(store, batch_id=batch))
        try:
            _write(records, output_format, output)
        except (FhirConversionError, OSError) as exc:
            kept = f"; {output} left as it was" if output else ""
            error(f"export stopped: {exc}{kept}")
            raise typer.Exit(1) from exc
    say(f"exported {total} record(s) as {output_format} to {target}")


def _write(records: Iterable[PatientRecord], fmt: ExportFormat, output: Path | None) -> None:
    if output is None:
        for chunk in iter_text(records, fmt):
            sys.stdout.write(chunk)
        sys.stdout.flush()
    elif fmt is ExportFormat.csv and output.suffix.lower() != ".zip":
        _replace_folder(records, output)
    else:
        with _atomic(output) as handle:
            if fmt is ExportFormat.csv:
                write_csv_zip(records, handle)
            else:
                for chunk in iter_text(records, fmt):
                    handle.write(chunk.encode())


@contextmanager
def _atomic(path: Path) -> Iterator[BinaryIO]:
    """A binary file at a temporary name beside ``path``, renamed onto it on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace_folder(records: Iterable[PatientRecord], folder: Path) -> None:
    """Write the CSV files in a sibling folder, then move each onto ``folder``'s."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        write_csv_folder(records, temp)
        folder.mkdir(exist_ok=True)
        for path in temp.iterdir():
            os.replace(path, folder / path.name)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


class _progress:
    """A records bar on stderr; ``advance(records)`` counts records as they pass."""

    def __init__(self, total: int):
        self._bar = Progress(
            TextColumn("exporting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._task = self._bar.add_task("exporting", total=total)

    def __enter__(self) -> _progress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)

    def __call__(self, records: Iterable[PatientRecord]) -> Iterator[PatientRecord]:
        for record in records:
            yield record
            self._bar.advance(self._task)
