"""The generation options a deployment sets, with their defaults (the settings' defaults
come from here; this module imports nothing heavy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEFAULT_REPAIR_ROUNDS = 2  # regenerations of a record failing an error-severity rule


@dataclass(frozen=True)
class GenerationOptions:
    retrieval_k: int = 4
    max_tokens: int = 512
    temperature: float = 1.0
    locale: str = "es_ES"
    reference_date: date | None = None
