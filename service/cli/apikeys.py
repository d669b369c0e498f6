"""``clinsynth apikey``: create, list and revoke API keys (shown once, stored hashed)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from service.auth import ApiKeys
from service.cli.common import (
    FormatOption,
    OutputFormat,
    components_of,
    configuration_errors,
    error,
    say,
)

apikey_app = typer.Typer(help="Manage API keys for the HTTP API.", no_args_is_help=True)


def _keys(ctx: typer.Context) -> ApiKeys:
    with configuration_errors():
        return components_of(ctx).api_keys


@apikey_app.command("create")
def create(
    ctx: typer.Context,
    scope: Annotated[
        list[str], typer.Option("--scope", help="read, generate, ingest or admin (repeatable)")
    ],
    name: Annotated[str, typer.Option(help="Who or what the key is for")] = "",
) -> None:
    """Create a key; it is printed once on stdout and only its hash is kept."""
    try:
        key, token = _keys(ctx).create(scope, name=name)
    except ValueError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    say(
        f"key {key.key_id} with scopes {', '.join(key.scopes)}; store it now, it is not shown again"
    )
    typer.echo(token)


@apikey_app.command("list")
def list_keys(
    ctx: typer.Context,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Keys by id, name, scopes and state (never the secret)."""
    keys = _keys(ctx).all_keys()
    if output is OutputFormat.json:
        rows = [{**k.__dict__, "created_at": k.created_at.isoformat()} for k in keys]
        typer.echo(json.dumps(rows, indent=2))
        return
    for k in keys:
        state = "revoked" if k.revoked else "active"
        typer.echo(f"{k.key_id}  {','.join(k.scopes):<24} {state:<8} {k.name}")


@apikey_app.command("revoke")
def revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="Key id")]) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    if not _keys(ctx).revoke(key_id):
        error(f"no API key with id {key_id!r}")
        raise typer.Exit(1)
    say(f"revoked {key_id}")
