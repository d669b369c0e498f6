"""Tables read by pdfplumber on PDFs made here: a table running over a page break keeps
its header, and every cell is cited by text found again on its page with pypdf."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from pypdf import PdfReader

from ingest.pdf import iter_pages, open_pdf
from ingest.reading import read_document

DRUGS = ("Vincristine", "Carboplatin", "Cisplatin", "Etoposide", "Cyclophosphamide")


def long_table(path: Path, rows: int) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Induction regimen. Doses per square metre of body surface.")
    with pdf.table(repeat_headings=0, col_widths=(20, 50, 30)) as table:
        header = table.row()
        for text in ("Week", "Drug and dose", "Route"):
            header.cell(text)
        for week in range(1, rows + 1):
            row = table.row()
            row.cell(str(week))
            row.cell(f"{DRUGS[week % len(DRUGS)]} {week}.5 mg/m2")
            row.cell("IV")
    pdf.output(str(path))
    return path


def test_a_table_over_a_page_break_keeps_its_header_and_cites_each_page(tmp_path):
    path = long_table(tmp_path / "regimen.pdf", rows=45)
    _, reader = open_pdf(path)
    pages = read_document(path, iter_pages(path, reader), ocr=None)
    assert len(pages) >= 2
    rows = [row for page in pages for row in page.rows]
    assert len(rows) == 45
    texts = {n: p.extract_text() for n, p in enumerate(PdfReader(path).pages, start=1)}
    for row in rows:
        assert [c.header for c in row.cells] == ["Week", "Drug and dose", "Route"]
        for cell in row.cells:
            assert texts[cell.page][cell.start : cell.end] == cell.text
            assert cell.header_page == 1 and cell.header in texts[1]
    continued = [row for row in rows if row.page == 2]
    assert continued, "some rows stand on page 2, under the header on page 1"
    assert continued[0].line().startswith("Week: ")
    assert "Drug and dose: " in continued[0].line()


def test_a_row_reads_as_one_line_with_its_headers(tmp_path):
    path = long_table(tmp_path / "short.pdf", rows=3)
    _, reader = open_pdf(path)
    [page] = read_document(path, iter_pages(path, reader), ocr=None)
    assert [row.line() for row in page.rows] == [
        "Week: 1; Drug and dose: Carboplatin 1.5 mg/m2; Route: IV",
        "Week: 2; Drug and dose: Cisplatin 2.5 mg/m2; Route: IV",
        "Week: 3; Drug and dose: Etoposide 3.5 mg/m2; Route: IV",
    ]


def test_a_cell_is_cited_in_its_table_not_where_its_words_stand_earlier(tmp_path):
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Localised tumours receive vincristine and dactinomycin for 4 weeks.")
    with pdf.table(col_widths=(40, 60)) as table:
        for texts in (
            ("Drug", "Dose"),
            ("vincristine", "1.5 mg/m2 IV"),
            ("dactinomycin", "45 mcg/kg"),
        ):
            row = table.row()
            for text in texts:
                row.cell(text)
    path = tmp_path / "after_text.pdf"
    pdf.output(str(path))
    _, reader = open_pdf(path)
    [page] = read_document(path, iter_pages(path, reader), ocr=None)
    table_starts = page.text.index("Drug")
    assert [c.text for r in page.rows for c in r.cells] == [
        "vincristine",
        "1.5 mg/m2 IV",
        "dactinomycin",
        "45 mcg/kg",
    ]
    assert all(c.start > table_starts for r in page.rows for c in r.cells)
