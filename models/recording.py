"""A backend wrapper that keeps every call, for benchmarks that replay real prompts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.base import ChatMessage, Completion, LanguageModel


@dataclass
class Call:
    messages: list[ChatMessage]
    schema: dict[str, Any] | None
    completion: Completion


class Recording(LanguageModel):
    """Passes calls to a backend and keeps each call's messages, schema and completion."""

    def __init__(self, inner: LanguageModel):
        self.inner, self.backend, self.name, self.sha256 = (
            inner,
            inner.backend,
            inner.name,
            inner.sha256,
        )
        self.calls: list[Call] = []

    def complete_json(self, messages, schema, **kwargs):
        completion = self.inner.complete_json(messages, schema, **kwargs)
        self.calls.append(Call(messages, schema, completion))
        return completion

    def complete_text(self, messages, **kwargs):
        completion = self.inner.complete_text(messages, **kwargs)
        self.calls.append(Call(messages, None, completion))
        return completion
