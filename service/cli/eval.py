"""``clinsynth eval``: the fixed request set through the agent, with a report."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from service.cli.common import (
    OutputFormat,
    configuration_errors,
    err,
    error,
    say,
    settings_of,
)


def _ticker(bar: Progress, task: TaskID, label: str) -> Callable[[Any], None]:
    """Advances ``task`` by one request, showing its id."""
    return lambda item: bar.update(task, advance=1, description=f"{label}: {item.id}")


class Baseline(StrEnum):
    random = "random"
    none = "none"


def evaluate(
    ctx: typer.Context,
    requests_file: Annotated[
        Path | None,
        typer.Option("--requests", help="TOML request set (default: the bundled 60+)"),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="A GGUF file to evaluate instead of the configured one"),
    ] = None,
    backend: Annotated[
        str | None, typer.Option(help="llamacpp or openai (default: CLINSYNTH_LLM_BACKEND)")
    ] = None,
    repair_rounds: Annotated[
        int, typer.Option(min=0, max=5, help="Regenerations allowed per failing record")
    ] = 2,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N requests")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Report JSON (default: HOME/eval/eval-<time>.json)"),
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="stdout: text or json")] = (
        OutputFormat.text
    ),
    baseline: Annotated[
        Baseline,
        typer.Option(
            help="random: run the requests again with every choice drawn at random from the "
            "same evidence (the narrative still from the model), to measure the model's "
            "contribution; none: skip it (half the time)"
        ),
    ] = Baseline.random,
) -> None:
    """Generate, validate and repair the eval request set; print and save the report."""
    from models.random_choice import RandomChoiceModel
    from service.components import build_generator, build_services
    from service.evaluation.runner import (
        DEFAULT_REQUESTS,
        load_requests,
        render_summary,
        report_json,
        run_eval,
    )
    from service.generation.repair import RepairLoop

    settings = settings_of(ctx)
    if model is not None:
        if not model.is_file():
            error(f"--model {model}: no such GGUF file")
            raise typer.Exit(2)
        settings = settings.with_values(llm_model_path=model)
    path = requests_file or DEFAULT_REQUESTS
    try:
        requests = load_requests(path)[:limit]
    except ValueError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    if backend is not None:
        settings = settings.with_values(llm_backend=backend)
    components = build_services(settings)
    with configuration_errors():
        store = components.knowledge
        if store.count() == 0:
            raise ValueError("the knowledge store is empty: run `clinsynth ingest PATH...` first")
        generator = components.generator
    validate = components.validator.validate
    loops = [("eval", RepairLoop(generator, validate, max_rounds=repair_rounds))]
    if baseline is Baseline.random:
        chooser = build_generator(settings, store, RandomChoiceModel(generator.model))
        loops.append(("random choice", RepairLoop(chooser, validate, max_rounds=repair_rounds)))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    reports = []
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
        for label, loop in loops:
            task = bar.add_task(label, total=len(requests))
            reports.append(
                run_eval(
                    requests,
                    loop,
                    store,
                    requests_file=str(path),
                    progress=_ticker(bar, task, label),
                )
            )
    report = reports[0]
    report.baseline = reports[1] if len(reports) > 1 else None
    components.close()
    destination = output or settings.home / "eval" / f"eval-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.write_text(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    partial.replace(destination)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    else:
        typer.echo(render_summary(report))
    say(f"report written to {destination}")
