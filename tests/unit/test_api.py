from fastapi.testclient import TestClient

from models.fake import FakeModel
from service.api.app import Services, create_app
from service.settings import Settings
from service.storage.database import open_database
from service.storage.patients import RecordStore
from tests.unit.test_generation import TREATMENT, diagnosis_answer, make


def client(tmp_path, model):
    settings = Settings(home=tmp_path)
    services = Services(make(model), RecordStore(open_database(settings.database.url)))
    return TestClient(create_app(settings, services))


def test_health(tmp_path):
    with client(tmp_path, FakeModel()) as c:
        body = c.get("/health").json()
    assert body["status"] == "ok" and body["chunks"] > 0


def test_generate_then_fetch(tmp_path):
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    with client(tmp_path, model) as c:
        created = c.post("/v1/patients", json={"prompt": "boy with Ewing sarcoma", "seed": 3})
        assert created.status_code == 201, created.text
        record = created.json()
        fetched = c.get(f"/v1/patients/{record['record_id']}")
    assert fetched.status_code == 200
    assert fetched.json() == record
    assert record["diagnosis"]["citations"][0]["page"] == 1


def test_errors_are_clear_4xx(tmp_path):
    with client(tmp_path, FakeModel()) as c:
        assert c.get("/v1/patients/unknown").status_code == 404
        assert c.post("/v1/patients", json={"prompt": ""}).status_code == 422
        bad_age = c.post("/v1/patients", json={"prompt": "60-year-old with osteosarcoma"})
        assert bad_age.status_code == 422 and "outside" in bad_age.json()["detail"]


def test_list_pages_and_filters(tmp_path):
    model = FakeModel()
    for _ in range(3):
        model.enqueue(diagnosis_answer(), TREATMENT)
    with client(tmp_path, model) as c:
        for seed in (1, 2, 3):
            c.post("/v1/patients", json={"prompt": "boy with Ewing sarcoma", "seed": seed})
        page = c.get("/v1/patients", params={"limit": 2}).json()
        assert page["total"] == 3 and len(page["items"]) == 2
        rest = c.get("/v1/patients", params={"limit": 2, "offset": 2}).json()
        assert len(rest["items"]) == 1
        ids = {r["record_id"] for r in page["items"] + rest["items"]}
        assert len(ids) == 3
        assert c.get("/v1/patients", params={"tumour": "ewing"}).json()["total"] == 3
        assert c.get("/v1/patients", params={"tumour": "hodgkin"}).json()["total"] == 0
        for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "ten"}):
            assert c.get("/v1/patients", params=bad).status_code == 422


def test_malformed_json_wrong_type_and_oversized_bodies_are_clear_4xx(tmp_path):
    model = FakeModel()
    with client(tmp_path, model) as c:
        broken = c.post(
            "/v1/patients",
            content=b'{"prompt": "boy with Ewing sarcoma",',
            headers={"content-type": "application/json"},
        )
        assert broken.status_code == 400, broken.text
        assert "malformed JSON body at character" in broken.json()["detail"]

        as_text = c.post(
            "/v1/patients", content=b"boy with Ewing", headers={"content-type": "text/plain"}
        )
        assert as_text.status_code == 415
        assert "application/json" in as_text.json()["detail"]

        huge = c.post("/v1/patients", json={"prompt": "x" * (2 * 1024 * 1024)})
        assert huge.status_code == 413 and "MAX_REQUEST_BYTES" in huge.json()["detail"]

        def chunks():  # no Content-Length: the size is counted as the body streams in
            for _ in range(40):
                yield b" " * 65536

        streamed = c.post(
            "/v1/patients", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413

        missing = c.post("/v1/patients", json={"seed": 1})
        assert missing.status_code == 422 and missing.json()["message"].startswith(
            "prompt: Field required unless one of age, sex"
        )
        assert c.get("/v1/patients").json()["total"] == 0  # nothing stored by any of these
    assert model.calls == []
