"""A time limit on every request that reads rasters (tiles, analysis, area statistics)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from geo_service.errors import RequestTimeout
from geo_service.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")


async def raster_work(settings: Settings, func: Callable[P, T], *args: P.args,
                      **kwargs: P.kwargs) -> T:
    """Run blocking raster work in the threadpool, answering 503 after
    `settings.raster_timeout_s` seconds.

    The thread cannot be interrupted and finishes on its own; the client is answered at once
    and the event loop never waits for it.
    """
    try:
        return await asyncio.wait_for(run_in_threadpool(func, *args, **kwargs),
                                      timeout=settings.raster_timeout_s)
    except TimeoutError:
        raise RequestTimeout(
            f"reading the rasters took longer than {settings.raster_timeout_s:g} s; "
            "try a smaller area or fewer layers") from None
