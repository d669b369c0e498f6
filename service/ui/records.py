"""The UI's record pages: the list, one record block by block with its citations and its
validation, a citation's page (text with the quote marked, and the PDF page rendered with
the quote highlighted), and downloads in the API's formats."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from knowledge.registry import Document
from service.api.exports import PatientFormat
from service.api.patients import get_patient, list_patients
from service.api.validation import validate_patient
from service.records import Citation, PatientRecord
from service.ui.pages import document_id_of_chunk, mark_quote, quote_boxes, render_page_png
from service.ui.record_view import record_blocks
from service.ui.session import UiUser, ui_require
from service.ui.views import (
    UiError,
    api_call,
    form_action,
    render,
    services_of,
)

record_pages = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
MAX_QUOTE = 4000


def _record(request: Request, record_id: str) -> PatientRecord:
    record = services_of(request).records.get(record_id)
    if record is None:
        raise UiError(404, f"no patient with id {record_id}")
    return record


@record_pages.get("/ui/patients")
def patients_page(
    request: Request,
    user: Annotated[UiUser, ui_require("read")],
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    tumour: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = api_call(
        list_patients, services_of(request), limit=PAGE_SIZE, offset=offset, tumour=tumour or None
    )
    context = {"page": page, "tumour": tumour or "", "page_size": PAGE_SIZE}
    return render(request, "patients.html", context, user=user)


@record_pages.get("/ui/patients/{record_id}")
def record_page(
    record_id: str, request: Request, user: Annotated[UiUser, ui_require("read")]
) -> Response:
    record = _record(request, record_id)
    try:
        validation = services_of(request).records.get_validation(record_id)
    except KeyError as exc:
        raise UiError(404, f"no patient with id {record_id}") from exc
    context = {
        "record": record,
        "blocks": record_blocks(record),
        "validation": validation,
        "formats": [f.value for f in PatientFormat],
    }
    return render(request, "record.html", context, user=user)


@record_pages.post("/ui/patients/{record_id}/validate")
async def validate(
    record_id: str, request: Request, user: Annotated[UiUser, ui_require("generate")]
) -> Response:
    """The API's validation of a stored record, run now and stored."""
    then = f"/ui/patients/{record_id}#validation"
    return await form_action(request, then, validate_patient, record_id, services_of(request))


@record_pages.get("/ui/patients/{record_id}/download")
def download(
    record_id: str,
    request: Request,
    user: Annotated[UiUser, ui_require("read")],
    format: PatientFormat = PatientFormat.json,
) -> Response:
    answer = api_call(get_patient, record_id, services_of(request), format)
    if isinstance(answer, PatientRecord):
        return JSONResponse(
            answer.model_dump(mode="json"),
            headers={"Content-Disposition": f'attachment; filename="patient-{record_id}.json"'},
        )
    return answer


def _cited_document(request: Request, citation: Citation) -> Document:
    registry = services_of(request).knowledge_store().registry
    document_id = document_id_of_chunk(citation.chunk_id)
    document = registry.get(document_id) if document_id else None
    if document is None:  # a chunk id of another form: by the cited file name
        named = [
            d
            for d in registry.documents(include_superseded=True)
            if d.file_name == citation.document
        ]
        document = named[0] if named else None
    if document is None:
        raise UiError(404, f"the cited document {citation.document!r} is no longer stored")
    return document


def _citation(request: Request, record_id: str, number: int) -> tuple[PatientRecord, Citation]:
    record = _record(request, record_id)
    citations = record.citations()
    if not 0 <= number < len(citations):
        raise UiError(404, f"patient {record_id} has no citation {number}")
    return record, citations[number]


@record_pages.get("/ui/patients/{record_id}/citations/{number}")
def citation_page(
    record_id: str, number: int, request: Request, user: Annotated[UiUser, ui_require("read")]
) -> Response:
    record, citation = _citation(request, record_id, number)
    document = _cited_document(request, citation)
    registry = services_of(request).knowledge_store().registry
    page = registry.page(document.document_id, citation.page)
    if page is None:
        raise UiError(404, f"{document.file_name} has no stored page {citation.page}")
    context: dict[str, Any] = {
        "record": record,
        "number": number,
        "citation": citation,
        "document": document,
        "marked": mark_quote(page.text, citation.quote),
        "image": f"/ui/documents/{document.document_id}/pages/{citation.page}.png"
        f"?record={record_id}&citation={number}",
    }
    return render(request, "citation.html", context, user=user)


@record_pages.get("/ui/documents/{document_id}/pages/{page}.png")
def page_image(
    document_id: str,
    page: int,
    request: Request,
    user: Annotated[UiUser, ui_require("read")],
    record: Annotated[str | None, Query(max_length=100)] = None,
    citation: Annotated[int | None, Query(ge=0)] = None,
    quote: Annotated[str | None, Query(max_length=MAX_QUOTE)] = None,
) -> Response:
    """The kept original PDF's page as a PNG, with the quote highlighted: a record's
    citation (``record`` and ``citation``) or a ``quote`` given directly."""
    store = services_of(request).knowledge_store()
    document = store.registry.get(document_id)
    if document is None:
        raise UiError(404, f"no document with id {document_id!r}")
    if not 1 <= page <= document.pages:
        raise UiError(404, f"{document.file_name} has pages 1 to {document.pages}")
    if record is not None and citation is not None:
        quote = _citation(request, record, citation)[1].quote
    if store.originals is None:
        raise UiError(404, "this service keeps no original PDFs")
    path = store.original_path(document.sha256)
    if not path.exists():
        raise UiError(404, f"the original PDF of {document.file_name} is not kept")
    boxes = quote_boxes(path, page, quote) if quote else []
    png = render_page_png(path, page, boxes)
    return Response(png, media_type="image/png", headers={"X-Highlighted-Lines": str(len(boxes))})
