"""The ``clinsynth`` command: ingest guidelines, generate patients, serve the API."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from service.offline import enforce_offline
from service.settings import Settings

app = typer.Typer(
    help="On-premises synthetic patient records grounded in clinical guidelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def _say(message: str) -> None:
    err.print(escape(message))


def _error(message: str) -> None:
    err.print("[red]error:[/red] " + escape(message))


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@contextmanager
def _configuration_errors() -> Iterator[None]:
    """A missing model file or an unreachable database is one clear line, exit status 2."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (OSError, RuntimeError, ValueError, SQLAlchemyError) as exc:
        _error(f"cannot start: {exc}")
        raise typer.Exit(2) from exc


@app.callback()
def _entry(ctx: typer.Context) -> None:
    enforce_offline()
    try:
        ctx.obj = Settings()
    except ValueError as exc:
        _error(f"invalid configuration: {exc}")
        raise typer.Exit(2) from exc


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="PDF files or folders of PDFs")],
) -> None:
    """Ingest guideline PDFs into the knowledge store (unchanged files are skipped)."""
    from ingest.pipeline import find_pdfs, ingest_file
    from service.components import build_knowledge_store

    settings = _settings(ctx)
    try:
        pdfs = find_pdfs(paths)
    except FileNotFoundError as exc:
        _error(str(exc))
        raise typer.Exit(2) from exc
    if not pdfs:
        _error("no PDF files found in " + ", ".join(map(str, paths)))
        raise typer.Exit(2)
    with _configuration_errors():
        store = build_knowledge_store(settings)
    failed = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("ingesting", total=len(pdfs))
        for pdf in pdfs:
            progress.update(task, description=f"ingesting {pdf.name}")
            result = ingest_file(
                pdf, store, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
            )
            if result.status == "failed":
                failed += 1
                err.print("[red]failed[/red]   " + escape(str(result.error)))
            elif result.status == "unchanged":
                _say(f"unchanged {pdf} (already ingested, {result.pages} pages)")
            else:
                _say(f"ingested  {pdf}: {result.pages} pages, {result.chunks} chunks")
            progress.advance(task)
    _say(f"{len(pdfs) - failed} of {len(pdfs)} files ok; {store.count()} chunks in the store")
    if failed:
        raise typer.Exit(1)


@app.command()
def generate(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="The patient to generate")],
    count: Annotated[int, typer.Option(min=1, max=1000, help="How many patients")] = 1,
    seed: Annotated[int | None, typer.Option(help="Seed; same seed, same records")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="text or json")] = (
        OutputFormat.text
    ),
) -> None:
    """Generate synthetic patients, store them, and print them with their citations."""
    from service.components import (
        build_generator,
        build_knowledge_store,
        build_language_model,
        build_record_store,
    )
    from service.generation import GenerationError
    from service.render import render_record
    from service.requests import RequestError

    settings = _settings(ctx)
    if seed is None:
        seed = secrets.randbelow(2**31)
        _say(f"seed {seed}")
    with _configuration_errors():
        store = build_knowledge_store(settings)
        records_db = build_record_store(settings)
        generator = build_generator(settings, store, build_language_model(settings))
    records = []
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("generating", total=count)
            for made in generator.iter_generate(prompt, seed=seed, count=count):
                records_db.save(made.record, seconds=made.seconds)
                records.append(made.record)
                progress.advance(task)
    except RequestError as exc:
        _error(str(exc))
        raise typer.Exit(2) from exc
    except GenerationError as exc:
        kept = _keep_failure(settings.home, prompt, seed, exc)
        _error(f"{exc} (raw output kept in {kept})")
        raise typer.Exit(1) from exc
    if output is OutputFormat.json:
        typer.echo(
            json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False, indent=2)
        )
    else:
        for record in records:
            typer.echo(render_record(record) + "\n")
    _say(f"{len(records)} patient(s) stored in {settings.db_url}")


def _keep_failure(home: Path, prompt: str, seed: int, exc: Exception) -> Path:
    folder = home / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-seed{seed}.json"
    raw = getattr(exc, "raw", None)
    path.write_text(
        json.dumps(
            {"prompt": prompt, "seed": seed, "error": str(exc), "raw": raw},
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    return path


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000)")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from service.api import create_app

    settings = _settings(ctx)
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
