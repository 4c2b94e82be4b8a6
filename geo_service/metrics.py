"""Prometheus metrics: request counts and latency per route template, the current run's stage
durations, cache hits and the outcomes of the work processes, at `GET /metrics`.

With several uvicorn workers every worker writes its samples to the folder named by
`PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode; `cmrisk serve` sets it up
and removes it) and `/metrics` adds them up, whichever worker answers. Counts per layer are
not public, so `/metrics` answers only callers whose token has the `metrics` scope (or `*`);
to anyone else it does not exist (404).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from data_catalog.problems import NotFound
from geo_service.auth import ALL_SCOPES, PrincipalDep
from geo_service.settings import METRICS_DIR_ENV
from layers.registry import Registry

METRICS_SCOPE = "metrics"
"""The token scope that may read `/metrics`."""

REQUESTS = Counter("cmrisk_http_requests", "HTTP requests answered, by route template.",
                   ["method", "route", "status"])
LATENCY = Histogram("cmrisk_http_request_duration_seconds",
                    "Time from a request's arrival to its last byte, by route template.",
                    ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
TILE_CACHE = Counter("cmrisk_tile_cache", "Tiles asked for, by layer and whether the tile "
                     "cache held them.", ["layer", "result"])
MAP_PAGE_CACHE = Counter("cmrisk_map_page_cache", "Planning-map pages asked for, by whether "
                         "the page cache held them.", ["result"])
WORK_JOBS = Counter("cmrisk_work_jobs", "Jobs of the work processes, by outcome (ok, problem, "
                    "timeout, memory, busy, error).", ["outcome"])


class RequestMetrics:
    """ASGI middleware: counts each answer and times it, labelled by route template (never by
    the raw path, so ids do not make new series)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request; count it with its status once the answer is complete."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            REQUESTS.labels(method, route, str(status[0])).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)


class RunCollector:
    """The stage durations of each served region's current run (from its run.json), read at
    each scrape."""

    def __init__(self, registries: Iterable[Registry]) -> None:
        self.registries = list(registries)

    def collect(self) -> Iterator[Metric]:
        """`cmrisk_run_stage_seconds{region, run_id, stage}` and
        `cmrisk_run_seconds{region, run_id}` of every region's current run."""
        stages = GaugeMetricFamily("cmrisk_run_stage_seconds",
                                   "Duration of each stage of the current run.",
                                   labels=["region", "run_id", "stage"])
        total = GaugeMetricFamily("cmrisk_run_seconds", "Duration of the current run.",
                                  labels=["region", "run_id"])
        for registry in self.registries:
            manifest = registry.run_manifest() or {}
            timings: dict[str, Any] = manifest.get("timings_s") or {}
            run_id = str(manifest.get("run_id", ""))
            for stage, seconds in timings.items():
                stages.add_metric([registry.region, run_id, stage], float(seconds))
            if timings:
                total.add_metric([registry.region, run_id], float(sum(timings.values())))
        yield stages
        yield total


class _Default:
    """This process's own metrics (when there is no multiprocess folder)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(registries: Iterable[Registry]) -> bytes:
    """Every metric in Prometheus' text format: summed over the workers in multiprocess mode.
    """
    collected = CollectorRegistry()
    if os.environ.get(METRICS_DIR_ENV):
        multiprocess.MultiProcessCollector(collected)
    else:
        collected.register(_Default())
    collected.register(RunCollector(registries))
    return generate_latest(collected)


def worker_stopped() -> None:
    """Tell the multiprocess folder that this worker is gone (its live gauges drop out)."""
    if os.environ.get(METRICS_DIR_ENV):
        multiprocess.mark_process_dead(os.getpid())


router = APIRouter(tags=["service"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, principal: PrincipalDep) -> Response:
    """Prometheus metrics, for tokens with the `metrics` scope (404 for anyone else)."""
    if not {METRICS_SCOPE, ALL_SCOPES} & principal.scopes:
        raise NotFound(f"no resource at {request.url.path}")
    regions = request.app.state.regions
    registries = [regions.get(region).registry for region in regions.served()]
    return Response(exposition(registries), media_type=CONTENT_TYPE_LATEST)
