"""``clinsynth batches`` (create, show, list, cancel) and ``clinsynth worker``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

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
    SexOption,
    ShuntOption,
    TripleIntrathecalOption,
    components_of,
    configuration_errors,
    error,
    say,
)

if TYPE_CHECKING:
    from service.batches.models import BatchStatus
    from service.batches.runners import BatchService

batches_app = typer.Typer(
    help="Batch jobs: many patients for one request, run by workers.", no_args_is_help=True
)


def _service(ctx: typer.Context) -> BatchService:
    from service.batches.runners import BatchService

    components = components_of(ctx)
    with configuration_errors():
        return BatchService(components.batches, components.runner(None))


def _line(status: BatchStatus) -> str:
    eta = f"  eta {status.eta_seconds:.0f}s" if status.eta_seconds else ""
    prompt = str(status.request.get("prompt", ""))
    return (
        f"{status.batch_id}  {status.status:<9} {status.done}/{status.total} done, "
        f"{status.failed} failed{eta}  {status.created_at:%Y-%m-%d %H:%M}  {prompt[:60]}"
    )


def _print(statuses: list[BatchStatus], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in statuses], indent=2))
    else:
        for status in statuses:
            typer.echo(_line(status))


@batches_app.command("create")
def create(
    ctx: typer.Context,
    count: Annotated[int, typer.Option(help="How many patients (1-10000)")],
    prompt: Annotated[
        str | None,
        typer.Option("--prompt", "-p", help="The patients, in plain English or Spanish"),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of item 0; item i uses seed + i")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Running the same command again returns the same batch")
    ] = None,
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
    output: FormatOption = OutputFormat.text,
) -> None:
    """Queue a batch; `clinsynth serve` or `clinsynth worker` processes it.

    Describe the patients with --prompt, with the other options, or both (options win)."""
    from service.batches.models import BatchRequest, IdempotencyConflict, parsed_request
    from service.requests import RequestError, validation_message

    given = {
        "prompt": prompt,
        "count": count,
        "seed": seed,
        "idempotency_key": idempotency_key,
        "age": age,
        "sex": sex,
        "diagnosis": diagnosis,
        "blocks": block,
        "relapse": relapse,
        "shunt": shunt,
        "triple_intrathecal": triple_intrathecal,
        "brachytherapy": brachytherapy,
        "metabolic_therapy": metabolic_therapy,
        "genetic_conditions": genetic_condition or None,
        "risk_group": risk_group,
        "second_tumour": second_tumour,
        "second_tumour_blocks": second_tumour_block,
        "language": language,
        "locale": locale,
    }
    try:
        request = BatchRequest.model_validate({k: v for k, v in given.items() if v is not None})
        parsed_request(request.stored_request())
    except ValidationError as exc:
        error(validation_message(exc))
        raise typer.Exit(2) from exc
    except RequestError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    service = _service(ctx)
    with configuration_errors():
        service.runner.start()
    try:
        status, created = service.create(request)
    except IdempotencyConflict as exc:
        error(str(exc))
        raise typer.Exit(1) from exc
    finally:
        service.runner.stop()
    say(f"{'created' if created else 'already exists:'} batch {status.batch_id}")
    _print([status], output)


@batches_app.command("show")
def show(
    ctx: typer.Context,
    batch_id: Annotated[str, typer.Argument(help="Batch id")],
    output: FormatOption = OutputFormat.text,
) -> None:
    """A batch's progress: done, failed, total and an ETA."""
    status = _service(ctx).status(batch_id)
    if status is None:
        error(f"no batch with id {batch_id}")
        raise typer.Exit(1)
    _print([status], output)
    if status.error and output is OutputFormat.text:
        say(f"error: {status.error}")


@batches_app.command("list")
def list_batches(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Batches to skip")] = 0,
    status: Annotated[
        str | None, typer.Option(help="queued, running, done, failed or cancelled")
    ] = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Batches, newest first."""
    statuses = _service(ctx).page(limit=limit, offset=offset, status=status)
    if not statuses and output is OutputFormat.text:
        say("no batches")
    _print(statuses, output)


@batches_app.command("cancel")
def cancel(
    ctx: typer.Context,
    batch_id: Annotated[str, typer.Argument(help="Batch id")],
) -> None:
    """Stop scheduling a batch's items; the stored ones stay."""
    service = _service(ctx)
    cancelled = service.store.cancel(batch_id)
    status = service.status(batch_id)
    if status is None:
        error(f"no batch with id {batch_id}")
        raise typer.Exit(1)
    if not cancelled and status.status != "cancelled":
        error(f"batch {batch_id} has already ended ({status.status})")
        raise typer.Exit(1)
    say(f"cancelled batch {batch_id} ({status.done} of {status.total} stored)")


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Items in parallel (model calls still queue)")
    ] = 1,
) -> None:
    """Work on batch items until stopped (SIGINT/SIGTERM).

    On PostgreSQL any number of workers, on any hosts, share one queue; on SQLite this
    replaces `clinsynth serve`'s own worker (set CLINSYNTH_SERVE_WORKER=false there)."""
    from service.batches.runners import InProcessRunner, stop_on_signals

    components = components_of(ctx)
    with configuration_errors():
        runner = components.runner(components.executor(), concurrency=concurrency)
    kind = "in-process" if isinstance(runner, InProcessRunner) else "procrastinate"
    url = components.engine.url.render_as_string()
    say(f"worker ({kind}, concurrency {concurrency}) on {url}")
    try:
        if isinstance(runner, InProcessRunner):
            with stop_on_signals(runner):
                runner.run()
        else:
            runner.run()
    finally:
        components.close()
    say("worker stopped")
