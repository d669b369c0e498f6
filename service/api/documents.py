"""Documents and search over HTTP: uploads become ingestion jobs with visible progress."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, HTTPException, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from knowledge.chunks import RetrievedChunk
from service.api.deps import ServicesDep, require
from service.storage.documents import (
    DocumentNotFound,
    UploadRejected,
    check_upload_name,
    delete_document,
    save_upload,
)

documents_router = APIRouter(tags=["documents"])


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # as the schema says

    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(5, ge=1, le=100, description="Passages to return")
    documents: list[str] = Field(default_factory=list, description="Document ids or file names")
    tags: list[str] = Field(default_factory=list, description="Documents must carry every tag")
    mmr: bool = Field(True, description="Diversify results by maximal marginal relevance")
    diversity: float = Field(0.5, ge=0.0, le=1.0, description="0 relevance only, 1 most diverse")


class SearchResponse(BaseModel):
    results: list[RetrievedChunk]


@documents_router.get("/v1/documents", dependencies=[require("read")])
def list_documents(services: ServicesDep, all: bool = False) -> list[dict[str, Any]]:
    registry = services.knowledge_store().registry
    return [d.as_json() for d in registry.documents(include_superseded=all)]


@documents_router.delete("/v1/documents/{document_id}", dependencies=[require("ingest")])
def remove_document(document_id: str, services: ServicesDep) -> dict[str, Any]:
    try:
        return delete_document(services.knowledge_store(), document_id).as_json()
    except DocumentNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


@documents_router.post("/v1/documents", status_code=202, dependencies=[require("ingest")])
def upload_documents(
    request: Request,
    background: BackgroundTasks,
    services: ServicesDep,
    files: Annotated[list[UploadFile], File(description="Guideline PDFs")],
    tags: Annotated[list[str] | None, Form(description="Tags for every uploaded file")] = None,
    ocr: Annotated[bool, Form(description="OCR pages without a text layer")] = True,
) -> dict[str, Any]:
    """Accept PDFs for ingestion; each accepted file gets a job to poll, each refused one
    an error naming it. All refused: 400 (413 when too large)."""
    jobs = services.ingest_jobs()
    limit = services.max_upload_bytes
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit * max(len(files), 1) + 1024 * 1024:
        raise HTTPException(status_code=413, detail=f"upload larger than {limit} bytes per file")
    options = replace(services.ingest, tags=tuple(tags or ()), ocr=ocr and services.ingest.ocr)
    accepted, refused = [], []
    too_large = False
    for upload in files:
        try:
            name = check_upload_name(upload.filename)
            job = jobs.create(name)
            try:
                save_upload(upload.file, jobs.path_for(job), max_bytes=limit)
            except UploadRejected as exc:
                jobs.fail(job, str(exc))
                too_large = True
                raise
        except UploadRejected as exc:
            refused.append({"file_name": upload.filename, "error": str(exc)})
            continue
        background.add_task(jobs.run, job, options)
        accepted.append(asdict(job))
    if not accepted:
        raise HTTPException(status_code=413 if too_large else 400, detail=refused)
    return {"jobs": accepted, "refused": refused}


@documents_router.get("/v1/documents/jobs/{job_id}", dependencies=[require("read")])
def ingest_job(job_id: str, services: ServicesDep) -> dict[str, Any]:
    job = services.ingest_jobs().get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"no ingestion job {job_id!r}")
    return asdict(job)


@documents_router.post("/v1/search", dependencies=[require("read")])
def search(body: SearchRequest, services: ServicesDep) -> SearchResponse:
    hits = services.knowledge_store().query(
        body.query,
        k=body.k,
        documents=body.documents,
        tags=body.tags,
        mmr=body.mmr,
        diversity=body.diversity,
    )
    return SearchResponse(results=hits)
