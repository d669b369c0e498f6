"""``clinsynth facts list`` and ``clinsynth coverage``: the fact index as users see it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from service.cli.common import FormatOption, OutputFormat, components_of, configuration_errors, say

facts_app = typer.Typer(help="Facts indexed from the guideline documents.", no_args_is_help=True)


@facts_app.command("list")
def list_facts(
    ctx: typer.Context,
    document: Annotated[str | None, typer.Option("--document", help="Document id")] = None,
    tumour: Annotated[
        str | None, typer.Option("--tumour", help="Tumour name (any language) or ICD-O-3 code")
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Fact kind (repeatable)")] = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Facts of the active documents: kind, document, page, fields and verbatim quote."""
    from knowledge.facts import FACT_KINDS
    from knowledge.facts.store import FactIndex

    unknown = sorted(set(kind or ()) - set(FACT_KINDS))
    if unknown:
        raise typer.BadParameter(
            f"unknown kind {', '.join(unknown)}; one of {', '.join(FACT_KINDS)}",
            param_hint="--kind",
        )
    with configuration_errors():
        registry = components_of(ctx).knowledge.registry
    facts = FactIndex(registry.engine).facts(document_id=document, kinds=kind or (), tumour=tumour)
    if output is OutputFormat.json:
        typer.echo(json.dumps([f.as_json() for f in facts], ensure_ascii=False, indent=2))
        return
    if not facts:
        say("no facts; ingest guideline PDFs with `clinsynth ingest PATH...`")
    for fact in facts:
        fields = ", ".join(f"{k}={v}" for k, v in fact.fields.items() if v not in (None, False))
        quote = " ".join(fact.quote.split())
        typer.echo(f"{fact.kind:<14} {fact.document_id} p.{fact.page:<4} {fields}  «{quote}»")


def coverage(ctx: typer.Context, output: FormatOption = OutputFormat.text) -> None:
    """Per tumour the corpus mentions: which record blocks its facts support, from where."""
    from knowledge.facts.store import BLOCKS, FactIndex

    with configuration_errors():
        registry = components_of(ctx).knowledge.registry
    report = FactIndex(registry.engine).coverage()
    if output is OutputFormat.json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    if not report:
        say("no tumour is mentioned in the ingested documents")
    for entry in report:
        typer.echo(f"{entry['code']}  {entry['term']}  (as: {', '.join(entry['names'])})")
        for block in BLOCKS:
            counts = entry["blocks"][block]
            sources = ", ".join(f"{d} {n}" for d, n in counts["documents"].items())
            typer.echo(f"    {block:<13} {counts['facts']:>4} facts  {sources}")
