"""``clinsynth ingest``: guideline PDFs into the knowledge store, with progress bars."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ingest.options import Extraction
from service.cli.common import configuration_errors, err, error, say, settings_of

if TYPE_CHECKING:
    from ingest.pipeline import IngestResult


def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="PDF files or folders of PDFs")],
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Tag the documents (repeatable)")
    ] = None,
    no_ocr: Annotated[
        bool, typer.Option("--no-ocr", help="Refuse documents without a text layer (no OCR)")
    ] = False,
    extract: Annotated[
        Extraction,
        typer.Option(
            "--extract",
            help="Fact extraction: 'patterns' (vocabularies and patterns), or 'model' "
            "(then the configured model proposes more doses; kept only if literally in "
            "their quote on the page)",
        ),
    ] = "patterns",
) -> None:
    """Ingest guideline PDFs (unchanged files are skipped, new versions replace old ones)."""
    from ingest.pipeline import StoreWriteError, find_pdfs, ingest_paths
    from service.components import build_services

    settings = settings_of(ctx)
    try:
        pdfs = find_pdfs(paths)
    except FileNotFoundError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    if not pdfs:
        error("no PDF files found in " + ", ".join(map(str, paths)))
        raise typer.Exit(2)
    components = build_services(settings)
    with configuration_errors():
        store = components.knowledge
    options = replace(components.ingest_options(tag or (), ocr=not no_ocr), extract=extract)
    model = None
    if extract == "model":
        with configuration_errors():
            model = components.model

    def report(result: IngestResult) -> None:
        if result.status == "failed":
            err.print("[red]failed[/red]    " + escape(str(result.error)))
        elif result.status == "unchanged":
            say(f"unchanged {result.path} (already ingested as {result.document_id})")
            if extract == "model":
                say(
                    "          model pass: not run (the facts of unchanged files stay; "
                    "delete the document and ingest it again to add the model's)"
                )
        else:
            replaced = f", replaces {', '.join(result.superseded)}" if result.superseded else ""
            say(
                f"{result.status:<9} {result.path}: {result.pages} pages, {result.chunks} chunks "
                f"(document {result.document_id}{replaced})"
            )
        if result.status != "failed":
            _report_facts(result)
        bars.file_done()

    with _ProgressBars(len(pdfs)) as bars:
        try:
            results = ingest_paths(
                pdfs, store, options, on_result=report, progress=bars, model=model
            )
        except StoreWriteError as exc:
            error(f"{exc}; nothing unfinished is visible, run the ingest again to resume")
            raise typer.Exit(1) from exc
    failed = sum(r.status == "failed" for r in results)
    say(f"{len(pdfs) - failed} of {len(pdfs)} files ok; {store.count()} chunks in the store")
    if failed:
        raise typer.Exit(1)


def _report_facts(result: IngestResult) -> None:
    """The facts indexed, by kind; a warning when none is a treatment fact."""
    from knowledge.facts import FACT_KINDS, TREATMENT_KINDS

    found = ", ".join(f"{result.facts[k]} {k}" for k in FACT_KINDS if result.facts.get(k))
    say(f"          facts: {found or 'none'}")
    if (stats := result.model_pass) is not None:
        dropped = ", ".join(f"{n} {why}" for why, n in sorted(stats.dropped.items()))
        say(
            f"          model pass: {stats.proposed} proposed in {stats.windows} passages, "
            f"{stats.kept} kept ({stats.new} not found by the patterns), "
            f"{stats.seconds:.1f} s" + (f"; dropped: {dropped}" if dropped else "")
        )
        if stats.errors:
            err.print(
                f"[yellow]warning[/yellow]   model pass: {len(stats.errors)} passages without "
                f"a usable answer, e.g. {escape(stats.errors[0])}"
            )
    if not any(result.facts.get(kind) for kind in TREATMENT_KINDS):
        err.print(
            f"[yellow]warning[/yellow]   {escape(str(result.path))}: no treatment facts "
            "(doses, regimens, radiotherapy, surgery, transplant, supportive care) found"
        )


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
