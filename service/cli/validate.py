"""``clinsynth validate``: clinical rules, code vocabularies and citation grounding.

Validates a JSON file of records a user brings (nothing is stored), the stored records of
one batch, or every stored record (their results are stored with them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from service.cli.common import (
    FormatOption,
    OutputFormat,
    components_of,
    configuration_errors,
    error,
    say,
    settings_of,
)
from service.records import PatientRecord

if TYPE_CHECKING:
    from service.storage.patients import RecordStore
    from service.validation import ValidationResult

PAGE = 100
SHOWN_SCHEMA_ERRORS = 3


class RecordFileError(ValueError):
    """A records file that cannot be read as records; the message names where and why."""


def read_records(path: Path) -> list[PatientRecord]:
    """Records from a JSON array, a single record object, or NDJSON (one per line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RecordFileError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise RecordFileError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise RecordFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    items = list(_json_items(path, text))
    if not items:
        raise RecordFileError(f"{path}: contains no records")
    return [_record(path, where, data) for where, data in items]


def _json_items(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    if not text.strip():
        raise RecordFileError(f"{path}: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data" or text.lstrip().startswith("["):
            raise _position(path, exc) from exc
        yield from _ndjson_items(path, text)  # several JSON values: one record per line
        return
    if isinstance(data, list):
        yield from ((f"record {i}", item) for i, item in enumerate(data, start=1))
    else:
        yield "record 1", data


def _ndjson_items(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordFileError(
                f"{path}: invalid JSON at line {number}, column {exc.colno}: {exc.msg}"
            ) from exc
        count += 1
        yield f"record {count} (line {number})", data


def _position(path: Path, exc: json.JSONDecodeError) -> RecordFileError:
    return RecordFileError(
        f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    )


def _record(path: Path, where: str, data: Any) -> PatientRecord:
    if not isinstance(data, dict):
        raise RecordFileError(f"{path}: {where} is a JSON {type(data).__name__}, not an object")
    try:
        return PatientRecord.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors()]
        more = len(problems) - SHOWN_SCHEMA_ERRORS
        shown = "; ".join(problems[:SHOWN_SCHEMA_ERRORS]) + (
            f" (and {more} more)" if more > 0 else ""
        )
        raise RecordFileError(
            f"{path}: {where} does not fit the patient record schema: {shown}"
        ) from exc


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(record)"


def validate(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(
            help="JSON file of records: an array of records, one record object, or NDJSON "
            "(one record per line). Its records are validated, not stored.",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[
        str | None,
        typer.Option("--batch", help="Validate the stored records of this batch id"),
    ] = None,
    output: FormatOption = OutputFormat.text,
    grounding: Annotated[
        bool,
        typer.Option(
            "--grounding/--no-grounding",
            help="Check citations against the knowledge store (off: grounding is skipped)",
        ),
    ] = True,
) -> None:
    """Validate records: clinical rules, ICD-O-3 and ATC codes, citation grounding.

    No FILE and no --batch: every stored record. Stored records keep their result.

    JSON output: per record, each failed rule id with its message, as stored.

    Exit status: 0 all pass (warnings allowed), 1 a rule of severity error fails, 2 bad input.
    """
    from service.validation import build_validator

    settings = settings_of(ctx)
    if file is not None and batch is not None:
        error("give a FILE or --batch ID, not both")
        raise typer.Exit(2)
    records: Iterable[PatientRecord]
    store: RecordStore | None = None
    if file is not None:
        try:
            records = read_records(file)
        except RecordFileError as exc:
            error(str(exc))
            raise typer.Exit(2) from exc
    else:
        with configuration_errors():
            store = components_of(ctx).records
        total = store.count(batch_id=batch)
        if total == 0:
            if batch is not None:
                error(f"no stored records in batch {batch}")
                raise typer.Exit(2)
            say("no stored records; generate some or pass a FILE")
            return
        records = _stored(store, batch)
    with configuration_errors():
        knowledge = components_of(ctx).knowledge if grounding else None
        validator = build_validator(settings, knowledge)
    if knowledge is not None and knowledge.stored_chunks() == 0:
        say("the knowledge store is empty: citations cannot resolve (ingest guidelines first)")
    summary = _Summary()
    if output is OutputFormat.json:
        typer.echo("[")
    for record in records:
        result = validator.validate(record)
        if store is not None:
            store.set_validation(record.record_id, result)
        summary.add(result)
        if output is OutputFormat.json:
            separator = "," if summary.records > 1 else ""
            typer.echo(separator + result.model_dump_json(indent=2))
        else:
            for f in result.failures:
                typer.echo(f"{record.record_id}  {f.severity:<7}  {f.rule_id}  {f.message}")
    if output is OutputFormat.json:
        typer.echo("]")
    else:
        typer.echo(summary.line())
    if store is not None:
        say(f"results stored with {summary.records} record(s)")
    if summary.failed:
        raise typer.Exit(1)


def _stored(store: RecordStore, batch: str | None) -> Iterator[PatientRecord]:
    offset = 0
    while page := store.list(limit=PAGE, offset=offset, batch_id=batch):
        yield from page
        offset += len(page)


class _Summary:
    def __init__(self) -> None:
        self.records = self.failed = self.errors = self.warnings = 0
        self.items = self.verified = 0
        self.skipped = False

    def add(self, result: ValidationResult) -> None:
        self.records += 1
        self.failed += not result.passed
        self.errors += sum(f.severity == "error" for f in result.failures)
        self.warnings += sum(f.severity == "warning" for f in result.failures)
        self.items += result.grounding.items
        self.verified += result.grounding.verified
        self.skipped = result.grounding.skipped

    def line(self) -> str:
        grounding = (
            "grounding skipped"
            if self.skipped
            else f"grounding: {self.verified} of {self.items} cited items verified"
        )
        return (
            f"{self.records} record(s): {self.records - self.failed} passed, {self.failed} "
            f"failed ({self.errors} errors, {self.warnings} warnings); {grounding}"
        )
