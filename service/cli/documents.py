"""``clinsynth documents`` and ``clinsynth search``: the knowledge base as users see it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from service.cli.common import (
    FormatOption,
    OutputFormat,
    components_of,
    configuration_errors,
    error,
    say,
)

documents_app = typer.Typer(
    help="List and delete ingested guideline documents.", no_args_is_help=True
)


@documents_app.command("list")
def list_documents(
    ctx: typer.Context,
    output: FormatOption = OutputFormat.text,
    all_versions: Annotated[
        bool, typer.Option("--all", help="Include superseded versions")
    ] = False,
) -> None:
    """Documents in the registry: id, file name, pages, language, OCR, chunks, sha256."""
    with configuration_errors():
        store = components_of(ctx).knowledge
    documents = store.registry.documents(include_superseded=all_versions)
    if output is OutputFormat.json:
        typer.echo(json.dumps([d.as_json() for d in documents], indent=2))
        return
    if not documents:
        say("no documents; run `clinsynth ingest PATH...`")
    for d in documents:
        tags = f" [{', '.join(d.tags)}]" if d.tags else ""
        ocr = f"OCR {d.ocr_pages} p. conf {d.ocr_confidence or 0:.2f}" if d.ocr_pages else "no OCR"
        typer.echo(
            f"{d.document_id}  {d.file_name}  {d.pages} pages  {d.language or '?'}  {ocr}  "
            f"{d.chunks} chunks  {d.status}  {d.ingested_at:%Y-%m-%d %H:%M}  "
            f"sha256 {d.sha256[:12]}{tags}"
        )


@documents_app.command("delete")
def delete_document(
    ctx: typer.Context,
    document_id: Annotated[str, typer.Argument(help="Document id (from `documents list`)")],
) -> None:
    """Remove a document's chunks from the knowledge store and its registry entry."""
    from service.storage.documents import DocumentNotFound
    from service.storage.documents import delete_document as delete

    with configuration_errors():
        store = components_of(ctx).knowledge
    try:
        removed = delete(store, document_id)
    except DocumentNotFound as exc:
        error(str(exc))
        raise typer.Exit(1) from exc
    say(f"deleted {removed.document_id} ({removed.file_name}, {removed.chunks} chunks)")


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for")],
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Passages to return")] = 5,
    output: FormatOption = OutputFormat.text,
    document: Annotated[
        list[str] | None, typer.Option("--document", help="Only these ids or file names")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Only documents with tag")] = None,
    mmr: Annotated[bool, typer.Option("--mmr/--no-mmr", help="Diversify (MMR)")] = True,
) -> None:
    """Ranked guideline passages for a query, with document, page and score."""
    with configuration_errors():
        store = components_of(ctx).knowledge
    hits = store.query(query, k=k, documents=document or (), tags=tag or (), mmr=mmr)
    if output is OutputFormat.json:
        typer.echo(json.dumps([h.model_dump() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        say("no passages found")
    for rank, hit in enumerate(hits, start=1):
        typer.echo(f"{rank}. [{hit.document}, p. {hit.page}] score {hit.score:.3f}\n   {hit.text}")
