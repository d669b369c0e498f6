"""The ``clinsynth`` command (``service.cli:main``); each command lives in its own module."""

from service.cli.app import app, main

__all__ = ["app", "main"]
