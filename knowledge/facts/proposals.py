"""The optional model pass (``clinsynth ingest --extract model``): a language model reads
short candidate windows of a page (a sentence or table row naming a drug, or Gy, next to a
number and unit) and proposes drug-dose and radiotherapy facts under a JSON schema.

Nothing the model says is believed: a proposal is kept only if its quote is found verbatim
on the page (whitespace aside, so its span can be computed and the stored quote is the
page's own text), its drug (by any vocabulary name: synonym, abbreviation, brand) is named
in the quote, and its number and unit are written in the quote. The same guards as the
patterns' then apply (a risk threshold or a strength is not a dose). The windows are
bounded per page so the pass stays affordable on a small CPU model."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knowledge.chunks import TableCell
from knowledge.facts.doses import AFTER_GAP, DOSE, dose_fields, is_formulation, normalise_unit
from knowledge.facts.model import Fact
from knowledge.facts.numbers import THRESHOLD, clean, parse_number
from knowledge.facts.radiotherapy import GRAY, risk_criterion
from knowledge.facts.text import mentions, sentences
from knowledge.vocabulary import drug_by_name, drugs
from models.base import BackendError
from prompts import load_prompt

if TYPE_CHECKING:
    from models.base import LanguageModel

PROMPT = "fact_extraction"
MAX_WINDOWS = 2  # per page: a bounded pass, whatever the page holds
MAX_WINDOW_CHARS = 320
MAX_PROPOSALS = 3  # per window
MAX_TOKENS = 200
MAX_QUOTES = 24  # quote choices offered per passage
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Proposal:
    """One fact as the model wrote it, before any check."""

    kind: str
    drug: str | None
    dose: float | None
    unit: str | None
    quote: str


@dataclass
class ModelPassStats:
    """What the model pass did for a document: windows read, facts proposed, facts that
    passed the literal checks (``kept``), and of those the ones the patterns had not
    found (``new``); ``dropped`` counts the reasons; ``errors`` raw outputs not parsed."""

    windows: int = 0
    proposed: int = 0
    kept: int = 0
    new: int = 0
    seconds: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, other: ModelPassStats) -> None:
        self.windows += other.windows
        self.proposed += other.proposed
        self.kept += other.kept
        self.new += other.new
        self.seconds += other.seconds
        for reason, count in other.dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + count
        self.errors.extend(other.errors)


def candidate_windows(
    text: str,
    rows: Sequence[Sequence[TableCell]] = (),
    *,
    page: int | None = None,
    covered: Sequence[tuple[int, int]] = (),
    limit: int = MAX_WINDOWS,
) -> list[tuple[int, int]]:
    """``[start, end)`` spans of the page's table rows, then sentences, with a figure the
    patterns did not read (outside every ``covered`` span, their facts'): a dose and unit
    in a passage naming a drug, or a dose in Gy. At most ``limit``, none overlapping
    another, in page order: where a dose may have been missed, and nowhere else."""
    spans = []
    for cells in rows:  # a table row first: a tighter passage than the text around it
        located = [c for c in cells if (page is None or c.page == page)]
        located = [c for c in located if text[c.start : c.end] == c.text]
        if located:
            spans.append((min(c.start for c in located), max(c.end for c in located)))
    spans = sorted(spans) + sentences(text)
    chosen: list[tuple[int, int]] = []
    for begin, stop in dict.fromkeys(spans):
        window = _trim(text, begin, stop)
        if window is None or len(chosen) >= limit:
            continue
        start, end = window
        piece = text[start:end]
        figures = list(GRAY.finditer(piece))
        if mentions(piece, drugs()):
            figures.extend(DOSE.finditer(piece))
        unread = [
            m
            for m in figures
            if not any(s <= start + m.start() and start + m.end() <= e for s, e in covered)
        ]
        if unread and not any(s < end and start < e for s, e in chosen):
            chosen.append((start, end))
    return sorted(chosen)


def _trim(text: str, begin: int, stop: int) -> tuple[int, int] | None:
    """The span without surrounding blanks, cut to ``MAX_WINDOW_CHARS`` around its first
    figure with a unit."""
    piece = text[begin:stop]
    begin += len(piece) - len(piece.lstrip())
    stop -= len(piece) - len(piece.rstrip())
    if stop - begin <= MAX_WINDOW_CHARS:
        return (begin, stop) if stop > begin else None
    figure = DOSE.search(text, begin, stop) or GRAY.search(text, begin, stop)
    if figure is None:
        return None
    start = max(begin, figure.start() - MAX_WINDOW_CHARS // 2)
    return start, min(stop, start + MAX_WINDOW_CHARS)


def quote_choices(window: str) -> list[str]:
    """Pieces of the passage a quote may be: from a drug's name to a figure and unit after
    it (or from the figure to a name right after it: "1,5 mg/m2 de vincristina", not "1,5
    mg/m2 e etoposido"), and a dose in Gy alone; the shortest first, at most ``MAX_QUOTES``."""
    named = mentions(window, drugs())
    pieces = [window[m.start() : m.end()] for m in GRAY.finditer(window)]
    for figure in DOSE.finditer(window) if named else ():
        for name in named:
            if name.end <= figure.start():
                pieces.append(window[name.start : figure.end()])
            elif name.start >= figure.end() and AFTER_GAP.match(window[figure.end() : name.start]):
                pieces.append(window[figure.start() : name.end])  # "1,5 mg/m2 de vincristina"
    return sorted(dict.fromkeys(pieces), key=len)[:MAX_QUOTES]


def schema(window: str) -> dict[str, Any]:
    """The answer's JSON schema: the drug is one of the names the window itself writes
    (or null for radiotherapy) and the quote one of its pieces (``quote_choices``), so a
    small model can invent neither; the checks of ``verify`` still decide."""
    names = sorted({window[m.start : m.end] for m in mentions(window, drugs())})
    item = {
        "type": "object",
        "properties": {
            "kind": {"enum": ["drug_dose", "radiotherapy"]},
            "drug": {"enum": [*names, None]},
            "dose": {"type": "number"},
            "unit": {"type": "string", "maxLength": 16},
            "quote": {"enum": quote_choices(window)},
        },
        "required": ["kind", "drug", "dose", "unit", "quote"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"facts": {"type": "array", "items": item, "maxItems": MAX_PROPOSALS}},
        "required": ["facts"],
        "additionalProperties": False,
    }


def parse_proposals(raw: str) -> list[Proposal]:
    """The proposals of one answer; ``ValueError`` when it is not the schema's JSON."""
    data = json.loads(raw)
    items = data.get("facts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError("no 'facts' list")
    proposals = []
    for item in items[:MAX_PROPOSALS]:
        if not isinstance(item, dict):
            continue
        dose = item.get("dose")
        proposals.append(
            Proposal(
                kind=str(item.get("kind") or ""),
                drug=str(item["drug"]) if item.get("drug") else None,
                dose=float(dose) if isinstance(dose, int | float) else None,
                unit=str(item["unit"]) if item.get("unit") else None,
                quote=str(item.get("quote") or ""),
            )
        )
    return proposals


def locate_quote(text: str, quote: str, near: tuple[int, int]) -> tuple[int, int] | None:
    """Where ``quote`` stands on the page: verbatim, or with its blanks standing for any run
    of blanks (a model writes a wrapped line as one); the hit inside ``near`` first."""
    words = quote.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    hits = [(m.start(), m.end()) for m in pattern.finditer(text)]
    if not hits:
        return None
    inside = [h for h in hits if near[0] <= h[0] and h[1] <= near[1]]
    return (inside or hits)[0]


def verify(
    proposal: Proposal,
    page: int,
    text: str,
    near: tuple[int, int],
    *,
    decimal_comma: bool = True,
) -> tuple[Fact | None, str]:
    """The fact a proposal states if every literal check holds, else None and why not."""
    span = locate_quote(text, proposal.quote, near)
    if span is None:
        return None, "quote not on the page"
    start, end = span
    quote = text[start:end]
    if proposal.dose is None or not proposal.unit:
        return None, "no number or unit"
    if proposal.kind == "radiotherapy":
        return _radiotherapy(
            page, text, span, proposal.dose, proposal.unit, decimal_comma=decimal_comma
        )
    if proposal.kind != "drug_dose" or not proposal.drug:
        return None, "no drug"
    drug = drug_by_name(proposal.drug)
    named = [m for m in mentions(quote, drugs()) if drug is not None and m.term.term == drug.term]
    if not named:
        return None, "drug not in the quote"
    unit = normalise_unit(proposal.unit)
    for match in DOSE.finditer(quote):
        value = parse_number(match.group("dose"), decimal_comma=decimal_comma)
        if value is None or abs(value - proposal.dose) > 1e-9:
            continue
        if normalise_unit(match.group("unit")) != unit:
            continue
        if is_formulation(quote, match) or THRESHOLD.search(_before(text, start + match.start())):
            return None, "a strength or a threshold"
        mention = named[-1] if named[-1].start < match.start() else named[0]
        before = quote[: min(mention.start, match.start())] + " "
        before += quote[mention.end : match.start()]
        context = quote[match.end() :]
        fields = dose_fields(mention.term, match, context, before, decimal_comma=decimal_comma)
        if fields is None:
            return None, "no number or unit"
        return Fact("drug_dose", page, start, end, quote, {**fields, "source": "model"}), ""
    return None, "number or unit not in the quote"


def _before(text: str, position: int) -> str:
    return text[max(0, position - 16) : position]


def _radiotherapy(
    page: int, text: str, span: tuple[int, int], dose: float, unit: str, *, decimal_comma: bool
) -> tuple[Fact | None, str]:
    """A proposed course: its figure and unit (Gy, cGy) written in the quote."""
    start, end = span
    quote = text[start:end]
    for match in GRAY.finditer(quote):
        value = parse_number(match.group("dose"), decimal_comma=decimal_comma)
        written = _gray_unit(match.group("unit"))
        if value is None or abs(value - dose) > 1e-9 or written != _gray_unit(unit):
            continue
        gray = value / 100 if written == "cgy" else value
        if not 0 < gray <= 80:
            continue
        if _risk_criterion(text, start + match.start(), start + match.end()):
            return None, "a strength or a threshold"
        fields = {
            "site": None,
            "total_gy": clean(gray),
            "fractions": None,
            "per_fraction_gy": None,
            "boost": False,
            "source": "model",
        }
        return Fact("radiotherapy", page, start, end, quote, fields), ""
    return None, "number or unit not in the quote"


def _risk_criterion(text: str, start: int, end: int) -> bool:
    """``risk_criterion`` within the sentence of the page holding ``[start, end)``."""
    begin, stop = next(((b, e) for b, e in sentences(text) if b <= start < e), (0, len(text)))
    return risk_criterion(text[begin:stop], start - begin, end - begin)


def _gray_unit(unit: str) -> str:
    word = unit.strip().lower()
    return "gy" if word in ("gray", "grays") else word


def model_pass(
    model: LanguageModel,
    page: int,
    text: str,
    rows: Sequence[Sequence[TableCell]] = (),
    *,
    found: Sequence[Fact] = (),
    language: str | None = None,
    limit: int = MAX_WINDOWS,
    seed: int = 0,
) -> tuple[list[Fact], ModelPassStats]:
    """The verified proposals of one page that the patterns had not found (``found``: the
    patterns' facts of the page; the model reads only passages with a figure they did not
    read), with what the pass did."""
    stats = ModelPassStats()
    started = time.perf_counter()
    covered = [(f.start, f.end) for f in found if f.kind in ("drug_dose", "radiotherapy")]
    windows = candidate_windows(text, rows, page=page, covered=covered, limit=limit)
    template = load_prompt(PROMPT)
    kept: list[Fact] = []
    for begin, stop in windows:
        window = text[begin:stop]
        if not quote_choices(window):
            continue  # no piece a quote could be ("450 mg/m2 ... of which carboplatin")
        stats.windows += 1
        system, user = template.render(passage=window)
        try:
            completion = model.complete_json(
                [{"role": "system", "content": system}, {"role": "user", "content": user}],
                schema(window),
                seed=seed,
                max_tokens=MAX_TOKENS,
                temperature=0.0,
            )
        except (BackendError, ValueError) as exc:  # a server away, a grammar refused:
            stats.errors.append(f"page {page}: the backend failed: {exc}")  # said, not fatal
            continue
        try:
            proposals = parse_proposals(completion.text)
        except ValueError as exc:  # JSONDecodeError included: the raw answer is kept
            stats.errors.append(f"page {page}: {exc}: {completion.text[:200]!r}")
            continue
        stats.proposed += len(proposals)
        for proposal in proposals:
            fact, reason = verify(
                proposal, page, text, (begin, stop), decimal_comma=language != "en"
            )
            if fact is None:
                stats.dropped[reason] = stats.dropped.get(reason, 0) + 1
            elif not any(_same(fact, other) for other in [*kept]):
                kept.append(fact)
    stats.kept = len(kept)
    new = [f for f in kept if not any(_same(f, other) for other in found)]
    stats.new = len(new)
    stats.seconds = time.perf_counter() - started
    return new, stats


def _same(a: Fact, b: Fact) -> bool:
    """One statement: same kind and figures, overlapping on the page."""
    if a.kind != b.kind or a.page != b.page or a.start >= b.end or b.start >= a.end:
        return False
    keys = ("drug", "dose", "unit") if a.kind == "drug_dose" else ("total_gy",)
    return all(a.fields.get(k) == b.fields.get(k) for k in keys)
