"""The one interface every LLM backend implements.

Generation asks for JSON under a schema and gets the raw text back with usage and
timing; parsing and validation happen in the caller, so a bad output is kept, not lost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal, TypedDict


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str | None = None


class LanguageModel(ABC):
    """A loaded model. ``name`` and ``sha256`` go into every record's provenance."""

    backend: str
    name: str
    sha256: str | None = None

    @abstractmethod
    def complete_json(
        self,
        messages: list[ChatMessage],
        schema: dict[str, Any],
        *,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> Completion:
        """Generate text constrained to ``schema`` (a JSON Schema object)."""
