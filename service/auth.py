"""API keys with scopes, stored hashed.

A key is shown once, at creation: ``cs_<key id>_<secret>``. Only the key id and the
sha256 of the secret are stored; keys are random 256-bit tokens, so a plain digest is
enough (no password stretching needed) and lookups stay constant-time per request.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import JSON, Boolean, DateTime, String, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.storage.base import Base

Scope = Literal["read", "generate", "ingest", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
AuthMode = Literal["auto", "required", "disabled"]
# Which requests need a key: every one, every one once any key was ever created (checked
# per request, so a key made while the server runs takes effect at once), or none.
KeyPolicy = Literal["always", "once_a_key_exists", "never"]


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: list[str]
    revoked: bool
    created_at: datetime

    def allows(self, scope: str) -> bool:
        return not self.revoked and (scope in self.scopes or "admin" in self.scopes)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(row: ApiKeyRow) -> ApiKey:
    created = row.created_at
    created = created if created.tzinfo else created.replace(tzinfo=UTC)  # SQLite drops it
    return ApiKey(row.key_id, row.name, list(row.scopes), row.revoked, created)


class ApiKeys:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._some_exist = False  # keys are revoked, never deleted: once true, stays true

    def any_exist(self) -> bool:
        """Whether a key was ever created (revoked ones count: revoking every key must not
        open the server again). One indexed lookup until the first key is seen."""
        if not self._some_exist:
            with Session(self.engine) as session:
                found = session.scalars(select(ApiKeyRow.key_id).limit(1)).first()
            self._some_exist = found is not None
        return self._some_exist

    def create(self, scopes: list[str], *, name: str = "") -> tuple[ApiKey, str]:
        """A new key and its token (shown once; only its digest is stored)."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise ValueError(f"scopes must be among {', '.join(SCOPES)}; got {scopes}")
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        row = ApiKeyRow(
            key_id=key_id,
            name=name,
            secret_sha256=_digest(secret),
            scopes=sorted(set(scopes)),
            revoked=False,
            created_at=datetime.now(UTC),
        )
        with Session(self.engine) as session, session.begin():
            session.add(row)
            key = _key(row)
        return key, f"cs_{key_id}_{secret}"

    def verify(self, token: str) -> ApiKey | None:
        """The key a presented token belongs to, or None (unknown, malformed, revoked)."""
        prefix, _, rest = token.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != "cs" or not key_id or not secret:
            return None
        with Session(self.engine) as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.revoked:
                return None
            if not hmac.compare_digest(row.secret_sha256, _digest(secret)):
                return None
            return _key(row)

    def all_keys(self) -> list[ApiKey]:
        with Session(self.engine) as session:
            return [
                _key(r) for r in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at))
            ]

    def revoke(self, key_id: str) -> bool:
        with Session(self.engine) as session, session.begin():
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                return False
            row.revoked = True
            return True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def key_policy(mode: AuthMode, host: str) -> KeyPolicy:
    """Which requests need a key for ``CLINSYNTH_API_AUTH=mode`` on bind address ``host``.

    ``required``, and ``auto`` on any non-loopback address: always. ``auto`` on loopback:
    once a key exists (a local demo stays open until someone creates one). ``disabled``:
    never, and only allowed on a loopback address."""
    if mode == "disabled":
        if not is_loopback(host):
            raise ValueError(
                f"CLINSYNTH_API_AUTH=disabled is only allowed on a loopback address, not {host}"
            )
        return "never"
    if mode == "required" or not is_loopback(host):
        return "always"
    return "once_a_key_exists"
