"""The language of a page, by py3langid (its model ships inside the package: no download).

Detection is narrowed to the languages hospital guidelines here come in; a page with too
little text to tell gets ``None``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

LANGUAGES = ("en", "es", "pt", "it", "de", "fr", "lt", "nl", "ca", "pl", "ro")
MIN_LETTERS = 20


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None for too little text."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return None
    language, _ = _identifier().classify(text)
    return str(language)
