"""The one error hierarchy of requests: every error a request can meet carries its HTTP status.

```
Problem                      status 500: a failure of ours (logged; its detail is never shown)
├── InvalidParameter         400  a parameter the service cannot use (`parameter` names it)
├── NotFound                 404  no such resource, or one the caller may not see
├── RequestTimeout           408  the request (its body) did not arrive in time
├── PayloadTooLarge          413  a body over its size limit
├── Unprocessable            422  well-formed, but the service will not do it (too large)
└── Unavailable              503  not now: no data yet, out of time or memory, busy
```

The classes live here, at the start of the data flow (data_catalog -> pipelines -> layers ->
geo_service), so that every module that raises one can import it; the service maps them all to
one `application/problem+json` shape in one handler (`geo_service.errors`). Named errors of a
package subclass these (`layers.registry.LayerNotFound` is a `NotFound`). Problems cross process
boundaries intact (they pickle by value), so work done in another process raises the same
problem in the service.
"""

from __future__ import annotations

from typing import Any, ClassVar


def _rebuild(cls: type[Problem], detail: str, parameter: str | None,
             state: dict[str, Any]) -> Problem:
    """A problem unpickled without calling its (possibly narrower) `__init__`."""
    problem = cls.__new__(cls)
    Exception.__init__(problem, detail)
    problem.__dict__.update(state)
    problem.detail, problem.parameter = detail, parameter
    return problem


class Problem(Exception):
    """Base of every error a request can meet: an HTTP status, a title and a detail.

    Attributes:
        status: the HTTP status code.
        title: a short, fixed summary of the kind of problem.
        detail: what went wrong in this request, for the client (no paths, no library text).
        parameter: the request parameter at fault, when one is.
    """

    status: int = 500
    title: str = "Internal error"
    default_parameter: ClassVar[str | None] = None
    """The parameter named when the raiser names none."""

    def __init__(self, detail: str, *, parameter: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter if parameter is not None else self.default_parameter

    def __reduce__(self) -> tuple[Any, ...]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("detail", "parameter")}
        return _rebuild, (type(self), self.detail, self.parameter, state)


class InvalidParameter(Problem):
    """A query, path or body parameter with a value the service cannot use."""

    status = 400
    title = "Invalid parameter"


class NotFound(Problem):
    """A resource that does not exist (or that the caller may not see)."""

    status = 404
    title = "Not found"


class RequestTimeout(Problem):
    """A request whose body did not arrive within the configured time."""

    status = 408
    title = "Request timeout"


class PayloadTooLarge(Problem):
    """A request body over the configured size limit."""

    status = 413
    title = "Content too large"


class Unprocessable(Problem):
    """A well-formed request the service will not process (e.g. an area too large)."""

    status = 422
    title = "Unprocessable content"


class Unavailable(Problem):
    """The service cannot answer now: no data yet, the work ran out of time or memory, or
    every worker is busy. Trying again later (or asking for less) may succeed."""

    status = 503
    title = "Service unavailable"
