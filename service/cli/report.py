"""``clinsynth report``: a batch's quality report as JSON or a self-contained HTML page."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import components_of, configuration_errors, error, say


class ReportFormat(StrEnum):
    json = "json"
    html = "html"


def report(
    ctx: typer.Context,
    batch: Annotated[str, typer.Option("--batch", help="Batch id")],
    output_format: Annotated[ReportFormat, typer.Option("--format", help="json or html")] = (
        ReportFormat.json
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout")
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Rebuild even if a current report is stored")
    ] = False,
) -> None:
    """Quality report of a batch, as JSON or an HTML page.

    Perplexity, coherence, consistency, outliers, diversity, duplicates and privacy; built
    and stored unless a current one is stored."""
    from service.quality.report import (
        BatchNotFound,
        load_or_build_report,
        render_html,
        stored_report,
    )

    with configuration_errors():
        components = components_of(ctx)
        engine = components.engine
    try:
        found = None if refresh else stored_report(engine, batch)
        if found is None:  # load the models only when there is something to compute
            with configuration_errors():
                store = components.knowledge
                model = components.model
            try:
                say(f"computing the report of batch {batch} with {model.name}")
                found = load_or_build_report(
                    engine, batch, scorer=model, embedder=store.embedder, chunks=store, refresh=True
                )
            finally:
                model.close()
    except BatchNotFound as exc:
        error(str(exc))
        raise typer.Exit(1) from exc
    text = (
        render_html(found)
        if output_format is ReportFormat.html
        else found.model_dump_json(indent=2) + "\n"
    )
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        error(f"cannot write {output}: {exc}")
        raise typer.Exit(2) from exc
    say(f"report of batch {batch} ({found.counts.records} records) written to {output}")
