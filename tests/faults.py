"""Runs stopped at a named stage boundary, so that a fault test knows where its kill lands.

`cmrisk run --stop-at STAGE:EVENT` stops its own process (SIGSTOP) at that boundary; the test
waits until the process is stopped, then kills it with SIGKILL. No sleeps: the outcome does not
depend on how fast the machine is.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines.run import CHECKPOINTS

SWITCHED = "switch:end"
"""The first boundary at which the new run is served."""


def run_stopped_at(checkpoint: str, data_dir: Path, *, timeout_s: float = 600) -> None:
    """Start `cmrisk run darien` on `data_dir`, let it reach `checkpoint`, then kill -9 it.

    Raises:
        AssertionError: the run ended before reaching the checkpoint, or never reached it.
    """
    assert checkpoint in CHECKPOINTS, checkpoint
    killed_when_stopped(["run", "darien", "--stop-at", checkpoint],
                        {**os.environ, "CMRISK_DATA_DIR": str(data_dir)}, timeout_s=timeout_s)


def killed_when_stopped(arguments: list[str], env: dict[str, str], *,
                        timeout_s: float = 600) -> None:
    """Start `cmrisk ARGUMENTS` (which stops itself at a named point: `--stop-at`), wait
    until it is stopped, then kill -9 it.

    Raises:
        AssertionError: the command ended before stopping, or never stopped.
    """
    proc = subprocess.Popen([sys.executable, "-m", "geo_service.cli", *arguments], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            pid, status = os.waitpid(proc.pid, os.WUNTRACED | os.WNOHANG)
            if pid and os.WIFSTOPPED(status):
                return
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                raise AssertionError(f"{arguments} ended ({proc.returncode}) before stopping")
            assert time.monotonic() < deadline, f"{arguments} never stopped"
            time.sleep(0.02)
    finally:
        if proc.returncode is None:
            proc.kill()  # SIGKILL is delivered to a stopped process too
            proc.wait()


def served_after(checkpoint: str) -> bool:
    """Whether a run killed at `checkpoint` is the one served afterwards."""
    return CHECKPOINTS.index(checkpoint) >= CHECKPOINTS.index(SWITCHED)
