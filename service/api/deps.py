"""The components API routes use, built once per app and reached through a dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.params import Depends as DependsParam
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ingest.pdf import PdfLimits
from ingest.pipeline import IngestOptions
from knowledge.store import KnowledgeStore
from service.auth import ApiKeys, KeyPolicy, Scope
from service.components import Components
from service.generation.flow import FailureLog, PatientFlow
from service.generation.generator import PatientGenerator
from service.generation.options import DEFAULT_REPAIR_ROUNDS
from service.storage.documents import IngestJobs
from service.storage.patients import RecordStore
from service.validation import Validator


@dataclass
class Services:
    """The parts the routes use. ``create_app`` takes them from ``build_services``; tests
    pass parts built on fakes."""

    generator: PatientGenerator
    records: RecordStore
    knowledge: KnowledgeStore | None = None
    jobs: IngestJobs | None = None
    ingest: IngestOptions = field(default_factory=IngestOptions)
    max_upload_bytes: int = PdfLimits.max_bytes
    keys: ApiKeys | None = None  # None: no key checks (tests; loopback demos only)
    key_policy: KeyPolicy = "always"  # with keys: which requests need one
    validator: Validator | None = None  # None: GET .../validation answers 503 if not stored
    repair_rounds: int = DEFAULT_REPAIR_ROUNDS  # regenerations of a record failing a rule

    failures: FailureLog | None = None  # where failed generations keep their raw output
    flow: PatientFlow = field(init=False)

    def __post_init__(self) -> None:
        self.flow = PatientFlow(
            self.generator,
            self.records,
            validator=self.validator,
            repair_rounds=self.repair_rounds,
            failures=self.failures,
        )

    @classmethod
    def of(cls, components: Components, *, key_policy: KeyPolicy) -> Services:
        """The routes' parts from the one builder of the service."""
        return cls(
            components.generator,
            components.records,
            knowledge=components.knowledge,
            jobs=components.ingest_jobs,
            ingest=components.ingest_options(),
            max_upload_bytes=components.settings.ingest.max_pdf_bytes,
            keys=None if key_policy == "never" else components.api_keys,
            key_policy=key_policy,
            validator=components.validator,
            repair_rounds=components.settings.records.repair_rounds,
            failures=components.failures,
        )

    def needs_key(self) -> bool:
        """Whether this request must carry a key: asked per request, so a key created
        while the server runs closes an open loopback server at once."""
        if self.keys is None or self.key_policy == "never":
            return False
        return self.key_policy == "always" or self.keys.any_exist()

    def knowledge_store(self) -> KnowledgeStore:
        if self.knowledge is None:
            raise HTTPException(status_code=503, detail="no knowledge store configured")
        return self.knowledge

    def ingest_jobs(self) -> IngestJobs:
        if self.jobs is None:
            raise HTTPException(status_code=503, detail="document uploads are not configured")
        return self.jobs


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


# Declared as security schemes, so the OpenAPI schema (and /docs's Authorize) shows which
# routes take a key; the check itself stays in ``require`` (missing keys are not an error
# where no key is needed).
_BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <key>")
_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <key>")


def _presented_key(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
    header: Annotated[str | None, Security(_HEADER)],
) -> str | None:
    if bearer is not None:
        return bearer.credentials.strip() or None
    return header


def require(scope: Scope) -> DependsParam:
    """A route dependency: a valid key (401 otherwise) carrying ``scope`` (403 otherwise)."""

    def check(services: ServicesDep, token: Annotated[str | None, Depends(_presented_key)]) -> None:
        if not services.needs_key():
            return
        assert services.keys is not None
        if token is None:
            raise HTTPException(
                status_code=401,
                detail="missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        key = services.keys.verify(token)
        if key is None:
            raise HTTPException(
                status_code=401,
                detail="invalid or revoked API key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not key.allows(scope):
            raise HTTPException(status_code=403, detail=f"this API key lacks the {scope!r} scope")

    return Depends(check)
