"""Seeds: 32-bit (what the store holds), and the seeds derived from a request's."""

from __future__ import annotations

MAX_SEED = 2**31 - 1  # seeds are stored as 32-bit integers


def seed_at(seed: int, offset: int) -> int:
    """``seed + offset`` kept within 0..MAX_SEED (wrapping), for the seeds derived from a
    request's: a batch's items and retries, a record's repair attempts."""
    return (seed + offset) % (MAX_SEED + 1)
