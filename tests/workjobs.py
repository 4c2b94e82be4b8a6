"""Jobs for the work-pool tests: module-level functions a work process can import."""

from __future__ import annotations

import os
import time
from pathlib import Path

from data_catalog.problems import Unprocessable


def pid() -> int:
    """The work process's id."""
    return os.getpid()


def hold(started: Path, release: Path) -> int:
    """Say it started (a file), then wait until released (another file); returns the pid."""
    started.touch()
    while not release.exists():
        time.sleep(0.01)
    return os.getpid()


def forever(started: Path) -> None:
    """Say it started, then never finish."""
    started.touch()
    while True:
        time.sleep(1)


def allocate(megabytes: int) -> int:
    """Hold `megabytes` MiB of touched memory; returns its size."""
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


def refuse() -> None:
    """Raise a problem (422)."""
    raise Unprocessable("too large", parameter="geometry")


def die() -> None:
    """End the process at once, as a crash would."""
    os._exit(3)
