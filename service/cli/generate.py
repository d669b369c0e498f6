"""``clinsynth generate``: patients through the one patient flow, printed with citations."""

from __future__ import annotations

import json
import secrets
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from service.cli.common import (
    AgeOption,
    BlockOption,
    BrachytherapyOption,
    DiagnosisOption,
    FormatOption,
    GeneticConditionOption,
    LanguageOption,
    LocaleOption,
    MetabolicTherapyOption,
    OutputFormat,
    RelapseOption,
    RiskGroupOption,
    SecondTumourBlockOption,
    SecondTumourOption,
    SeedOption,
    SexOption,
    ShuntOption,
    TripleIntrathecalOption,
    configuration_errors,
    err,
    error,
    say,
    settings_of,
)
from service.requests import MAX_SEED


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
    shunt: ShuntOption = None,
    triple_intrathecal: TripleIntrathecalOption = None,
    brachytherapy: BrachytherapyOption = None,
    metabolic_therapy: MetabolicTherapyOption = None,
    genetic_condition: GeneticConditionOption = None,
    risk_group: RiskGroupOption = None,
    second_tumour: SecondTumourOption = None,
    second_tumour_block: SecondTumourBlockOption = None,
    language: LanguageOption = None,
    locale: LocaleOption = None,
) -> None:
    """Generate synthetic patients, store them, and print them with their citations.

    Describe the patient with --prompt, with the other options, or both (options win).

    Names, phones and e-mails are Spanish (es_ES, the configured locale)
    whatever --language says; --locale chooses another (en_GB, es_MX)."""
    from service.cli.render import render_record
    from service.components import build_services
    from service.generation.flow import GenerationFailed
    from service.requests import RequestError, request_from, seed_at

    settings = settings_of(ctx)
    try:  # before any model loads: a bad request fails fast
        request = request_from(
            prompt=prompt,
            age=age,
            sex=sex,
            diagnosis=diagnosis,
            blocks=block,
            relapse=relapse,
            shunt=shunt,
            triple_intrathecal=triple_intrathecal,
            brachytherapy=brachytherapy,
            metabolic_therapy=metabolic_therapy,
            genetic_conditions=genetic_condition or None,
            risk_group=risk_group,
            second_tumour=second_tumour,
            second_tumour_blocks=second_tumour_block,
            language=language,
            locale=locale,
        )
    except RequestError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    for note in request.overrides:
        say(f"note: {note}")
    if seed is None:
        seed = secrets.randbelow(MAX_SEED + 1)
        say(f"seed {seed}")
    components = build_services(settings)
    with configuration_errors():
        flow = components.flow
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
                checked = flow.create(request, seed=seed_at(seed, index))
                records.append(checked.record)
                if checked.validation is not None and not checked.validation.passed:
                    failing += 1
                    errors = {
                        f.rule_id for f in checked.validation.failures if f.severity == "error"
                    }
                    ids = ", ".join(sorted(errors))
                    say(f"{checked.record.record_id}: fails {ids} (see `clinsynth validate`)")
                progress.advance(task)
    except RequestError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    except GenerationFailed as exc:
        error(f"{exc} (raw output kept in {exc.kept})")
        raise typer.Exit(1) from exc
    if output is OutputFormat.json:
        typer.echo(
            json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False, indent=2)
        )
    else:
        for record in records:
            typer.echo(render_record(record) + "\n")
    passed = f", {len(records) - failing} passing every rule" if records else ""
    say(f"{len(records)} patient(s) stored in {settings.database.url}{passed}")
