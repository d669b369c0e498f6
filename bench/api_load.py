"""HTTP API under load: N concurrent clients on loopback for a bounded time.

A temporary ``CLINSYNTH_HOME`` gets the bundled corpus ingested and an API key with the
read and generate scopes; ``clinsynth serve`` (the real app: SQLite, embedded Chroma,
the embedded GGUF model, API keys on) is started as a subprocess and seeded with a small
batch so that there are records to read. Then, for ``--seconds``:

- ``--clients`` threads, each with its own keep-alive HTTP client, cycle through the read
  endpoints: ``GET /v1/patients`` (a page), ``GET /v1/patients/{id}``,
  ``GET /v1/documents``, ``GET /v1/batches/{id}`` and ``POST /v1/search`` (embeds the query
  and searches Chroma);
- one more client feeds the generation queue: ``POST /v1/batches`` (count 1) every
  ``--submit-every`` seconds, while the model works through the queue inside the server.

Baseline, in the same run and under the same client load: a bare FastAPI app answering a
constant JSON object from the same uvicorn, so the ratio says what clinsynth's routing,
auth, SQL and Chroma work cost on top of the HTTP stack itself.

Prints requests/s, p50 and p95 latency per endpoint and overall, and the count of 5xx
answers (target zero). Asserts nothing.
Run: ``.venv/bin/python bench/api_load.py [--clients 8] [--seconds 30]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "knowledge" / "corpus" / "pdf"
BIN = Path(sys.executable).parent
PROMPT = "10-year-old girl with Hodgkin lymphoma, chemotherapy"
BASELINE_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.get("/ping")
def ping() -> dict[str, str]:
    return {"status": "ok"}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(args: list[str], env: dict[str, str], log: Path, base: str) -> Iterator[None]:
    """A server subprocess, ready when ``base/health`` (or ``/ping``) answers."""
    with log.open("w") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if httpx.get(base + "/health", timeout=2).status_code < 500:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            yield
        finally:
            process.terminate()
            process.wait(timeout=60)


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, name: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[name].append(seconds)
            self.statuses[name][status] += 1

    def count(self, predicate: Callable[[int], bool]) -> int:
        return sum(n for s in self.statuses.values() for code, n in s.items() if predicate(code))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def hammer(
    base: str,
    calls: list[tuple[str, str, str, dict | None]],
    *,
    clients: int,
    seconds: float,
    headers: dict[str, str],
    extra: Callable[[threading.Event, Recorder], None] | None = None,
) -> tuple[Recorder, float]:
    """``clients`` threads cycling through ``calls`` (name, method, path, json) for ``seconds``."""
    recorder = Recorder()
    stop = threading.Event()

    def client(offset: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            i = offset
            while not stop.is_set():
                name, method, path, body = calls[i % len(calls)]
                i += 1
                started = time.perf_counter()
                try:
                    status = http.request(method, path, json=body).status_code
                except httpx.TransportError:
                    status = 599  # counted with the 5xx: the server failed to answer
                recorder.add(name, time.perf_counter() - started, status)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    if extra is not None:
        threads.append(threading.Thread(target=extra, args=(stop, recorder)))
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return recorder, time.perf_counter() - began


def report(title: str, recorder: Recorder, elapsed: float) -> float:
    print(f"\n{title}")
    print(f"{'endpoint':<28}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'5xx':>6}")
    everything: list[float] = []
    for name, values in sorted(recorder.latencies.items()):
        everything += values
        fives = sum(n for code, n in recorder.statuses[name].items() if code >= 500)
        print(
            f"{name:<28}{len(values):>9}{len(values) / elapsed:>9.1f}"
            f"{percentile(values, 0.5) * 1000:>9.1f}{percentile(values, 0.95) * 1000:>9.1f}"
            f"{fives:>6}"
        )
    rate = len(everything) / elapsed
    print(
        f"{'all':<28}{len(everything):>9}{rate:>9.1f}"
        f"{percentile(everything, 0.5) * 1000:>9.1f}{percentile(everything, 0.95) * 1000:>9.1f}"
        f"{recorder.count(lambda c: c >= 500):>6}"
    )
    other = recorder.count(lambda c: 400 <= c < 500)
    if other:
        print(f"4xx answers: {other} (a bug in this script or the API: investigate)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--submit-every", type=float, default=5.0)
    parser.add_argument("--seed-records", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="clinsynth-load-") as tmp:
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLINSYNTH_")}
        # Keys are checked even on loopback (``auto`` would turn auth off there).
        env |= {
            "CLINSYNTH_HOME": str(home),
            "CLINSYNTH_JOBS": "inprocess",
            "CLINSYNTH_API_AUTH": "required",
        }
        clinsynth = str(BIN / "clinsynth")
        subprocess.run(
            [clinsynth, "ingest", str(CORPUS)], env=env, check=True, text=True, capture_output=True
        )
        token = subprocess.run(
            [
                clinsynth,
                "apikey",
                "create",
                "--scope",
                "read",
                "--scope",
                "generate",
                "--name",
                "bench",
            ],
            env=env,
            check=True,
            text=True,
            capture_output=True,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}

        # Baseline: the bare HTTP stack under the same load.
        (home / "baseline_app.py").write_text(BASELINE_APP)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        uvicorn = [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(home),
            "baseline_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        with server(uvicorn, env, home / "baseline.log", base):
            raw, raw_elapsed = hammer(
                base,
                [("GET /ping (bare FastAPI)", "GET", "/ping", None)],
                clients=args.clients,
                seconds=args.seconds,
                headers={},
            )

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = [clinsynth, "serve", "--host", "127.0.0.1", "--port", str(port)]
        with server(serve, env, home / "serve.log", base):
            http = httpx.Client(base_url=base, headers=headers, timeout=120)
            seeded = http.post(
                "/v1/batches", json={"prompt": PROMPT, "count": args.seed_records, "seed": 1}
            )
            seeded.raise_for_status()
            batch_id = seeded.json()["batch_id"]
            print(f"seeding {args.seed_records} records through batch {batch_id} ...", flush=True)
            while http.get(f"/v1/batches/{batch_id}").json()["status"] not in (
                "done",
                "failed",
                "cancelled",
            ):
                time.sleep(1)
            record_id = http.get("/v1/patients", params={"limit": 1}).json()["items"][0][
                "record_id"
            ]
            calls = [
                ("GET /v1/patients", "GET", "/v1/patients?limit=20", None),
                ("GET /v1/patients/{id}", "GET", f"/v1/patients/{record_id}", None),
                ("GET /v1/documents", "GET", "/v1/documents", None),
                ("GET /v1/batches/{id}", "GET", f"/v1/batches/{batch_id}", None),
                (
                    "POST /v1/search",
                    "POST",
                    "/v1/search",
                    {"query": "whole-lung irradiation dose", "k": 4},
                ),
            ]
            submitted: list[str] = []

            def feed_queue(stop: threading.Event, recorder: Recorder) -> None:
                while not stop.wait(0 if not submitted else args.submit_every):
                    started = time.perf_counter()
                    answer = http.post("/v1/batches", json={"prompt": PROMPT, "count": 1})
                    recorder.add(
                        "POST /v1/batches", time.perf_counter() - started, answer.status_code
                    )
                    if answer.status_code < 300:
                        submitted.append(answer.json()["batch_id"])

            ours, elapsed = hammer(
                base,
                calls,
                clients=args.clients,
                seconds=args.seconds,
                headers=headers,
                extra=feed_queue,
            )
            done = sum(http.get(f"/v1/batches/{b}").json().get("done", 0) for b in submitted)
            http.close()

    print(
        f"\n{args.clients} clients for {args.seconds:.0f} s on loopback, "
        f"{os.cpu_count()} CPUs; the model generated in the same server meanwhile"
    )
    raw_rate = report("baseline: bare FastAPI + uvicorn, constant JSON", raw, raw_elapsed)
    our_rate = report("clinsynth serve: read endpoints + generation queue", ours, elapsed)
    print(f"\nbatches submitted during the run: {len(submitted)}, records finished: {done}")
    print(f"requests/s clinsynth / bare FastAPI: {our_rate / raw_rate:.2f}")
    print(f"5xx answers: {ours.count(lambda c: c >= 500)} (target 0)")


if __name__ == "__main__":
    main()
