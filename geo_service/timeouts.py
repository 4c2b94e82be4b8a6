"""The time limit of tile requests: their work is bounded by their size (one tile's worth of
the overview that matches the zoom), so it runs in the server's threads. Work whose cost a
client can make unbounded (analysis, area statistics) runs in `geo_service.workpool`
instead, where it is stopped at the limit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from geo_service.errors import WorkTimeout
from geo_service.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")


async def raster_work(settings: Settings, func: Callable[P, T], *args: P.args,
                      **kwargs: P.kwargs) -> T:
    """Run blocking raster work in the threadpool, answering 503 after
    `settings.raster_timeout_s` seconds.

    The thread cannot be interrupted and finishes its (bounded) tile on its own; the client
    is answered at once and the event loop never waits for it.
    """
    try:
        return await asyncio.wait_for(run_in_threadpool(func, *args, **kwargs),
                                      timeout=settings.raster_timeout_s)
    except TimeoutError:
        raise WorkTimeout(
            f"reading the rasters took longer than {settings.raster_timeout_s:g} s; "
            "try a smaller area or fewer layers") from None
