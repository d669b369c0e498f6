"""The components API routes use, built once per app and reached through a dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from ingest.pipeline import IngestOptions
from knowledge.store import KnowledgeStore
from service.documents import IngestJobs
from service.generation import PatientGenerator
from service.storage import RecordStore


@dataclass
class Services:
    generator: PatientGenerator
    records: RecordStore
    knowledge: KnowledgeStore | None = None
    jobs: IngestJobs | None = None
    ingest: IngestOptions = field(default_factory=IngestOptions)
    max_upload_bytes: int = 200 * 1024 * 1024

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
