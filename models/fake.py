"""A fake backend for unit tests: returns queued responses and records each call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from models.base import ChatMessage, Completion, LanguageModel


@dataclass(frozen=True)
class FakeCall:
    messages: list[ChatMessage]
    schema: dict[str, Any]
    seed: int


class FakeModel(LanguageModel):
    backend = "fake"
    name = "fake"
    sha256 = None

    def __init__(self) -> None:
        self._queue: list[str] = []
        self.calls: list[FakeCall] = []

    def enqueue(self, *responses: str | dict[str, Any]) -> FakeModel:
        """Queue raw text, or a dict that is sent as JSON."""
        self._queue.extend(r if isinstance(r, str) else json.dumps(r) for r in responses)
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
        if not self._queue:
            raise AssertionError("FakeModel: no queued response left")
        text = self._queue.pop(0)
        return Completion(text, prompt_tokens=10, completion_tokens=len(text.split()), seconds=0.0)
