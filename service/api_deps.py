"""The components API routes use, built once per app and reached through a dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.params import Depends as DependsParam

from ingest.pipeline import IngestOptions
from knowledge.store import KnowledgeStore
from service.auth import ApiKeys, Scope
from service.documents import IngestJobs
from service.generation import PatientGenerator
from service.storage import RecordStore
from service.validation import Validator


@dataclass
class Services:
    generator: PatientGenerator
    records: RecordStore
    knowledge: KnowledgeStore | None = None
    jobs: IngestJobs | None = None
    ingest: IngestOptions = field(default_factory=IngestOptions)
    max_upload_bytes: int = 200 * 1024 * 1024
    keys: ApiKeys | None = None  # None: auth disabled (loopback demos only)
    validator: Validator | None = None  # None: GET .../validation answers 503 if not stored
    repair_rounds: int = 2  # regenerations of a record failing an error rule (with validator)

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


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key")


def require(scope: Scope) -> DependsParam:
    """A route dependency: a valid key (401 otherwise) carrying ``scope`` (403 otherwise)."""

    def check(request: Request, services: ServicesDep) -> None:
        if services.keys is None:
            return
        token = _presented_key(request)
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
