"""Batch jobs: what is asked (``BatchRequest``), what is reported (``BatchStatus``,
``BatchFailure``) and where each item stands (its seed and record id).

A batch is a request and a count. Item ``i`` is generated with seed ``batch seed + i`` and
stored under its own record id, exactly once (``service.batches.store``); where items run
is the business of the runners (``service.batches.runners``) and the work on one item is
``service.batches.executor``'s.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from service.requests import (
    ParsedRequest,
    RequestError,
    RequestFields,
    build_request,
    seed_at,
    validation_message,
)

BATCH_NAMESPACE = uuid.UUID("2d8e6a0b-5c4f-4f6e-8a43-7b1d9e0c3f21")
MAX_COUNT = 10_000
RETRY_SEED_STEP = 2**24  # far from any neighbouring item's seed
ACTIVE = ("queued", "running")
BatchState = Literal["queued", "running", "done", "failed", "cancelled"]
ItemOutcome = Literal["stored", "duplicate", "failed", "skipped", "inactive"]


class BatchRequest(RequestFields):
    """What ``POST /v1/batches`` accepts: the fields of ``POST /v1/patients`` (a prompt and/or
    age, sex, diagnosis, blocks, relapse, second_tumour, second_tumour_blocks, language,
    seed) plus a larger ``count`` and an optional ``idempotency_key``."""

    count: int = Field(  # required here, and up to MAX_COUNT
        ge=1, le=MAX_COUNT, description=f"How many records, 1 to {MAX_COUNT}"
    )
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=200, description="Same key, same batch (no duplicate)"
    )

    def stored_request(self) -> dict[str, Any]:
        """The request as kept with the batch: the given fields but the count and the key."""
        return self.model_dump(mode="json", exclude={"count", "idempotency_key"}, exclude_none=True)


def parsed_request(stored: dict[str, Any]) -> ParsedRequest:
    """The ``ParsedRequest`` of a batch's stored request; RequestError saying what is wrong."""
    try:
        fields = RequestFields.model_validate(stored)
    except ValidationError as exc:
        raise RequestError(validation_message(exc)) from exc
    return build_request(fields)


class BatchStatus(BaseModel):
    batch_id: str
    status: str
    total: int
    done: int
    failed: int
    seed: int
    idempotency_key: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    eta_seconds: float | None = Field(description="Estimate; None while unknown")
    request: dict[str, Any]
    error: str | None
    links: dict[str, str]


class BatchFailure(BaseModel):
    batch_index: int
    attempts: int
    error: str
    raw: str | None
    created_at: datetime


class IdempotencyConflict(ValueError):
    """An idempotency key reused with a different request."""


@dataclass(frozen=True)
class BatchJob:
    """What a worker needs to run a batch's items."""

    batch_id: str
    request: dict[str, Any]
    seed: int
    total: int
    status: str


def item_record_id(batch_id: str, index: int) -> str:
    """Batch items get their own ids: the generator's id could match a record made
    outside the batch from the same request and seed."""
    return str(uuid.uuid5(BATCH_NAMESPACE, f"{batch_id}:{index}"))


def item_seed(batch_seed: int, index: int, attempt: int = 0) -> int:
    return seed_at(batch_seed, index + attempt * RETRY_SEED_STEP)
