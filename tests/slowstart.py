"""Imported by a test's work process before its first job: blocks until the file named by
`$CMRISK_TEST_START_GATE` exists, so the process is slow to start for as long as the test
wants, without any timing (tests/geo_service/test_workpool.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

_GATE = os.environ.get("CMRISK_TEST_START_GATE")
if _GATE:
    while not Path(_GATE).exists():
        time.sleep(0.05)
