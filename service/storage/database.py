"""The SQL database: engines, and the schema brought to the latest Alembic revision.

Entry points open the database once, through ``service.components`` (one engine per
process and command); ``open_database`` runs ``upgrade head`` the first time a process
opens a URL. Nothing outside tests calls ``create_all``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

MIGRATIONS = Path(__file__).parents[1] / "migrations"
_migrated: set[str] = set()
_lock = threading.Lock()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created if missing."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # psycopg 3, not the psycopg2 default
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(parsed, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` in one transaction."""
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def open_database(url: str) -> Engine:
    """A new engine whose schema is at head (migrated on first use in this process)."""
    engine = make_engine(url)
    with _lock:
        if url not in _migrated:
            migrate(engine)
            _migrated.add(url)
    return engine
