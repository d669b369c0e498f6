"""Tables read with their column headers, each cell located verbatim on its page.

pdfplumber finds ruled tables and their cells; words keep their spaces with a horizontal
tolerance of 1.5 pt (its default of 3 pt glues the tightly set words of LaTeX documents:
"Carboplatina175mg/m2"). A cell holding several lines that line up with the other cells'
lines (a dosing calendar drawn without inner rules) becomes one row per line.

A cell is cited by the exact page text it stands at: its words are searched in the page
text (whitespace aside), and a cell that cannot be found there is left out of the row
rather than cited wrongly. A table that ends near the foot of a page and continues near
the top of the next with the same columns keeps its header: the next page's rows cite
the header cells on the page before.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.chunks import TableCell

X_TOLERANCE = 1.5
_EDGE = 0.2  # share of the page height counted as its foot or its head
_HEADER_MAX = 40


@dataclass(frozen=True)
class TableRow:
    cells: tuple[TableCell, ...]

    @property
    def page(self) -> int:
        """The page of the row's values (its header may be on the page before)."""
        return self.cells[-1].page

    def line(self) -> str:
        """The row as one readable line: ``header: value; header: value``."""
        parts = []
        for cell in self.cells:
            text = " ".join(cell.text.split())
            parts.append(f"{' '.join(cell.header.split())}: {text}" if cell.header else text)
        return "; ".join(parts)


class PageIndex:
    """Finds a text in a page ignoring whitespace (and NFKC differences between the
    table reader's characters and the page text's), answering exact page offsets."""

    def __init__(self, text: str):
        self.text = text
        keys: list[str] = []
        self.offsets: list[int] = []
        for index, char in enumerate(text):
            if char.isspace():
                continue
            for key in unicodedata.normalize("NFKC", char):
                keys.append(key)
                self.offsets.append(index)
        self.key = "".join(keys)

    def find(self, text: str, after: int = 0) -> tuple[int, int] | None:
        key = "".join(unicodedata.normalize("NFKC", text).split())
        if not key:
            return None
        at = self.key.find(key, after)
        if at < 0:
            at = self.key.find(key)
        if at < 0:
            return None
        return self.offsets[at], self.offsets[at + len(key) - 1] + 1

    def key_offset(self, source_offset: int) -> int:
        """Where searching resumes after a match ending at ``source_offset``."""
        return bisect_left(self.offsets, source_offset)


@dataclass
class _Continuing:
    """The last table of the previous page, when it ran to the foot of that page."""

    columns: int
    x0: float
    header: list[_Header | None]


@dataclass(frozen=True)
class _Header:
    text: str  # verbatim on ``page`` when ``page`` is set
    page: int | None


@dataclass
class TableReader:
    """Reads the tables of one PDF page after page (continuations need the order)."""

    path: Path
    _pdf: Any = None
    _open: _Continuing | None = None
    skipped_cells: int = 0  # cells whose words were not found on their page

    def __enter__(self) -> TableReader:
        import pdfplumber

        self._pdf = pdfplumber.open(self.path)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pdf is not None:
            self._pdf.close()

    def rows(self, number: int, page_text: str) -> list[TableRow]:
        """Rows of the tables on page ``number`` (1-based), whose exact text is
        ``page_text``. Call it for every page in order (a table may continue)."""
        page = self._pdf.pages[number - 1]
        try:
            tables = page.find_tables()
            height = float(page.height)
            index = PageIndex(page_text)
            carried, self._open = self._open, None
            rows: list[TableRow] = []
            for position, table in enumerate(tables):
                raw = table.extract(x_tolerance=X_TOLERANCE)
                x0, top, _, bottom = table.bbox
                columns = max((len(r) for r in raw), default=0)
                header: list[_Header | None] = [None] * columns
                body = raw
                if len(raw) > 1 and _header_like(raw[0]):
                    header = [_locate_header(index, c, number) for c in raw[0]]
                    body = raw[1:]
                elif (
                    position == 0
                    and carried is not None
                    and top < _EDGE * height
                    and carried.columns == columns
                    and abs(carried.x0 - x0) < 5
                ):
                    header = carried.header
                rows.extend(self._body_rows(index, body, header, number))
                if position == len(tables) - 1 and bottom > (1 - _EDGE) * height:
                    self._open = _Continuing(columns, x0, header)
            return rows
        finally:
            page.close()  # drop pdfplumber's per-page caches: memory stays flat

    def skip(self) -> None:
        """The next page is read without looking for tables: no table continues on it."""
        self._open = None

    def _body_rows(
        self,
        index: PageIndex,
        body: list[list[str | None]],
        header: list[_Header | None],
        number: int,
    ) -> list[TableRow]:
        rows = []
        cursor = 0
        for raw in body:
            for line in _split_lines(raw):
                # A row's cells usually stand one after the other in the page text: start
                # looking for them where the whole row stands, so that a cell's words
                # written earlier on the page ("vincristine" in the paragraph above the
                # table) are not cited instead of the cell.
                whole = index.find("".join(t for t in line if t and t.strip()), cursor)
                if whole is not None and index.key_offset(whole[0]) >= cursor:
                    cursor = index.key_offset(whole[0])
                cells = []
                for column, text in enumerate(line):
                    if not text or not text.strip():
                        continue
                    span = index.find(text, cursor)
                    if span is None:
                        self.skipped_cells += 1
                        continue
                    cursor = index.key_offset(span[1])
                    head = header[column] if column < len(header) else None
                    cells.append(
                        TableCell(
                            header=head.text if head else None,
                            header_page=head.page if head else None,
                            text=index.text[span[0] : span[1]],
                            page=number,
                            start=span[0],
                            end=span[1],
                        )
                    )
                if cells:
                    rows.append(TableRow(tuple(cells)))
        return rows


def _locate_header(index: PageIndex, text: str | None, page: int) -> _Header | None:
    """A header cell's words as they stand on the page, or as read when not found."""
    if not text or not text.strip():
        return None
    span = index.find(text)
    if span is None:
        return _Header(" ".join(text.split()), None)
    return _Header(index.text[span[0] : span[1]], page)


def _header_like(row: list[str | None]) -> bool:
    cells = [c.strip() for c in row if c and c.strip()]
    return bool(cells) and all(
        len(c) <= _HEADER_MAX and not any(ch.isdigit() for ch in c) for c in cells
    )


def _split_lines(row: list[str | None]) -> list[list[str | None]]:
    """A row whose multi-line cells all hold the same number of lines, one row per line;
    one-line cells go with the first. Any other row stays whole (lines joined)."""
    lines = [(c or "").split("\n") if c else [] for c in row]
    counts = {len(cell) for cell in lines if len(cell) > 1}
    if len(counts) != 1:
        return [[" ".join(cell) if cell else None for cell in lines]]
    [count] = counts
    return [
        [
            cell[i] if len(cell) == count else (cell[0] if i == 0 and cell else None)
            for cell in lines
        ]
        for i in range(count)
    ]
