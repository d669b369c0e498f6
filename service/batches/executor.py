"""The work on one batch item: generate it with its seed and store it exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable

from service.batches.models import (
    ACTIVE,
    BatchJob,
    ItemOutcome,
    item_record_id,
    item_seed,
    parsed_request,
)
from service.batches.store import BatchStore
from service.generation.blocks.base import GenerationError
from service.generation.flow import PatientFlow
from service.generation.generator import PatientGenerator
from service.requests import ParsedRequest, RequestError
from service.storage.patients import RecordStore
from service.validation import Validator

log = logging.getLogger(__name__)


class BatchExecutor:
    """Runs one batch item: generate with the item's seed, store it exactly once.

    The batch's request is parsed once per process (``parsed_request``) and each item goes
    through the patient flow (``PatientFlow``) under its own record id: with a ``validator``
    the record is validated and repaired (at most ``repair_rounds`` regenerations, as for a
    single record) and stored with the validation of the attempt kept, in the same
    transaction; a validator that itself fails costs the item its validation, not the
    record (logged, stored unvalidated).
    ``on_finished`` (optional) is called once with the batch id when a batch is done.
    A generation failure is retried with another seed; after ``attempts`` tries the item
    is recorded as failed with the error and the model's raw output. A request that
    cannot be generated at all (RequestError) ends the whole batch as failed."""

    def __init__(
        self,
        generator: PatientGenerator,
        batches: BatchStore,
        records: RecordStore,
        *,
        attempts: int = 2,
        validator: Validator | None = None,
        repair_rounds: int = 0,
        on_finished: Callable[[str], None] | None = None,
    ):
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        self.batches = batches
        self.attempts = attempts
        self.flow = PatientFlow(
            generator,
            records,
            validator=validator,
            repair_rounds=repair_rounds if validator is not None else 0,
            tolerate_validator_errors=True,
        )
        self.on_finished = on_finished
        self._requests: dict[str, ParsedRequest] = {}

    def run_item(self, batch_id: str, index: int) -> ItemOutcome:
        job = self.batches.job(batch_id)
        if job is None or job.status not in ACTIVE:
            return "inactive"
        if not 0 <= index < job.total:
            raise ValueError(f"batch {batch_id} has no item {index} (total {job.total})")
        if self.batches.is_settled(batch_id, index):
            self.settle(batch_id)
            return "skipped"
        try:
            request = self._request(job)
        except RequestError as exc:
            self.batches.fail(batch_id, str(exc))
            return "inactive"
        self.batches.mark_running(batch_id)
        outcome = self._generate_and_store(job, request, index)
        self.settle(batch_id)
        return outcome

    def _request(self, job: BatchJob) -> ParsedRequest:
        request = self._requests.get(job.batch_id)
        if request is None:
            request = self._requests[job.batch_id] = parsed_request(job.request)
        return request

    def _generate_and_store(self, job: BatchJob, request: ParsedRequest, index: int) -> ItemOutcome:
        error, raw = "", None
        for attempt in range(self.attempts):
            try:
                stored = self.flow.create_batch_item(
                    request,
                    seed=item_seed(job.seed, index, attempt),
                    batch_id=job.batch_id,
                    batch_index=index,
                    record_id=item_record_id(job.batch_id, index),
                )
            except RequestError as exc:
                self.batches.fail(job.batch_id, str(exc))
                return "inactive"
            except GenerationError as exc:
                error, raw = str(exc), exc.raw
                continue
            except Exception as exc:  # a backend or retrieval failure is a failed try too
                log.warning("batch %s item %s: %s", job.batch_id, index, exc, exc_info=True)
                error, raw = f"{type(exc).__name__}: {exc}", None
                continue
            return "stored" if stored else "duplicate"
        added = self.batches.add_failure(
            job.batch_id, index, attempts=self.attempts, error=error, raw=raw
        )
        return "failed" if added else "duplicate"

    def settle(self, batch_id: str) -> None:
        """Close the batch if nothing is left, and announce it (once)."""
        if not self.batches.finish_if_complete(batch_id):
            return
        self._requests.pop(batch_id, None)
        if self.on_finished is not None:
            try:
                self.on_finished(batch_id)
            except Exception:
                log.exception("on_finished failed for batch %s", batch_id)
