"""What a generation request asks for: structured fields and a plain-language prompt.

``RequestFields`` (``wire``) is the request as a client sends it (HTTP body, CLI options).
Its free-text ``prompt`` (English or Spanish, read by ``prompt``) fills the same fields and
the explicit fields win. ``build_request`` (``domain``) turns it into the ``ParsedRequest``
the generator reads, or raises ``RequestError`` saying what is wrong and how to fix it.
Tumour names resolve through the vocabulary (``tumours``); ``seeds`` holds seed arithmetic.
"""

from service.requests.common import (
    BLOCKS,
    DEFAULT_BLOCKS,
    DESCRIBING,
    FIRST_LINE,
    MAX_AGE,
    MAX_PROMPT,
    NOTHING_TO_GENERATE,
    REQUIRED_UNLESS_DESCRIBED,
    Block,
    RequestError,
)
from service.requests.domain import (
    ParsedRequest,
    build_request,
    parse_request,
    request_from,
)
from service.requests.seeds import MAX_SEED, seed_at
from service.requests.tumours import resolve_tumour
from service.requests.wire import RequestFields, validation_message

__all__ = [
    "BLOCKS",
    "DEFAULT_BLOCKS",
    "DESCRIBING",
    "FIRST_LINE",
    "MAX_AGE",
    "MAX_PROMPT",
    "MAX_SEED",
    "NOTHING_TO_GENERATE",
    "REQUIRED_UNLESS_DESCRIBED",
    "Block",
    "ParsedRequest",
    "RequestError",
    "RequestFields",
    "build_request",
    "parse_request",
    "request_from",
    "resolve_tumour",
    "seed_at",
    "validation_message",
]
