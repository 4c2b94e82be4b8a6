"""Access control: bearer tokens, configured as SHA-256 hashes, scoped to layers, expiring.

Tokens come from the settings (`CMRISK_TOKENS`) and from the data dir's token file
(`exchange/tokens.json`, written by `cmrisk tokens issue|revoke`): a token issued for a
country (`--country PAN --scope submit`) may submit that country's data to the exchange and
read its collection (`exchange_pan`); a revoked or expired token is nobody.

A `restricted` layer or collection is invisible (404, never 401/403, so its existence does not
leak) to a caller without a valid token whose scopes name it (or `*`). Tokens are compared in
constant time; responses that carry restricted data are marked `Cache-Control: private` and
`Vary: Authorization` so no shared cache hands them to someone else.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from layers.models import Layer
from layers.registry import LayerNotFound, Registry

ALL_SCOPES = "*"
SUBMIT_SCOPE = "submit"
"""The scope of a country token that may submit to the exchange."""


class TokenSpec(BaseModel):
    """One configured token: never the token itself, only its SHA-256 hex digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Who holds it (for logs), e.g. a ministry.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the token")
    scopes: list[str] = Field(min_length=1, description="Layer/collection ids, or '*'; "
                              "`submit` lets a country token submit to the exchange.")
    expires: datetime | None = Field(default=None, description="UTC expiry; None = no expiry.")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                description="ISO 3166-1 alpha-3 of the country the token "
                                "speaks for (exchange tokens)")
    issued: datetime | None = Field(default=None, description="when it was issued (UTC)")
    revoked: datetime | None = Field(default=None, description="when it was revoked (UTC)")

    @property
    def id(self) -> str:
        """A short id to name the token by (the first 12 hex digits of its hash)."""
        return self.sha256[:12]


def token_hash(token: str) -> str:
    """The hex SHA-256 of a token, as written in the configuration."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is asking: anonymous (no scopes) or a token holder with scopes."""

    name: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    country: str | None = None

    def can_submit(self, country: str) -> bool:
        """Whether this caller may submit (and read the detail of) `country`'s data."""
        return self.country == country and SUBMIT_SCOPE in self.scopes

    def can_read(self, layer: Layer) -> bool:
        """Public layers for everyone; restricted ones for tokens scoped to them."""
        if layer.access == "public":
            return True
        return ALL_SCOPES in self.scopes or layer.id in self.scopes


ANONYMOUS = Principal()


def authenticate(authorization: str | None, tokens: list[TokenSpec],
                 now: datetime | None = None) -> Principal:
    """The principal of an `Authorization` header value (anonymous when absent or invalid).

    Every configured hash is compared, in constant time, whatever matches first, so timing
    does not tell which tokens exist.
    """
    if not authorization or not authorization.lower().startswith("bearer "):
        return ANONYMOUS
    presented = token_hash(authorization[7:].strip())
    now = now or datetime.now(UTC)
    found: TokenSpec | None = None
    for spec in tokens:
        if hmac.compare_digest(presented, spec.sha256) and found is None:
            found = spec
    if found is None or found.revoked is not None:
        return ANONYMOUS
    expires = found.expires
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now:
        return ANONYMOUS
    return Principal(found.name, frozenset(found.scopes), found.country)


def get_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, from the bearer token and the configured hashes."""
    settings = request.app.state.settings
    tokens: list[TokenSpec] = [*settings.tokens, *token_file(settings.data_dir).specs()]
    return authenticate(request.headers.get("authorization"), tokens)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def visible_layers(registry: Registry, principal: Principal) -> dict[str, Layer]:
    """The layers this caller may see, by id."""
    return {k: v for k, v in registry.layers().items() if principal.can_read(v)}


def visible_layer(registry: Registry, principal: Principal, layer_id: str) -> Layer:
    """One layer if this caller may see it; otherwise exactly as if it did not exist."""
    layer = registry.get(layer_id)
    if not principal.can_read(layer):
        raise LayerNotFound(layer_id)
    return layer


class PrivateResponses:
    """ASGI middleware: every answer to a request with credentials gets
    `Cache-Control: private, no-store`; every answer gets `Vary: Authorization`.

    Restricted data only ever go to requests with credentials, so no shared cache can hand
    them to anyone else. A plain ASGI wrapper (not Starlette's BaseHTTPMiddleware) keeps the
    cost of a cached tile to a header rewrite.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; rewrite the headers of the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with_credentials = any(name == b"authorization" for name, _ in scope["headers"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if with_credentials:
                    headers["Cache-Control"] = "private, no-store"
                vary = headers.get("Vary")
                if not vary or "authorization" not in vary.lower():
                    headers["Vary"] = f"{vary}, Authorization" if vary else "Authorization"
            await send(message)

        await self.app(scope, receive, send_with_headers)


TOKEN_FILE = "exchange/tokens.json"
"""The data dir's token file (hashes only), relative to the data dir."""


class TokenFile:
    """The tokens issued by `cmrisk tokens` in a data dir: read again when the file changes,
    written whole and atomically (a new file, then a rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[tuple[int, int] | None, list[TokenSpec]] = (None, [])
        self._lock = threading.Lock()

    def specs(self) -> list[TokenSpec]:
        """Every token of the file (revoked ones included, marked)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._cache[0] != key:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self._cache = (key, [TokenSpec.model_validate(t) for t in raw])
            return list(self._cache[1])

    def _write(self, specs: list[TokenSpec]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        tmp.write_text(json.dumps([s.model_dump(mode="json", exclude_none=True)
                                   for s in specs], indent=1), encoding="utf-8")
        tmp.chmod(0o600)
        os.replace(tmp, self.path)

    def issue(self, *, name: str, scopes: list[str], country: str | None,
              expires: datetime | None = None) -> tuple[str, TokenSpec]:
        """A new token (returned once, never stored) and its spec (stored)."""
        token = secrets.token_urlsafe(32)
        spec = TokenSpec(name=name, sha256=token_hash(token), scopes=scopes, country=country,
                         expires=expires, issued=datetime.now(UTC))
        with self._locked():
            self._write([*self.specs(), spec])
        return token, spec

    def revoke(self, token_id: str) -> TokenSpec:
        """Mark a token revoked (kept in the file, refused from now on).

        Raises:
            LookupError: no token with this id.
        """
        with self._locked():
            specs = self.specs()
            hit = [s for s in specs if s.id == token_id or s.sha256 == token_id]
            if len(hit) != 1:
                raise LookupError(f"no token {token_id!r}; see `cmrisk tokens list`")
            revoked = hit[0].model_copy(update={"revoked": datetime.now(UTC)})
            self._write([revoked if s is hit[0] else s for s in specs])
        return revoked

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_name(".tokens.lock").open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


_TOKEN_FILES: dict[Path, TokenFile] = {}


def token_file(data_dir: Path) -> TokenFile:
    """The token file of a data dir (one reader per process)."""
    path = Path(data_dir) / TOKEN_FILE
    found = _TOKEN_FILES.get(path)
    if found is None:
        found = _TOKEN_FILES.setdefault(path, TokenFile(path))
    return found
