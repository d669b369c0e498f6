"""The API keeps its OpenAPI contract: schemathesis fuzzes every route, no 500, no
undocumented status, bodies as documented. Fixed seed, bounded cases per route.

The model behind this app is down (every call raises ``BackendError``), so generation
routes answer their documented 503 at once; the record schema itself is tested elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
)

from models.base import BackendError
from models.fake import FakeModel
from service.api.app import Services, create_app
from service.auth import ApiKeys
from service.components import build_knowledge_store
from service.settings import Settings
from service.storage.database import open_database
from service.storage.documents import IngestJobs
from service.storage.patients import RecordStore
from tests.unit.test_generation import make

# 5xx are checked below: 500 never, 502/503 only where documented (status conformance).
# A schema-valid prompt may still describe an impossible patient: its 422 is an answer.
EXCLUDED = [not_a_server_error, positive_data_acceptance]


class DownModel(FakeModel):
    """A model server that does not answer."""

    def _next(self):  # type: ignore[override]
        raise BackendError("model server unreachable (the contract test has none)")


def contract_app(home):
    app_settings = Settings(
        home=home, serve_worker=False, api_trusted_hosts="testserver", api_auth="required"
    )
    records = RecordStore(open_database(app_settings.database.url))
    knowledge = build_knowledge_store(app_settings, records.engine)
    jobs = IngestJobs(knowledge, records.engine, Path(home) / "uploads")
    keys = ApiKeys(records.engine)
    services = Services(make(DownModel()), records, knowledge=knowledge, jobs=jobs, keys=keys)
    return create_app(app_settings, services), records


def admin_headers(app) -> dict[str, str]:
    keys = app.state.services.keys if hasattr(app.state, "services") else None
    assert keys is not None, "the app is not started"
    _, token = keys.create(["admin"], name="contract test")
    return {"Authorization": f"Bearer {token}"}


def operation_labels() -> list[str]:
    """Every operation of the schema (read from an app that is never started)."""
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        app, records = contract_app(home)
        labels = [
            op.ok().label
            for op in schemathesis.openapi.from_asgi("/openapi.json", app).get_all_operations()
        ]
        records.engine.dispose()
    return labels


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    app, records = contract_app(tmp_path_factory.mktemp("contract"))
    with TestClient(app):  # runs the lifespan: batch and tabular runners up
        api = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield api, admin_headers(app)
    records.engine.dispose()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", operation_labels())
def test_every_route_keeps_its_contract(api_schema, label, mode):
    method, path = label.split(" ", 1)
    api, headers = api_schema
    operation = api[path][method]
    excluded = list(EXCLUDED)
    if label == "POST /v1/documents":
        # Multipart fields are text: a "number" sent as a tag is that tag's text, so a
        # type mutation there cannot be told from valid input (no 500s and statuses still).
        excluded.append(negative_data_rejection)

    @seed(20261203)
    @settings(
        max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        # With an admin key; schemathesis also sends each case without one (401 expected).
        response = case.call_and_validate(headers=headers, excluded_checks=excluded)
        assert response.status_code != 500, response.text  # documented 502/503 are answers

    try:
        fuzz()
    except Unsatisfiable:
        # Only free-text path parameters: there is no invalid input to send (NUL aside,
        # which tests/unit/test_inputs.py sends); the positive run covered the route.
        assert mode is GenerationMode.NEGATIVE


def test_keyed_routes_document_401_and_403_and_errors_have_one_shape(tmp_path):
    app, records = contract_app(tmp_path)
    paths = app.openapi()["paths"]
    records.engine.dispose()
    assert {"401", "403", "503"} <= set(paths["/v1/patients"]["post"]["responses"])
    assert "404" in paths["/v1/patients/{record_id}"]["get"]["responses"]
    assert "502" in paths["/v1/patients"]["post"]["responses"]
    assert "401" not in paths["/health"]["get"]["responses"]
    unprocessable = paths["/v1/search"]["post"]["responses"]["422"]["content"]
    assert unprocessable["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
