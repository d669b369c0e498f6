"""Records as CSV, one file per block, in a folder or a zip.

CSV: one file per block, one row per item, keyed by ``record_id`` (and ``context`` +
``item`` for repeatable items: ``item`` is the 0-based index in the record's list; ``context``
says which list: ``primary``, ``relapse`` or ``second_tumour``). Nested objects become
dotted columns (``boost.site``); lists are joined with "; " (a list of objects gives one
column per field, values aligned, inner lists joined with ", "). Citations are left out of
the block files and go to ``citations.csv``, keyed by block, context and item. Headers come
from the schema, so every file exists with its header even when no record fills it. Text
that a spreadsheet would run as a formula is quoted (``service.exports.cells``).
"""

from __future__ import annotations

import csv
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import UnionType
from typing import IO, Any, Union, get_args, get_origin

from pydantic import BaseModel

from service.exports.cells import safe_row
from service.records import (
    ChemotherapyAdministration,
    Demographics,
    Diagnosis,
    IntrathecalTherapy,
    Others,
    PatientRecord,
    Provenance,
    RadiotherapyCourse,
    StemCellTransplant,
    Surgery,
)

_KEY = ["record_id"]
_ITEM = ["record_id", "context", "item"]


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``Model``, ``Model | None`` or ``list[Model]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, UnionType):
        for arg in get_args(annotation):
            if (model := _nested_model(arg)) is not None:
                return model
    return None


def _columns(model: type[BaseModel], skip: frozenset[str], prefix: str = "") -> list[str]:
    columns = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        nested = _nested_model(field.annotation)
        if nested is None:
            columns.append(prefix + name)
        else:
            columns += _columns(nested, frozenset({"citations"}), f"{prefix}{name}.")
    return columns


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten(value: Any, prefix: str, out: dict[str, str], sep: str = "; ") -> dict[str, str]:
    """JSON-mode ``value`` as dotted columns; lists of objects give aligned joined columns."""
    if value is None or value == []:
        pass  # restval fills the columns with ""
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "citations":
                _flatten(item, f"{prefix}{key}" if not prefix else f"{prefix}.{key}", out, sep)
    elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
        flat = [_flatten(v, prefix, {}, ", ") for v in value]
        for column in dict.fromkeys(c for row in flat for c in row):
            out[column] = "; ".join(row.get(column, "") for row in flat)
    elif isinstance(value, list):
        out[prefix] = sep.join(_cell(v) for v in value)
    else:
        out[prefix] = _cell(value)
    return out


def _row(key: dict[str, Any], item: BaseModel, exclude: set[str] | None = None) -> dict[str, str]:
    return {**key, **_flatten(item.model_dump(mode="json", exclude=exclude), "", {})}


_DIAGNOSIS = _columns(Diagnosis, frozenset({"citations"}))
_CITED = frozenset({"citations"})
CSV_COLUMNS: dict[str, list[str]] = {
    "records": [
        *_KEY,
        "summary",
        "corticosteroids_over_4_weeks",
        *_columns(Provenance, frozenset(), "provenance."),
    ],
    "demographics": _KEY + _columns(Demographics, frozenset()),
    "diagnosis": _KEY + _DIAGNOSIS,
    "chemotherapy": _ITEM + _columns(ChemotherapyAdministration, _CITED),
    "intrathecal": _KEY + _columns(IntrathecalTherapy, _CITED),
    "radiotherapy": _ITEM + _columns(RadiotherapyCourse, _CITED),
    "surgery": _ITEM + _columns(Surgery, _CITED),
    "hsct": _ITEM + _columns(StemCellTransplant, _CITED),
    "others": _KEY + _columns(Others, _CITED),
    "relapse": _KEY + ["date", "site"],
    "second_tumour": _KEY + _DIAGNOSIS,
    "citations": ["record_id", "block", "context", "item", "citation"]
    + ["chunk_id", "document", "page", "quote"],
}
CSV_FILES = tuple(f"{block}.csv" for block in CSV_COLUMNS)


def csv_rows(record: PatientRecord) -> Iterator[tuple[str, dict[str, Any]]]:
    """(block, row) pairs of one record, citations last."""
    rid = {"record_id": record.record_id}
    cited: list[tuple[str, str, int, BaseModel]] = []  # (block, context, item, cited item)
    meta = {
        "summary": record.summary,
        "corticosteroids_over_4_weeks": record.corticosteroids_over_4_weeks,
        "provenance": record.provenance.model_dump(mode="json"),
    }
    yield "records", _flatten(meta, "", dict(rid))
    yield "demographics", _row(rid, record.demographics)
    yield "diagnosis", _row(rid, record.diagnosis)
    cited.append(("diagnosis", "primary", 0, record.diagnosis))
    lists: list[tuple[str, str, list[Any]]] = [
        ("chemotherapy", "primary", record.chemotherapy),
        ("radiotherapy", "primary", record.radiotherapy),
        ("surgery", "primary", record.surgery),
        ("hsct", "primary", record.hsct),
    ]
    if record.intrathecal:
        yield "intrathecal", _row(rid, record.intrathecal)
        cited.append(("intrathecal", "primary", 0, record.intrathecal))
    if record.others:
        yield "others", _row(rid, record.others)
        cited.append(("others", "primary", 0, record.others))
    if relapse := record.relapse:
        yield "relapse", _row(rid, relapse, {"second_line", "second_line_radiotherapy"})
        cited.append(("relapse", "relapse", 0, relapse))
        lists += [
            ("chemotherapy", "relapse", relapse.second_line),
            ("radiotherapy", "relapse", relapse.second_line_radiotherapy),
        ]
    if second := record.second_tumour:
        yield "second_tumour", _row(rid, second.diagnosis)
        cited.append(("second_tumour", "second_tumour", 0, second.diagnosis))
        lists += [
            ("chemotherapy", "second_tumour", second.chemotherapy),
            ("radiotherapy", "second_tumour", second.radiotherapy),
            ("surgery", "second_tumour", second.surgery),
        ]
    for block, context, items in lists:
        for i, item in enumerate(items):
            yield block, _row({**rid, "context": context, "item": i}, item)
            cited.append((block, context, i, item))
    for block, context, i, item in cited:
        for n, c in enumerate(getattr(item, "citations", [])):
            key: dict[str, Any] = {**rid, "block": block, "context": context, "item": i}
            yield "citations", {**key, "citation": n, **c.model_dump(mode="json")}


class CsvTables:
    """The per-block CSV files of an export, open for writing in ``folder``."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = [folder / name for name in CSV_FILES]
        self._files: list[IO[str]] = []
        self._writers: dict[str, csv.DictWriter[str]] = {}
        try:
            for block, path in zip(CSV_COLUMNS, self.paths, strict=True):
                handle = path.open("w", newline="", encoding="utf-8")
                self._files.append(handle)
                writer = csv.DictWriter(
                    handle, CSV_COLUMNS[block], restval="", extrasaction="raise"
                )
                writer.writeheader()
                self._writers[block] = writer
        except BaseException:
            self.close()
            raise

    def write(self, record: PatientRecord) -> None:
        for block, row in csv_rows(record):
            self._writers[block].writerow(safe_row(row))

    def close(self) -> None:
        for handle in self._files:
            handle.close()

    def __enter__(self) -> CsvTables:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_csv_folder(records: Iterable[PatientRecord], folder: Path) -> int:
    """Write ``CSV_FILES`` into ``folder``; returns the number of records."""
    count = 0
    with CsvTables(folder) as tables:
        for record in records:
            tables.write(record)
            count += 1
    return count


def write_csv_zip(records: Iterable[PatientRecord], target: Path | IO[bytes]) -> int:
    """The CSV files zipped (fixed timestamps: same records, same bytes); returns records."""
    with tempfile.TemporaryDirectory(prefix="clinsynth-csv-") as tmp:
        count = write_csv_folder(records, Path(tmp))
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in CSV_FILES:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with (Path(tmp) / name).open("rb") as source, archive.open(info, "w") as sink:
                    shutil.copyfileobj(source, sink)
    return count
