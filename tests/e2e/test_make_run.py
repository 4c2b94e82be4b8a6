"""`make run` — the newcomer's command — builds the demo, runs the pipeline and serves the map."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from urllib.request import Request, urlopen

import pytest

from tests.live import free_port, wait_until_up

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_make_run_serves_the_planning_map(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CMRISK_DATA_DIR": str(tmp_path / "data")}
    log = (tmp_path / "make-run.log").open("wb")  # a file: a full pipe would block it
    process = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=REPO, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/healthz", process, timeout_s=300)
        page = urlopen(Request(f"{url}/", headers={"Accept": "text/html"})).read().decode()
        assert "/maps/risk" in page
        with urlopen(f"{url}/maps/risk") as response:
            assert response.status == 200
            assert "Darién National Park" in response.read().decode()
        assert (tmp_path / "data" / "inputs" / "demo.json").is_file()
        assert (tmp_path / "data" / "current" / "run.json").is_file()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
