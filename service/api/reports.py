"""Batch quality reports over HTTP: JSON by default, a self-contained HTML page on request.

A report is built when its batch finishes (``report_builder``) or by ``POST``; ``GET`` only
reads what is stored, so a read never runs the model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse

from service.api.deps import ServicesDep, require
from service.quality.report import (
    BatchNotFound,
    BatchReport,
    ReportNotStored,
    ReportOutdated,
    current_report,
    load_or_build_report,
    render_html,
)

reports_router = APIRouter(tags=["reports"])

FormatQuery = Annotated[Literal["json", "html"], Query(description="json or html")]


def _as(report: BatchReport, format: str) -> Any:
    return HTMLResponse(render_html(report)) if format == "html" else report


@reports_router.get(
    "/v1/reports/{batch_id}",
    dependencies=[require("read")],
    response_model=BatchReport,
    responses={
        200: {"content": {"text/html": {}}, "description": "The report (JSON or HTML)"},
        404: {"description": "No such batch, or no report stored yet"},
        409: {"description": "The stored report is out of date"},
    },
)
def batch_report(batch_id: str, services: ServicesDep, format: FormatQuery = "json") -> Any:
    """The batch's stored quality report. It is built when the batch finishes; build or
    rebuild it with `POST /v1/reports/{batch_id}` (scope `generate`)."""
    how = f"build it with POST /v1/reports/{batch_id} (scope generate)"
    try:
        report = current_report(services.records.engine, batch_id)
    except BatchNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except ReportNotStored as exc:
        raise HTTPException(status_code=404, detail=f"{exc}: {how}") from exc
    except ReportOutdated as exc:
        raise HTTPException(status_code=409, detail=f"{exc}: re{how}") from exc
    return _as(report, format)


@reports_router.post(
    "/v1/reports/{batch_id}",
    dependencies=[require("generate")],
    response_model=BatchReport,
    responses={200: {"content": {"text/html": {}}, "description": "The report (JSON or HTML)"}},
)
def build_batch_report(batch_id: str, services: ServicesDep, format: FormatQuery = "json") -> Any:
    """Build the batch's quality report now (scoring runs the model: seconds per record)
    and store it in place of any stored one."""
    knowledge = services.knowledge
    try:
        report = load_or_build_report(
            services.records.engine,
            batch_id,
            scorer=services.generator.model,
            embedder=knowledge.embedder if knowledge is not None else None,
            chunks=knowledge,
            refresh=True,
        )
    except BatchNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    return _as(report, format)
