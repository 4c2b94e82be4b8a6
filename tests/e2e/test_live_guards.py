"""`cmrisk serve --workers 2` as deployed: slow bodies time out (408), a dropped connection is
one log line (never a traceback), and /metrics adds up what every worker counted."""

from __future__ import annotations

import json
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.request import Request, urlopen

import pytest

from geo_service.auth import token_hash
from tests.live import live_service

pytestmark = [pytest.mark.e2e]

METRICS_TOKEN = "prometheus-scrape-token"
PARTIAL_POST = (b"POST /analysis HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"geometry\":")


@pytest.fixture(scope="module")
def server(demo_run: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    command = [sys.executable, "-m", "geo_service.cli", "serve", "--port", "{port}",
               "--workers", "2", "--data-dir", str(demo_run)]
    tokens = [{"name": "prometheus", "sha256": token_hash(METRICS_TOKEN),
               "scopes": ["metrics"]}]
    env = {"CMRISK_BODY_TIMEOUT_S": "1", "CMRISK_TOKENS": json.dumps(tokens)}
    with live_service(None, command=command, env=env, log_file=log) as url:
        yield url, log


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def wait_for_lines(log: Path, pattern: str, count: int, timeout_s: float = 60) -> list[str]:
    """The log's lines matching `pattern`, once there are `count` of them."""
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [ln for ln in log.read_text(errors="replace").splitlines()
                 if re.search(pattern, ln)]
        if len(lines) >= count:
            return lines
        assert time.monotonic() < deadline, f"{len(lines)} of {count} lines {pattern!r}"
        time.sleep(0.1)


def test_a_slow_body_gets_a_408(server: tuple[str, Path]) -> None:
    url, _ = server
    with socket.create_connection(("127.0.0.1", port_of(url)), timeout=120) as sock:
        sock.sendall(PARTIAL_POST)  # 13 of the 1,000 bytes announced, then nothing
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), head
    assert b"application/problem+json" in head
    assert json.loads(body)["parameter"] == "body"


def test_dropped_connections_are_one_line_each(server: tuple[str, Path]) -> None:
    url, log = server
    before = len(wait_for_lines(log, "client closed the connection", 0))
    dropped = 20
    for _ in range(dropped):
        with socket.create_connection(("127.0.0.1", port_of(url))) as sock:
            sock.sendall(PARTIAL_POST)
    for fmt in ("geojson", "csv", "gpkg") * 3:  # downloads left after their first bytes
        with socket.create_connection(("127.0.0.1", port_of(url))) as sock:
            sock.sendall(f"GET /collections/planning_units/download?f={fmt} HTTP/1.1\r\n"
                         "Host: 127.0.0.1\r\n\r\n".encode())
            sock.recv(100)
    lines = wait_for_lines(log, "client closed the connection", before + dropped)
    assert len(lines) == before + dropped
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "Exception in ASGI application" not in text
    assert "ERROR" not in text


def scrape(url: str) -> str:
    request = Request(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urlopen(request, timeout=30) as response:
        return response.read().decode()


def healthz_count(text: str) -> float:
    found = re.search(r'^cmrisk_http_requests_total\{method="GET",route="/healthz",'
                      r'status="200"\} ([0-9.e+]+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_metrics_add_up_every_worker(server: tuple[str, Path]) -> None:
    url, _ = server
    before = healthz_count(scrape(url))
    for _ in range(40):  # each on a new connection: the two workers share them out
        with urlopen(f"{url}/healthz", timeout=30) as response:
            assert response.status == 200
    counts = {healthz_count(scrape(url)) for _ in range(6)}  # whichever worker answers
    assert counts == {before + 40}
    text = scrape(url)
    assert re.search(r'cmrisk_run_stage_seconds\{region="darien",run_id="[^"]+",'
                     r'stage="sensitivity"\}', text)
    with pytest.raises(Exception, match="404"):
        urlopen(f"{url}/metrics", timeout=30)


def test_one_worker_counts_too(demo_run: Path, tmp_path: Path) -> None:
    """With one worker (uvicorn runs the app in the `serve` process itself) the metrics
    folder is set before prometheus-client is imported, so the counts are there. (The folder
    is the test's: uvicorn ends a single worker by re-raising SIGTERM, so `serve` cannot
    remove its own; the next `serve` does.)"""
    command = [sys.executable, "-m", "geo_service.cli", "serve", "--port", "{port}",
               "--data-dir", str(demo_run)]
    tokens = [{"name": "prometheus", "sha256": token_hash(METRICS_TOKEN),
               "scopes": ["metrics"]}]
    env = {"CMRISK_TOKENS": json.dumps(tokens), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with live_service(None, command=command, env=env) as url:
        for _ in range(3):
            with urlopen(f"{url}/healthz", timeout=30):
                pass
        assert healthz_count(scrape(url)) >= 3
