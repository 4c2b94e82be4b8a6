"""Access control: bearer tokens, configured as SHA-256 hashes, scoped to layers, expiring.

A `restricted` layer or collection is invisible (404, never 401/403, so its existence does not
leak) to a caller without a valid token whose scopes name it (or `*`). Tokens are compared in
constant time; responses that carry restricted data are marked `Cache-Control: private` and
`Vary: Authorization` so no shared cache hands them to someone else.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from layers.models import Layer
from layers.registry import LayerNotFound, Registry

ALL_SCOPES = "*"


class TokenSpec(BaseModel):
    """One configured token: never the token itself, only its SHA-256 hex digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Who holds it (for logs), e.g. a ministry.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the token")
    scopes: list[str] = Field(min_length=1, description="Layer/collection ids, or '*'.")
    expires: datetime | None = Field(default=None, description="UTC expiry; None = no expiry.")


def token_hash(token: str) -> str:
    """The hex SHA-256 of a token, as written in the configuration."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is asking: anonymous (no scopes) or a token holder with scopes."""

    name: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

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
    if found is None:
        return ANONYMOUS
    expires = found.expires
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now:
        return ANONYMOUS
    return Principal(found.name, frozenset(found.scopes))


def get_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, from the bearer token and the configured hashes."""
    tokens: list[TokenSpec] = request.app.state.settings.tokens
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
