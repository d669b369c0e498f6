"""The one interface every LLM backend implements.

Generation asks for JSON under a schema and gets the raw text back with usage and
timing; parsing and validation happen in the caller, so a bad output is kept, not lost.
Free text and scoring (log-probabilities, perplexity) serve comparisons and metrics.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal, TypedDict


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Completion:
    """One call's output, usage and timing.

    ``prompt_seconds``/``decode_seconds`` split ``seconds`` where the backend can tell
    (llama.cpp: its prompt-evaluation time, and the rest); ``cached_prompt_tokens`` are
    prompt tokens taken from a cache instead of being evaluated. ``schema_errors`` lists
    what a backend that could not constrain decoding found wrong with the JSON afterwards.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str | None = None
    prompt_seconds: float | None = None
    decode_seconds: float | None = None
    cached_prompt_tokens: int | None = None
    schema_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextScore:
    """Log-probability (natural log) of each token of a text given the tokens before it.

    The first token has nothing before it and is not scored unless the backend adds a
    beginning-of-sequence token, so ``tokens`` may be one shorter than the text's tokens.
    """

    tokens: list[str]
    logprobs: list[float]

    @property
    def mean_logprob(self) -> float:
        return sum(self.logprobs) / len(self.logprobs) if self.logprobs else 0.0

    @property
    def perplexity(self) -> float:
        return math.exp(-self.mean_logprob)


class BackendError(RuntimeError):
    """The backend could not answer (server unreachable, timeout, error status)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class ScoringUnsupported(NotImplementedError):
    """The backend (or the server behind it) cannot return log-probabilities of a text."""


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

    @abstractmethod
    def complete_text(
        self,
        messages: list[ChatMessage],
        *,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> Completion:
        """Generate free text."""

    def score(self, text: str) -> TextScore:
        """Token log-probabilities of ``text``; raises ``ScoringUnsupported`` where impossible."""
        raise ScoringUnsupported(f"the {self.backend} backend cannot score text")

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release connections or memory; the model is unusable afterwards."""
