"""The worst-case requests of issue 10, shared by the e2e test and `bench/load.py`: polygon
families that once stalled or killed a worker, and a way to watch a server's process tree.

Each family is (name, body bytes). Stars are self-intersecting: vertex i sits at angle
i·k·2π/n with k ≈ n/2, so nearly every edge crosses every other (GEOS needs seconds to
validate one of 10^5 vertices and minutes, and gigabytes, to repair one of 10^3; the service
refuses both before any such work, and repairs stars up to 200 vertices in its work pool).
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from dataclasses import dataclass, field

import psutil

REGION = (-78.5, 7.2, -76.8, 8.8)
"""West, south, east, north of the demo run's rasters, degrees."""


def star(vertices: int, lon: float = -77.8, lat: float = 8.3,
         radius: float = 0.2) -> list[list[float]]:
    """A closed ring of `vertices` + 1 positions tracing a self-intersecting star."""
    step = vertices // 2
    ring = [[round(lon + radius * math.cos(2 * math.pi * step * i / vertices), 7),
             round(lat + radius * math.sin(2 * math.pi * step * i / vertices), 7)]
            for i in range(vertices)]
    return [*ring, ring[0]]


def polygon_body(ring: list[list[float]], layers: tuple[str, ...] = ("risk", "hazard")
                 ) -> bytes:
    """A `POST /analysis` body for one ring."""
    return json.dumps({"geometry": {"type": "Polygon", "coordinates": [ring]},
                       "layers": list(layers)}).encode()


def huge_area() -> list[list[float]]:
    """A box of about 990,000 km² around the demo region (just under the area limit)."""
    west, south, east, north = -82.0, 4.0, -73.0, 12.0
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


FAMILIES: dict[str, bytes] = {
    "star_1001": polygon_body(star(1_001)),
    "star_99997": polygon_body(star(99_997)),
    "star_999": polygon_body(star(999)),
    "star_199": polygon_body(star(199)),
    "nested_arrays": b"[" * 100_000,
    "huge_area": polygon_body(huge_area()),
    "oversized_body": b'{"geometry": ' + b" " * (6 * 1024 * 1024) + b"}",
}
"""The worst-case families, by name."""

EXPECTED: dict[str, set[int]] = {
    "star_1001": {422},  # invalid (checked before the work pool) and over the repair limit
    "star_99997": {422},  # its edges cross: found before the work pool
    "star_999": {422},  # invalid (checked before the work pool), over the repair limit
    "star_199": {200, 503},  # repaired in the work pool, or stopped by its limits
    "nested_arrays": {400},  # the JSON depth limit
    "huge_area": {200, 503},  # read from overviews
    "oversized_body": {413},
}
"""The answers each family may get."""


def worker_pids(supervisor: int) -> list[int]:
    """The uvicorn workers under a `cmrisk serve` process (its children but helpers)."""
    workers = []
    for child in psutil.Process(supervisor).children():
        try:
            command = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        if "resource_tracker" not in command:
            workers.append(child.pid)
    return workers


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, bytes (0 once it is gone)."""
    total = 0
    try:
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
    except psutil.NoSuchProcess:
        return 0
    return total


@dataclass
class RssSampler:
    """Samples the tree RSS of each worker in a thread until stopped; keeps the peaks."""

    workers: list[int]
    interval_s: float = 0.05
    peaks: dict[int, int] = field(default_factory=dict)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> RssSampler:
        """Start sampling."""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.workers:
                self.peaks[pid] = max(self.peaks.get(pid, 0), tree_rss(pid))
            self.samples += 1
            time.sleep(self.interval_s)

    def stop(self) -> dict[int, int]:
        """Stop sampling; the peak tree RSS of each worker, bytes."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.peaks


def busy(pid: int) -> set[str]:
    """The threads of a process and of its descendants that are running right now, as
    "pid/tid" (state R in /proc)."""
    running: set[str] = set()
    try:
        processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return running
    for process in processes:
        try:
            tids = [t.id for t in process.threads()]
        except psutil.NoSuchProcess:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{process.pid}/task/{tid}/stat") as fh:
                    state = fh.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state == "R":
                running.add(f"{process.pid}/{tid}")
    return running


def always_busy(pid: int, samples: int = 40, interval_s: float = 0.05) -> set[str]:
    """Threads of a process tree found running in every one of `samples` looks: work that
    keeps going (an idle thread, or one that only wakes for a moment, is not among them)."""
    found = busy(pid)
    for _ in range(samples - 1):
        if not found:
            break
        time.sleep(interval_s)
        found &= busy(pid)
    return found
