"""Which doses of a passage one regimen gives: a sentence's, except where a table runs in it.

A PDF's ruled table reaches the text layer as rows without sentence punctuation, so the
table and the sentence after it read as one sentence ("... C cyclophosphamide 1050 mg/m2
IV per day days 1-2 Children with an inadequate response ... receive two courses of TVD:
topotecan ..."), and a regimen made of it would give every course's drugs and the next
sentence's at once. Prose joins the doses of one regimen with a comma or a word ("and",
"y", "with"); table rows stand side by side with nothing between them but their other
cells. So where two doses of a sentence have no such joint, a table runs there: it ends
where a new clause begins without punctuation (a capitalised word after a row), and the
prose after it is a regimen of its own. A table whose rows carry a short label before the
drug ("A", "B", "C": courses or blocks) gives one regimen per label, since each course is
one cycle's drugs; a table without labels is one regimen. A table chunk (``header: cell``
lines) is read the same way, a row per line and its first cell as the label.

Every group's quote is a span of the passage's own text, so it stands on the page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

Span = tuple[int, int]

_PARENTHESIS = re.compile(r"\([^()]*\)")
# Day or week lists ("days 1, 8 and 15", "1, 2, 3, 4", "días 1-2"): a row's cells.
_NUMBER_LIST = re.compile(r"\d+(?:\s*(?:,|-|–|and|y|e|et|und|to|a|ou|o)\s*\d+)+", re.IGNORECASE)
# What joins the doses of one regimen in prose (lower case words: "E" may be a label).
_JOINT = re.compile(
    r"[,;:+&]|\b(?:and|or|with|plus|then|followed|versus|vs|alternat\w*|alternad\w*|"
    r"y|e|o|u|ou|et|und|oder|mit|con|com|junto|seguid[oa]s?|m[aá]s|mais|avec|puis)\b"
)
# A clause that begins with no punctuation before it: a capitalised word and two words in
# lower case right after a row's last cell ("days 1-2 Children with an ...").
_CLAUSE_START = re.compile(
    r"(?<=[\w)\]])\s+(?=[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+\s+[a-zß-öø-ÿ]+\s+[a-zß-öø-ÿ])"
)
# A row's label: a short code in capitals standing alone, maybe with a note ("A
# (preoperatorio, 3 ciclos)"), after the row before's last number and before the row's
# dose ("A lomustine (CCNU) 75 mg/m2"); routes written in capitals are no label.
_LABEL = re.compile(r"(?<!\S)[A-Z][A-Z0-9]{0,3}(?!\S)")
_NOT_LABELS = frozenset({"IV", "EV", "PO", "VO", "SC", "IM", "IT", "TIT", "D"})
# The end of a parenthesis the text opened before a passage begins ("2 mg) día 1 ...").
_UNOPENED = re.compile(r"[^()]*\)")
_TABLE_LABEL = re.compile(r"^[^:;\n]*:\s*(?P<label>[^;\n]+?)\s*;", re.MULTILINE)


@dataclass(frozen=True)
class DoseGroup:
    """Doses given together (indexes into the spans given) and their quote's span."""

    start: int
    end: int
    doses: tuple[int, ...]


def dose_groups(text: str, doses: Sequence[Span], sentences: Sequence[Span]) -> list[DoseGroup]:
    """Doses of a text passage grouped into regimens; ``doses`` are each dose's span
    (drug name and dose), sorted, and ``sentences`` the span of the sentence holding each."""
    by_sentence: dict[Span, list[int]] = {}
    for index, sentence in enumerate(sentences):
        by_sentence.setdefault(sentence, []).append(index)
    groups = []
    for (start, end), members in by_sentence.items():
        groups += _split_sentence(text, start, end, [(i, doses[i]) for i in members])
    return groups


def table_groups(text: str, doses: Sequence[Span]) -> list[DoseGroup]:
    """Doses of a table chunk (one row a line) grouped into regimens: the rows of each
    label of the first cell where every dosed row has one, else all dosed rows."""
    lines: list[Span] = []
    start = 0
    for written in text.split("\n"):
        lines.append((start, start + len(written)))
        start += len(written) + 1
    rows: list[tuple[Span, str | None, list[int]]] = []
    for line in lines:
        members = [i for i, (s, _) in enumerate(doses) if line[0] <= s < line[1]]
        if members:
            label = _TABLE_LABEL.match(text, line[0], line[1])
            first_cell_holds_dose = label is not None and doses[members[0]][0] < label.end()
            name = None if label is None or first_cell_holds_dose else label.group("label")
            rows.append((line, name, members))
    if not rows:
        return []
    if any(name is None for _, name, _ in rows):
        return [DoseGroup(rows[0][0][0], rows[-1][0][1], tuple(i for *_, m in rows for i in m))]
    groups: list[DoseGroup] = []
    names: list[str | None] = []
    for (line_start, line_end), name, members in rows:
        if groups and names[-1] == name:
            last = groups[-1]
            groups[-1] = DoseGroup(last.start, line_end, last.doses + tuple(members))
        else:
            groups.append(DoseGroup(line_start, line_end, tuple(members)))
            names.append(name)
    return groups


def _joined(gap: str) -> bool:
    """Whether the text between two doses joins them as prose does."""
    gap = _NUMBER_LIST.sub(" ", _PARENTHESIS.sub(" ", gap))
    return bool(_JOINT.search(gap))


def _split_sentence(
    text: str, start: int, end: int, members: list[tuple[int, Span]]
) -> list[DoseGroup]:
    """One sentence's doses: one group, or its table's and its prose's apart."""
    gaps = [(a[1][1], b[1][0]) for a, b in zip(members, members[1:], strict=False)]
    bare = [not _joined(text[s:e]) for s, e in gaps]
    if not any(bare):
        return [_group(text, start, end, [i for i, _ in members], members[0][1][0])]
    pieces: list[tuple[int, int, list[int]]] = []
    piece_start, first = start, 0
    for k, (gap_start, gap_end) in enumerate(gaps):
        cut = _last_clause_start(text, gap_start, gap_end)
        if cut is not None:
            pieces.append((piece_start, cut, list(range(first, k + 1))))
            piece_start, first = cut, k + 1
    pieces.append((piece_start, end, list(range(first, len(members)))))
    groups = []
    for piece_start, piece_end, at in pieces:
        indexes = [members[k][0] for k in at]
        if not any(bare[k] for k in at[:-1]):
            groups.append(_group(text, piece_start, piece_end, indexes, members[at[0]][1][0]))
            continue
        # The table ends where a clause begins after its last row.
        tail = _last_clause_start(text, members[at[-1]][1][1], piece_end)
        spans = [members[k][1] for k in at]
        groups += _courses(text, piece_start, tail or piece_end, indexes, spans)
    return groups


def _last_clause_start(text: str, start: int, end: int) -> int | None:
    found = list(_CLAUSE_START.finditer(text, start, end))
    return found[-1].end() if found else None


def _courses(
    text: str, start: int, end: int, indexes: list[int], spans: list[Span]
) -> list[DoseGroup]:
    """A table's rows: one group per run of rows with the same label, else one group."""
    labels: list[tuple[str, int] | None] = []
    previous = start
    for row_start, row_end in spans:
        labels.append(_label(text, previous, row_start))
        previous = row_end
    if any(label is None for label in labels):
        return [_group(text, start, end, indexes, spans[0][0])]
    groups: list[tuple[str, int, list[int]]] = []
    for index, label in zip(indexes, labels, strict=True):
        assert label is not None
        if groups and groups[-1][0] == label[0]:
            groups[-1][2].append(index)
        else:
            groups.append((label[0], label[1], [index]))
    bounds = [at for _, at, _ in groups[1:]] + [end]
    return [
        _group(text, at, bound, members, at)
        for (_, at, members), bound in zip(groups, bounds, strict=True)
    ]


def _label(text: str, start: int, end: int) -> tuple[str, int] | None:
    """The label of the row whose dose begins at ``end`` (and where it stands), if any."""
    found = None
    for match in _LABEL.finditer(text, start, end):
        after = _PARENTHESIS.sub(" ", text[match.end() : end])
        if match.group() not in _NOT_LABELS and not any(c.isdigit() for c in after):
            found = (match.group(), match.start())
    return found


def _group(text: str, start: int, end: int, indexes: list[int], first: int) -> DoseGroup:
    """A group whose quote is ``text[start:end]`` without its surrounding spaces, nor the
    tail of a parenthesis opened before it (a passage that begins inside "(máx. 2 mg)" of
    the dose before it: that cap is not this group's); ``first``: where its first dose is."""
    tail = _UNOPENED.match(text, start, first)
    if tail:
        start = tail.end()
    piece = text[start:end]
    start += len(piece) - len(piece.lstrip())
    end -= len(piece) - len(piece.rstrip())
    return DoseGroup(start, end, tuple(indexes))
