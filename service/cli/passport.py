"""``clinsynth passport ID -o FILE.pdf``: a stored patient as a printable Survivorship Passport."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import components_of, configuration_errors, error, say


def passport(
    ctx: typer.Context,
    record_id: Annotated[str, typer.Argument(help="The patient's record id")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The PDF file to write")],
) -> None:
    """Write a stored patient's Survivorship Passport as a PDF.

    Spanish or English, as the record; every page is marked SYNTHETIC PATIENT - NOT A REAL
    PERSON."""
    from service.exports.passport_pdf import render_passport

    with configuration_errors():
        record = components_of(ctx).records.get(record_id)
    if record is None:
        error(f"no patient with id {record_id}")
        raise typer.Exit(1)
    content = render_passport(record)
    try:  # written whole under a temporary name, then renamed into place
        handle, temporary = tempfile.mkstemp(dir=output.parent, suffix=".pdf.part")
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, output)
    except OSError as exc:
        error(f"cannot write {output}: {exc}")
        raise typer.Exit(1) from exc
    say(f"wrote the passport of {record_id} to {output}")
