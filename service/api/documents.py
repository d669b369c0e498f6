"""Documents and search over HTTP: uploads become ingestion jobs with visible progress."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from ingest.pipeline import IngestOptions
from knowledge.chunks import RetrievedChunk
from models.base import LanguageModel
from service.api.deps import Services, ServicesDep, require
from service.api.uploads import MAX_FILES_PER_UPLOAD, SpooledFile, spooled_upload
from service.storage.documents import (
    DocumentNotFound,
    IngestJob,
    IngestJobs,
    UploadRejected,
    check_upload_name,
    delete_document,
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


_UPLOAD_FORM = {  # the form the route reads itself (see service.api.uploads), for /docs
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "additionalProperties": False,
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "maxItems": MAX_FILES_PER_UPLOAD,
                            "description": "Guideline PDFs",
                        },
                        "tags": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Tags for every uploaded file",
                        },
                        "ocr": {
                            "type": "boolean",
                            "default": True,
                            "description": "OCR pages without a text layer",
                        },
                        "extract": {
                            "type": "string",
                            "enum": ["patterns", "model"],
                            "default": "patterns",
                            "description": "Fact extraction: patterns, or patterns and a "
                            "model pass through the configured backend (proposals kept "
                            "only when drug, number and unit are in their quote on the page)",
                        },
                    },
                }
            }
        },
    }
}


@documents_router.post(
    "/v1/documents",
    status_code=202,
    dependencies=[require("ingest")],
    openapi_extra=_UPLOAD_FORM,
)
async def upload_documents(
    request: Request, background: BackgroundTasks, services: ServicesDep
) -> dict[str, Any]:
    """Accept PDFs for ingestion; each accepted file gets a job to poll, each refused one
    an error naming it. All refused: 400 (413 when too large). The key is checked before
    the body is read; the body is capped and spooled under the uploads folder."""
    upload = await receive_upload(request, services)
    upload.schedule(background, services.ingest_jobs())
    if not upload.accepted:
        raise HTTPException(status_code=413 if upload.too_large else 400, detail=upload.refused)
    return {"jobs": [asdict(job) for job in upload.accepted], "refused": upload.refused}


@dataclass
class ReceivedUpload:
    """An upload's files: jobs for the accepted ones, the refused with why."""

    accepted: list[IngestJob]
    refused: list[dict[str, str]]
    options: IngestOptions
    too_large: bool
    model: LanguageModel | None = None  # the model pass's backend (extract=model)

    def schedule(self, background: BackgroundTasks, jobs: IngestJobs) -> None:
        for job in self.accepted:
            background.add_task(jobs.run, job, self.options, self.model)


async def receive_upload(
    request: Request,
    services: Services,
    *,
    tag_separator: str | None = None,
    file_name: str | None = None,
) -> ReceivedUpload:
    """Read a multipart upload (``files``, ``tags``, ``ocr``) into ingestion jobs: what
    ``POST /v1/documents`` and the web UI's upload and replace forms share.

    ``tag_separator``: split each ``tags`` value on it (the UI's one text box);
    ``file_name``: ingest the one uploaded file under this name (a replacement, which
    supersedes the document of that name)."""
    jobs = services.ingest_jobs()
    limit = services.max_upload_bytes
    async with spooled_upload(request, jobs.uploads / ".spool", max_file_bytes=limit) as form:
        if not form.files:
            raise HTTPException(status_code=400, detail="no 'files' part: send at least one PDF")
        if unknown := sorted(set(form.fields) - {"tags", "ocr", "extract"}):
            shown = ", ".join(repr(name) for name in unknown)
            raise HTTPException(
                status_code=422,
                detail=f"unknown form field {shown}: send files, tags, ocr and extract",
            )
        if file_name is not None:
            if len(form.files) != 1:
                raise HTTPException(status_code=400, detail="a replacement is one PDF")
            form.files[0].file_name = file_name
        ocr = _form_flag(form.fields.get("ocr", ["true"])[-1])
        values = form.fields.get("tags", [])
        if tag_separator is not None:
            values = [part.strip() for value in values for part in value.split(tag_separator)]
        tags = tuple(tag for tag in values if tag)
        extract = form.fields.get("extract", ["patterns"])[-1].strip().lower()
        if extract not in ("patterns", "model"):
            raise HTTPException(
                status_code=422, detail=f"extract: expected patterns or model, not {extract!r}"
            )
        options = replace(
            services.ingest,
            tags=tags,
            ocr=ocr and services.ingest.ocr,
            extract="model" if extract == "model" else "patterns",
        )
        model = services.generator.model if extract == "model" else None
        accepted, refused = await run_in_threadpool(_start_jobs, jobs, form.files, limit)
    too_large = any(f.too_large for f in form.files)
    return ReceivedUpload(accepted, refused, options, too_large, model)


def _form_flag(value: str) -> bool:
    word = value.strip().lower()
    if word in ("true", "1", "on", "yes", "t", "y"):
        return True
    if word in ("false", "0", "off", "no", "f", "n"):
        return False
    raise HTTPException(status_code=422, detail=f"ocr: expected true or false, not {value!r}")


def _start_jobs(
    jobs: IngestJobs, files: list[SpooledFile], limit: int
) -> tuple[list[IngestJob], list[dict[str, str]]]:
    """A job per acceptable file, its upload moved out of the spool; the refused with why."""
    accepted, refused = [], []
    for upload in files:
        try:
            name = check_upload_name(upload.file_name)
            if upload.too_large:
                raise UploadRejected(f"{name}: larger than the limit of {limit} bytes")
        except UploadRejected as exc:
            refused.append({"file_name": upload.file_name, "error": str(exc)})
            continue
        job = jobs.create(name)
        target = jobs.path_for(job)
        target.parent.mkdir(parents=True, exist_ok=True)
        upload.path.replace(target)
        accepted.append(job)
    return accepted, refused


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
