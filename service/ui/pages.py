"""A cited page, shown two ways: its exact text with the quote marked, and a PNG of the
original PDF page (rendered with pypdfium2) with the quote's characters boxed in yellow
(their positions from pdfplumber).

Quotes are matched ignoring whitespace and Unicode compatibility forms (``mg/m²`` in the
PDF is ``mg/m2`` in the text): the text layer, the stored page text and a quote agree on
the characters, not on where lines break.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

RENDER_SCALE = 1.5  # 108 dpi: readable, a few hundred kB per page
HIGHLIGHT = (255, 214, 0, 110)
MIN_PREFIX = 24  # a quote not found whole is looked for by its start


@dataclass(frozen=True)
class MarkedText:
    """The page text cut around the quote: ``before``, ``quote``, ``after`` (``quote``
    empty when it was not found)."""

    before: str
    quote: str
    after: str

    @property
    def found(self) -> bool:
        return bool(self.quote)


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` without whitespace, NFKC-folded and lower-cased, with the index in
    ``text`` each folded character came from."""
    folded, origin = [], []
    for index, char in enumerate(text):
        for part in unicodedata.normalize("NFKC", char).lower():
            if not part.isspace():
                folded.append(part)
                origin.append(index)
    return "".join(folded), origin


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """``[start, end)`` of ``quote`` in ``text``, whitespace and compatibility forms aside;
    when the whole quote is not there, its longest findable start (at least MIN_PREFIX
    characters)."""
    exact = text.find(quote)
    if quote and exact >= 0:
        return exact, exact + len(quote)
    haystack, origin = _folded(text)
    needle, _ = _folded(quote)
    if not needle:
        return None
    length = len(needle)
    while length >= min(MIN_PREFIX, len(needle)):
        at = haystack.find(needle[:length])
        if at >= 0:
            return origin[at], origin[at + length - 1] + 1
        length = length * 3 // 4 if length > MIN_PREFIX else 0
    return None


def mark_quote(text: str, quote: str) -> MarkedText:
    span = find_quote(text, quote) if quote else None
    if span is None:
        return MarkedText(text, "", "")
    start, end = span
    return MarkedText(text[:start], text[start:end], text[end:])


@dataclass(frozen=True)
class Box:
    x0: float
    top: float
    x1: float
    bottom: float


def quote_boxes(pdf: Path, page: int, quote: str) -> list[Box]:
    """The quote's characters on the PDF page (1-based), one box per line, in PDF points
    from the top-left; none when the page has no text layer or the quote is not there."""
    import pdfplumber

    with pdfplumber.open(pdf) as document:
        if not 1 <= page <= len(document.pages):
            return []
        chars = [c for c in document.pages[page - 1].chars if not str(c["text"]).isspace()]
    text = "".join(str(c["text"]) for c in chars)
    # Each char of ``text`` belongs to one pdfplumber char (ligatures give several letters).
    owner = [i for i, c in enumerate(chars) for _ in str(c["text"])]
    span = find_quote(text, quote)
    if span is None:
        return []
    lines: dict[int, Box] = {}
    for index in sorted({owner[i] for i in range(span[0], span[1])}):
        char = chars[index]
        key = round(float(char["top"]) / 3)
        box = Box(float(char["x0"]), float(char["top"]), float(char["x1"]), float(char["bottom"]))
        if key in lines:
            old = lines[key]
            box = Box(
                min(old.x0, box.x0),
                min(old.top, box.top),
                max(old.x1, box.x1),
                max(old.bottom, box.bottom),
            )
        lines[key] = box
    return list(lines.values())


def render_page_png(pdf: Path, page: int, boxes: list[Box]) -> bytes:
    """The PDF page (1-based) as a PNG, ``boxes`` (PDF points) filled in translucent yellow."""
    import pypdfium2
    from PIL import Image, ImageDraw

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        if not 1 <= page <= len(document):
            raise IndexError(f"page {page} outside 1..{len(document)}")
        image = document[page - 1].render(scale=RENDER_SCALE).to_pil().convert("RGBA")
    finally:
        document.close()
    if boxes:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for box in boxes:
            draw.rectangle(
                [
                    (box.x0 - 1) * RENDER_SCALE,
                    (box.top - 1) * RENDER_SCALE,
                    (box.x1 + 1) * RENDER_SCALE,
                    (box.bottom + 1) * RENDER_SCALE,
                ],
                fill=HIGHLIGHT,
            )
        image = Image.alpha_composite(image, overlay)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=False)
    return out.getvalue()


_DOCUMENT_ID = re.compile(r"^([0-9a-f]{16})-p\d+")


def document_id_of_chunk(chunk_id: str) -> str | None:
    """The document id a chunk id starts with (``ingest.chunking.chunk_id``)."""
    match = _DOCUMENT_ID.match(chunk_id)
    return match.group(1) if match else None
