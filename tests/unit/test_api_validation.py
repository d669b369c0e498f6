"""GET /v1/patients/{id}/validation reads the stored result; POST validates and stores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from fastapi.testclient import TestClient

from knowledge.chunks import GuidelineChunk
from models.fake import FakeModel
from service.api.app import Services, create_app
from service.settings import Settings
from service.storage.database import open_database
from service.storage.patients import RecordStore
from service.validation import Validator
from service.validation.codes import Vocabulary
from tests.fakes import page_texts
from tests.records import full_record
from tests.unit.test_generation import EWING, HODGKIN, TREATMENT, diagnosis_answer, make


class IndexChunks:
    """The ChunkLookup over the chunks the fake generator retrieves from."""

    def __init__(self, chunks: list[GuidelineChunk]):
        self.by_id = {c.chunk_id: c for c in chunks}

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]:
        return [self.by_id[i] for i in chunk_ids if i in self.by_id]

    def page_text(self, document_id, page):
        return page_texts(list(self.by_id.values())).get((document_id, page))


def client(tmp_path, model, *, validator: bool = True) -> tuple[TestClient, RecordStore]:
    settings = Settings(home=tmp_path)
    records = RecordStore(open_database(settings.database.url))
    checker = Validator(Vocabulary.bundled(), IndexChunks(EWING + HODGKIN), date(2026, 6, 1))
    services = Services(make(model), records, validator=checker if validator else None)
    return TestClient(create_app(settings, services)), records


def test_a_generated_record_is_validated_as_it_is_stored(tmp_path):
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    api, records = client(tmp_path, model)
    with api as c:
        made = c.post("/v1/patients", json={"prompt": "boy with Ewing sarcoma", "seed": 3})
        assert made.status_code == 201, made.text
        record_id = made.json()["record_id"]
        stored = records.get_validation(record_id)
        first = c.get(f"/v1/patients/{record_id}/validation")
    assert stored is not None
    assert first.status_code == 200, first.text
    body = first.json()
    assert body == stored.model_dump(mode="json")  # served as stored, same validated_at
    assert body["record_id"] == record_id and body["passed"], body["failures"]
    assert body["failures"] == []
    grounding = body["grounding"]
    assert grounding["items"] == grounding["verified"] > 1 and not grounding["skipped"]


def test_get_never_validates_post_validates_and_stores(tmp_path):
    api, records = client(tmp_path, FakeModel())
    records.save(full_record(record_id="older"))
    assert records.get_validation("older") is None
    with api as c:
        unread = c.get("/v1/patients/older/validation")
        assert records.get_validation("older") is None  # the read wrote nothing
        made = c.post("/v1/patients/older/validation")
        again = c.get("/v1/patients/older/validation")
    assert unread.status_code == 409
    assert "POST /v1/patients/older/validation" in unread.json()["detail"]
    assert made.status_code == 200, made.text
    assert made.json()["record_id"] == "older"
    stored = records.get_validation("older")
    assert stored is not None and stored.model_dump(mode="json") == made.json() == again.json()


def test_a_stored_result_is_returned_as_stored(tmp_path):
    api, records = client(tmp_path, FakeModel(), validator=False)
    record = full_record(record_id="stored-1")
    records.save(record)
    checker = Validator(Vocabulary.bundled(), None, date(2025, 1, 1))
    stored = checker.validate(record.model_copy(update={"hsct": []}))
    records.set_validation("stored-1", stored)
    with api as c:
        response = c.get("/v1/patients/stored-1/validation")
    assert response.status_code == 200 and response.json() == stored.model_dump(mode="json")


def test_unknown_record_is_404_and_no_validator_is_503(tmp_path):
    api, records = client(tmp_path, FakeModel(), validator=False)
    records.save(full_record(record_id="unvalidated"))
    with api as c:
        assert c.get("/v1/patients/nope/validation").status_code == 404
        assert c.post("/v1/patients/nope/validation").status_code == 404
        missing = c.post("/v1/patients/unvalidated/validation")
    assert missing.status_code == 503 and "not configured" in missing.json()["detail"]
