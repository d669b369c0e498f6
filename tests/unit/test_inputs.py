"""Input the database cannot hold is a 422 before any work, on SQLite and PostgreSQL alike."""

import pytest
from fastapi.testclient import TestClient

from models.fake import FakeModel
from service.api.app import Services, create_app
from service.api.inputs import nul_locations
from service.settings import Settings
from service.storage.patients import RecordStore
from tests.conftest import fresh_database, postgres_or_skip
from tests.unit.test_generation import make

# A FakeModel with nothing queued raises if asked: a 422 here proves no generation ran.
PROBES = [
    ("get", "/v1/patients/ab%00cd", None),
    ("get", "/v1/patients/ab%00cd/validation", None),
    ("get", "/v1/patients?tumour=ewing%00", None),
    ("get", "/v1/patients?offset=9223372036854775808", None),
    ("get", "/v1/batches?offset=9223372036854775808", None),
    ("get", "/v1/batches/x%00/patients", None),
    ("get", "/v1/reports/x%00", None),
    ("delete", "/v1/documents/a%00", None),
    ("post", "/v1/patients", {"prompt": "boy with Ewing sarcoma\u0000"}),
    ("post", "/v1/patients", {"diagnosis": "osteo\u0000sarcoma"}),
    ("post", "/v1/batches", {"count": 2, "request": {"prompt": "girl\u0000"}}),
    ("post", "/v1/search", {"query": "vincristine\u0000"}),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'api.db'}" if request.param == "sqlite" else postgres_or_skip()
    engine = fresh_database(url)
    settings = Settings(home=tmp_path, database_url=url, serve_worker=False)
    with TestClient(create_app(settings, Services(make(FakeModel()), RecordStore(engine)))) as c:
        yield c
    engine.dispose()


@pytest.mark.parametrize(("method", "url", "body"), PROBES)
def test_nul_bytes_and_huge_offsets_are_422_before_any_work(api, method, url, body):
    response = api.request(method.upper(), url, json=body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["detail"] and answer["message"]
    assert "\x00" not in response.text  # the refusal does not echo the NUL it refuses


def test_the_422_names_where_the_nul_is(api):
    response = api.post("/v1/patients", json={"age": 8, "prompt": "Ewing\u0000"})
    assert response.json()["message"].startswith("body.prompt: a NUL character")
    query = api.get("/v1/patients?tumour=a%00b").json()
    assert query["detail"][0]["loc"] == ["query", "tumour"]


def test_a_nul_in_a_key_is_named_not_echoed(api):
    response = api.post(
        "/v1/patients",
        content=b'{"prompt": "x", "b\\u0000": 1}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert (
        response.json()["message"] == "body.b\\x00: a NUL character (\\x00) is not allowed in text"
    )


def test_ordinary_text_passes_the_guard(api):
    # A backslash followed by "u0000" is text, not a NUL; percent-encoding that is not %00 too.
    assert api.get("/v1/patients?tumour=%5Cu0000").status_code == 200
    assert api.get("/v1/patients?offset=2147483647").status_code == 200


def test_nul_locations_walk_keys_lists_and_nesting():
    value = {"a": ["x", "y\x00"], "b\x00": 1, "c": {"d": "\x00"}}
    assert list(nul_locations(value)) == [("a", 1), ("b\x00",), ("c", "d")]
    assert list(nul_locations([1, 2.0, None, True])) == []
