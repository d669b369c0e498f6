"""The ``clinsynth`` command: ingest guidelines, generate patients, serve the API."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from service.cli_apikeys import apikey_app
from service.cli_batches import batches_app, worker
from service.cli_common import (
    AgeOption,
    BlockOption,
    DiagnosisOption,
    FormatOption,
    LanguageOption,
    OutputFormat,
    RelapseOption,
    SecondTumourOption,
    SeedOption,
    SexOption,
    configuration_errors,
    err,
    error,
    say,
    settings_of,
)
from service.cli_documents import documents_app, search
from service.cli_eval import evaluate
from service.cli_export import export
from service.cli_report import report
from service.cli_tabular import tabular, tabular_report
from service.cli_validate import validate
from service.offline import enforce_offline
from service.requests import MAX_SEED
from service.settings import Settings

app = typer.Typer(
    help="On-premises synthetic patient records grounded in clinical guidelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(documents_app, name="documents")
app.add_typer(apikey_app, name="apikey")
app.add_typer(batches_app, name="batches")
app.command()(worker)
app.command()(search)
app.command()(export)
app.command()(report)
app.command()(validate)
app.command(name="eval")(evaluate)
app.command()(tabular)
app.command(name="tabular-report")(tabular_report)


@app.callback()
def _entry(ctx: typer.Context) -> None:
    enforce_offline()
    try:
        ctx.obj = Settings()
    except ValueError as exc:
        error(f"invalid configuration: {exc}")
        raise typer.Exit(2) from exc


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="PDF files or folders of PDFs")],
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Tag the documents (repeatable)")
    ] = None,
) -> None:
    """Ingest guideline PDFs (unchanged files are skipped, new versions replace old ones)."""
    from ingest.pipeline import IngestResult, StoreWriteError, find_pdfs, ingest_paths
    from service.components import build_knowledge_store, ingest_options

    settings = settings_of(ctx)
    try:
        pdfs = find_pdfs(paths)
    except FileNotFoundError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    if not pdfs:
        error("no PDF files found in " + ", ".join(map(str, paths)))
        raise typer.Exit(2)
    with configuration_errors():
        store = build_knowledge_store(settings)
    options = ingest_options(settings, tag or ())

    def report(result: IngestResult) -> None:
        if result.status == "failed":
            err.print("[red]failed[/red]    " + escape(str(result.error)))
        elif result.status == "unchanged":
            say(f"unchanged {result.path} (already ingested as {result.document_id})")
        else:
            replaced = f", replaces {', '.join(result.superseded)}" if result.superseded else ""
            say(
                f"{result.status:<9} {result.path}: {result.pages} pages, {result.chunks} chunks "
                f"(document {result.document_id}{replaced})"
            )
        bars.file_done()

    with _ProgressBars(len(pdfs)) as bars:
        try:
            results = ingest_paths(pdfs, store, options, on_result=report, progress=bars)
        except StoreWriteError as exc:
            error(f"{exc}; nothing unfinished is visible, run the ingest again to resume")
            raise typer.Exit(1) from exc
    failed = sum(r.status == "failed" for r in results)
    say(f"{len(pdfs) - failed} of {len(pdfs)} files ok; {store.count()} chunks in the store")
    if failed:
        raise typer.Exit(1)


class _ProgressBars:
    """Files, pages and chunks bars on stderr, fed by the ingestion pipeline."""

    def __init__(self, files: int):
        self._progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._files = self._progress.add_task("files", total=files)
        self._pages = self._progress.add_task("pages", total=None)
        self._chunks = self._progress.add_task("chunks embedded", total=None)

    def __enter__(self) -> _ProgressBars:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def start(self, path: Path, pages: int) -> None:
        self._progress.update(self._files, description=f"files ({path.name[:20]})")
        self._progress.reset(self._pages, total=pages)

    def advance(self, pages: int, chunks: int) -> None:
        self._progress.advance(self._pages, pages)
        self._progress.advance(self._chunks, chunks)

    def file_done(self) -> None:
        self._progress.advance(self._files)


@app.command()
def generate(
    ctx: typer.Context,
    prompt: Annotated[
        str | None,
        typer.Option("--prompt", "-p", help="The patient, in plain English or Spanish"),
    ] = None,
    count: Annotated[int, typer.Option(min=1, max=1000, help="How many patients")] = 1,
    seed: SeedOption = None,
    output: FormatOption = OutputFormat.text,
    age: AgeOption = None,
    sex: SexOption = None,
    diagnosis: DiagnosisOption = None,
    block: BlockOption = None,
    relapse: RelapseOption = None,
    second_tumour: SecondTumourOption = None,
    language: LanguageOption = None,
) -> None:
    """Generate synthetic patients, store them, and print them with their citations.

    Describe the patient with --prompt, with the other options, or both (options win)."""
    from service.components import (
        build_generator,
        build_knowledge_store,
        build_language_model,
        build_record_store,
    )
    from service.generation import GenerationError
    from service.render import render_record
    from service.repair import generate_checked
    from service.requests import RequestError, request_from, seed_at
    from service.validation import build_validator

    settings = settings_of(ctx)
    try:  # before any model loads: a bad request fails fast
        request = request_from(
            prompt=prompt,
            age=age,
            sex=sex,
            diagnosis=diagnosis,
            blocks=block,
            relapse=relapse,
            second_tumour=second_tumour,
            language=language,
        )
    except RequestError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    for note in request.overrides:
        say(f"note: {note}")
    if seed is None:
        seed = secrets.randbelow(MAX_SEED + 1)
        say(f"seed {seed}")
    with configuration_errors():
        store = build_knowledge_store(settings)
        records_db = build_record_store(settings)
        generator = build_generator(settings, store, build_language_model(settings))
    validator = build_validator(settings, store)
    records = []
    failing = 0
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
            for index in range(count):
                checked = generate_checked(
                    generator,
                    validator,
                    request,
                    seed=seed_at(seed, index),
                    max_rounds=settings.repair_rounds,
                )
                made = checked.made
                records_db.save(
                    made.record, seconds=made.seconds, validation=checked.validation_json
                )
                records.append(made.record)
                if checked.validation is not None and not checked.validation.passed:
                    failing += 1
                    ids = ", ".join(
                        sorted(
                            {
                                f.rule_id
                                for f in checked.validation.failures
                                if f.severity == "error"
                            }
                        )
                    )
                    say(f"{made.record.record_id}: fails {ids} (see `clinsynth validate`)")
                progress.advance(task)
    except RequestError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    except GenerationError as exc:
        kept = _keep_failure(settings.home, request.prompt, seed_at(seed, len(records)), exc)
        error(f"{exc} (raw output kept in {kept})")
        raise typer.Exit(1) from exc
    if output is OutputFormat.json:
        typer.echo(
            json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False, indent=2)
        )
    else:
        for record in records:
            typer.echo(render_record(record) + "\n")
    passed = f", {len(records) - failing} passing every rule" if records else ""
    say(f"{len(records)} patient(s) stored in {settings.db_url}{passed}")


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

    settings = settings_of(ctx)
    settings = settings.model_copy(
        update={"host": host or settings.host, "port": port or settings.port}
    )
    with configuration_errors():
        api = create_app(settings)  # refuses auth disabled on a non-loopback address
    uvicorn.run(api, host=settings.host, port=settings.port)


@app.command()
def compare(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="The patient to generate")],
    backends: Annotated[
        str, typer.Option(help="Comma-separated: local (llama.cpp GGUF), openai")
    ] = "local,openai",
    count: Annotated[int, typer.Option(min=1, max=100, help="Records per backend")] = 1,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seed of the first record")] = 1,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Run the same requests through several backends and report them side by side."""
    from models.base import BackendError
    from service.compare import BACKEND_ALIASES, compare_backends, format_report
    from service.components import build_knowledge_store, build_language_model
    from service.requests import RequestError

    settings = settings_of(ctx)
    labels = list(dict.fromkeys(b.strip() for b in backends.split(",") if b.strip()))
    unknown = [label for label in labels if label not in BACKEND_ALIASES]
    if not labels or unknown:
        error(f"unknown backend(s) {', '.join(unknown) or '(none)'}; use local and/or openai")
        raise typer.Exit(2)
    with configuration_errors():  # models first: a misconfigured backend fails fast
        models = {label: build_language_model(settings, BACKEND_ALIASES[label]) for label in labels}
        store = build_knowledge_store(settings)
    try:
        runs = compare_backends(
            settings, store, models, prompt=prompt, seed=seed, count=count, progress=say
        )
    except RequestError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    except BackendError as exc:
        error(str(exc))
        raise typer.Exit(1) from exc
    finally:
        for model in models.values():
            model.close()
    if output is OutputFormat.json:
        typer.echo(json.dumps([r.summary() for r in runs], ensure_ascii=False, indent=2))
    else:
        typer.echo(format_report(runs, prompt=prompt, seed=seed))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
