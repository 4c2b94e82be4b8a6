"""A real uvicorn serving a data dir on a free loopback port, for tests with real clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """Poll `url` until it answers 200; fail if the server dies or does not answer in time."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")
        time.sleep(0.2)


@contextmanager
def live_service(data_dir: Path | None, *, command: Sequence[str] | None = None,
                 env: dict[str, str] | None = None, timeout_s: float = 60,
                 log_file: Path | None = None) -> Iterator[str]:
    """Serve `data_dir` with uvicorn on a free loopback port; yields the base URL.

    `command` replaces the default server command (e.g. a peer such as TiTiler); `{port}` in
    it is filled in. The server must answer `/healthz` with 200 once up. Its output goes to
    `log_file` when given (for tests that read the log), else to a temporary file.
    """
    port = free_port()
    argv = [part.format(port=port) for part in command] if command else [
        sys.executable, "-m", "uvicorn", "geo_service.asgi:app", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning"]
    # Output to a file, never an unread pipe: a full pipe would block the server.
    with (log_file.open("w+b") if log_file else tempfile.TemporaryFile()) as log:
        process = subprocess.Popen(
            argv, env={**os.environ, **({"CMRISK_DATA_DIR": str(data_dir)} if data_dir else {}),
                       **(env or {})},
            stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_until_up(f"{url}/healthz", process, timeout_s)
            except RuntimeError as exc:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-4000:]
                raise RuntimeError(f"{exc}:\n{tail}") from None
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
