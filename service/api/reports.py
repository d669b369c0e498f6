"""Batch quality reports over HTTP: JSON by default, a self-contained HTML page on request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse

from service.api.deps import ServicesDep, require
from service.quality.report import (
    BatchNotFound,
    BatchReport,
    load_or_build_report,
    render_html,
)

reports_router = APIRouter(tags=["reports"])


@reports_router.get(
    "/v1/reports/{batch_id}",
    dependencies=[require("read")],
    response_model=BatchReport,
    responses={200: {"content": {"text/html": {}}, "description": "The report (JSON or HTML)"}},
)
def batch_report(
    batch_id: str,
    services: ServicesDep,
    format: Annotated[Literal["json", "html"], Query(description="json or html")] = "json",
    refresh: Annotated[bool, Query(description="Rebuild even if a current one is stored")] = False,
) -> Any:
    """The batch's quality report: built (and stored) unless a current one is stored."""
    knowledge = services.knowledge
    try:
        report = load_or_build_report(
            services.records.engine,
            batch_id,
            scorer=services.generator.model,
            embedder=knowledge.embedder if knowledge is not None else None,
            chunks=knowledge,
            refresh=refresh,
        )
    except BatchNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    if format == "html":
        return HTMLResponse(render_html(report))
    return report
