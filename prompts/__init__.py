"""Prompt templates kept as versioned files, and their loader.

Each template is a TOML file in ``templates/`` with ``id``, ``version``, ``description``,
``system`` and ``user``; ``$name`` placeholders are filled with ``string.Template``, so
JSON braces in a template need no escaping. A change of wording is a new version.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent / "templates"


class PromptError(ValueError):
    """A template that is missing, malformed or rendered without all its values."""


@dataclass(frozen=True)
class PromptTemplate:
    id: str
    version: int
    description: str
    system: str
    user: str

    def render(self, **values: str) -> tuple[str, str]:
        """(system, user) with every ``$placeholder`` filled; a missing value is an error."""
        try:
            return (
                string.Template(self.system).substitute(values),
                string.Template(self.user).substitute(values),
            )
        except KeyError as exc:
            raise PromptError(f"prompt {self.id} v{self.version} needs a value for {exc}") from exc

    def placeholders(self) -> set[str]:
        found: set[str] = set()
        for text in (self.system, self.user):
            found.update(
                m[1] or m[2] for m in string.Template.pattern.findall(text) if m[1] or m[2]
            )
        return found


@cache
def load_prompt(template_id: str) -> PromptTemplate:
    path = TEMPLATES_DIR / f"{template_id}.toml"
    if not path.is_file():
        raise PromptError(f"no prompt template {template_id!r} in {TEMPLATES_DIR}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return PromptTemplate(
            id=str(data["id"]),
            version=int(data["version"]),
            description=str(data["description"]),
            system=str(data["system"]),
            user=str(data["user"]),
        )
    except (tomllib.TOMLDecodeError, KeyError, ValueError) as exc:
        raise PromptError(f"{path}: malformed prompt template ({exc})") from exc


def available_prompts() -> list[str]:
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.toml"))
