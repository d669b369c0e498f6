"""``clinsynth serve``: the HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli.common import configuration_errors, settings_of


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000)")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from service.api.app import create_app

    settings = settings_of(ctx)
    settings = settings.with_values(host=host or settings.api.host, port=port or settings.api.port)
    with configuration_errors():
        api = create_app(settings)  # refuses auth disabled on a non-loopback address
    uvicorn.run(api, host=settings.api.host, port=settings.api.port)
