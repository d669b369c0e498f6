"""A batch's quality report as one self-contained HTML page: inline CSS, inline SVG
histograms, no JavaScript and no external reference of any kind, so it opens inside a
closed network."""

from __future__ import annotations

import html
from collections.abc import Sequence

from service.quality.models import BatchReport, Histogram, MetricSummary

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2430;max-width:72rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccd;padding:.2rem .5rem;
font-size:.85rem;text-align:left}th{background:#eef1f6}.num{text-align:right}
.cards{display:flex;flex-wrap:wrap;gap:1rem}.card{border:1px solid #ccd;border-radius:6px;
padding:.7rem;width:24rem}.card p{font-size:.8rem;margin:.3rem 0}.muted{color:#667}
.bad{color:#a40000}svg text{font-size:10px;fill:#334}
"""
_WIDTH, _HEIGHT, _PAD = 360, 150, 24


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def histogram_svg(histogram: Histogram | None, label: str, *, note: str | None = None) -> str:
    """An inline SVG bar chart; a chart with a note when there is nothing to plot."""
    head = (
        f'<svg role="img" aria-label="{_e(label)}" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}">'
    )
    axis = (
        f'<line x1="{_PAD}" y1="{_HEIGHT - _PAD}" x2="{_WIDTH - 4}" y2="{_HEIGHT - _PAD}" '
        'stroke="#889"/>'
    )
    if histogram is None or not histogram.counts or max(histogram.counts) == 0:
        text = note or "nothing to plot"
        return (
            f'{head}{axis}<text x="{_WIDTH / 2}" y="{_HEIGHT / 2}" text-anchor="middle">'
            f"{_e(text)}</text></svg>"
        )
    peak = max(histogram.counts)
    inner_w, inner_h = _WIDTH - _PAD - 4, _HEIGHT - 2 * _PAD
    bar_w = inner_w / len(histogram.counts)
    bars = []
    for i, count in enumerate(histogram.counts):
        h = inner_h * count / peak
        x, y = _PAD + i * bar_w, _HEIGHT - _PAD - h
        lo, hi = histogram.edges[i], histogram.edges[i + 1]
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" '
            f'fill="#4a78b5"><title>{_e(f"{lo:.4g} to {hi:.4g}: {count}")}</title></rect>'
        )
    labels = (
        f'<text x="{_PAD}" y="{_HEIGHT - 8}">{_fmt(histogram.edges[0])}</text>'
        f'<text x="{_WIDTH - 4}" y="{_HEIGHT - 8}" text-anchor="end">'
        f"{_fmt(histogram.edges[-1])}</text>"
        f'<text x="2" y="{_PAD - 6}">{peak}</text>'
    )
    return head + axis + "".join(bars) + labels + "</svg>"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_fmt(c)}</td>'
            if isinstance(c, float | None)
            else f"<td>{_e(c)}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _metric_card(metric: MetricSummary) -> str:
    m = metric
    row = [m.count, m.mean, m.median, m.p5, m.p95, m.min, m.max]
    stats = _table(["n", "mean", "median", "p5", "p95", "min", "max"], [row]) if m.computed else ""
    note = None if metric.computed else "not computed (see below)"
    reason = f'<p class="muted">{_e(metric.reason)}</p>' if metric.reason else ""
    reference = f"<p>Published: {_e(metric.reference)}</p>" if metric.reference else ""
    return (
        f'<div class="card"><h3>{_e(metric.name)}</h3>'
        f"{histogram_svg(metric.histogram, metric.name, note=note)}{stats}"
        f"<p>{_e(metric.definition)}</p>{reference}{reason}</div>"
    )


def _one_row(cells: dict[str, object]) -> str:
    return _table(list(cells), [list(cells.values())])


def _counts_and_coverage(report: BatchReport) -> str:
    c, d = report.counts, report.diversity
    counts = _one_row(
        {
            "records": c.records,
            "requested": c.requested,
            "validated": c.validated,
            "not validated": c.not_validated,
            "passed": c.passed,
            "failed": c.failed,
            "pass rate": c.pass_rate,
        }
    )
    cov = d.coverage
    coverage = _one_row(
        {
            "distinct-1": d.distinct_1,
            "distinct-2": d.distinct_2,
            "distinct-3": d.distinct_3,
            "tumours": len(cov.tumours),
            "tumour vocabulary share": cov.tumour_vocabulary_share,
            "regimens": len(cov.regimens),
            "RT sites": len(cov.radiotherapy_sites),
            "risk groups": len(cov.risk_groups),
            "tumour sites": len(cov.sites),
            "ages at diagnosis": len(cov.ages_at_diagnosis),
        }
    )
    note = None if d.mean_pairwise_distance is not None else "not computed (see below)"
    pairwise = histogram_svg(d.pairwise_distance_histogram, "pairwise distance", note=note)
    tumours = _table(["tumour", "records"], sorted(cov.tumours.items()))
    regimens = _table(["first-line drugs", "records"], sorted(cov.regimens.items()))
    regimens += _table(["risk group", "records"], sorted(cov.risk_groups.items()))
    reason = f'<p class="muted">{_e(d.reason)}</p>' if d.reason else ""
    return (
        f"<h2>Counts</h2>{counts}<h2>Diversity</h2><p>{_e(d.definition)}</p>{coverage}"
        f'<div class="cards"><div class="card"><h3>pairwise summary distance</h3>{pairwise}'
        f"<p>mean {_fmt(d.mean_pairwise_distance)}</p>{reason}</div>"
        f'<div class="card">{tumours}{regimens}</div></div>'
    )


def _findings(report: BatchReport) -> str:
    dup, privacy = report.duplicates, report.privacy
    groups = [
        [kind, g.method, ", ".join(g.record_ids), g.similarity]
        for kind, found in (("exact", dup.exact), ("near", dup.near))
        for g in found
    ]
    duplicates = (
        _table(["kind", "method", "records", "similarity"], groups)
        if groups
        else "<p>No duplicates found.</p>"
    )
    findings = [[f.kind, f.field, ", ".join(f.record_ids), f.detail] for f in privacy.findings]
    privacy_html = (
        f'<p class="bad">{len(findings)} finding(s).</p>'
        + _table(["kind", "field", "records", "detail"], findings)
        if findings
        else "<p>No privacy findings.</p>"
    )
    return (
        f"<h2>Duplicates</h2><p>{_e(dup.definition)}</p>{duplicates}"
        f"<h2>Privacy</h2><p>{_e(privacy.definition)} Checked against "
        f"{privacy.corpus_passages_checked} corpus passage(s) and {privacy.examples_checked} "
        f"prompt example(s).</p>{privacy_html}"
    )


def _per_record(report: BatchReport) -> str:
    names = list(report.metrics)
    rows = [[i, *(report.metrics[n].values.get(i) for n in names)] for i in report.record_ids]
    return f"<h2>Per record</h2>{_table(['record', *names], rows)}"


def render_html(report: BatchReport) -> str:
    """The report as one self-contained page (no scripts, no links, no remote resources)."""
    title = f"clinsynth batch report {report.batch_id or ''}".strip()
    models = f"scorer: {report.scorer or 'none'} · embedder: {report.embedder or 'none'}"
    cards = "".join(_metric_card(m) for m in report.metrics.values())
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{_e(title)}</h1><p class="muted">generated {_e(report.generated_at.isoformat())}'
        f" · {_e(models)}</p>"
        f'{_counts_and_coverage(report)}<h2>Metrics</h2><div class="cards">{cards}</div>'
        f"{_findings(report)}{_per_record(report)}</body></html>"
    )
