"""The work pool: jobs run in child processes that are killed, not waited for, at their time
limit, fail cleanly at their memory limit, are replaced, refuse what they cannot queue, and
never outlive their worker. Synchronised on files and process ids: no test depends on speed
(a job that never ends always reaches its limit)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from data_catalog.problems import Unprocessable
from geo_service.errors import Busy, WorkOutOfMemory, WorkTimeout
from geo_service.workpool import WorkPool
from tests import workjobs
from tests.conftest import REPO

START_S = 120.0
"""Generous time for a job that does finish (includes starting a child)."""


@pytest.fixture
def pool() -> Iterator[WorkPool]:
    pool = WorkPool(processes=1, memory_mb=512, queue=0, preload=("tests.workjobs",))
    yield pool
    pool.close()


def gone(pid: int) -> bool:
    """Whether a process no longer exists (reaped, not a zombie)."""
    return not psutil.pid_exists(pid)


def test_a_job_runs_in_a_child_that_is_reused(pool: WorkPool) -> None:
    first = pool.run(START_S, workjobs.pid)
    assert first != os.getpid() and pool.children() == [first]
    assert pool.run(START_S, workjobs.pid) == first  # the same child, still there
    child = psutil.Process(first)
    assert child.ppid() == os.getpid()


def test_work_past_its_time_is_killed_before_the_answer(pool: WorkPool, tmp_path: Path) -> None:
    victim = pool.run(START_S, workjobs.pid)
    started = tmp_path / "started"
    with pytest.raises(WorkTimeout) as caught:
        pool.run(1.0, workjobs.forever, started)
    assert caught.value.status == 503
    assert gone(victim)  # killed and reaped when the 503 is raised: nothing still runs
    assert pool.children() == []  # replaced lazily, by the next job
    replacement = pool.run(START_S, workjobs.pid)
    assert replacement != victim and pool.stats.killed_timeout == 1


def test_a_child_slow_to_start_is_kept_for_the_next_try(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The child blocks in its imports until the gate file exists (a loaded machine): the
    # request gets its 503 "try again", and the child is not killed but finishes starting
    # and serves the next try; no second child is started.
    gate = tmp_path / "gate"
    monkeypatch.setenv("CMRISK_TEST_START_GATE", str(gate))
    pool = WorkPool(processes=1, memory_mb=512, queue=0,
                    preload=("tests.slowstart", "tests.workjobs"))
    try:
        with pytest.raises(WorkTimeout) as caught:
            pool.run(0.5, workjobs.pid)
        assert caught.value.status == 503 and "try again" in caught.value.detail
        [starting] = pool.children()
        assert not gone(starting)
        gate.touch()
        assert pool.run(START_S, workjobs.pid) == starting
        assert pool.stats.started == 1
    finally:
        pool.close()


def test_work_past_its_memory_fails_and_is_replaced(pool: WorkPool) -> None:
    victim = pool.run(START_S, workjobs.pid)
    with pytest.raises(WorkOutOfMemory) as caught:
        pool.run(START_S, workjobs.allocate, 2048)  # 2 GiB under a 512 MiB limit
    assert caught.value.status == 503
    assert gone(victim)
    assert pool.run(START_S, workjobs.allocate, 16) == 16 * 1024 * 1024  # a new child works


def test_a_crashed_child_is_replaced(pool: WorkPool) -> None:
    victim = pool.run(START_S, workjobs.pid)
    with pytest.raises(WorkOutOfMemory):
        pool.run(START_S, workjobs.die)
    assert gone(victim) and pool.stats.died == 1
    assert pool.run(START_S, workjobs.pid) != victim


def test_a_job_problem_comes_back_as_itself(pool: WorkPool) -> None:
    child = pool.run(START_S, workjobs.pid)
    with pytest.raises(Unprocessable) as caught:
        pool.run(START_S, workjobs.refuse)
    assert caught.value.parameter == "geometry" and caught.value.status == 422
    assert pool.run(START_S, workjobs.pid) == child  # a refusal does not cost the child


def test_what_cannot_wait_is_refused_at_once(pool: WorkPool, tmp_path: Path) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    results: list[int] = []
    holder = threading.Thread(
        target=lambda: results.append(pool.run(START_S, workjobs.hold, started, release)))
    holder.start()
    try:
        deadline = time.monotonic() + START_S
        while not started.exists():
            assert time.monotonic() < deadline and holder.is_alive()
            time.sleep(0.01)
        with pytest.raises(Busy) as caught:  # one process, no queue: the second is refused
            pool.run(START_S, workjobs.pid)
        assert caught.value.status == 503
    finally:
        release.touch()
        holder.join()
    assert results == pool.children()


def test_children_do_not_outlive_their_worker(tmp_path: Path) -> None:
    script = (
        "import os, sys\n"
        "from geo_service.workpool import WorkPool\n"
        "from tests import workjobs\n"
        "pool = WorkPool(processes=1, memory_mb=512, queue=0, preload=('tests.workjobs',))\n"
        "print(pool.run(120, workjobs.pid), flush=True)\n"
        "os._exit(0)  # the worker dies without closing its pool\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=300)
    child = int(out.stdout.strip())
    deadline = time.monotonic() + 60
    while psutil.pid_exists(child) and psutil.Process(child).status() != "zombie":
        assert time.monotonic() < deadline, "the orphaned work process is still alive"
        time.sleep(0.1)
