"""Tabular synthesis with the embedded model: rows per second per prompt type and the
SynLLM-style table (prompt type x metric) for PBC and Pima, at a fixed seed.

For each data set, each of the four prompt types generates ``--rows`` rows (statistics
with steering, every type under the rule-compiled row schema, two repair rounds), and one
report measures them against the training/holdout split together with the independent and
Gaussian-copula baselines (as many rows). ``--budget`` seconds are shared evenly between
the runs; a run that reaches its share stops early and says so (the table counts the rows
it made). Prints figures; asserts nothing.

    .venv/bin/python bench/tabular.py [--rows 10] [--seed 1] [--budget 780] [--out DIR]
        [--no-rule-schema]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where bench/ingest.py would shadow the
# ingest package: drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from service.offline import enforce_offline  # noqa: E402

enforce_offline()

from service.components import build_language_model  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.tabular.generate import GenerationOptions, TabularGenerator  # noqa: E402
from service.tabular.prompting import PROMPT_TYPES  # noqa: E402
from service.tabular.report import build_report, render_html, render_text  # noqa: E402
from service.tabular.runs import open_reference, run_document, write_rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--datasets", default="pima,pbc")
    parser.add_argument("--prompt-types", default=",".join(PROMPT_TYPES))
    parser.add_argument("--budget", type=float, default=780.0, help="seconds for all runs")
    parser.add_argument("--out", type=Path, help="write rows, run files and HTML reports here")
    parser.add_argument(
        "--no-rule-schema",
        action="store_true",
        help="leave the rules to the prompt and the rule engine (SynLLM's setting)",
    )
    args = parser.parse_args()
    datasets = args.datasets.split(",")
    prompt_types = args.prompt_types.split(",")
    share = args.budget / (len(datasets) * len(prompt_types))
    settings = Settings()
    model = build_language_model(settings)
    print(
        f"model {model.name} ({model.backend}); {args.rows} rows per run, seed {args.seed}, "
        f"rules {'in the prompt only' if args.no_rule_schema else 'compiled into the schema'}"
    )
    speeds: list[tuple[str, str, int, float, float]] = []
    try:
        for dataset in datasets:
            reference, book, _ = open_reference(dataset, split_seed=args.split_seed)
            generator = TabularGenerator(model, reference, book)
            tables = {}
            for prompt_type in prompt_types:
                options = GenerationOptions(
                    rows=args.rows,
                    seed=args.seed,
                    steer=prompt_type == "statistics",
                    rule_schema=not args.no_rule_schema,
                )
                deadline = time.monotonic() + share
                run = generator.generate(
                    prompt_type,  # type: ignore[arg-type]
                    options,
                    should_stop=lambda deadline=deadline: time.monotonic() > deadline,
                )
                summary = run.summary()
                if len(run.slots) < args.rows:
                    print(f"{dataset}/{prompt_type}: time share used after {len(run.slots)} rows")
                speeds.append(
                    (dataset, prompt_type, summary["kept"], run.seconds, summary["attempts"])
                )
                document = run_document(run, reference, None)
                frame = run.frame(reference.spec)
                tables[prompt_type] = (frame, document)
                if args.out is not None:
                    write_rows(
                        frame, reference.spec, document, args.out / f"{dataset}_{prompt_type}.csv"
                    )
            report, frames = build_report(reference, book, tables, seed=args.seed)
            print()
            print(render_text(report))
            if args.out is not None:
                (args.out / f"{dataset}_report.html").write_text(
                    render_html(report, reference, frames)
                )
    finally:
        model.close()
    print()
    print("data   prompt       rows kept  attempts  seconds  rows/s")
    for dataset, prompt_type, kept, seconds, attempts in speeds:
        rate = kept / seconds if seconds else 0.0
        print(
            f"{dataset:<6} {prompt_type:<12} {kept:>9}  {attempts:>8}  {seconds:>7.1f}  {rate:.3f}"
        )
    total_kept = sum(s[2] for s in speeds)
    total_seconds = sum(s[3] for s in speeds)
    print(
        f"all: {total_kept} rows in {total_seconds:.0f} s, {total_kept / total_seconds:.3f} rows/s"
    )


if __name__ == "__main__":
    main()
