"""Scale-out: records per minute with N concurrent generations, N = 1, 2, 4.

The bundled corpus is ingested into a temporary store; then, for each backend, N threads
each generate ``--records`` records (distinct seeds) with one shared knowledge store, and
the wall time gives records per minute and its ratio to N = 1:

- **server**: the OpenAI-compatible backend (``CLINSYNTH_LLM_BACKEND=openai``) against one
  model server on this host, the deployment's setup (deploy/compose.yaml). llama.cpp's
  ``llama-server`` (``--llama-server PATH``, or ``llama-server`` on PATH) with
  ``--slots`` parallel slots decodes concurrent requests in one batch; without it,
  llama-cpp-python's own server (``python -m service.llama_server``), which serves one
  request at a time, is measured instead, and the table says which.
- **in-process**: one ``LlamaCppModel`` in this process, as a `clinsynth worker` with
  ``--concurrency N`` has it; its lock serialises the model calls.

Each backend generates one record first (model load, warm caches) outside the timing.
The same script is the sizing tool on a GPU host: point ``--llama-server`` at a CUDA
build, ``--model`` at the production GGUF, raise ``--concurrency`` and ``--slots``, and
read where records per minute stop growing (deploy/README.md, "Sizing").
Prints figures; asserts nothing. Not part of ``make test``; ``make bench-throughput``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where bench/ingest.py would shadow the
# ingest package: drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from service.offline import enforce_offline  # noqa: E402

enforce_offline()

import httpx  # noqa: E402

from ingest.pipeline import ingest_paths  # noqa: E402
from knowledge.store import KnowledgeStore  # noqa: E402
from models.base import LanguageModel  # noqa: E402
from service.components import (  # noqa: E402
    build_generator,
    build_knowledge_store,
    build_language_model,
)
from service.generation.generator import PatientGenerator  # noqa: E402
from service.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "knowledge" / "corpus" / "pdf"
PROMPT = "10-year-old girl with Hodgkin lymphoma, chemotherapy"
ALIAS = "clinsynth"


@dataclass(frozen=True)
class Row:
    backend: str
    concurrency: int
    records: int
    seconds: float

    @property
    def per_minute(self) -> float:
        return self.records * 60.0 / self.seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def model_server(command: list[str], ready_url: str, log: Path) -> Iterator[None]:
    """A server subprocess, ready once ``ready_url`` answers 200 (model loaded)."""
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 600
            while True:
                try:
                    if httpx.get(ready_url, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"model server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def server_command(
    args: argparse.Namespace, model: Path, port: int, n_ctx: int
) -> tuple[str, list[str], str]:
    """(label, command, readiness URL) of the model server to measure."""
    base = f"http://127.0.0.1:{port}"
    binary = args.llama_server or shutil.which("llama-server")
    if binary:
        command = [
            str(binary),
            *("--model", str(model), "--alias", ALIAS, "--host", "127.0.0.1"),
            *("--port", str(port), "--parallel", str(args.slots)),
            *("--ctx-size", str(n_ctx * args.slots), "--threads", str(args.threads)),
            "--no-webui",
        ]
        return f"llama-server, {args.slots} slots", command, f"{base}/health"
    command = [
        sys.executable,
        *("-m", "service.llama_server", "--model", str(model), "--model_alias", ALIAS),
        *("--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)),
        *("--n_threads", str(args.threads)),
    ]
    # It has no /health; /v1/models answers once the model is loaded.
    return "llama-cpp-python server (1 request at a time)", command, f"{base}/v1/models"


def timed_level(generator: PatientGenerator, concurrency: int, records: int) -> float:
    """Seconds for ``concurrency`` threads to generate ``records`` records each."""
    failures: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            generator.generate(PROMPT, seed=concurrency * 100 + thread * 10, count=records)
        except BaseException as exc:  # reported below, never lost
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit(f"N={concurrency}: {failures[0]!r}")
    return seconds


def measure(
    label: str,
    settings: Settings,
    store: KnowledgeStore,
    model: LanguageModel,
    levels: list[int],
    records: int,
) -> list[Row]:
    generator = build_generator(settings, store, model)
    generator.generate(PROMPT, seed=1000, count=1)  # warm-up, not timed
    rows = []
    for concurrency in levels:
        seconds = timed_level(generator, concurrency, records)
        row = Row(label, concurrency, concurrency * records, seconds)
        print(f"  {label}: N={concurrency} {row.per_minute:.2f} records/min", file=sys.stderr)
        rows.append(row)
    return rows


def print_table(rows: list[Row]) -> None:
    print(f"{'backend':<48} {'N':>2} {'records':>7} {'seconds':>8} {'rec/min':>8} {'x N=1':>6}")
    first: dict[str, float] = {}
    for row in rows:
        base = first.setdefault(row.backend, row.per_minute)
        print(
            f"{row.backend:<48} {row.concurrency:>2} {row.records:>7} {row.seconds:>8.1f} "
            f"{row.per_minute:>8.2f} {row.per_minute / base:>6.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--records", type=int, default=2, help="records per thread")
    parser.add_argument("--slots", type=int, default=4, help="llama-server parallel slots")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--max-tokens", type=int, default=256, help="per model call")
    parser.add_argument("--llama-server", type=Path, default=os.environ.get("LLAMA_SERVER"))
    parser.add_argument("--model", type=Path, help="GGUF; default: the embedded SmolLM2")
    parser.add_argument(
        "--backends", nargs="+", choices=["server", "inprocess"], default=["server", "inprocess"]
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        values = {"home": Path(home), "reference_date": date(2026, 6, 1)}
        values |= {"llm_n_threads": args.threads, "llm_max_tokens": args.max_tokens}
        if args.model:
            values["llm_model_path"] = args.model
        settings = Settings(**values)  # type: ignore[arg-type]
        store = build_knowledge_store(settings)
        started = time.perf_counter()
        ingest_paths([CORPUS], store)
        print(
            f"ingested the bundled corpus in {time.perf_counter() - started:.0f} s", file=sys.stderr
        )
        model_path = settings.llm.model_path
        rows: list[Row] = []
        if "server" in args.backends:
            port = free_port()
            label, command, ready = server_command(args, model_path, port, settings.llm.n_ctx)
            with model_server(command, ready, Path(home) / "model-server.log"):
                remote = settings.with_values(
                    llm_backend="openai",
                    openai_base_url=f"http://127.0.0.1:{port}/v1",
                    openai_model=ALIAS,
                )
                model = build_language_model(remote)
                try:
                    rows += measure(label, remote, store, model, args.concurrency, args.records)
                finally:
                    model.close()
        if "inprocess" in args.backends:
            model = build_language_model(settings)
            try:
                label = "in-process llama.cpp (one model, locked)"
                rows += measure(label, settings, store, model, args.concurrency, args.records)
            finally:
                model.close()
    print(f"model: {model_path.name}; prompt: {PROMPT!r}; {args.threads} threads")
    print(f"records per thread: {args.records}; max tokens per call: {args.max_tokens}")
    print_table(rows)


if __name__ == "__main__":
    main()
