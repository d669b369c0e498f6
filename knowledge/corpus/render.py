"""Render the clinsynth guideline corpus (src/*.txt) to PDF (pdf/<stem>.pdf).

Source format (UTF-8 text, blocks separated by blank lines):

* the first block is the document title (bold, larger);
* a single-line block of at most 80 characters that does not end in
  sentence punctuation is a section heading (bold);
* a block whose lines all start with "- " is a bullet list;
* a block starting with "> " is a quoted, boxed paragraph;
* a block whose lines all start with "|" is a ruled table: cells are separated
  by "|", the first line is the header row (bold);
* any other block is a paragraph (its lines are joined with spaces).

A source that is pure ASCII is set in the PDF core font Helvetica (nothing
embedded: the PDFs written before Unicode sources were allowed stay as they
were); any other source is set in Roboto (Apache-2.0, from the font-roboto
package the project already depends on), embedded and subset, so "mg/m²",
"µg/kg", "≥" and Spanish accents print and extract as written.

Output is deterministic: the creation date and producer are fixed, so
re-running the script yields byte-identical PDFs.  Lines are wrapped at
spaces only (no hyphenation), so phrases such as "9364/3" or "mg/m2" are never
split, and neither a paragraph nor a table is split across pages.

Usage: python knowledge/corpus/render.py [--src DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from fpdf import FPDF

HERE = Path(__file__).resolve().parent
FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCER = "clinsynth knowledge/corpus/render.py (fpdf2)"
CORE_FONT = "Helvetica"  # ASCII sources
UNICODE_FONT = "Roboto"  # any other source
BODY_SIZE = 10.5
TABLE_SIZE = 9.5
TABLE_LINE_H = 5.0
LINE_H = 5.2
MAX_HEADING_LEN = 80


class CorpusPDF(FPDF):
    """A4 document with a centred "Page N" footer, set in one font family."""

    def __init__(self, family: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.body_family = family
        if family == UNICODE_FONT:
            import font_roboto

            self.add_font(family, "", font_roboto.Roboto)
            self.add_font(family, "B", font_roboto.RobotoBold)
            self.add_font(family, "I", font_roboto.RobotoItalic)

    def use(self, style: Literal["", "B", "I"], size: float) -> None:
        self.set_font(self.body_family, style, size)

    def footer(self) -> None:
        self.set_y(-15)
        self.use("", 8)
        self.cell(0, 10, f"Page {self.page_no()}", align="C")


def wrap_words(pdf: FPDF, text: str, width: float) -> str:
    """Greedy word wrap at spaces only; returns lines joined by newlines.

    Wrapping here (instead of relying on multi_cell's own line breaking)
    guarantees that no break happens inside a word, e.g. at a hyphen.
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and pdf.get_string_width(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return "\n".join(lines)


def is_table(block: list[str]) -> bool:
    return all(ln.startswith("|") for ln in block)


def table_cells(line: str) -> list[str]:
    """``| a | b |`` -> ``["a", "b"]`` (outer pipes optional)."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def write_table(pdf: CorpusPDF, block: list[str]) -> None:
    """A ruled table (pdfplumber finds its cells), header row bold, kept on one page.

    Columns are as wide as their longest word allows, the rest shared out by content
    length, so dose columns stay on one line where they can."""
    rows = [table_cells(ln) for ln in block]
    columns = len(rows[0])
    if any(len(r) != columns for r in rows):
        raise ValueError(f"table rows of unequal length: {block[0]!r}")
    pdf.use("", TABLE_SIZE)
    pad = 2 * pdf.c_margin + 0.5
    longest_word = [
        max(pdf.get_string_width(w) for r in rows for w in r[c].split() or [""]) + pad
        for c in range(columns)
    ]
    content = [max(pdf.get_string_width(r[c]) for r in rows) + pad for c in range(columns)]
    spare = pdf.epw - sum(longest_word)
    extra = [max(0.0, c - w) for c, w in zip(content, longest_word, strict=True)]
    share = min(1.0, spare / sum(extra)) if sum(extra) else 0.0
    widths = [w + e * share for w, e in zip(longest_word, extra, strict=True)]
    widths = [w * pdf.epw / sum(widths) for w in widths]
    wrapped = [
        [wrap_words(pdf, cell, width - pad) for cell, width in zip(r, widths, strict=True)]
        for r in rows
    ]
    lines = sum(max(c.count("\n") + 1 for c in r) for r in wrapped)
    ensure_space(pdf, TABLE_LINE_H * lines + 2)
    for index, row in enumerate(wrapped):
        pdf.use("B" if index == 0 else "", TABLE_SIZE)
        height = TABLE_LINE_H * max(c.count("\n") + 1 for c in row)
        top = pdf.get_y()
        x = pdf.l_margin
        for cell, width in zip(row, widths, strict=True):
            pdf.rect(x, top, width, height)
            pdf.set_xy(x, top)
            pdf.multi_cell(width, TABLE_LINE_H, cell, border=0)
            x += width
        pdf.set_xy(pdf.l_margin, top + height)
    pdf.ln(3)


def is_heading(block: list[str]) -> bool:
    line = block[0]
    return (
        len(block) == 1
        and len(line) <= MAX_HEADING_LEN
        and not line.rstrip().endswith((".", ":", ";", ","))
    )


def ensure_space(pdf: FPDF, height: float) -> None:
    """Start a new page unless `height` mm still fit above the bottom margin."""
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()


def write_paragraph(
    pdf: FPDF,
    text: str,
    indent: float = 0.0,
    border: Literal[0, 1] = 0,
    bullet: bool = False,
) -> None:
    """Write one wrapped paragraph, never splitting it across pages.

    Keeping a paragraph on a single page means no phrase is interrupted by
    the page footer in extracted text.
    """
    width = pdf.epw - indent
    # Small inner padding keeps boxed text off the border.
    wrapped = wrap_words(pdf, text, width - 2 * pdf.c_margin - 0.5)
    ensure_space(pdf, LINE_H * (wrapped.count("\n") + 1))
    pdf.set_x(pdf.l_margin)
    if bullet:
        pdf.cell(indent, LINE_H, "-")
    pdf.set_x(pdf.l_margin + indent)
    pdf.multi_cell(width, LINE_H, wrapped, border=border, new_x="LMARGIN", new_y="NEXT")


def render(src: Path, out: Path) -> None:
    raw = src.read_text(encoding="utf-8")
    blocks = [
        [ln.rstrip() for ln in chunk.strip("\n").splitlines()]
        for chunk in raw.split("\n\n")
        if chunk.strip()
    ]
    title = " ".join(blocks[0])

    pdf = CorpusPDF(CORE_FONT if raw.isascii() else UNICODE_FONT)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(title)
    pdf.set_author("clinsynth project")
    pdf.set_subject("Teaching summary written for the clinsynth project, not for clinical use")
    pdf.set_creator(PRODUCER)
    if hasattr(pdf, "set_producer"):
        pdf.set_producer(PRODUCER)
    pdf.add_page()

    pdf.use("B", 15)
    write_paragraph(pdf, title)
    pdf.ln(3)

    for block in blocks[1:]:
        if is_table(block):
            write_table(pdf, block)
        elif is_heading(block):
            # Keep the heading together with the first lines of its section.
            ensure_space(pdf, 1.5 + 7 + 1 + 3 * LINE_H)
            pdf.ln(1.5)
            pdf.use("B", 12)
            write_paragraph(pdf, block[0])
            pdf.ln(1)
        elif all(ln.startswith("- ") for ln in block):
            pdf.use("", BODY_SIZE)
            for item in block:
                write_paragraph(pdf, item[2:], indent=5, bullet=True)
            pdf.ln(2)
        elif block[0].startswith("> "):
            pdf.use("I", BODY_SIZE)
            text = " ".join(ln.removeprefix(">").strip() for ln in block)
            write_paragraph(pdf, text, indent=5, border=1)
            pdf.ln(2.5)
        else:
            pdf.use("", BODY_SIZE)
            write_paragraph(pdf, " ".join(block))
            pdf.ln(2.5)

    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=HERE / "src")
    parser.add_argument("--out", type=Path, default=HERE / "pdf")
    args = parser.parse_args(argv)
    sources = sorted(args.src.glob("*.txt"))
    if not sources:
        raise SystemExit(f"no .txt files in {args.src}")
    for src in sources:
        target = args.out / f"{src.stem}.pdf"
        render(src, target)
        print(f"{src.name} -> {target}")


if __name__ == "__main__":
    main()
