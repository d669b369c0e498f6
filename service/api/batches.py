"""Batch jobs over HTTP: create (idempotently), follow, list, cancel, read the results."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel

from service.api.contract import error_response
from service.api.deps import Services, require
from service.api.inputs import MAX_OFFSET
from service.batches.models import BatchFailure, BatchRequest, BatchStatus, IdempotencyConflict
from service.batches.runners import BatchService, build_runner
from service.batches.store import BatchStore
from service.components import build_executor
from service.records import PatientRecord
from service.requests import RequestError
from service.settings import Settings

batches_router = APIRouter(tags=["batches"])


class BatchPage(BaseModel):
    items: list[BatchStatus]
    total: int
    limit: int
    offset: int


class BatchPatients(BaseModel):
    items: list[PatientRecord]
    total: int
    limit: int
    offset: int


@contextmanager
def running_batches(app: FastAPI, settings: Settings) -> Iterator[BatchService]:
    """Build the batch service on the app's components and run it for the app's life.

    ``clinsynth serve`` works on batch items itself unless CLINSYNTH_SERVE_WORKER=false."""
    services: Services = app.state.services
    store = BatchStore(services.records.engine)
    executor = None
    if settings.batches.serve_worker:
        executor = build_executor(
            settings,
            services.generator,
            store,
            services.records,
            validator=services.validator,
            knowledge=services.knowledge,
        )
    runner = build_runner(settings, store, executor)
    runner.start()
    app.state.batches = BatchService(store, runner)
    try:
        yield app.state.batches
    finally:
        runner.stop()
        app.state.batches = None


def get_batches(request: Request) -> BatchService:
    batches: BatchService | None = getattr(request.app.state, "batches", None)
    if batches is None:
        raise HTTPException(status_code=503, detail="batch jobs are not running")
    return batches


BatchesDep = Annotated[BatchService, Depends(get_batches)]


def _found(status: BatchStatus | None, batch_id: str) -> BatchStatus:
    if status is None:
        raise HTTPException(status_code=404, detail=f"no batch with id {batch_id}")
    return status


@batches_router.post(
    "/v1/batches",
    status_code=202,
    dependencies=[require("generate")],
    responses={
        200: {"description": "The batch this idempotency key already created"},
        409: error_response("The idempotency key was used for a different request"),
    },
)
def create_batch(
    body: BatchRequest,
    response: Response,
    batches: BatchesDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> BatchStatus:
    """Queue ``count`` records for one request: 202 and the new batch, or 200 and the
    existing one when the idempotency key (header or body) was seen with this request.

    The request has the fields of `POST /v1/patients` (a `prompt` in English or Spanish,
    structured fields, or both; fields win); item `i` is generated with seed `seed + i`.
    An impossible or unclear request is a 422 whose `detail` says what to change, and
    nothing is stored. Follow it with `GET /v1/batches/{id}` (done, failed, total, ETA).
    """
    if idempotency_key and body.idempotency_key and idempotency_key != body.idempotency_key:
        raise HTTPException(
            status_code=422,
            detail="the Idempotency-Key header and the idempotency_key field differ",
        )
    if idempotency_key:
        body = body.model_copy(update={"idempotency_key": idempotency_key})
    try:
        status, created = batches.create(body)
    except RequestError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except IdempotencyConflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    response.status_code = 202 if created else 200
    response.headers["Location"] = status.links["self"]
    return status


@batches_router.get("/v1/batches", dependencies=[require("read")])
def list_batches(
    batches: BatchesDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Batches to skip")] = 0,
    status: Annotated[str | None, Query(pattern="^(queued|running|done|failed|cancelled)$")] = None,
) -> BatchPage:
    """Batches, newest first."""
    return BatchPage(
        items=batches.page(limit=limit, offset=offset, status=status),
        total=batches.store.count(status=status),
        limit=limit,
        offset=offset,
    )


@batches_router.get("/v1/batches/{batch_id}", dependencies=[require("read")])
def get_batch(batch_id: str, batches: BatchesDep) -> BatchStatus:
    return _found(batches.status(batch_id), batch_id)


@batches_router.post(
    "/v1/batches/{batch_id}/cancel",
    dependencies=[require("generate")],
    responses={409: error_response("The batch has already ended")},
)
def cancel_batch(batch_id: str, batches: BatchesDep) -> BatchStatus:
    """Stop scheduling the batch's items (stored ones stay; one in progress may finish).
    Cancelling a cancelled batch is a no-op; a finished one answers 409."""
    cancelled = batches.store.cancel(batch_id)
    status = _found(batches.status(batch_id), batch_id)
    if not cancelled and status.status != "cancelled":
        raise HTTPException(
            status_code=409, detail=f"batch {batch_id} has already ended ({status.status})"
        )
    return status


@batches_router.get("/v1/batches/{batch_id}/patients", dependencies=[require("read")])
def batch_patients(
    batch_id: str,
    batches: BatchesDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Records to skip")] = 0,
) -> BatchPatients:
    """The batch's stored records, in batch order."""
    _found(batches.status(batch_id), batch_id)
    records = batches.records
    return BatchPatients(
        items=records.list(limit=limit, offset=offset, batch_id=batch_id),
        total=records.count(batch_id=batch_id),
        limit=limit,
        offset=offset,
    )


@batches_router.get("/v1/batches/{batch_id}/failures", dependencies=[require("read")])
def batch_failures(batch_id: str, batches: BatchesDep) -> list[BatchFailure]:
    """Items that failed after every attempt, with the error and the model's raw output."""
    _found(batches.status(batch_id), batch_id)
    return batches.store.failures(batch_id)
