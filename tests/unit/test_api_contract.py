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
from schemathesis.checks import not_a_server_error, positive_data_acceptance

from models.base import BackendError
from models.fake import FakeModel
from service.api.app import Services, create_app
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
    app_settings = Settings(home=home, serve_worker=False, api_trusted_hosts="testserver")
    records = RecordStore(open_database(app_settings.database.url))
    knowledge = build_knowledge_store(app_settings, records.engine)
    jobs = IngestJobs(knowledge, records.engine, Path(home) / "uploads")
    services = Services(make(DownModel()), records, knowledge=knowledge, jobs=jobs)
    return create_app(app_settings, services), records


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
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    records.engine.dispose()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", operation_labels())
def test_every_route_keeps_its_contract(api_schema, label, mode):
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]

    @seed(20261203)
    @settings(
        max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        response = case.call_and_validate(excluded_checks=EXCLUDED)
        assert response.status_code != 500, response.text  # documented 502/503 are answers

    try:
        fuzz()
    except Unsatisfiable:
        # Only free-text path parameters: there is no invalid input to send (NUL aside,
        # which tests/unit/test_inputs.py sends); the positive run covered the route.
        assert mode is GenerationMode.NEGATIVE
