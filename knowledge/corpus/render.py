"""Render the clinsynth guideline corpus (src/*.txt) to PDF (pdf/<stem>.pdf).

Source format (plain ASCII text, blocks separated by blank lines):

* the first block is the document title (bold, larger);
* a single-line block of at most 80 characters that does not end in
  sentence punctuation is a section heading (bold);
* a block whose lines all start with "- " is a bullet list;
* a block starting with "> " is a quoted, boxed paragraph;
* any other block is a paragraph (its lines are joined with spaces).

Output is deterministic: the creation date and producer are fixed, so
re-running the script yields byte-identical PDFs.  Lines are wrapped at
spaces only (no hyphenation), so phrases such as "9364/3" or "mg/m2" are never
split.

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
FONT = "Helvetica"
BODY_SIZE = 10.5
LINE_H = 5.2
MAX_HEADING_LEN = 80


class CorpusPDF(FPDF):
    """A4 document with a centred "Page N" footer."""

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FONT, "", 8)
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
    raw = src.read_text(encoding="ascii")
    blocks = [
        [ln.rstrip() for ln in chunk.strip("\n").splitlines()]
        for chunk in raw.split("\n\n")
        if chunk.strip()
    ]
    title = " ".join(blocks[0])

    pdf = CorpusPDF(orientation="P", unit="mm", format="A4")
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

    pdf.set_font(FONT, "B", 15)
    write_paragraph(pdf, title)
    pdf.ln(3)

    for block in blocks[1:]:
        if is_heading(block):
            # Keep the heading together with the first lines of its section.
            ensure_space(pdf, 1.5 + 7 + 1 + 3 * LINE_H)
            pdf.ln(1.5)
            pdf.set_font(FONT, "B", 12)
            write_paragraph(pdf, block[0])
            pdf.ln(1)
        elif all(ln.startswith("- ") for ln in block):
            pdf.set_font(FONT, "", BODY_SIZE)
            for item in block:
                write_paragraph(pdf, item[2:], indent=5, bullet=True)
            pdf.ln(2)
        elif block[0].startswith("> "):
            pdf.set_font(FONT, "I", BODY_SIZE)
            text = " ".join(ln.removeprefix(">").strip() for ln in block)
            write_paragraph(pdf, text, indent=5, border=1)
            pdf.ln(2.5)
        else:
            pdf.set_font(FONT, "", BODY_SIZE)
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
