"""The worst case against `cmrisk serve --workers 2`: star polygons of 199, 999, 1,001 and
99,997 vertices, nested arrays, a huge area over the run's rasters (no request reads a raster
a client chooses) and an oversized body, 2-4 at once, while a probe calls /healthz.

Shown: every answer is the one its family may get (200, 400 for the nesting, 413, 422 or
503), problems are problem+json; /healthz always answers 200; each worker's whole process
tree stays under `TREE_CEILING_MB` throughout; afterwards no thread or work process of any
worker is still working, and the next analysis succeeds. Latencies are measured in
`bench/load.py --worst-case`, not here.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from tests.live import live_service
from tests.worstcase import (
    EXPECTED,
    FAMILIES,
    RssSampler,
    always_busy,
    polygon_body,
    tree_rss,
    worker_pids,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORK_MEMORY_MB = 640
"""Address-space limit of each work process in this test."""
TREE_CEILING_MB = 1024
"""What no worker's process tree (the worker and its work process) may pass: the worker's
own ~300 MB and a work process bounded by `WORK_MEMORY_MB` of address space (seen here:
peaks of 570-730 MB)."""
RETRIES = 30
"""Tries of the analysis after the worst case (each waits up to the 4 s budget)."""
ROUNDS = [
    ("star_1001", "star_99997", "nested_arrays", "huge_area"),
    ("star_999", "star_99997", "oversized_body", "star_199"),
    ("star_1001", "star_199"),
    ("huge_area", "nested_arrays", "star_99997", "oversized_body"),
]
"""The requests sent at once, round by round."""


@pytest.fixture(scope="module")
def server(demo_run: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, int]]:
    """`cmrisk serve --workers 2` on the demo run; yields its URL and the server's pid."""
    log = tmp_path_factory.mktemp("worst") / "serve.log"
    command = [sys.executable, "-m", "geo_service.cli", "serve", "--port", "{port}",
               "--workers", "2", "--data-dir", str(demo_run)]
    env = {"CMRISK_WORK_MEMORY_MB": str(WORK_MEMORY_MB), "CMRISK_RASTER_TIMEOUT_S": "4",
           "CMRISK_ANALYSIS_MAX_CELLS": "20000"}
    with live_service(None, command=command, env=env, log_file=log) as url:
        port = url.rsplit(":", 1)[1]
        [supervisor] = [p.pid for p in psutil.process_iter(["cmdline"])
                        if p.info["cmdline"] and "serve" in p.info["cmdline"]
                        and port in p.info["cmdline"]]
        yield url, supervisor
    assert "Traceback" not in log.read_text(errors="replace")


class Probe:
    """Calls /healthz back to back in a thread; keeps every status."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=120) as client:
            while not self._stop.is_set():
                self.statuses.append(client.get(f"{self.url}/healthz").status_code)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def send(url: str, family: str) -> tuple[str, int, str, dict[str, object]]:
    with httpx.Client(timeout=300) as client:
        response = client.post(f"{url}/analysis", content=FAMILIES[family],
                               headers={"content-type": "application/json"})
    body = response.json() if response.content else {}
    return family, response.status_code, response.headers.get("content-type", ""), body


def test_worst_case_requests_cannot_hurt_the_service(server: tuple[str, int]) -> None:
    url, supervisor = server
    workers = worker_pids(supervisor)
    assert len(workers) == 2
    answers = []
    sampler = RssSampler(workers).start()
    try:
        with Probe(url) as probe, ThreadPoolExecutor(max_workers=4) as pool:
            for families in ROUNDS:
                answers += list(pool.map(lambda f: send(url, f), families))
    finally:
        peaks = sampler.stop()
    for family, status, media, body in answers:
        assert status in EXPECTED[family], (family, status, body)
        if status != 200:
            assert media == "application/problem+json", (family, media)
            assert body["status"] == status
    assert probe.statuses and set(probe.statuses) == {200}
    assert sampler.samples > 10
    for pid, peak in peaks.items():
        assert peak < TREE_CEILING_MB * 1024 * 1024, (pid, peak / 2**20)
    # Nothing of a finished or stopped request is still working: no thread of a worker and
    # no work process runs in every look over two seconds.
    for pid in workers:
        assert always_busy(pid) == set(), pid
        work = psutil.Process(pid).children()
        assert len(work) <= 1, work  # one work process per worker, at most
        assert tree_rss(pid) < TREE_CEILING_MB * 1024 * 1024
    # And the service still does its work. The work processes killed above are replaced by
    # this request: on a loaded machine starting one can take longer than the request's 4 s,
    # and the answer is a 503 "try again" while the process goes on starting (the pool keeps
    # it); so a client tries again, as told, a bounded number of times.
    ring = [[-77.9, 8.1], [-77.6, 8.1], [-77.6, 8.4], [-77.9, 8.4], [-77.9, 8.1]]
    with httpx.Client(timeout=120) as client:
        for _ in range(RETRIES):
            response = client.post(f"{url}/analysis", content=polygon_body(ring),
                                   headers={"content-type": "application/json"})
            if response.status_code != 503 or "try again" not in response.text:
                break
    assert response.status_code == 200, response.text
    huge = [body for family, status, _, body in answers if family == "huge_area"
            and status == 200]
    for body in huge:  # read from overviews: the response says at which resolution
        resolution = body["layers"]["risk"]["resolution"]  # type: ignore[index]
        assert resolution["overview_factor"] > 1, json.dumps(resolution)
