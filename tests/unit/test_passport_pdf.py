"""The printable Survivorship Passport: its text layer, its language and its doses."""

from __future__ import annotations

import io

from pypdf import PdfReader
from typer.testing import CliRunner

from service.cli.app import app as cli
from service.exports.passport_pdf import MARK, passport_cumulative_doses, render_passport
from tests.records import full_record_data
from tests.unit.test_exports import api, batch_records, cli_batch  # noqa: F401
from tests.unit.test_fhir import second_tumour_record
from tests.unit.test_pcsp_conformance import varied_record


def pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def test_every_page_is_marked_and_accents_survive():
    text = pages(render_passport(second_tumour_record()))
    assert len(text) >= 2
    assert all(MARK in page for page in text)
    everything = "\n".join(text)
    assert "Hugo García Martín" in everything
    assert "Pasaporte del Superviviente" in everything and "Diagnóstico" in everything
    for heading in ("Recaída", "Segundo tumor", "Trasplante de progenitores", "Radioterapia"):
        assert heading in everything
    assert '[1] ewing_sarcoma.pdf, p. 1: "ICD-O-3 morphology 9364/3 (Ewing sarcoma)"' in everything


def test_every_kind_of_record_renders():
    from tests.unit.test_fhir import minimal_record

    for record in (minimal_record(), varied_record(), *batch_records()):
        text = pages(render_passport(record))
        assert all(MARK in page for page in text)


def test_english_records_get_an_english_passport():
    data = full_record_data()
    data["provenance"]["language"] = "en"
    data["demographics"]["given_name"] = "Zoë"
    from service.records import PatientRecord

    text = "\n".join(pages(render_passport(PatientRecord.model_validate(data))))
    assert "Survivorship Passport" in text and "First-line treatment" in text
    assert "Zoë García Martín" in text


def test_cumulative_doses_are_the_sums_of_the_administrations():
    record = varied_record()
    doses = passport_cumulative_doses(record, record.chemotherapy)
    for drug in ("vincristine", "doxorubicin"):
        given = sum(c.dose for c in record.chemotherapy if c.drug == drug)
        assert doses[drug] == (given, "mg/m2")
    bsa = record.measures_at_diagnosis.bsa_m2
    value, unit = doses["carboplatin"]
    assert unit == "mg/m2" and abs(value - (6.6 * 40 / bsa + 200 / bsa)) < 1e-3
    text = "\n".join(pages(render_passport(record)))
    assert "Dosis acumuladas" in text and "vincristine: 3 mg/m2" in text
    assert f"carboplatin: {value:g} mg/m2" in text


def test_the_api_gives_the_pdf(api):  # noqa: F811
    record = batch_records()[0]
    response = api.get(f"/v1/patients/{record.record_id}", params={"format": "pdf"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert MARK in pages(response.content)[0]


def test_the_cli_writes_the_pdf(cli_batch, tmp_path):  # noqa: F811
    record = batch_records()[0]
    out = tmp_path / "passport.pdf"
    result = CliRunner().invoke(cli, ["passport", record.record_id, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Hugo García Martín" in pages(out.read_bytes())[0]
    missing = CliRunner().invoke(cli, ["passport", "nope", "-o", str(out)])
    assert missing.exit_code == 1 and "no patient with id nope" in missing.stderr
