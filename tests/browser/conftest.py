"""A real ``clinsynth serve`` on a free port (its own CLINSYNTH_HOME, the embedded models,
one guideline ingested, an API key to log in with) and Debian's Chromium under Playwright.

Chromium comes from apt (``apt-get install chromium``), never from ``playwright install``.
Under CI=true a missing Chromium or Playwright fails the tests; elsewhere they skip."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CORPUS_PDF_DIR

CHROMIUM = Path(os.environ.get("CLINSYNTH_CHROMIUM", "/usr/bin/chromium"))
CLINSYNTH = str(Path(sys.executable).with_name("clinsynth"))
GUIDELINE = CORPUS_PDF_DIR / "ewing_sarcoma.pdf"
START_SECONDS = 180


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@dataclass
class Server:
    url: str
    token: str
    home: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("ui-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINSYNTH_")}
    env |= {
        "CLINSYNTH_HOME": str(home),
        "CLINSYNTH_REFERENCE_DATE": "2026-06-01",
        "CLINSYNTH_LLM_N_THREADS": "2",
        "CLINSYNTH_API_AUTH": "required",
        "CLINSYNTH_REPAIR_ROUNDS": "0",  # one attempt per record: the browser waits less
    }
    _run([CLINSYNTH, "ingest", str(GUIDELINE)], env)
    token = _run([CLINSYNTH, "apikey", "create", "--scope", "admin", "--name", "browser"], env)
    port = _free_port()
    log = home / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [CLINSYNTH, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, f"clinsynth serve exited: {log.read_text()}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"no answer in {START_SECONDS} s: {log.read_text()}"
            time.sleep(0.5)
        yield Server(url, token.strip().splitlines()[-1], home, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A logged-in page (fresh context: its own cookies), downloads accepted."""
    context = browser.new_context(accept_downloads=True, locale="en-GB")
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.goto(f"{server.url}/ui/login")
    tab.fill("#api_key", server.token)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/ui/knowledge")
    try:
        yield tab
    finally:
        context.close()


def screenshot_target(name: str, fallback: Path) -> Path:
    """docs/screens/<name> with CLINSYNTH_UPDATE_SCREENSHOTS=1 (for the README), else a
    temporary path (the test still takes it)."""
    if os.environ.get("CLINSYNTH_UPDATE_SCREENSHOTS") == "1":
        target = Path(__file__).resolve().parents[2] / "docs" / "screens" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target
    return fallback / name
