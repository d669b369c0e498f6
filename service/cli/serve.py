"""``clinsynth serve``: the HTTP API."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from service.cli.common import configuration_errors, settings_of

KEY_POLICY_LINES = {
    "always": "API keys: required on every request",
    "once_a_key_exists": "API keys: required once one exists (CLINSYNTH_API_AUTH=auto on "
    "a loopback address); until then the API is open",
    "never": "API keys: DISABLED (CLINSYNTH_API_AUTH=disabled); the API is open",
}


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000)")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) and the web UI (/ui)."""
    import uvicorn

    from service.api.app import create_app
    from service.auth import key_policy

    settings = settings_of(ctx)
    settings = settings.with_values(host=host or settings.api.host, port=port or settings.api.port)
    with configuration_errors():
        api = create_app(settings)  # refuses auth disabled on a non-loopback address
    policy = key_policy(settings.api.api_auth, settings.api.host)
    typer.echo(KEY_POLICY_LINES[policy], err=True)
    typer.echo(ui_address_line(settings.api.host, settings.api.port), err=True)
    _show_service_warnings()
    uvicorn.run(api, host=settings.api.host, port=settings.api.port)


def ui_address_line(host: str, port: int) -> str:
    """Where to open the web UI (and the API docs) in a browser."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    base = f"http://{shown}:{port}"
    return f"web UI: {base}/ui  (API docs: {base}/docs)"


def _show_service_warnings() -> None:
    """The app's warnings at start (an open server) on the console beside uvicorn's lines."""
    logger = logging.getLogger("service")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(levelname)s:  %(message)s"))
        logger.addHandler(handler)
