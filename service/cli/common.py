"""What every ``clinsynth`` subcommand shares: stderr console, messages, settings, errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from service.requests import MAX_SEED
from service.settings import Settings

if TYPE_CHECKING:
    from service.components import Components

# Messages and progress go to stderr, so stdout carries only the requested output.
err = Console(stderr=True, soft_wrap=True, highlight=False)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


FormatOption = Annotated[OutputFormat, typer.Option("--format", help="text or json")]

# The request options of `generate` and `batches create` (the fields of RequestFields).
AgeOption = Annotated[int | None, typer.Option(help="Age at diagnosis in years, 0-25")]
SexOption = Annotated[str | None, typer.Option(help="female or male")]
DiagnosisOption = Annotated[
    str | None, typer.Option(help="Tumour name (English or Spanish) or ICD-O-3 code")
]
BlockOption = Annotated[
    list[str] | None,
    typer.Option(
        "--block",
        help="Treatment block the records must have (repeatable): chemotherapy, "
        "radiotherapy, surgery, hsct, others",
    ),
]
RelapseOption = Annotated[
    bool | None,
    typer.Option("--relapse/--no-relapse", help="Relapse after first-line treatment"),
]
ShuntOption = Annotated[
    bool | None,
    typer.Option(
        "--shunt/--no-shunt",
        help="A CSF diversion (shunt, ventriculostomy, drain) in the surgery block, or none",
    ),
]
TripleIntrathecalOption = Annotated[
    bool | None,
    typer.Option(
        "--triple-intrathecal/--no-triple-intrathecal",
        help="Intrathecal therapy as methotrexate, cytarabine and a corticosteroid, or not",
    ),
]
BrachytherapyOption = Annotated[
    bool | None,
    typer.Option(
        "--brachytherapy/--no-brachytherapy",
        help="A brachytherapy course (source, applicator, dose rate) in radiotherapy, or none",
    ),
]
MetabolicTherapyOption = Annotated[
    bool | None,
    typer.Option(
        "--metabolic-therapy/--no-metabolic-therapy",
        help="Metabolic (radionuclide) therapy such as 131I-MIBG in radiotherapy, or none",
    ),
]
GeneticConditionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--genetic-condition",
        help="A predisposition syndrome the patient has (repeatable): Li-Fraumeni syndrome, "
        "Down syndrome, NF1",
    ),
]
RiskGroupOption = Annotated[
    str | None,
    typer.Option(
        "--risk-group",
        help="The protocol risk group the treatment is for: low, standard, intermediate or "
        "high; the tumour's guideline must name it",
    ),
]
SecondTumourOption = Annotated[
    str | None, typer.Option("--second-tumour", help="A second, different tumour")
]
SecondTumourBlockOption = Annotated[
    list[str] | None,
    typer.Option(
        "--second-tumour-block",
        help="Treatment block the second tumour must have (repeatable): chemotherapy, "
        "radiotherapy, surgery; default: those the prompt names for it, else the first "
        "tumour's kinds",
    ),
]
LanguageOption = Annotated[
    str | None,
    typer.Option(help="Language of the record's text: en or es (default: the prompt's)"),
]
LocaleOption = Annotated[
    str | None,
    typer.Option(
        help="Faker locale of the invented names, phone and e-mail (es_ES, es_MX, en_GB, "
        "pt_PT...), whatever --language says; default: the configured records locale "
        "(CLINSYNTH_LOCALE, es_ES)"
    ),
]
# Seeds are stored as 32-bit integers; the seeds derived from one wrap (requests.seed_at).
SeedOption = Annotated[
    int | None,
    typer.Option(min=0, max=MAX_SEED, help="Seed of the first record; same seed, same records"),
]


def say(message: str) -> None:
    err.print(escape(message))


def error(message: str) -> None:
    err.print("[red]error:[/red] " + escape(message))


def settings_of(ctx: typer.Context) -> Settings:
    """The Settings built once by the entry callback (kept on the root context)."""
    settings: Settings = ctx.find_root().obj
    return settings


def components_of(ctx: typer.Context) -> Components:
    """The command's parts, built once per invocation from its Settings (each on first use)."""
    from service.components import build_services

    root = ctx.find_root()
    meta = root.meta
    if "components" not in meta:
        meta["components"] = build_services(settings_of(ctx))
        root.call_on_close(meta["components"].close)  # pooled connections closed on exit
    components: Components = meta["components"]
    return components


@contextmanager
def configuration_errors() -> Iterator[None]:
    """A missing model file or an unreachable database is one clear line, exit status 2."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (OSError, RuntimeError, ValueError, SQLAlchemyError) as exc:
        error(f"cannot start: {exc}")
        raise typer.Exit(2) from exc
