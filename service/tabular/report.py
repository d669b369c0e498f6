"""The tabular report: one synthetic table against its reference and two baselines made in
the same run, as JSON or a self-contained HTML page (marginals and correlation matrices side
by side, inline SVG, no external resources)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from service.quality.html import _CSS, _e, _table, histogram_svg
from service.quality.models import Histogram
from service.tabular.baselines import gaussian_copula_sample, independent_sample
from service.tabular.metrics import (
    Fidelity,
    Privacy,
    Utility,
    correlation_matrix,
    fidelity,
    privacy,
    utility,
)
from service.tabular.reference import Reference, ReferenceError, normalise
from service.tabular.rules import TableRuleBook, summarise_violations
from service.tabular.spec import category_key

RUN_SUFFIX = ".run.json"


class RuleViolations(BaseModel):
    rows: int
    rows_violating: int
    rate: float
    by_rule: dict[str, int]


class SourceReport(BaseModel):
    """One table measured: the model's rows or a baseline's."""

    name: str
    rows: int
    fidelity: Fidelity
    rule_violations: RuleViolations
    privacy: Privacy | None
    utility: Utility | None
    generation: dict[str, Any] | None = None  # counts and provenance of a model run


class TabularReport(BaseModel):
    reference: str
    source: str
    split: str
    compared_with: str = "training split (fidelity), holdout split (privacy, utility)"
    rules: int
    reference_rule_violations: RuleViolations
    seed: int
    sources: list[SourceReport]


def violations(book: TableRuleBook, frame: pd.DataFrame) -> RuleViolations:
    summary = summarise_violations(book, frame.to_dict("records"))
    return RuleViolations(
        rows=summary.rows,
        rows_violating=summary.rows_violating,
        rate=summary.rate,
        by_rule=summary.failures_by_rule,
    )


def read_synthetic(path: Path, reference: Reference) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Rows of a CSV or of the JSON ``tabular`` writes, normalised to the spec, and the
    run's summary and provenance (from the JSON or from the CSV's ``.run.json``)."""
    run: dict[str, Any] | None = None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data["rows"] if isinstance(data, dict) else data
            run = data.get("run") if isinstance(data, dict) else None
            raw = pd.DataFrame(rows, columns=reference.spec.names)
        else:
            raw = pd.read_csv(path)
            sidecar = path.with_name(path.name + RUN_SUFFIX)
            if sidecar.is_file():
                run = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReferenceError(f"cannot read synthetic rows from {path}: {exc}") from exc
    return normalise(raw, reference.spec), run


def measure(
    name: str,
    frame: pd.DataFrame,
    reference: Reference,
    book: TableRuleBook,
    *,
    seed: int,
    generation: dict[str, Any] | None = None,
) -> SourceReport:
    train, holdout = reference.train, reference.holdout
    return SourceReport(
        name=name,
        rows=len(frame),
        fidelity=fidelity(train, frame, reference.spec),
        rule_violations=violations(book, frame),
        privacy=privacy(frame, train, holdout, reference.spec, seed=seed),
        utility=utility(frame, train, holdout, reference.spec, seed=seed),
        generation=generation,
    )


def build_report(
    reference: Reference,
    book: TableRuleBook,
    synthetic: dict[str, tuple[pd.DataFrame, dict[str, Any] | None]],
    *,
    seed: int,
    baseline_rows: int | None = None,
) -> tuple[TabularReport, dict[str, pd.DataFrame]]:
    """Each synthetic table, then the independent and copula baselines (as many rows as the
    largest synthetic table unless ``baseline_rows``), all measured the same way; the
    report and every measured table by name."""
    rows = baseline_rows or max((len(f) for f, _ in synthetic.values()), default=0)
    rows = rows or len(reference.train)
    frames = {name: frame for name, (frame, _) in synthetic.items()}
    frames["independent"] = independent_sample(reference.train, reference.spec, rows, seed)
    frames["gaussian_copula"] = gaussian_copula_sample(reference.train, reference.spec, rows, seed)
    sources = [
        measure(
            name, frame, reference, book, seed=seed, generation=synthetic.get(name, (None, None))[1]
        )
        for name, frame in frames.items()
    ]
    report = TabularReport(
        reference=reference.name,
        source=reference.source,
        split=reference.split.describe(),
        rules=len(book),
        reference_rule_violations=violations(book, reference.frame),
        seed=seed,
        sources=sources,
    )
    return report, frames


SUMMARY_COLUMNS = [
    "source", "rows", "KS", "W1", "TVD", "JSD", "corr", "cont", "rule viol.",
    "DCR tr", "DCR ho", "closer tr", "NNDR", "copies", "ident.", "AUC LR", "AUC RF", "acc RF",
]  # fmt: skip


def summary_rows(report: TabularReport) -> list[list[Any]]:
    """One line per source: the SynLLM-style table (see ``SUMMARY_COLUMNS``)."""
    out = []
    for s in report.sources:
        f, p, u = s.fidelity, s.privacy, s.utility
        scores = {c.classifier: c for c in u.synthetic} if u else {}
        lr, rf = scores.get("logistic_regression"), scores.get("random_forest")
        out.append([
            s.name, s.rows, f.mean_ks, f.mean_wasserstein, f.mean_tvd, f.mean_jsd,
            f.correlation_distance, f.contingency_distance, s.rule_violations.rate,
            p.dcr_train_median if p else None, p.dcr_holdout_median if p else None,
            p.closer_to_train_share if p else None, p.nndr_median if p else None,
            p.exact_copies if p else None, p.identifiability if p else None,
            lr.auc if lr else None, rf.auc if rf else None, rf.accuracy if rf else None,
        ])  # fmt: skip
    if report.sources and report.sources[0].utility:
        real = {c.classifier: c for c in report.sources[0].utility.real}
        lr, rf = real.get("logistic_regression"), real.get("random_forest")
        out.append(["real train (utility only)", None] + [None] * 13 + [
            lr.auc if lr else None, rf.auc if rf else None, rf.accuracy if rf else None
        ])  # fmt: skip
    return out


def format_cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


LEGEND = (
    "KS, W1 (Wasserstein / real range), TVD, JSD: mean per column, lower is closer. corr: mean "
    "|difference| of correlations; cont: mean total variation of pairwise contingency tables. "
    "rule viol.: share of rows breaking an error rule. DCR tr / ho: median distance to the "
    "closest training / holdout row; closer tr: share of rows closer to train than to holdout "
    "(about 0.5 is good); NNDR: median nearest-neighbour distance ratio; copies: exact copies "
    "of training rows; ident.: identifiability. AUC and accuracy: classifiers trained on the "
    "rows, tested on the holdout split."
)


def _cell(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def generation_lines(report: TabularReport) -> list[str]:
    lines = []
    for s in report.sources:
        if s.generation and "summary" in s.generation:
            g = s.generation["summary"]
            lines.append(
                f"{s.name}: {g['kept']} of {g['requested']} rows kept, {g['repaired']} repaired, "
                f"{g['dropped']} dropped; before repair {g['rule_violation_rate_first']:.1%} of "
                f"schema-valid rows broke a rule; {g.get('rows_per_second')} rows/s"
            )
    return lines


def render_text(report: TabularReport) -> str:
    rows = [SUMMARY_COLUMNS] + [[format_cell(v) for v in row] for row in summary_rows(report)]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(SUMMARY_COLUMNS))]
    lines = [
        f"{report.reference}: {report.split}; {report.rules} rules, reference violates "
        f"{report.reference_rule_violations.rate:.2%} of rows"
    ]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines += generation_lines(report)
    return "\n".join(lines)


def _histograms(
    reference: Reference, frames: dict[str, pd.DataFrame], column: str
) -> list[tuple[str, Histogram | None]]:
    spec = reference.spec.column(column)
    real = reference.train[column]
    out: list[tuple[str, Histogram | None]] = []
    for name, values in [("real (train)", real)] + [(n, f[column]) for n, f in frames.items()]:
        present = values.dropna()
        if len(present) == 0:
            out.append((name, None))
            continue
        if spec.numeric:
            edges = np.linspace(np.nanmin(real), np.nanmax(real), 21)
            counts = np.histogram(
                np.clip(present.to_numpy(dtype=float), edges[0], edges[-1]), edges
            )[0]
        else:
            cats = list(spec.categories or ())
            edges = np.arange(len(cats) + 1, dtype=float)
            keys = present.map(category_key)
            counts = np.array([(keys == category_key(c)).sum() for c in cats])
        out.append(
            (name, Histogram(edges=[float(e) for e in edges], counts=[int(c) for c in counts]))
        )
    return out


def _heatmap(matrix: pd.DataFrame, title: str) -> str:
    cells = []
    for i, row_name in enumerate(matrix.index):
        row = [f"<th>{_e(row_name)}</th>"]
        for j in range(len(matrix.columns)):
            value = matrix.iloc[i, j]
            if np.isnan(value):
                row.append('<td class="num muted">-</td>')
                continue
            shade = int(255 - 150 * min(abs(value), 1))
            colour = f"rgb(255,{shade},{shade})" if value > 0 else f"rgb({shade},{shade},255)"
            row.append(f'<td class="num" style="background:{colour}">{value:.2f}</td>')
        cells.append("<tr>" + "".join(row) + "</tr>")
    head = "<tr><th></th>" + "".join(f"<th>{_e(c)}</th>" for c in matrix.columns) + "</tr>"
    return f"<div><p><b>{_e(title)}</b></p><table>{head}{''.join(cells)}</table></div>"


def render_html(
    report: TabularReport, reference: Reference, frames: dict[str, pd.DataFrame]
) -> str:
    """``frames``: every source's rows by name (the same names as in the report)."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Tabular report: "
        f"{_e(report.reference)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Tabular report: {_e(report.reference)}</h1>",
        f"<p>{_e(report.source)}. {_e(report.split)}. "
        f"Compared with the {_e(report.compared_with)}. {report.rules} clinical rules; the "
        f"reference itself breaks them in {report.reference_rule_violations.rate:.2%} of rows. "
        f"Seed {report.seed}.</p>",
        "<h2>Summary</h2>",
        _table(SUMMARY_COLUMNS, [[_cell(c) for c in row] for row in summary_rows(report)]),
        f"<p class='muted'>{_e(LEGEND)}</p>",
    ]
    parts += [f"<p>{_e(line)}</p>" for line in generation_lines(report)]
    parts.append("<h2>Marginals</h2>")
    for column in reference.spec.names:
        charts = "".join(
            f"<div class='card'><p>{_e(name)}</p>"
            f"{histogram_svg(h, f'{column} {name}', note='no values')}</div>"
            for name, h in _histograms(reference, frames, column)
        )
        parts.append(f"<h3>{_e(column)}</h3><div class='cards'>{charts}</div>")
    parts.append("<h2>Correlation matrices</h2><div class='cards'>")
    parts.append(_heatmap(correlation_matrix(reference.train, reference.spec), "real (train)"))
    for name, frame in frames.items():
        parts.append(_heatmap(correlation_matrix(frame, reference.spec), name))
    parts.append("</div></body></html>")
    return "".join(parts)
