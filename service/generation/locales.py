"""Which Faker locales invented identities may come from, and how a request names one.

Identities are Spanish by default (``records.locale``, es_ES); a request may choose another
Faker locale (``es_MX``, ``en_GB``, ``pt_PT``). The list is Faker's own, read offline from
the installed package, less the few its providers cannot make a whole person in.
"""

from __future__ import annotations

import difflib
import re

from faker.config import AVAILABLE_LOCALES

# Faker lists these, but they have no phone numbers (the Philippine ones) or are deprecated
# aliases that warn on use (fr_QC is fr_CA).
UNUSABLE = frozenset({"en_PH", "fil_PH", "tl_PH", "fr_QC"})
LOCALES: tuple[str, ...] = tuple(sorted(set(AVAILABLE_LOCALES) - UNUSABLE))
EXAMPLES = ("es_ES", "es_MX", "es_AR", "en_GB", "en_US", "pt_PT", "pt_BR", "fr_FR", "it_IT")


def normalised_locale(value: str) -> str:
    """``es-mx`` and ``ES_MX`` as Faker writes them (``es_MX``); other text unchanged."""
    parts = [p for p in re.split(r"[-_]", value.strip()) if p]
    if len(parts) == 2 and parts[0].isalpha() and parts[1].isalpha():
        return f"{parts[0].lower()}_{parts[1].upper()}"
    return value.strip()


def locale_problem(value: str) -> str:
    """Empty for a usable locale; else why not, naming it and listing usable ones."""
    locale = normalised_locale(value)
    if locale in LOCALES:
        return ""
    language = locale.split("_")[0].lower()
    close = [c for c in LOCALES if c.split("_")[0] == language][:4] or difflib.get_close_matches(
        locale, LOCALES, n=3, cutoff=0.6
    )
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return (
        f"unknown locale '{value}'{hint}: use a Faker locale such as "
        f"{', '.join(EXAMPLES)} ({len(LOCALES)} are known)"
    )
