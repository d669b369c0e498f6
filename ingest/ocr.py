"""Offline OCR of pages without a text layer, by engines whose models are on this host.

Two engines, both offline by construction:

- ``tesseract``: the ``tesseract`` program with Debian's language packs (``apt-get install
  tesseract-ocr tesseract-ocr-por ...``); every installed language of ``LANGUAGES`` is used.
- ``rapidocr``: rapidocr-onnxruntime, whose PP-OCRv4 models ship inside its wheel (a
  dependency, so always there). Trained on Chinese and English: it drops accents and often
  the spaces between words.

Measured on the SurPass scans' one page pair with a text layer (SurPass_Austria.pdf
rendered at 300 dpi, against its own text layer): words found 0.97 and 0.99 by Tesseract,
0.27 and 0.06 by RapidOCR, so ``auto`` prefers Tesseract where it is installed and falls
back to RapidOCR. Confidence is the engines' own word or line score, 0 to 1, averaged over
the characters read.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

OcrChoice = Literal["auto", "tesseract", "rapidocr"]
# Tesseract language packs used when installed (ISO 639-2 names, as Debian packs them).
LANGUAGES = ("eng", "spa", "por", "ita", "deu", "fra", "lit", "nld")
RENDER_DPI = 300


class OcrUnavailable(RuntimeError):
    """The chosen OCR engine is not installed; the message says how to install it."""


@dataclass(frozen=True)
class OcrText:
    text: str  # lines top to bottom, words left to right
    confidence: float  # 0 to 1; 0 when nothing was read
    engine: str


class OcrEngine(Protocol):
    name: str

    def read(self, image: Any) -> OcrText:
        """Read a page image (a PIL image)."""
        ...


def _weighted(pieces: list[tuple[str, float]]) -> float:
    chars = sum(len(text) for text, _ in pieces)
    return sum(len(text) * score for text, score in pieces) / chars if chars else 0.0


class TesseractEngine:
    name = "tesseract"

    def __init__(self, program: str):
        self.program = program
        listed = subprocess.run(
            [program, "--list-langs"], capture_output=True, text=True, check=False
        ).stdout.split()
        self.languages = [lang for lang in LANGUAGES if lang in listed] or ["eng"]

    def read(self, image: Any) -> OcrText:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        out = subprocess.run(
            [self.program, "-", "-", "-l", "+".join(self.languages), "tsv"],
            input=buffer.getvalue(),
            capture_output=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"tesseract failed: {out.stderr.decode(errors='replace')[-300:]}")
        lines: dict[tuple[int, int, int], list[str]] = {}
        scored: list[tuple[str, float]] = []
        rows = csv.DictReader(io.StringIO(out.stdout.decode()), delimiter="\t", quoting=3)
        for row in rows:
            word = (row.get("text") or "").strip()
            if row.get("level") != "5" or not word:
                continue
            key = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
            lines.setdefault(key, []).append(word)
            scored.append((word, max(float(row["conf"]), 0.0) / 100))
        text = "\n".join(" ".join(words) for words in lines.values())
        return OcrText(text, _weighted(scored), self.name)


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self._ocr = RapidOCR()

    def read(self, image: Any) -> OcrText:
        import numpy as np

        result, _ = self._ocr(np.asarray(image.convert("RGB")))
        boxes = [(box, text, float(score)) for box, text, score in result or [] if text.strip()]
        return OcrText(_rapid_lines(boxes), _weighted([(t, s) for _, t, s in boxes]), self.name)


def _rapid_lines(boxes: list[tuple[Any, str, float]]) -> str:
    """Group detected text boxes into lines (vertical overlap), each read left to right."""
    placed = sorted(
        (
            (min(p[1] for p in box), max(p[1] for p in box), min(p[0] for p in box), text)
            for box, text, _ in boxes
        ),
    )
    lines: list[list[tuple[float, float, float, str]]] = []
    for top, bottom, left, text in placed:
        if lines:
            line_top = min(b[0] for b in lines[-1])
            line_bottom = max(b[1] for b in lines[-1])
            overlap = min(bottom, line_bottom) - max(top, line_top)
            if overlap > 0.5 * min(bottom - top, line_bottom - line_top):
                lines[-1].append((top, bottom, left, text))
                continue
        lines.append([(top, bottom, left, text)])
    return "\n".join(" ".join(b[3] for b in sorted(line, key=lambda b: b[2])) for line in lines)


def make_ocr(choice: OcrChoice = "auto") -> OcrEngine:
    """The engine ``choice`` names; ``auto``: Tesseract where installed, else RapidOCR."""
    program = shutil.which("tesseract")
    if choice in ("auto", "tesseract") and program:
        return TesseractEngine(program)
    if choice == "tesseract":
        raise OcrUnavailable(
            "OCR engine tesseract is not installed (apt-get install tesseract-ocr "
            "tesseract-ocr-por tesseract-ocr-spa ...)"
        )
    try:
        return RapidOcrEngine()
    except ImportError as exc:
        raise OcrUnavailable(
            "OCR engine rapidocr is not installed (pip install rapidocr-onnxruntime==1.4.4)"
        ) from exc


def render_page(path: Path, index: int, dpi: int = RENDER_DPI) -> Any:
    """Page ``index`` (0-based) of ``path`` as a PIL image, rendered by pdfium."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        return document[index].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
