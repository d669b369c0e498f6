"""API keys: hashed storage, scopes, and the API's 401/403 answers."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from models.fake import FakeModel
from service.api.app import Services, create_app
from service.auth import ApiKeyRow, ApiKeys, key_policy
from service.cli import app as cli
from service.settings import Settings
from service.storage.database import open_database
from service.storage.patients import RecordStore
from tests.unit.test_generation import TREATMENT, diagnosis_answer, make


@pytest.fixture
def keys(tmp_path):
    return ApiKeys(open_database(f"sqlite:///{tmp_path / 'k.db'}"))


def test_keys_are_stored_hashed_and_verified(keys):
    key, token = keys.create(["read"], name="ehr-test")
    assert token.startswith(f"cs_{key.key_id}_")
    with Session(keys.engine) as session:
        [row] = session.scalars(select(ApiKeyRow))
    assert token.split("_", 2)[2] not in row.secret_sha256 and len(row.secret_sha256) == 64
    assert keys.verify(token) == key
    assert keys.verify(token[:-1] + "x") is None
    assert keys.verify("nonsense") is None
    assert keys.revoke(key.key_id) and keys.verify(token) is None


def test_scopes(keys):
    reader, _ = keys.create(["read"])
    admin, _ = keys.create(["admin"])
    assert reader.allows("read") and not reader.allows("generate")
    assert all(admin.allows(s) for s in ("read", "generate", "ingest"))
    with pytest.raises(ValueError, match="scopes must be among"):
        keys.create(["write"])


@pytest.mark.parametrize(
    ("mode", "host", "policy"),
    [
        ("auto", "127.0.0.1", "once_a_key_exists"),
        ("auto", "::1", "once_a_key_exists"),
        ("auto", "0.0.0.0", "always"),
        ("auto", "10.1.2.3", "always"),
        ("required", "127.0.0.1", "always"),
        ("disabled", "localhost", "never"),
    ],
)
def test_auth_mode(mode, host, policy):
    assert key_policy(mode, host) == policy


def test_disabling_auth_on_a_public_bind_is_refused():
    with pytest.raises(ValueError, match="only allowed on a loopback"):
        key_policy("disabled", "0.0.0.0")


def test_api_answers_401_and_403(tmp_path):
    settings = Settings(home=tmp_path, api_auth="required")
    engine = open_database(settings.database.url)
    keys = ApiKeys(engine)
    _, reader = keys.create(["read"])
    _, generator = keys.create(["generate"])
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    services = Services(make(model), RecordStore(engine), keys=keys)
    with TestClient(create_app(settings, services)) as client:
        body = {"prompt": "boy with Ewing sarcoma", "seed": 1}
        assert client.get("/health").status_code == 200
        missing = client.post("/v1/patients", json=body)
        assert missing.status_code == 401 and "missing API key" in missing.json()["detail"]
        assert (
            client.post(
                "/v1/patients", json=body, headers={"Authorization": "Bearer cs_x_y"}
            ).status_code
            == 401
        )
        forbidden = client.post("/v1/patients", json=body, headers={"X-API-Key": reader})
        assert forbidden.status_code == 403 and "'generate'" in forbidden.json()["detail"]
        created = client.post(
            "/v1/patients", json=body, headers={"Authorization": f"Bearer {generator}"}
        )
        assert created.status_code == 201
        record_id = created.json()["record_id"]
        assert (
            client.get(f"/v1/patients/{record_id}", headers={"X-API-Key": reader}).status_code
            == 200
        )
        assert client.get(f"/v1/patients/{record_id}").status_code == 401


def test_cli_creates_lists_and_revokes(clinsynth_env):
    runner = CliRunner()
    created = runner.invoke(
        cli, ["apikey", "create", "--scope", "read", "--scope", "ingest", "--name", "lab"]
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    key_id = token.split("_")[1]
    listed = runner.invoke(cli, ["apikey", "list"])
    assert key_id in listed.stdout and "ingest,read" in listed.stdout and token not in listed.stdout
    assert runner.invoke(cli, ["apikey", "revoke", key_id]).exit_code == 0
    assert "revoked" in runner.invoke(cli, ["apikey", "list"]).stdout
    bad = runner.invoke(cli, ["apikey", "create", "--scope", "root"])
    assert bad.exit_code == 2 and "scopes must be among" in bad.stderr
