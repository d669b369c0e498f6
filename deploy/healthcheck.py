"""Container health checks for the clinsynth images (standard library only, no curl).

    python healthcheck.py api      # GET /health of `clinsynth serve` in this container
    python healthcheck.py worker   # the worker's database and model server answer

Exit status 0 is healthy, 1 unhealthy (Docker's HEALTHCHECK convention); the reason goes
to stdout, where `docker inspect` shows it. `GET /health` needs no API key and answers
only once the knowledge store and the model backend are built (with the OpenAI-compatible
backend that means the model server listed its model).
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TIMEOUT = 8.0


def http_ok(url: str) -> str | None:
    """None when ``url`` answers 200, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310
            return None if response.status == 200 else f"{url}: HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"{url}: HTTP {exc.code}"
    except OSError as exc:
        return f"{url}: {exc}"


def tcp_ok(url: str, default_port: int) -> str | None:
    """None when the host of ``url`` accepts a TCP connection, else why not."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or default_port
    if not host:
        return None  # a local file (SQLite): nothing to reach
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc}"


def check_api() -> list[str]:
    port = os.environ.get("CLINSYNTH_PORT", "8000")
    problem = http_ok(f"http://127.0.0.1:{port}/health")
    return [problem] if problem else []


def check_worker() -> list[str]:
    problems = []
    database = os.environ.get("CLINSYNTH_DATABASE_URL", "")
    if database and (problem := tcp_ok(database, 5432)):
        problems.append(f"database {problem}")
    base_url = os.environ.get("CLINSYNTH_OPENAI_BASE_URL", "").rstrip("/")
    remote = os.environ.get("CLINSYNTH_LLM_BACKEND") == "openai" and base_url
    if remote and (problem := http_ok(f"{base_url}/models")):
        problems.append(f"model server {problem}")
    return problems


def main(argv: list[str]) -> int:
    checks = {"api": check_api, "worker": check_worker}
    if len(argv) != 2 or argv[1] not in checks:
        print(f"usage: {argv[0]} {'|'.join(checks)}")
        return 2
    problems = checks[argv[1]]()
    print("; ".join(problems) or "healthy")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
