"""Shared fixtures. The offline switches are set before any test imports a backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.offline import enforce_offline

enforce_offline()

ROOT = Path(__file__).resolve().parent.parent
CORPUS_PDF_DIR = ROOT / "knowledge" / "corpus" / "pdf"
POSTGRES_URL = os.environ.get(
    "CLINSYNTH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def trust_the_test_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette's TestClient sends ``Host: testserver``; the API refuses untrusted names."""
    monkeypatch.setenv("CLINSYNTH_API_TRUSTED_HOSTS", "testserver")


@pytest.fixture
def clinsynth_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated CLINSYNTH_HOME for entry points that build their own Settings."""
    for name in list(os.environ):
        if name.startswith("CLINSYNTH_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("CLINSYNTH_HOME", str(home))
    monkeypatch.setenv("CLINSYNTH_API_TRUSTED_HOSTS", "testserver")
    return home


def postgres_or_skip() -> str:
    """The test database URL; unreachable fails under CI=true and skips elsewhere."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable at {POSTGRES_URL} (required under CI): {exc}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: {exc}")
    finally:
        engine.dispose()
    return POSTGRES_URL


def fresh_database(url: str):
    """An engine on an emptied database, brought to head by the real migrations."""
    import sqlalchemy

    from service.storage.database import make_engine, migrate

    engine = make_engine(url)
    if engine.dialect.name == "postgresql":  # also procrastinate's types and functions
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("DROP SCHEMA public CASCADE"))
            connection.execute(sqlalchemy.text("CREATE SCHEMA public"))
    metadata = sqlalchemy.MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    migrate(engine)
    return engine
