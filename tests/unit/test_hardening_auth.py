"""Issue 18: keys on loopback, trusted Host names, uploads read only after the key check
and under a cap, and docs pages that need no CDN."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from knowledge.store import KnowledgeStore
from models.fake import FakeModel
from service.api.app import Services, create_app
from service.api.errors import host_name, trusted_hosts
from service.api.uploads import upload_cap
from service.auth import ApiKeys
from service.settings import Settings
from service.storage.database import open_database
from service.storage.documents import IngestJobs
from service.storage.patients import RecordStore
from tests.unit.test_generation import make

BOUNDARY = "clinsynthboundary"
FILE_LIMIT = 10_000


@dataclass
class Setup:
    settings: Settings
    services: Services
    keys: ApiKeys
    uploads: Path


@pytest.fixture
def setup(tmp_path) -> Setup:
    settings = Settings(home=tmp_path)  # auto, bound to 127.0.0.1
    engine = open_database(settings.database.url)
    keys = ApiKeys(engine)
    uploads = tmp_path / "uploads"
    # No upload in these tests reaches ingestion, so the jobs need no knowledge store.
    jobs = IngestJobs(KnowledgeStore.__new__(KnowledgeStore), engine, uploads)
    services = Services(
        make(FakeModel()), RecordStore(engine), jobs=jobs, keys=keys, max_upload_bytes=FILE_LIMIT
    )
    return Setup(settings, services, keys, uploads)


def spooled(setup: Setup) -> list[Path]:
    spool = setup.uploads / ".spool"
    return sorted(spool.rglob("*")) if spool.exists() else []


def test_loopback_auto_requires_a_key_once_one_exists(setup):
    _, token = setup.keys.create(["admin"])
    revoked, revoked_token = setup.keys.create(["admin"])
    setup.keys.revoke(revoked.key_id)
    with TestClient(create_app(setup.settings, setup.services)) as client:
        for headers in ({}, {"X-API-Key": "cs_garbage_key"}, {"X-API-Key": revoked_token}):
            assert client.get("/v1/patients", headers=headers).status_code == 401, headers
            assert client.delete("/v1/documents/abc", headers=headers).status_code == 401
        assert client.get("/v1/patients", headers={"X-API-Key": token}).status_code == 200


def test_a_key_created_while_serving_closes_an_open_loopback_server(setup, caplog):
    app = create_app(setup.settings, setup.services)
    with caplog.at_level(logging.WARNING, logger="service.api.app"), TestClient(app) as client:
        assert "is OPEN: no API key exists" in caplog.text
        assert client.get("/v1/patients").status_code == 200
        _, token = setup.keys.create(["read"])
        assert client.get("/v1/patients").status_code == 401
        assert client.get("/v1/patients", headers={"X-API-Key": token}).status_code == 200


def test_no_open_warning_when_keys_are_required(setup, caplog):
    settings = setup.settings.with_values(api_auth="required")
    app = create_app(settings, setup.services)
    with caplog.at_level(logging.WARNING, logger="service.api.app"), TestClient(app) as client:
        assert client.get("/v1/patients").status_code == 401
    assert "OPEN" not in caplog.text


def test_revoking_every_key_does_not_open_the_server_again(setup):
    key, _ = setup.keys.create(["read"])
    setup.keys.revoke(key.key_id)
    with TestClient(create_app(setup.settings, setup.services)) as client:
        assert client.get("/v1/patients").status_code == 401


@pytest.mark.parametrize(
    ("header", "name"),
    [("Example.ORG:8000", "example.org"), ("[::1]:8000", "::1"), ("host.", "host"), ("", "")],
)
def test_host_name(header, name):
    assert host_name(header) == name


def test_trusted_hosts_on_a_wildcard_bind_are_names_not_the_bind_address():
    assert trusted_hosts("127.0.0.1", ["api.lab"]) == {
        "localhost",
        "127.0.0.1",
        "::1",
        "api.lab",
    }
    wildcard = trusted_hosts("0.0.0.0", [])
    assert socket.gethostname().lower() in wildcard and "0.0.0.0" not in wildcard
    assert "10.1.2.3" in trusted_hosts("10.1.2.3", [])


def test_an_untrusted_host_header_gets_400(setup):
    settings = setup.settings.with_values(api_trusted_hosts="api.lab")
    app = create_app(settings, setup.services)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert client.get("/health").status_code == 200
        for host in ("localhost:8000", "[::1]:8000", "api.lab", "API.lab:443"):
            assert client.get("/health", headers={"Host": host}).status_code == 200, host
        refused = client.get("/health", headers={"Host": "evil.example:8000"})
        assert refused.status_code == 400
        assert "untrusted Host header 'evil.example:8000'" in refused.json()["detail"]
        assert "CLINSYNTH_API_TRUSTED_HOSTS" in refused.json()["detail"]
        assert client.get("/health", headers={"Host": "testserver"}).status_code == 400


def test_a_bad_trusted_host_setting_names_the_value():
    with pytest.raises(ValueError, match="'bad host' is not a host name"):
        Settings(api_trusted_hosts="api.lab, bad host")


# Uploads, called as raw ASGI so the test sees how much of the body the app read.


@dataclass
class Exchange:
    status: int = 0
    body: bytes = b""
    chunks_read: int = 0
    chunks: list[bytes] = field(default_factory=list)


def multipart(files: int, size: int) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="f{i}.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n".encode()
        + b"%PDF-1.4\n"
        + b"0" * size
        + b"\r\n"
        for i in range(files)
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post_upload(
    app: FastAPI,
    chunks: list[bytes],
    *,
    headers: dict[str, str] | None = None,
    disconnect_after: int | None = None,
) -> Exchange:
    exchange = Exchange(chunks=chunks)
    raw = {
        "host": "127.0.0.1:8000",
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        **(headers or {}),
    }
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/documents",
        "raw_path": b"/v1/documents",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in raw.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "app": app,
    }

    async def receive() -> dict:
        index = exchange.chunks_read
        if disconnect_after is not None and index >= disconnect_after:
            return {"type": "http.disconnect"}
        exchange.chunks_read += 1
        return {
            "type": "http.request",
            "body": chunks[index],
            "more_body": index + 1 < len(chunks),
        }

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return exchange


def in_chunks(body: bytes, size: int = 64 * 1024) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def test_an_upload_without_a_key_is_refused_before_its_body_is_read(setup):
    setup.keys.create(["read"])
    app = create_app(setup.settings, setup.services)
    body = multipart(files=3, size=FILE_LIMIT * 40)  # far over every limit
    with TestClient(app):
        sent = post_upload(app, in_chunks(body), headers={"content-length": str(len(body))})
        assert sent.status == 401 and b"missing API key" in sent.body
        assert sent.chunks_read == 0 and spooled(setup) == []
        unscoped = setup.keys.create(["read"])[1]
        sent = post_upload(app, in_chunks(body), headers={"x-api-key": unscoped})
        assert sent.status == 403 and sent.chunks_read == 0 and spooled(setup) == []


def test_a_declared_length_over_the_cap_is_refused_at_once(setup):
    app = create_app(setup.settings, setup.services)
    cap = upload_cap(FILE_LIMIT)
    with TestClient(app):
        sent = post_upload(app, [b"x" * 1024] * 4, headers={"content-length": str(cap + 1)})
    assert sent.status == 413 and sent.chunks_read == 0
    assert b"CLINSYNTH_MAX_PDF_BYTES" in sent.body and spooled(setup) == []


def test_a_chunked_body_over_the_cap_is_cut_off_and_nothing_is_left(setup):
    app = create_app(setup.settings, setup.services)
    body = multipart(files=1, size=upload_cap(FILE_LIMIT) * 2)
    chunks = in_chunks(body)
    with TestClient(app):
        sent = post_upload(app, chunks)  # no content-length: chunked
    assert sent.status == 413, sent.body
    assert sent.chunks_read < len(chunks) / 2 + 2
    assert spooled(setup) == [] and list(setup.uploads.iterdir()) == [setup.uploads / ".spool"]


def test_a_client_that_leaves_mid_upload_leaves_no_file(setup):
    app = create_app(setup.settings, setup.services)
    with TestClient(app):
        chunks = in_chunks(multipart(files=1, size=FILE_LIMIT // 2), 1024)
        left = post_upload(app, chunks, disconnect_after=3)
    assert left.chunks_read == 3 and left.status == 400
    assert spooled(setup) == []


def test_upload_refusals_name_the_problem(setup):
    app = create_app(setup.settings, setup.services)
    with TestClient(app):
        too_many = post_upload(app, [multipart(files=11, size=10)])
        assert too_many.status == 400 and b"more than 10 files" in too_many.body
        too_big = post_upload(app, [multipart(files=1, size=FILE_LIMIT + 1)])
        assert too_big.status == 413 and b"f0.pdf: larger than the limit" in too_big.body
        wrong_type = post_upload(app, [b"{}"], headers={"content-type": "application/json"})
        assert wrong_type.status == 415 and b"multipart/form-data" in wrong_type.body
        none = post_upload(app, [f"--{BOUNDARY}--\r\n".encode()])
        assert none.status == 400 and b"no 'files' part" in none.body
    assert spooled(setup) == []


def test_docs_pages_load_nothing_from_outside(setup):
    with TestClient(create_app(setup.settings, setup.services)) as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page)
            assert html.status_code == 200
            assert not re.findall(r"https?://", html.text), page
            assets = re.findall(r"""(?:src|href)=["']?(/[^"' >]+)""", html.text)
            assert assets, page
            for asset in assets:
                assert client.get(asset).status_code == 200, asset


def test_the_upload_form_is_documented(setup):
    with TestClient(create_app(setup.settings, setup.services)) as client:
        upload = client.get("/openapi.json").json()["paths"]["/v1/documents"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["files"]
    assert {"files", "tags", "ocr", "extract"} == set(form["properties"])


@pytest.mark.parametrize(
    ("auth", "line"),
    [("auto", "required once one exists"), ("required", "required on every request")],
)
def test_serve_says_which_requests_need_a_key(clinsynth_env, monkeypatch, auth, line):
    import uvicorn
    from typer.testing import CliRunner

    from service.cli import app as cli

    served = []
    monkeypatch.setattr(logging.getLogger("service"), "handlers", [])  # serve adds one
    monkeypatch.setattr(uvicorn, "run", lambda app, **bind: served.append(bind))
    monkeypatch.setenv("CLINSYNTH_API_AUTH", auth)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert line in result.stderr and served == [{"host": "127.0.0.1", "port": 8000}]
