"""``clinsynth report``: a batch's quality report as JSON or a self-contained HTML page."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from service.cli_common import configuration_errors, error, say, settings_of


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
    """Quality report of a batch (perplexity, coherence, consistency, outliers, diversity,
    duplicates, privacy); built and stored unless a current one is stored."""
    from service.components import build_record_store
    from service.validation.report import (
        BatchNotFound,
        load_or_build_report,
        render_html,
        stored_report,
    )

    settings = settings_of(ctx)
    with configuration_errors():
        engine = build_record_store(settings).engine
    try:
        found = None if refresh else stored_report(engine, batch)
        if found is None:  # load the models only when there is something to compute
            from service.components import build_knowledge_store, build_language_model

            with configuration_errors():
                store = build_knowledge_store(settings, engine)
                model = build_language_model(settings)
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
