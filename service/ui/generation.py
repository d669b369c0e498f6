"""The UI's generation pages: the request form, batches (create, progress with ETA, cancel,
results, exports, quality report) and a batch of one made from the Generate form.

Generating from the UI is a batch (``BatchService.create``, what ``POST /v1/batches``
calls): the batch runner does the work and its stored progress is what the page shows
while the model writes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from service.api.batches import (
    batch_failures,
    batch_patients,
    cancel_batch,
    create_batch,
    get_batches,
)
from service.api.exports import export_batch
from service.api.reports import batch_report, build_batch_report
from service.batches.models import BatchRequest
from service.exports.formats import ExportFormat
from service.generation.locales import EXAMPLES
from service.requests.common import BLOCKS, SECOND_TUMOUR_BLOCKS
from service.requests.wire import validation_message
from service.ui.session import UiUser, ui_require
from service.ui.views import (
    UiError,
    api_call,
    checked_multi_form,
    form_action,
    redirect,
    render,
    services_of,
)

generation_pages = APIRouter(include_in_schema=False)
GENERATE_MAX = 10  # the Generate form: a few records to read; more is a batch
PAGE_SIZE = 20
# A self-contained report page: its own inline styles, nothing else.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def batch_request(values: dict[str, list[str]], *, max_count: int) -> BatchRequest:
    """The form's fields as the API's request; a 422 page naming what to change."""

    def one(name: str) -> str:
        return (values.get(name) or [""])[-1].strip()

    data: dict[str, Any] = {}
    for name in ("prompt", "sex", "diagnosis", "second_tumour", "language", "locale"):
        if value := one(name):
            data[name] = value
    for name in ("age", "seed", "count"):
        if value := one(name):
            try:
                data[name] = int(value)
            except ValueError as exc:
                raise UiError(422, f"{name}: a whole number, not {value!r}") from exc
    data.setdefault("count", 1)
    if data["count"] > max_count:
        raise UiError(422, f"count: at most {max_count} here (more as a batch)")
    for name in ("blocks", "second_tumour_blocks"):
        if blocks := [b for b in values.get(name, []) if b]:
            data[name] = blocks
    if one("relapse") in ("true", "on"):
        data["relapse"] = True
    try:
        return BatchRequest.model_validate(data)
    except ValidationError as exc:
        raise UiError(422, validation_message(exc)) from exc


def _form_context(request: Request) -> dict[str, Any]:
    return {
        "blocks": BLOCKS,
        "second_tumour_blocks": SECOND_TUMOUR_BLOCKS,
        "locales": EXAMPLES,
        "default_locale": services_of(request).generator.options.locale,
    }


@generation_pages.get("/ui/generate")
def generate_page(request: Request, user: Annotated[UiUser, ui_require("generate")]) -> Response:
    context = {**_form_context(request), "max_count": GENERATE_MAX, "action": "/ui/generate"}
    return render(request, "generate.html", context, user=user)


@generation_pages.post("/ui/generate")
async def generate(request: Request, user: Annotated[UiUser, ui_require("generate")]) -> Response:
    body = batch_request(await checked_multi_form(request), max_count=GENERATE_MAX)
    batches = get_batches(request)
    status = await run_in_threadpool(api_call, create_batch, body, Response(), batches, None)
    return redirect(request, f"/ui/batches/{status.batch_id}?generate=1")


@generation_pages.get("/ui/batches")
def batches_page(
    request: Request,
    user: Annotated[UiUser, ui_require("read")],
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    batches = get_batches(request)
    items = batches.page(limit=PAGE_SIZE, offset=offset)
    context = {
        **_form_context(request),
        "batches": items,
        "total": batches.store.count(),
        "offset": offset,
        "page_size": PAGE_SIZE,
        "max_count": 10000,
        "action": "/ui/batches",
    }
    return render(request, "batches.html", context, user=user)


@generation_pages.post("/ui/batches")
async def create(request: Request, user: Annotated[UiUser, ui_require("generate")]) -> Response:
    body = batch_request(await checked_multi_form(request), max_count=10000)
    batches = get_batches(request)
    status = await run_in_threadpool(api_call, create_batch, body, Response(), batches, None)
    return redirect(request, f"/ui/batches/{status.batch_id}")


def _batch_context(request: Request, batch_id: str, offset: int) -> dict[str, Any]:
    batches = get_batches(request)
    status = batches.status(batch_id)
    if status is None:
        raise UiError(404, f"no batch with id {batch_id}")
    page = api_call(batch_patients, batch_id, batches, limit=PAGE_SIZE, offset=offset)
    failures = api_call(batch_failures, batch_id, batches)
    return {
        "batch": status,
        "records": page.items,
        "records_total": page.total,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "failures": failures,
        "formats": [f.value for f in ExportFormat],
        "active": status.status in ("queued", "running"),
    }


@generation_pages.get("/ui/batches/{batch_id}")
def batch_page(
    batch_id: str,
    request: Request,
    user: Annotated[UiUser, ui_require("read")],
    generate: bool = False,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    context = {**_batch_context(request, batch_id, offset), "generate": generate}
    return render(request, "batch.html", context, user=user)


@generation_pages.get("/ui/batches/{batch_id}/progress")
def batch_progress(
    batch_id: str,
    request: Request,
    user: Annotated[UiUser, ui_require("read")],
    generate: bool = False,
) -> Response:
    """The progress fragment, polled while the batch runs; a finished batch of one made
    from the Generate form opens its record."""
    context = {**_batch_context(request, batch_id, 0), "generate": generate}
    batch, records = context["batch"], context["records"]
    if generate and batch.status == "done" and batch.total == 1 and len(records) == 1:
        return redirect(request, f"/ui/patients/{records[0].record_id}")
    response = render(request, "batch_progress.html", context, user=user)
    if not context["active"]:
        response.headers["HX-Trigger"] = "batch-ended"
    return response


@generation_pages.post("/ui/batches/{batch_id}/cancel")
async def cancel(
    batch_id: str, request: Request, user: Annotated[UiUser, ui_require("generate")]
) -> Response:
    then = f"/ui/batches/{batch_id}"
    return await form_action(request, then, cancel_batch, batch_id, get_batches(request))


@generation_pages.get("/ui/batches/{batch_id}/export")
def export(
    batch_id: str,
    request: Request,
    user: Annotated[UiUser, ui_require("read")],
    format: ExportFormat = ExportFormat.json,
) -> Response:
    return api_call(export_batch, batch_id, services_of(request), format)


@generation_pages.get("/ui/batches/{batch_id}/report")
def report(
    batch_id: str, request: Request, user: Annotated[UiUser, ui_require("read")]
) -> Response:
    """The stored quality report (the API's self-contained HTML page), or a page offering
    to build it."""
    try:
        page = batch_report(batch_id, services_of(request), "html")
    except HTTPException as exc:
        if exc.status_code not in (404, 409) or get_batches(request).status(batch_id) is None:
            raise UiError(exc.status_code, exc.detail) from exc
        context = {"batch_id": batch_id, "detail": str(exc.detail)}
        return render(request, "report_missing.html", context, user=user)
    assert isinstance(page, HTMLResponse)
    page.headers["Content-Security-Policy"] = REPORT_CSP
    return page


@generation_pages.post("/ui/batches/{batch_id}/report")
async def build_report(
    batch_id: str, request: Request, user: Annotated[UiUser, ui_require("generate")]
) -> Response:
    then, services = f"/ui/batches/{batch_id}/report", services_of(request)
    return await form_action(request, then, build_batch_report, batch_id, services, "json")
