"""Faults: `kill -9` of `cmrisk run` at seeded stage boundaries never disturbs the served run.

Each run stops itself at a named boundary (`--stop-at`) before it is killed, so the test knows
where every kill landed and what must be served afterwards, on a fast machine or a slow one.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import morecantile
import pytest

from data_catalog.paths import DataDir
from data_catalog.stac_validation import OfflineValidator, stac_files, validate
from pipelines.run import CHECKPOINTS, RUN_MANIFEST
from tests.faults import SWITCHED, run_stopped_at, served_after
from tests.live import live_service

KILLS = 4
SEED = 7


class Poller(threading.Thread):
    """Requests a fixed set of URLs in a loop and counts the status codes."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(daemon=True)
        self.urls = urls
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.rounds = 0

    def wait_rounds(self, more: int, timeout_s: float = 120) -> None:
        """Block until the poller has completed `more` further rounds over every URL."""
        target = self.rounds + more
        deadline = time.monotonic() + timeout_s
        while self.rounds < target and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.rounds >= target, "the poller stalled"

    def run(self) -> None:
        while not self.stop.is_set():
            for url in self.urls:
                try:
                    with urlopen(url, timeout=10) as response:
                        response.read()
                        self.statuses[response.status] += 1
                except HTTPError as exc:
                    self.statuses[exc.code] += 1
                    self.failures.append(f"{exc.code} {url}")
                except OSError as exc:
                    self.statuses[0] += 1
                    self.failures.append(f"{exc} {url}")
            self.rounds += 1
            time.sleep(0.05)


def catalog_is_valid(run_folder: Path) -> None:
    validator = OfflineValidator()
    files = stac_files([run_folder])
    assert len(files) > 25
    for path in files:
        validate(json.loads(path.read_text()), validator, extensions=False)


@pytest.mark.e2e
def test_kill_9_at_stage_boundaries_keeps_serving(demo_run: Path, copy_data_dir) -> None:
    root = copy_data_dir(demo_run)
    data = DataDir(root)
    served = data.current_run()
    assert served is not None
    tile = morecantile.tms.get("WebMercatorQuad").tile(-77.7, 8.4, 7)
    before_switch = [c for c in CHECKPOINTS if not served_after(c)]
    # Seeded boundaries before the switch, then the switch itself: the service must follow.
    checkpoints = [*random.Random(SEED).sample(before_switch, KILLS), SWITCHED]
    with live_service(root) as url:
        poller = Poller([f"{url}/healthz", f"{url}/layers/risk", f"{url}/areas?limit=5",
                         f"{url}/tiles/risk/{tile.z}/{tile.x}/{tile.y}.png", f"{url}/stac",
                         f"{url}/maps/risk"])
        poller.start()
        poller.wait_rounds(1)
        for checkpoint in checkpoints:
            existing = set(data.runs.iterdir())
            run_stopped_at(checkpoint, root)
            (killed,) = set(data.runs.iterdir()) - existing
            if served_after(checkpoint):
                served = killed.resolve()
            assert data.current_run() == served, checkpoint
            assert json.load(urlopen(f"{url}/healthz"))["run_id"] == served.name, checkpoint
            catalog_is_valid(served)
        # A run that is left to finish becomes current; the service follows it.
        env = {**os.environ, "CMRISK_DATA_DIR": str(root)}
        finished = subprocess.run([sys.executable, "-m", "geo_service.cli", "run", "darien"],
                                  env=env, capture_output=True, text=True, timeout=600)
        assert finished.returncode == 0, finished.stderr[-2000:]
        new_run = data.current_run()
        assert new_run is not None and new_run != served
        assert (new_run / RUN_MANIFEST).is_file()
        assert json.load(urlopen(f"{url}/healthz"))["run_id"] == new_run.name
        poller.wait_rounds(2)  # requests against the new run too
        poller.stop.set()
        poller.join(timeout=60)
    assert poller.statuses[200] >= 6 * poller.rounds
    assert not poller.failures, poller.failures[:10]
    assert not [p for p in data.runs.iterdir() if not (p / RUN_MANIFEST).exists()]
