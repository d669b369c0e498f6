"""``clinsynth compare``: the same requests through several backends, side by side."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from service.cli.common import (
    FormatOption,
    OutputFormat,
    configuration_errors,
    error,
    say,
    settings_of,
)
from service.requests import MAX_SEED


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
    from service.components import build_language_model, build_services
    from service.evaluation.compare import BACKEND_ALIASES, compare_backends, format_report
    from service.requests import RequestError

    settings = settings_of(ctx)
    labels = list(dict.fromkeys(b.strip() for b in backends.split(",") if b.strip()))
    unknown = [label for label in labels if label not in BACKEND_ALIASES]
    if not labels or unknown:
        error(f"unknown backend(s) {', '.join(unknown) or '(none)'}; use local and/or openai")
        raise typer.Exit(2)
    with configuration_errors():  # models first: a misconfigured backend fails fast
        models = {label: build_language_model(settings, BACKEND_ALIASES[label]) for label in labels}
        store = build_services(settings).knowledge
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
