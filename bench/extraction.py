"""Precision and recall of the fact extractor against hand-labelled facts.

Loads ``bench/labels/extraction/labels.jsonl`` (one labelled fact a line: ``document``,
``page``, ``kind`` and the kind's fields, at top level or under ``fields``) and
``pages.json`` (which pages of which documents were labelled: ``{"doc.pdf": [3, 9]}`` or a
list of ``{"document": ..., "page": ...}``). Each document is read from
../shared/corpus/real (its path relative to that folder, or its file name found there) by
the ingest's own reading (text layer and ruled tables; no OCR), and the extractor runs over
the labelled pages only.

A prediction matches a label of the same document, page and kind, one to one:
drug_dose by drug (any of its vocabulary names), dose value and normalised unit;
radiotherapy by total_gy, and fractions and per_fraction_gy when both have them;
tumour_mention by code (or term); regimen by name; surgery, transplant and supportive by
item. Prints precision and recall per kind and per document, for the patterns alone and
with the model pass of ``clinsynth ingest --extract model`` (the embedded model, or the GGUF
of ``--model``; ``--patterns-only`` skips it), and the model pass's run time. Exits 2 when
the labels are missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and this file's name would
# not matter, but ``ingest`` (bench/ingest.py) would shadow the package: search the root.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
if str(_BENCH.parent) not in sys.path:
    sys.path.insert(0, str(_BENCH.parent))

from service.offline import enforce_offline  # noqa: E402

enforce_offline()

from ingest.ocr import make_ocr  # noqa: E402
from ingest.pdf import iter_pages, open_pdf  # noqa: E402
from ingest.reading import read_document  # noqa: E402
from knowledge.facts import FACT_KINDS, Fact, extract_page  # noqa: E402
from knowledge.facts.doses import normalise_unit  # noqa: E402
from knowledge.facts.proposals import ModelPassStats, model_pass  # noqa: E402
from knowledge.facts.store import fold  # noqa: E402
from knowledge.vocabulary import drugs  # noqa: E402

LABELS = _BENCH / "labels" / "extraction"
CORPUS = _BENCH.parent.parent / "shared" / "corpus" / "real"
Key = tuple[str, int, str]  # document, page, kind


def load_labels(folder: Path) -> tuple[list[dict[str, Any]], dict[str, set[int]]]:
    labels_path, pages_path = folder / "labels.jsonl", folder / "pages.json"
    missing = [str(p) for p in (labels_path, pages_path) if not p.exists()]
    if missing:
        print(f"no extraction labels: {', '.join(missing)} missing", file=sys.stderr)
        print("label pages first (see bench/README.md, 'Fact extraction')", file=sys.stderr)
        raise SystemExit(2)
    labels = [json.loads(line) for line in labels_path.read_text().splitlines() if line.strip()]
    raw = json.loads(pages_path.read_text())
    pages: dict[str, set[int]] = defaultdict(set)
    if isinstance(raw, dict):
        for document, numbers in raw.items():
            pages[document].update(int(n) for n in numbers)
    else:
        for entry in raw:
            pages[_document_of(entry)].add(int(entry["page"]))
    for label in labels:  # a labelled fact's page is a labelled page
        pages[_document_of(label)].add(int(label["page"]))
    return labels, pages


def _document_of(entry: dict[str, Any]) -> str:
    return str(entry.get("document") or entry.get("file") or entry.get("path"))


def _fields(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, **(entry.get("fields") or {})}


def locate(document: str, corpus: Path) -> Path | None:
    path = corpus / document
    if path.exists():
        return path
    return next(iter(sorted(corpus.rglob(Path(document).name))), None)


def predict(
    path: Path, numbers: set[int], model: Any = None, stats: ModelPassStats | None = None
) -> tuple[list[Fact], list[Fact]]:
    """The extractor over the labelled pages, read as the ingest reads them: the patterns'
    facts, and the model pass's verified new ones (none without ``model``)."""
    _, reader = open_pdf(path)
    # Scanned pages are OCRed as the ingest does (the passports are labelled from images).
    pages = read_document(path, iter_pages(path, reader), ocr=make_ocr, tables=True)
    facts: list[Fact] = []
    proposed: list[Fact] = []
    for page in pages:
        if page.number in numbers:
            rows = [row.cells for row in page.rows]
            found = extract_page(page.number, page.text, language=page.language, rows=rows)
            facts.extend(found)
            if model is not None and stats is not None:
                new, page_stats = model_pass(
                    model, page.number, page.text, rows, found=found, language=page.language
                )
                proposed.extend(new)
                stats.add(page_stats)
    return facts, proposed


def load_model(gguf: Path | None) -> Any:
    """The embedded SmolLM2 (or ``gguf``) on the CPU, as ``clinsynth ingest`` would load it."""
    from models.embedded import packaged_gguf_path
    from models.llamacpp import LlamaCppModel

    return LlamaCppModel(gguf or packaged_gguf_path(), n_gpu_layers=0, n_ctx=2048, n_threads=2)


def _drug(name: Any) -> str:
    wanted = fold(str(name or ""))
    for term in drugs():
        if any(fold(n) == wanted for n in term.names):
            return term.term
    return wanted


def _number(value: Any) -> float | None:
    try:
        return round(float(str(value).replace(",", ".")), 4)
    except (TypeError, ValueError):
        return None


def _base_unit(unit: Any) -> str:
    """The unit without a trailing per-day or per-dose (labels keep what the page says)."""
    text = normalise_unit(str(unit or ""))
    for suffix in ("/day", "/dia", "/día", "/d", "/dose", "/dosis"):
        if text.lower().endswith(suffix) and text.count("/") > 1:
            return text[: -len(suffix)]
    return text


def identity(kind: str, fields: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two facts one under the labelling rules (README: a drug, dose and unit
    once per page; a course once; a name once), so repeated calendar rows count once."""
    if kind == "drug_dose":
        return (
            _drug(fields.get("drug")),
            _number(fields.get("dose")),
            _base_unit(fields.get("unit")),
        )
    if kind == "radiotherapy":
        return (_number(fields.get("total_gy")), _number(fields.get("per_fraction_gy")))
    return tuple(fold(str(fields.get(f) or "")) for f in ("code", "name", "item", "term"))


def matches(kind: str, label: dict[str, Any], fact: dict[str, Any]) -> bool:
    if kind == "drug_dose":
        return (
            _drug(label.get("drug")) == _drug(fact.get("drug"))
            and _number(label.get("dose")) == _number(fact.get("dose"))
            and _base_unit(label.get("unit")) == _base_unit(fact.get("unit"))
        )
    if kind == "radiotherapy":
        if _number(label.get("total_gy")) != _number(fact.get("total_gy")):
            return False
        return all(
            label.get(k) is None or fact.get(k) is None or _number(label[k]) == _number(fact[k])
            for k in ("fractions", "per_fraction_gy")
        )
    for field in ("code", "name", "item", "term"):
        if label.get(field) and fact.get(field):
            return fold(str(label[field])) == fold(str(fact[field]))
    return True


def score(
    labels: Iterable[dict[str, Any]], predictions: dict[str, list[Fact]]
) -> dict[Key, tuple[int, int, int]]:
    """Per (document, page, kind): true positives, predictions, labels."""
    wanted: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for label in labels:
        wanted[(_document_of(label), int(label["page"]), label["kind"])].append(_fields(label))
    found: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    seen: set[tuple[Any, ...]] = set()
    for document, facts in predictions.items():
        for fact in facts:
            key = (document, fact.page, fact.kind, identity(fact.kind, fact.fields))
            if key not in seen:  # the same fact again on its page (a calendar's rows)
                seen.add(key)
                found[(document, fact.page, fact.kind)].append(fact.fields)
    result = {}
    for key in set(wanted) | set(found):
        open_labels = list(wanted.get(key, []))
        hits = 0
        for fact in found.get(key, []):
            hit = next((lab for lab in open_labels if matches(key[2], lab, fact)), None)
            if hit is not None:
                open_labels.remove(hit)
                hits += 1
        result[key] = (hits, len(found.get(key, [])), len(wanted.get(key, [])))
    return result


def _line(name: str, hits: int, predicted: int, labelled: int) -> str:
    precision = f"{hits / predicted:.2f}" if predicted else "  - "
    recall = f"{hits / labelled:.2f}" if labelled else "  - "
    return f"{name:<34} {precision:>9} {recall:>7} {hits:>5} {predicted:>6} {labelled:>7}"


def report(scores: dict[Key, tuple[int, int, int]], title: str) -> None:
    print(f"\n{title}")
    print(f"{'':<34} {'precision':>9} {'recall':>7} {'hits':>5} {'found':>6} {'labels':>7}")
    for group, index in (("kind", 2), ("document", 0)):
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for key, figures in scores.items():
            for i, value in enumerate(figures):
                totals[str(key[index])][i] += value
        order = [k for k in FACT_KINDS if k in totals] if group == "kind" else sorted(totals)
        for name in order:
            print(_line(f"{group}: {name}"[:34], *totals[name]))
    overall = [sum(f[i] for f in scores.values()) for i in range(3)]
    print(_line("all", *overall))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS, help="labels folder")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the real PDFs' folder")
    parser.add_argument("--patterns-only", action="store_true", help="skip the model pass")
    parser.add_argument("--model", type=Path, help="a GGUF for the model pass (default: embedded)")
    args = parser.parse_args()
    labels, pages = load_labels(args.labels)
    model = None if args.patterns_only else load_model(args.model)
    stats = ModelPassStats()
    predictions: dict[str, list[Fact]] = {}
    with_model: dict[str, list[Fact]] = {}
    for document, numbers in sorted(pages.items()):
        path = locate(document, args.corpus)
        if path is None:
            print(f"{document}: not found under {args.corpus}; its labels count as missed")
            continue
        predictions[document], proposed = predict(path, numbers, model, stats)
        with_model[document] = predictions[document] + proposed
    print(f"{len(labels)} labelled facts on {sum(map(len, pages.values()))} pages")
    report(score(labels, predictions), "patterns and vocabularies")
    if model is None:
        print("\nmodel pass: skipped (--patterns-only)")
        return
    report(score(labels, with_model), f"patterns + model pass ({model.name})")
    dropped = ", ".join(f"{n} {why}" for why, n in sorted(stats.dropped.items())) or "none"
    print(
        f"\nmodel pass: {stats.windows} passages, {stats.proposed} facts proposed, "
        f"{stats.kept} kept ({stats.new} not found by the patterns); dropped: {dropped}; "
        f"{len(stats.errors)} answers not JSON; {stats.seconds:.0f} s of model time "
        f"({time.process_time():.0f} s CPU in all)"
    )


if __name__ == "__main__":
    main()
