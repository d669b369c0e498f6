"""Tabular synthetic data over HTTP: start a job, follow its progress, export its rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from service.api.contract import error_response
from service.api.deps import Services, require
from service.exports.cells import safe_cell
from service.tabular.jobs import (
    TabularJobRequest,
    TabularJobRunner,
    TabularJobStatus,
    TabularJobStore,
)

tabular_router = APIRouter(tags=["tabular"])


@contextmanager
def running_tabular(app: FastAPI) -> Iterator[TabularJobRunner]:
    """Run tabular jobs on the app's model for the app's life (unfinished ones restart)."""
    services: Services = app.state.services
    runner = TabularJobRunner(services.generator.model, TabularJobStore(services.records.engine))
    runner.start()
    app.state.tabular = runner
    try:
        yield runner
    finally:
        runner.stop()
        app.state.tabular = None


def get_tabular(request: Request) -> TabularJobRunner:
    runner: TabularJobRunner | None = getattr(request.app.state, "tabular", None)
    if runner is None:
        raise HTTPException(status_code=503, detail="tabular jobs are not running")
    return runner


TabularDep = Annotated[TabularJobRunner, Depends(get_tabular)]


def _found(status: TabularJobStatus | None, job_id: str) -> TabularJobStatus:
    if status is None:
        raise HTTPException(status_code=404, detail=f"no tabular job with id {job_id}")
    return status


@tabular_router.post("/v1/tabular", status_code=202, dependencies=[require("generate")])
def create_tabular_job(body: TabularJobRequest, runner: TabularDep) -> TabularJobStatus:
    """Queue a synthetic table: `rows` rows of the `pbc` or `pima` reference under
    `prompt_type`, each under the row schema and checked by the data set's rules."""
    status = runner.store.create(body)
    runner.submit(status.job_id)
    return status


@tabular_router.get("/v1/tabular/{job_id}", dependencies=[require("read")])
def tabular_job(job_id: str, runner: TabularDep) -> TabularJobStatus:
    """Status and progress (`rows_done` of `rows_total`, kept, dropped); the run's summary
    once done."""
    return _found(runner.store.status(job_id), job_id)


@tabular_router.get(
    "/v1/tabular/{job_id}/export",
    dependencies=[require("read")],
    responses={
        200: {"content": {"text/csv": {}, "application/json": {}}},
        409: error_response("The job has not finished"),
    },
)
def export_tabular_job(
    job_id: str,
    runner: TabularDep,
    format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
) -> Any:
    """The rows of a finished job: CSV (missing values empty) or JSON with the run's
    summary, provenance and dropped rows. 409 while the job is not done."""
    status = _found(runner.store.status(job_id), job_id)
    result = runner.store.result(job_id)
    if status.status != "done" or result is None:
        raise HTTPException(status_code=409, detail=f"job {job_id} is {status.status}")
    if format == "json":
        return JSONResponse({"rows": result["rows"], "run": result["run"]})
    buffer = io.StringIO()
    columns = result["columns"]
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in columns])
    writer.writerows([safe_cell(row.get(c)) for c in columns] for row in result["rows"])
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="tabular-{job_id}.csv"'},
    )
