"""A fake backend for unit tests: returns queued responses and records each call."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from models.base import ChatMessage, Completion, LanguageModel, ScoringUnsupported, TextScore


@dataclass(frozen=True)
class FakeCall:
    messages: list[ChatMessage]
    schema: dict[str, Any] | None
    seed: int
    kind: str = "json"


@dataclass(frozen=True)
class FakeResponse:
    """A queued answer with the usage and timing the fake reports for it."""

    text: str
    prompt_tokens: int = 10
    completion_tokens: int | None = None
    seconds: float = 0.0
    schema_errors: tuple[str, ...] = field(default=())


class FakeModel(LanguageModel):
    backend = "fake"
    name = "fake"
    sha256 = None

    def __init__(self, *, backend: str = "fake", name: str = "fake") -> None:
        self.backend, self.name = backend, name
        self._queue: list[FakeResponse] = []
        self._scores: list[TextScore] = []
        self.calls: list[FakeCall] = []
        self.scored: list[str] = []
        self.closed = False

    def enqueue(self, *responses: str | dict[str, Any] | FakeResponse) -> FakeModel:
        """Queue raw text, a dict that is sent as JSON, or a ``FakeResponse``."""
        for response in responses:
            if isinstance(response, FakeResponse):
                self._queue.append(response)
            else:
                text = response if isinstance(response, str) else json.dumps(response)
                self._queue.append(FakeResponse(text))
        return self

    def enqueue_score(self, *scores: TextScore) -> FakeModel:
        self._scores.extend(scores)
        return self

    def complete_json(
        self,
        messages: list[ChatMessage],
        schema: dict[str, Any],
        *,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> Completion:
        self.calls.append(FakeCall(messages, schema, seed))
        return self._next()

    def complete_text(
        self,
        messages: list[ChatMessage],
        *,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> Completion:
        self.calls.append(FakeCall(messages, None, seed, kind="text"))
        return self._next()

    def score(self, text: str) -> TextScore:
        self.scored.append(text)
        if not self._scores:
            raise ScoringUnsupported("FakeModel: no queued score left")
        return self._scores.pop(0)

    def close(self) -> None:
        self.closed = True

    def _next(self) -> Completion:
        if not self._queue:
            raise AssertionError("FakeModel: no queued response left")
        r = self._queue.pop(0)
        words = len(r.text.split())
        return Completion(
            r.text,
            prompt_tokens=r.prompt_tokens,
            completion_tokens=words if r.completion_tokens is None else r.completion_tokens,
            seconds=r.seconds,
            schema_errors=r.schema_errors,
        )
