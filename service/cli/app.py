"""The ``clinsynth`` command: ingest guidelines, generate patients, serve the API.

Each command (or command group) lives in its own module of this package; this one builds
the Settings once, in the entry callback, and lists the commands in the order a user meets
them.
"""

from __future__ import annotations

import typer
from pydantic import ValidationError
from typer import _click
from typer.core import TyperGroup

from service.cli.apikeys import apikey_app
from service.cli.batches import batches_app, worker
from service.cli.common import error
from service.cli.compare import compare
from service.cli.documents import documents_app, search
from service.cli.eval import evaluate
from service.cli.export import export
from service.cli.facts import coverage, facts_app
from service.cli.generate import generate
from service.cli.ingest import ingest
from service.cli.passport import passport
from service.cli.report import report
from service.cli.serve import serve
from service.cli.tabular import tabular, tabular_report
from service.cli.validate import validate
from service.offline import enforce_offline
from service.settings import Settings, configuration_problem

# The order a user meets the commands in: knowledge first, then records, then operations.
COMMAND_ORDER = (
    "ingest",
    "documents",
    "search",
    "facts",
    "coverage",
    "generate",
    "validate",
    "batches",
    "export",
    "passport",
    "report",
    "serve",
    "worker",
    "apikey",
    "eval",
    "compare",
    "tabular",
    "tabular-report",
)


class _OrderedCommands(TyperGroup):
    def list_commands(self, ctx: _click.Context) -> list[str]:
        known = [name for name in COMMAND_ORDER if name in self.commands]
        return known + sorted(set(self.commands) - set(known))


app = typer.Typer(
    cls=_OrderedCommands,
    help="On-premises synthetic patient records grounded in clinical guidelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(ingest)
app.add_typer(documents_app, name="documents")
app.command()(search)
app.add_typer(facts_app, name="facts")
app.command()(coverage)
app.command()(generate)
app.command()(validate)
app.add_typer(batches_app, name="batches")
app.command()(export)
app.command()(passport)
app.command()(report)
app.command()(serve)
app.command()(worker)
app.add_typer(apikey_app, name="apikey")
app.command(name="eval")(evaluate)
app.command()(compare)
app.command()(tabular)
app.command(name="tabular-report")(tabular_report)


@app.callback()
def _entry(ctx: typer.Context) -> None:
    enforce_offline()
    try:
        ctx.obj = Settings()
    except ValidationError as exc:
        error(f"invalid configuration: {configuration_problem(exc)}")
        raise typer.Exit(2) from exc


def main() -> None:
    app()


if __name__ == "__main__":
    main()
