"""Guards every request passes (one plain ASGI middleware, so a cached tile pays a header
rewrite, not a request object): trusted hosts, a body read time limit, security headers.

- **Trusted hosts**: a `Host` header outside `allowed_hosts` (and the host of `public_url`)
  is a 400 problem+json naming `Host`; so the header can neither set the links of a response
  nor make the service build one planning-map page per made-up host.
- **Body read timeout**: the whole body of a request must arrive within `body_timeout_s` of
  its first read; a slower client gets a 408 and the request stops waiting for it.
- **Headers**: `X-Content-Type-Options: nosniff` and `Referrer-Policy` on every answer; on
  HTML, a `Content-Security-Policy` (`frame-ancestors 'none'` among it) and
  `X-Frame-Options: DENY`. A page with inline scripts (the planning map, the API docs) sets
  its own policy with the hashes of exactly those scripts (`page_csp`); other HTML gets the
  strict default.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from data_catalog.problems import RequestTimeout
from geo_service.errors import problem

DEFAULT_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
"""The policy of HTML pages without scripts of their own."""
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def page_csp(html: str, *, images: Iterable[str] = (), workers: Iterable[str] = ()) -> str:
    """The Content-Security-Policy of a page whose inline scripts are its own: scripts from
    this origin and those inline scripts (by SHA-256 hash), nothing else; images from this
    origin, `data:`/`blob:` and `images` (e.g. an online base map's host).

    Args:
        html: the page exactly as it is sent.
        images: other image sources to allow (CSP source expressions).
        workers: sources of web workers besides this origin (ReDoc runs its search in a
            worker it makes from a `blob:` of its own code).
    """
    hashes = sorted({"'sha256-" + base64.b64encode(
        hashlib.sha256(body.encode("utf-8")).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)})
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' " + " ".join(hashes) if hashes else "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src " + " ".join(["'self'", "data:", "blob:", *images]),
        "font-src 'self' data:",
        "worker-src " + " ".join(["'self'", *workers]),
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ])


def host_of(header: str) -> str:
    """The host of a `Host` header value, lower case, without port or IPv6 brackets."""
    host = header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guards:
    """ASGI middleware: trusted hosts, body read timeout, security headers (module doc).

    Args:
        app: the application.
        allowed_hosts: hosts a request may name; `*` allows any.
        body_timeout_s: time for a whole request body to arrive, seconds.
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: Iterable[str],
                 body_timeout_s: float) -> None:
        self.app = app
        hosts = {h.strip().lower().strip("[]") for h in allowed_hosts}
        self.any_host = "*" in hosts
        self.allowed_hosts = frozenset(hosts - {"*"})
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the host, time the body, add the headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.any_host:
            host = host_of(Headers(scope=scope).get("host", ""))
            if host not in self.allowed_hosts:
                response = problem(400, "Invalid parameter",
                                   "this service does not answer for that host name",
                                   parameter="Host")
                await response(scope, receive, self._with_headers(send))
                return
        await self.app(scope, self._timed(receive), self._with_headers(send))

    def _timed(self, receive: Receive) -> Receive:
        limit = self.body_timeout_s
        deadline: list[float] = []

        async def timed_receive() -> Message:
            if not deadline:
                deadline.append(time.monotonic() + limit)
            elif deadline[0] == float("inf"):
                return await receive()
            left = deadline[0] - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(left, 0.0))
            except TimeoutError:
                raise RequestTimeout(f"the request body did not arrive within {limit:g} s",
                                     parameter="body") from None
            if message["type"] == "http.request" and not message.get("more_body", False):
                deadline[0] = float("inf")  # the body is in: later reads wait for disconnect
            return message

        return timed_receive

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers.setdefault("Referrer-Policy", "no-referrer")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
                    headers["X-Frame-Options"] = "DENY"
            await send(message)

        return send_with_headers
