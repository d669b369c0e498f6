"""Exports: writers for every format, the batch export endpoint and ``clinsynth export``."""

import csv
import io
import json
import tempfile
import uuid
import zipfile
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from models.fake import FakeModel
from service.api.app import Services, create_app
from service.batches.store import BatchRow
from service.cli import app as cli
from service.exports.csv import CSV_COLUMNS, CSV_FILES, csv_rows, write_csv_folder, write_csv_zip
from service.exports.fhir import FhirConversionError, iter_fhir_ndjson
from service.exports.formats import ExportFormat, batch_exists, page_records
from service.exports.json import iter_json
from service.exports.ndjson import iter_ndjson
from service.records import PatientRecord
from service.settings import Settings
from service.storage.database import open_database
from service.storage.patients import RecordStore
from tests.conftest import fresh_database, postgres_or_skip
from tests.records import full_record
from tests.unit.test_fhir import minimal_record, second_tumour_record
from tests.unit.test_generation import make

BATCH = "b7c1a9e0-0000-4000-8000-000000000001"


def batch_records() -> list[PatientRecord]:
    made = [full_record(), minimal_record(), second_tumour_record()]
    return [
        r.model_copy(update={"record_id": str(uuid.UUID(int=i + 1))}) for i, r in enumerate(made)
    ]


def store_batch(engine, records, batch_id=BATCH) -> RecordStore:
    with Session(engine) as session, session.begin():
        session.add(
            BatchRow(
                batch_id=batch_id,
                request={"prompt": "children with sarcomas"},
                total=len(records),
                seed=1,
                status="done",
                created_at=datetime.now(UTC),
            )
        )
    store = RecordStore(engine)
    for index, record in enumerate(records):
        assert store.save_batch_item(record, batch_id=batch_id, batch_index=index)
    return store


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- writers -------------------------------------------------------------------------------


def test_json_and_ndjson_round_trip():
    records = batch_records()
    parsed = json.loads("".join(iter_json(records)))
    assert [PatientRecord.model_validate(r) for r in parsed] == records
    lines = "".join(iter_ndjson(records)).splitlines()
    assert [PatientRecord.model_validate_json(line) for line in lines] == records
    assert json.loads("".join(iter_json([]))) == []
    assert "".join(iter_ndjson([])) == ""


def test_fhir_ndjson_is_one_valid_bundle_per_line():
    lines = "".join(iter_fhir_ndjson(batch_records())).splitlines()
    assert len(lines) == 3
    for line, record in zip(lines, batch_records(), strict=True):
        bundle = Bundle.model_validate_json(line)
        assert bundle.identifier.value == record.record_id


def test_csv_has_one_file_per_block_with_flattened_columns(tmp_path):
    full, minimal, second = batch_records()
    assert write_csv_folder([full, minimal, second], tmp_path) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(CSV_FILES)
    tables = {p.stem: read_csv(p.read_text(encoding="utf-8")) for p in tmp_path.iterdir()}
    for block in tables:
        header = (tmp_path / f"{block}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == CSV_COLUMNS[block]
    assert len(tables["demographics"]) == len(tables["diagnosis"]) == len(tables["records"]) == 3
    chemo = [(r["record_id"], r["context"], r["item"]) for r in tables["chemotherapy"]]
    assert chemo == [(full.record_id, "primary", str(i)) for i in range(4)] + [
        (full.record_id, "relapse", "0"),
        (second.record_id, "primary", str(0)),
        (second.record_id, "primary", str(1)),
        (second.record_id, "primary", str(2)),
        (second.record_id, "primary", str(3)),
        (second.record_id, "relapse", "0"),
        (second.record_id, "second_tumour", "0"),
    ]
    rt = tables["radiotherapy"][0]
    assert (rt["boost.site"], rt["boost.dose"], rt["shielding_block_site"]) == (
        "tumour bed",
        "5.4",
        "testes",
    )
    hsct = next(r for r in tables["hsct"] if r["record_id"] == second.record_id)
    assert hsct["donor.type"] == "matched_sibling" and hsct["gvhd.organs"] == "skin, gut"
    assert hsct["immunosuppression"] == "ciclosporin; methotrexate"
    assert tables["intrathecal"][0]["drugs"] == "methotrexate; cytarabine; hydrocortisone"
    assert tables["others"][0]["transfusions.more_than_10"] == "false"
    assert [r["record_id"] for r in tables["second_tumour"]] == [second.record_id]
    assert tables["second_tumour"][0]["genetic_conditions"] == "Li-Fraumeni syndrome"
    cited = [r for r in tables["citations"] if r["record_id"] == full.record_id]
    assert len(cited) == len(full.citations())
    assert {r["quote"] for r in cited} == {c.quote for c in full.citations()}


def test_minimal_record_fills_only_its_own_blocks(tmp_path):
    record = minimal_record()
    blocks = [block for block, _ in csv_rows(record)]
    assert blocks == ["records", "demographics", "diagnosis", "citations"]
    write_csv_folder([record], tmp_path)
    for name in ("chemotherapy", "radiotherapy", "hsct", "others", "relapse", "second_tumour"):
        lines = (tmp_path / f"{name}.csv").read_text(encoding="utf-8").splitlines()
        assert lines == [",".join(CSV_COLUMNS[name])]
    records = read_csv((tmp_path / "records.csv").read_text(encoding="utf-8"))
    assert records[0]["corticosteroids_over_4_weeks"] == ""
    assert records[0]["provenance.prompts.id"] == "diagnosis"


def test_csv_zip_holds_the_block_files_and_is_reproducible(tmp_path):
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    write_csv_zip(batch_records(), first)
    write_csv_zip(batch_records(), second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == list(CSV_FILES)
        rows = read_csv(archive.read("surgery.csv").decode())
    assert [r["shunt.type"] for r in rows] == ["", "", "ventriculoperitoneal shunt"]


# --- storage paging ------------------------------------------------------------------------


def test_page_records_streams_a_batch_in_order(tmp_path):
    engine = open_database(Settings(home=tmp_path).database.url)
    records = batch_records()
    store = store_batch(engine, records)
    store.save(full_record(record_id="not-in-the-batch"))
    for size in (1, 2, 3, 200):
        assert list(page_records(store, batch_id=BATCH, page_size=size)) == records
    assert len(list(page_records(store, page_size=2))) == 4  # every stored record
    assert batch_exists(engine, BATCH) and not batch_exists(engine, "nope")


@pytest.mark.postgres
def test_batch_export_on_postgresql(tmp_path):
    engine = fresh_database(postgres_or_skip())
    try:
        records = batch_records()
        store = store_batch(engine, records)
        assert batch_exists(engine, BATCH) and not batch_exists(engine, "nope")
        assert list(page_records(store, batch_id=BATCH, page_size=2)) == records
        write_csv_folder(page_records(store, batch_id=BATCH), tmp_path)
        rows = read_csv((tmp_path / "demographics.csv").read_text(encoding="utf-8"))
        assert [r["record_id"] for r in rows] == [r.record_id for r in records]
    finally:
        engine.dispose()


# --- HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path):
    settings = Settings(home=tmp_path, serve_worker=False)
    engine = open_database(settings.database.url)
    store_batch(engine, batch_records())
    services = Services(make(FakeModel()), RecordStore(engine))
    with TestClient(create_app(settings, services)) as client:
        yield client


def export(client, fmt, batch_id=BATCH):
    return client.get(f"/v1/batches/{batch_id}/export", params={"format": fmt})


def test_api_exports_json_ndjson_and_fhir(api):
    records = [r.model_dump(mode="json") for r in batch_records()]
    as_json = export(api, "json")
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json() == records
    assert api.get(f"/v1/batches/{BATCH}/export").json() == records  # json by default
    ndjson = export(api, "ndjson")
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in ndjson.text.splitlines()] == records
    fhir = export(api, "fhir")
    assert fhir.headers["content-type"].startswith("application/fhir+ndjson")
    assert f'filename="batch-{BATCH}-fhir.ndjson"' in fhir.headers["content-disposition"]
    bundles = [Bundle.model_validate_json(line) for line in fhir.text.splitlines()]
    assert [b.identifier.value for b in bundles] == [r["record_id"] for r in records]
    assert {b.type for b in bundles} == {"document"}
    assert {b.entry[0].resource.__resource_type__ for b in bundles} == {"Composition"}
    transaction = export(api, "fhir-transaction")
    assert transaction.headers["content-type"].startswith("application/fhir+ndjson")
    name = f'filename="batch-{BATCH}-fhir-transaction.ndjson"'
    assert name in transaction.headers["content-disposition"]
    bundles = [Bundle.model_validate_json(line) for line in transaction.text.splitlines()]
    assert [b.type for b in bundles] == ["transaction"] * 3


def test_api_exports_csv_as_a_zip_and_leaves_no_temporary_file(api, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    response = export(api, "csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == list(CSV_FILES)
        assert len(read_csv(archive.read("chemotherapy.csv").decode())) == 11
    assert list(scratch.iterdir()) == []


def test_api_unknown_batch_and_format_are_clear_4xx(api):
    missing = export(api, "json", batch_id="no-such-batch")
    assert missing.status_code == 404
    assert "no-such-batch" in missing.json()["detail"]
    bad = export(api, "xml")
    assert bad.status_code == 422
    message = json.dumps(bad.json()["detail"])
    assert all(f"'{fmt}'" in message for fmt in ExportFormat)


def test_api_patient_as_fhir(api):
    record = batch_records()[0]
    response = api.get(f"/v1/patients/{record.record_id}", params={"format": "fhir"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    bundle = Bundle.model_validate_json(response.content)
    assert bundle.identifier.value == record.record_id
    assert bundle.type == "document"
    assert bundle.entry[0].resource.__resource_type__ == "Composition"
    params = {"format": "fhir-transaction"}
    transaction = api.get(f"/v1/patients/{record.record_id}", params=params)
    assert transaction.headers["content-type"] == "application/fhir+json"
    assert Bundle.model_validate_json(transaction.content).type == "transaction"
    plain = api.get(f"/v1/patients/{record.record_id}")
    assert PatientRecord.model_validate(plain.json()) == record
    assert api.get(f"/v1/patients/{record.record_id}", params={"format": "xml"}).status_code == 422
    assert api.get("/v1/patients/nope", params={"format": "fhir"}).status_code == 404


# --- CLI -----------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_batch(clinsynth_env):
    store_batch(open_database(Settings().database.url), batch_records())
    return clinsynth_env


def test_cli_exports_every_format(cli_batch, tmp_path):
    for fmt in ("json", "ndjson", "fhir", "fhir-transaction"):
        out = tmp_path / f"out.{fmt}"
        result = runner.invoke(cli, ["export", "--batch", BATCH, "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert "exported 3 record(s)" in result.stderr
    assert len(json.loads((tmp_path / "out.json").read_text())) == 3
    documents = (tmp_path / "out.fhir").read_text().splitlines()
    assert [json.loads(line)["type"] for line in documents] == ["document"] * 3
    transactions = (tmp_path / "out.fhir-transaction").read_text().splitlines()
    assert [json.loads(line)["type"] for line in transactions] == ["transaction"] * 3
    stdout = runner.invoke(cli, ["export", "--batch", BATCH, "--format", "ndjson"])
    assert [json.loads(line)["record_id"] for line in stdout.stdout.splitlines()] == [
        r.record_id for r in batch_records()
    ]
    folder = tmp_path / "csv"
    assert runner.invoke(cli, ["export", "--batch", BATCH, "--format", "csv", "-o", str(folder)])
    assert sorted(p.name for p in folder.iterdir()) == sorted(CSV_FILES)
    zipped = tmp_path / "batch.zip"
    result = runner.invoke(cli, ["export", "--batch", BATCH, "--format", "csv", "-o", str(zipped)])
    assert result.exit_code == 0, result.output
    assert zipfile.ZipFile(zipped).namelist() == list(CSV_FILES)
    everything = runner.invoke(cli, ["export", "--format", "json"])
    assert len(json.loads(everything.stdout)) == 3


def test_cli_errors_name_the_problem(cli_batch, tmp_path):
    unknown = runner.invoke(cli, ["export", "--batch", "nope", "--format", "json"])
    assert unknown.exit_code == 1
    assert unknown.stderr.strip().splitlines() == ["error: no batch with id nope"]
    no_folder = runner.invoke(cli, ["export", "--batch", BATCH, "--format", "csv"])
    assert no_folder.exit_code == 2 and "--output" in no_folder.stderr
    bad_format = runner.invoke(cli, ["export", "--batch", BATCH, "--format", "xml"])
    assert bad_format.exit_code == 2


def test_cli_failure_keeps_the_previous_file(cli_batch, tmp_path, monkeypatch):
    import service.exports.fhir

    real = service.exports.fhir.record_to_bundle
    calls = []

    def fails_on_the_second(record):
        calls.append(record.record_id)
        if len(calls) == 2:
            raise FhirConversionError(f"record {record.record_id}: broken")
        return real(record)

    monkeypatch.setattr(service.exports.fhir, "record_to_bundle", fails_on_the_second)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "bundles.ndjson"
    out.write_text("previous export\n")
    args = ["export", "--batch", BATCH, "--format", "fhir-transaction", "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert "broken" in result.stderr and "left as it was" in result.stderr
    assert out.read_text() == "previous export\n"
    assert [p.name for p in out.parent.iterdir()] == ["bundles.ndjson"]


# --- CSV formula injection -----------------------------------------------------------------

HOSTILE = '=HYPERLINK("http://evil.example","click")'


def test_safe_cell_quotes_formula_text_and_leaves_numbers():
    from service.exports.cells import safe_cell

    for text in (HOSTILE, "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "-", "=", "-inf"):
        assert safe_cell(text) == "'" + text
    for number in (-3.5, -2, 0, 7.25, "-3.5", "+2", "-1e-3", "-.5", "5.4", "plain text", ""):
        assert safe_cell(number) == number
    assert safe_cell(None) is None and safe_cell(True) is True


def test_csv_export_quotes_a_hostile_prompt_and_name(tmp_path):
    """The record's prompt and an invented name starting a formula reach the CSV quoted,
    through the batch export endpoint; numbers stay numbers."""
    hostile = full_record().model_copy(update={"record_id": str(uuid.UUID(int=9))})
    hostile.provenance.request = HOSTILE
    hostile.demographics.given_name = "@SUM(1+1)"
    hostile.demographics.phone = "+34 600 000 000"
    settings = Settings(home=tmp_path, serve_worker=False)
    engine = open_database(settings.database.url)
    store_batch(engine, [hostile])
    services = Services(make(FakeModel()), RecordStore(engine))
    with TestClient(create_app(settings, services)) as client:
        response = export(client, "csv")
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        tables = {name: read_csv(archive.read(name).decode()) for name in CSV_FILES}
    assert tables["records.csv"][0]["provenance.request"] == "'" + HOSTILE
    person = tables["demographics.csv"][0]
    assert person["given_name"] == "'@SUM(1+1)" and person["phone"] == "'+34 600 000 000"
    assert tables["radiotherapy.csv"][0]["boost.dose"] == "5.4"
    assert tables["chemotherapy.csv"][0]["item"] == "0"
    every_cell = [v for rows in tables.values() for row in rows for v in row.values()]
    assert not [v for v in every_cell if v[:1] in "=+@\t\r" and v[:1]]
