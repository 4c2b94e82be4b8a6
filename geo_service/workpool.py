"""Bounded work: a small pool of child processes that run a request's heavy work under a time
and a memory limit, and are killed, not waited for, when the work outruns its budget.

A thread cannot be stopped from outside, so work that may be costly without bound for some
inputs (repairing a self-intersecting polygon, zonal statistics of a large area) runs in a
child process of the serving worker instead:

- each child limits its own address space (`RLIMIT_AS`, `memory_mb`) before it imports
  anything, with a small GDAL cache and one BLAS thread, so a request that needs too much
  memory fails inside the child (a `MemoryError`, or the child dies) and never grows the
  worker;
- a job gets the time left of its request's budget, queueing included; past it the child is
  killed with SIGKILL and reaped before the 503 answer leaves, so no work of a timed-out
  request outlives its answer;
- a child killed for time or memory is replaced on the next job that needs one (lazily: an
  idle pool does nothing); a child still starting when its job's time is up (a loaded
  machine) is not killed but finishes starting and waits for the next job, so "try again" is
  true; a child whose worker dies exits by itself (it watches its parent);
- at most `processes` jobs run and `queue` wait per worker; more are refused at once (503).

Jobs are module-level functions (pickled by reference) and their arguments; a job's
`data_catalog.problems.Problem` comes back as the same problem (e.g. a 422 for an area the
child found too large). The child runs `python -m geo_service.workpool` with two pipes passed
as file descriptors, so nothing it prints can disturb the protocol.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from data_catalog.problems import Problem
from geo_service.errors import Busy, WorkOutOfMemory, WorkTimeout
from geo_service.metrics import WORK_JOBS

T = TypeVar("T")
log = logging.getLogger("cmrisk.workpool")

CHILD_ENV = {
    "GDAL_CACHEMAX": "64",  # MB; GDAL's default is 5 % of the machine's memory
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",  # one 64 MB arena per thread would eat the address space
}
"""Environment of every child, over the worker's own: a small footprint under `RLIMIT_AS`."""
START_LIMIT_S = 120.0
"""How long a work process may take to start (import its modules) once the request that
started it has given up, seconds; past it, it is killed."""
PARENT_POLL_S = 1.0
"""How often a child checks that its worker is still alive, seconds."""


class _PipePair:
    """Two one-way `Connection`s (pipes) used as one duplex connection."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._reader = Connection(read_fd, writable=False)
        self._writer = Connection(write_fd, readable=False)

    def send(self, obj: Any) -> None:
        """Send a picklable object."""
        self._writer.send(obj)

    def recv(self) -> Any:
        """Receive an object (blocks)."""
        return self._reader.recv()

    def poll(self, timeout: float) -> bool:
        """Whether an object arrives within `timeout` seconds."""
        return self._reader.poll(timeout)

    def close(self) -> None:
        """Close both pipes."""
        self._reader.close()
        self._writer.close()


@dataclass(eq=False)
class _Child:
    process: subprocess.Popen[bytes]
    conn: _PipePair
    jobs: int = 0


@dataclass
class PoolStats:
    """What the pool has done since it started (for metrics and tests).

    Attributes:
        started: children started.
        killed_timeout: children killed because a job ran past its time.
        died: children that died or ran out of memory during a job.
        jobs: jobs finished (whatever their outcome).
    """

    started: int = 0
    killed_timeout: int = 0
    died: int = 0
    jobs: int = 0


class WorkPool:
    """Child processes that run jobs under a time and a memory limit (see the module doc).

    Args:
        processes: children at most (each runs one job at a time).
        memory_mb: address-space limit of each child, MiB.
        queue: jobs that may wait for a child; more are refused with `Busy` (503).
        preload: modules each child imports before its first job.
    """

    def __init__(self, *, processes: int, memory_mb: int, queue: int,
                 preload: Sequence[str] = ()) -> None:
        self.processes = processes
        self.memory_mb = memory_mb
        self.preload = tuple(preload)
        self.stats = PoolStats()
        self._admit = threading.BoundedSemaphore(processes + queue)
        self._cond = threading.Condition()
        self._idle: list[_Child] = []
        self._all: set[_Child] = set()
        self._starting = 0
        self._closed = False

    # -- the children ---------------------------------------------------------------------
    def _spawn(self, deadline: float) -> _Child:
        """Start a child and wait (until `deadline`) for it to be ready."""
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        argv = [sys.executable, "-m", "geo_service.workpool", str(to_child_r),
                str(to_parent_w), str(self.memory_mb), ",".join(self.preload)]
        try:
            process = subprocess.Popen(argv, pass_fds=(to_child_r, to_parent_w),
                                       env={**os.environ, **CHILD_ENV}, stdin=subprocess.DEVNULL)
        finally:
            os.close(to_child_r)
            os.close(to_parent_w)
        conn = _PipePair(to_parent_r, to_child_w)
        child = _Child(process, conn)
        with self._cond:
            self._all.add(child)
            self.stats.started += 1
        if not conn.poll(max(0.0, deadline - time.monotonic())):
            # Slow to start (a loaded machine): it goes on starting in the background and
            # joins the idle children when ready, so that "try again" finds it.
            threading.Thread(target=self._finish_start, args=(child,), daemon=True).start()
            raise WorkTimeout("the work process did not start in time; try again")
        self._ready(child)
        return child

    def _ready(self, child: _Child) -> None:
        """Read a starting child's "ready" (it has sent something); kill it if it died."""
        try:
            child.conn.recv()  # "ready"
        except (EOFError, OSError):
            self._kill(child)
            log.error("a work process died while starting (is work_memory_mb, %d MiB, too "
                      "small for its imports?)", self.memory_mb)
            raise WorkOutOfMemory("the work process could not start") from None

    def _finish_start(self, child: _Child) -> None:
        """Wait (up to `START_LIMIT_S`) for a child whose request gave up on it, then make
        it idle; one that does not start by then is killed."""
        if not child.conn.poll(START_LIMIT_S):
            log.error("a work process did not start in %g s; killed", START_LIMIT_S)
            self._kill(child)
            return
        with contextlib.suppress(WorkOutOfMemory):
            self._ready(child)
            self._give_back(child)

    def _kill(self, child: _Child) -> None:
        """Kill a child (SIGKILL) and reap it: when this returns, its work has stopped."""
        with contextlib.suppress(ProcessLookupError):  # already gone
            child.process.kill()
        child.process.wait()
        child.conn.close()
        with self._cond:
            self._all.discard(child)
            self._cond.notify()

    def _take(self, deadline: float) -> _Child:
        """An idle child, a new one when fewer than `processes` live, or `Busy` at the
        deadline."""
        with self._cond:
            while True:
                if self._closed:
                    raise Busy("the service is shutting down")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) + self._starting < self.processes:
                    self._starting += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Busy("every work process stayed busy for the whole time limit; "
                               "try again later")
                self._cond.wait(remaining)
        try:
            return self._spawn(deadline)
        finally:
            with self._cond:
                self._starting -= 1

    def _give_back(self, child: _Child) -> None:
        with self._cond:
            closed = self._closed
            if not closed:
                self._idle.append(child)
                self._cond.notify()
        if closed:
            self._kill(child)

    # -- jobs -----------------------------------------------------------------------------
    def run(self, timeout_s: float, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `func(*args, **kwargs)` in a child within `timeout_s` seconds (blocking).

        Raises:
            Busy: too many jobs already wait, or none got a child in time.
            WorkTimeout: the job ran past the time left; its child was killed.
            WorkOutOfMemory: the job ran out of memory; its child was replaced.
            Problem: the job's own problem (e.g. 422 for an area too large).
        """
        deadline = time.monotonic() + timeout_s
        if not self._admit.acquire(blocking=False):
            WORK_JOBS.labels("busy").inc()
            raise Busy("too many requests are waiting for analysis; try again later")
        outcome = "error"
        try:
            child = self._take(deadline)
            result = self._call(child, deadline, timeout_s, func, args, kwargs)
            outcome = "ok"
            return result
        except (Busy, WorkTimeout, WorkOutOfMemory, Problem) as exc:
            named: dict[type[Problem], str] = {Busy: "busy", WorkTimeout: "timeout",
                                               WorkOutOfMemory: "memory"}
            outcome = named.get(type(exc), "problem" if exc.status < 500 else "error")
            raise
        finally:
            self._admit.release()
            WORK_JOBS.labels(outcome).inc()
            with self._cond:
                self.stats.jobs += 1

    async def arun(self, timeout_s: float, func: Callable[..., T], *args: Any,
                   **kwargs: Any) -> T:
        """`run` from the event loop (the waiting happens in a thread of the threadpool)."""
        return await run_in_threadpool(self.run, timeout_s, func, *args, **kwargs)

    def _call(self, child: _Child, deadline: float, timeout_s: float,
              func: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        try:
            child.conn.send((func, args, kwargs))
            ready = child.conn.poll(max(0.0, deadline - time.monotonic()))
        except (OSError, EOFError):
            ready = True  # a dead child: recv below says so
        if not ready:
            self._kill(child)
            with self._cond:
                self.stats.killed_timeout += 1
            raise WorkTimeout(f"the work took longer than {timeout_s:g} s and was stopped; "
                              "try a smaller area or fewer layers")
        try:
            kind, value = child.conn.recv()
        except (EOFError, OSError):
            self._kill(child)
            with self._cond:
                self.stats.died += 1
            log.warning("a work process died during a job (exit status %s)",
                        child.process.returncode)
            raise WorkOutOfMemory("the work process died (most likely it needed more memory "
                                  "than a request may use); try a smaller or simpler area"
                                  ) from None
        if kind == "memory":
            self._kill(child)  # it is exiting anyway; its heap may be fragmented
            with self._cond:
                self.stats.died += 1
            raise WorkOutOfMemory("the work needed more memory than a request may use and "
                                  "was stopped; try a smaller or simpler area")
        child.jobs += 1
        self._give_back(child)
        if kind == "ok":
            result: T = value
            return result
        if kind == "problem":
            raise value
        log.error("work failed in a child process:\n%s", value)
        raise Problem("the work failed")

    def children(self) -> list[int]:
        """Process ids of the live children."""
        with self._cond:
            return [c.process.pid for c in self._all]

    def close(self) -> None:
        """Kill every child (the service is stopping)."""
        with self._cond:
            self._closed = True
            children = list(self._all)
            self._idle.clear()
        for child in children:
            self._kill(child)


# -- the child ------------------------------------------------------------------------------
def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(0)


def child_main(argv: Sequence[str]) -> None:
    """The child's loop: limit memory, import, then run jobs until the pipe closes."""
    read_fd, write_fd, memory_mb, preload = int(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when children stop
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    conn = _PipePair(read_fd, write_fd)
    for module in filter(None, preload.split(",")):
        importlib.import_module(module)
    conn.send("ready")
    while True:
        try:
            func, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", func(*args, **kwargs))
        except MemoryError:
            reply = ("memory", None)
        except Problem as exc:
            reply = ("problem", exc)
        except Exception as exc:
            # C++ libraries (GEOS, GDAL) report an exhausted address space in their own words.
            out_of_memory = "bad_alloc" in str(exc) or "out of memory" in str(exc).lower()
            reply = ("memory", None) if out_of_memory else ("error", traceback.format_exc())
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("memory", None))
        if reply[0] == "memory":
            return


if __name__ == "__main__":  # pragma: no cover - runs in the child
    child_main(sys.argv[1:])
