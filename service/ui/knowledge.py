"""The UI's knowledge pages: upload with progress, documents, delete and replace, coverage.

Each action calls the function the API route calls (or the route function itself), with
the API's scope checked on the session's key."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, Request
from fastapi.responses import Response

from knowledge.facts.store import FactIndex
from service.api.deps import Services
from service.api.documents import ReceivedUpload, receive_upload, remove_document
from service.api.facts import knowledge_coverage
from service.ui.session import UiUser, check_csrf_header, ui_require
from service.ui.views import (
    UiError,
    api_call,
    form_action,
    render,
    services_of,
)

knowledge_pages = APIRouter(include_in_schema=False)
UPLOAD_PATH = "/ui/knowledge/upload"
REPLACE_PREFIX = "/ui/knowledge/replace/"
MAX_JOBS_SHOWN = 20


def _documents(request: Request) -> list[dict[str, Any]]:
    services = services_of(request)
    store = services.knowledge_store()
    facts = FactIndex(store.registry.engine)
    rows = []
    for document in store.registry.documents():
        row = document.as_json()
        counts = facts.counts(document.document_id)
        row["facts"] = sum(counts.values())
        row["fact_kinds"] = counts
        rows.append(row)
    return rows


@knowledge_pages.get("/ui/knowledge")
def knowledge_page(request: Request, user: Annotated[UiUser, ui_require("read")]) -> Response:
    services = services_of(request)
    coverage = api_call(knowledge_coverage, services)
    context = {"documents": _documents(request), "coverage": [c.model_dump() for c in coverage]}
    return render(request, "knowledge.html", context, user=user)


@knowledge_pages.get("/ui/knowledge/documents")
def documents_fragment(request: Request, user: Annotated[UiUser, ui_require("read")]) -> Response:
    return render(request, "documents_table.html", {"documents": _documents(request)}, user=user)


@knowledge_pages.get("/ui/knowledge/coverage")
def coverage_fragment(request: Request, user: Annotated[UiUser, ui_require("read")]) -> Response:
    coverage = api_call(knowledge_coverage, services_of(request))
    context = {"coverage": [c.model_dump() for c in coverage]}
    return render(request, "coverage_table.html", context, user=user)


@knowledge_pages.post(UPLOAD_PATH)
async def upload(
    request: Request, background: BackgroundTasks, user: Annotated[UiUser, ui_require("ingest")]
) -> Response:
    """The API's upload (same checks, limits and jobs); the CSRF token comes in a header,
    checked before the body is read."""
    check_csrf_header(request)
    services = services_of(request)
    received = await _receive(request, services)
    received.schedule(background, services.ingest_jobs())
    jobs = [asdict(job) for job in received.accepted]
    context = {"jobs": jobs, "refused": received.refused, "polling": bool(jobs)}
    response = render(request, "jobs.html", context, user=user)
    response.background = background
    return response


async def _receive(
    request: Request, services: Services, file_name: str | None = None
) -> ReceivedUpload:
    try:
        return await receive_upload(request, services, tag_separator=",", file_name=file_name)
    except HTTPException as exc:  # the API's refusals, shown as a page
        raise UiError(exc.status_code, exc.detail) from exc


@knowledge_pages.post(REPLACE_PREFIX + "{document_id}")
async def replace_document(
    document_id: str,
    request: Request,
    background: BackgroundTasks,
    user: Annotated[UiUser, ui_require("ingest")],
) -> Response:
    """A new version of a document: the uploaded PDF is ingested under the document's file
    name, which supersedes it once ingested (as ``clinsynth ingest`` of a changed file)."""
    check_csrf_header(request)
    services = services_of(request)
    document = services.knowledge_store().registry.get(document_id)
    if document is None:
        raise UiError(404, f"no document with id {document_id!r}")
    received = await _receive(request, services, file_name=document.file_name)
    received.schedule(background, services.ingest_jobs())
    jobs = [asdict(job) for job in received.accepted]
    context = {"jobs": jobs, "refused": received.refused, "polling": bool(jobs)}
    response = render(request, "jobs.html", context, user=user)
    response.background = background
    return response


@knowledge_pages.get("/ui/knowledge/jobs")
def jobs_fragment(
    request: Request,
    user: Annotated[UiUser, ui_require("read")],
    job: Annotated[list[str], Query(max_length=MAX_JOBS_SHOWN)],
) -> Response:
    """The jobs' progress; polls itself until every job has ended, then asks the page to
    reload its documents list (``HX-Trigger: documents-changed``)."""
    ingest_jobs = services_of(request).ingest_jobs()
    jobs = [asdict(found) for j in job if (found := ingest_jobs.get(j)) is not None]
    polling = any(j["status"] not in ("done", "failed") for j in jobs)
    response = render(
        request, "jobs.html", {"jobs": jobs, "refused": [], "polling": polling}, user=user
    )
    if not polling:
        response.headers["HX-Trigger"] = "documents-changed"
    return response


@knowledge_pages.post("/ui/knowledge/{document_id}/delete")
async def delete(
    document_id: str, request: Request, user: Annotated[UiUser, ui_require("ingest")]
) -> Response:
    services = services_of(request)
    return await form_action(request, "/ui/knowledge", remove_document, document_id, services)
