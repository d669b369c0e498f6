"""``clinsynth tabular`` and ``clinsynth tabular-report``: SynLLM-style synthetic tables."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import configuration_errors, error, say, settings_of
from service.requests import MAX_SEED


class PromptTypeOption(StrEnum):
    example = "example"
    description = "description"
    statistics = "statistics"
    rules = "rules"


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


ReferenceArg = Annotated[
    str, typer.Option("--reference", help="pbc, pima, or a CSV file (with --spec, or inferred)")
]
SpecOption = Annotated[
    Path | None, typer.Option("--spec", help="Column spec JSON (default: bundled or inferred)")
]
RulesOption = Annotated[
    Path | None, typer.Option("--rules", help="Rules TOML (default: bundled for pbc and pima)")
]
SplitSeedOption = Annotated[
    int, typer.Option("--split-seed", min=0, max=MAX_SEED, help="Seed of the train/holdout split")
]


def tabular(
    ctx: typer.Context,
    reference: ReferenceArg,
    prompt_type: Annotated[PromptTypeOption, typer.Option("--prompt-type", help="Prompt type")],
    output: Annotated[Path, typer.Option("--output", "-o", help="OUT.csv or OUT.json")],
    rows: Annotated[int, typer.Option("--rows", min=1, max=100_000, help="Rows to generate")] = 20,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seed of row 0")] = 1,
    spec: SpecOption = None,
    rules: RulesOption = None,
    split_seed: SplitSeedOption = 0,
    model: Annotated[
        Path | None, typer.Option("--model", help="A GGUF file instead of the configured one")
    ] = None,
    steer: Annotated[
        bool | None,
        typer.Option(
            "--steer/--no-steer",
            help="Pin categories and missingness from a training row per row "
            "(default: on for statistics)",
        ),
    ] = None,
    rule_schema: Annotated[
        bool,
        typer.Option("--rule-schema/--no-rule-schema", help="Compile rules into the row schema"),
    ] = True,
    repair_rounds: Annotated[
        int, typer.Option(min=0, max=5, help="Regenerations of a failing row before dropping it")
    ] = 2,
) -> None:
    """Generate a synthetic table with the local model under a row schema and the rules."""
    from service.components import build_language_model
    from service.tabular.generate import GenerationOptions, RowSlot, TabularGenerator
    from service.tabular.reference import ReferenceError
    from service.tabular.runs import open_reference, run_document, write_rows
    from service.tabular.spec import SpecError
    from service.validation.rules import RuleFileError

    settings = settings_of(ctx)
    if output.suffix.lower() not in (".csv", ".json"):
        error(f"--output {output}: use a .csv or .json file")
        raise typer.Exit(2)
    inferred_path = output.with_name(output.stem + ".spec.json")
    try:
        ref, book, inferred = open_reference(
            reference,
            spec_path=spec,
            rules_path=rules,
            split_seed=split_seed,
            write_inferred=inferred_path,
        )
    except (ReferenceError, SpecError, RuleFileError) as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    if inferred:
        say(f"inferred a column spec and wrote it to {inferred_path}: edit it and pass --spec")
    if prompt_type is PromptTypeOption.rules and len(book) == 0:
        error("--prompt-type rules needs rules: pass --rules FILE")
        raise typer.Exit(2)
    if model is not None:
        if not model.is_file():
            error(f"--model {model}: no such GGUF file")
            raise typer.Exit(2)
        settings = settings.with_values(llm_model_path=model)
    with configuration_errors():
        language_model = build_language_model(settings)
    options = GenerationOptions(
        rows=rows,
        seed=seed,
        steer=(prompt_type is PromptTypeOption.statistics) if steer is None else steer,
        rule_schema=rule_schema,
        repair_rounds=repair_rounds,
        temperature=settings.llm.temperature,
    )
    say(f"{ref.name}: {ref.split.describe()}; {len(book)} rules")

    def progress(slot: RowSlot) -> None:
        say(f"row {slot.index + 1}/{rows}: {slot.fate} after {slot.attempts} attempt(s)")

    try:
        run = TabularGenerator(language_model, ref, book).generate(
            prompt_type.value, options, on_row=progress
        )
    finally:
        language_model.close()
    document = run_document(run, ref, str(rules) if rules else None)
    write_rows(run.frame(ref.spec), ref.spec, document, output)
    summary = run.summary()
    say(
        f"wrote {summary['kept']} rows to {output}: {summary['repaired']} repaired, "
        f"{summary['dropped']} dropped; before repair "
        f"{summary['rule_violation_rate_first']:.1%} of rows broke a rule; "
        f"{summary['rows_per_second']} rows/s"
    )


def tabular_report(
    reference: ReferenceArg,
    synthetic: Annotated[
        list[Path], typer.Option("--synthetic", help="Rows from `tabular` (repeatable)")
    ],
    spec: SpecOption = None,
    rules: RulesOption = None,
    split_seed: SplitSeedOption = 0,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seed of the baselines")] = 1,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="text, json or html")] = (
        ReportFormat.text
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout")
    ] = None,
) -> None:
    """Fidelity, rule violations, privacy and utility of synthetic rows, with two baselines."""
    from service.tabular.reference import ReferenceError
    from service.tabular.report import build_report, read_synthetic, render_html, render_text
    from service.tabular.runs import open_reference
    from service.tabular.spec import SpecError
    from service.validation.rules import RuleFileError

    try:
        ref, book, _ = open_reference(
            reference, spec_path=spec, rules_path=rules, split_seed=split_seed
        )
        tables = {path.stem: read_synthetic(path, ref) for path in synthetic}
    except (ReferenceError, SpecError, RuleFileError) as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    for name, (_, run) in tables.items():
        if run is not None and run.get("split_seed", split_seed) != split_seed:
            say(f"note: {name} was generated with split seed {run['split_seed']}, not {split_seed}")
    report, frames = build_report(ref, book, tables, seed=seed)
    if fmt is ReportFormat.json:
        text = json.dumps(report.model_dump(mode="json"), indent=1)
    elif fmt is ReportFormat.html:
        text = render_html(report, ref, frames)
    else:
        text = render_text(report)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        say(f"wrote {output}")
