"""Load test (loopback only, bounded): 64 concurrent clients for 60 s against
`cmrisk serve --workers 2`, mixing tiles, item pages, downloads and area analysis.

    .venv/bin/python bench/load.py [--clients 64] [--seconds 60]

Builds a fresh demo data dir, starts the service on a free 127.0.0.1 port, runs the mix,
stops everything, and writes the `## Load` section of bench/RESULTS.md: requests, errors,
throughput and p50/p99 per kind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import morecantile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
from results import replace_section  # noqa: E402

from tests.live import free_port, wait_until_up  # noqa: E402

WEST, SOUTH, EAST, NORTH = -79.3, 7.0, -76.7, 9.6
TMS = morecantile.tms.get("WebMercatorQuad")
MAX_REQUESTS = 200_000
kinds_seen: dict[str, int] = defaultdict(int)
"""Failures by kind and status (or exception), reported with the results."""
"""Upper bound on requests, whatever the duration."""


def make_request(rng: random.Random) -> tuple[str, str, str, dict[str, object] | None]:
    """(kind, method, path, json body) of one request of the mix."""
    draw = rng.random()
    if draw < 0.5:
        zoom = rng.randint(7, 10)
        tile = TMS.tile(rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH), zoom)
        layer = rng.choice(["risk", "hazard", "vulnerability", "coping"])
        return "tile", "GET", f"/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.png", None
    if draw < 0.8:
        lon, lat = rng.uniform(WEST, EAST - 0.5), rng.uniform(SOUTH, NORTH - 0.5)
        collection = rng.choice(["planning_units", "incidents", "route_segments"])
        bbox = f"{lon:.3f},{lat:.3f},{lon + 0.5:.3f},{lat + 0.5:.3f}"
        return "items", "GET", f"/collections/{collection}/items?bbox={bbox}&limit=100", None
    if draw < 0.9:
        collection = rng.choice(["stations", "route_segments", "incidents"])
        return "download", "GET", f"/collections/{collection}/download?f=geojson", None
    lon, lat = rng.uniform(WEST, EAST - 0.3), rng.uniform(SOUTH, NORTH - 0.3)
    ring = [[lon, lat], [lon + 0.3, lat], [lon + 0.3, lat + 0.3], [lon, lat + 0.3], [lon, lat]]
    body = {"geometry": {"type": "Polygon", "coordinates": [ring]},
            "layers": ["risk", "hazard"]}
    return "analysis", "POST", "/analysis", body


async def client_loop(client: httpx.AsyncClient, seed: int, deadline: float,
                      results: dict[str, list[float]], errors: dict[str, int],
                      budget: list[int]) -> None:
    """One client: requests back to back until the deadline or the shared budget runs out."""
    rng = random.Random(seed)
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        kind, method, path, body = make_request(rng)
        started = time.perf_counter()
        try:
            response = await client.request(method, path, json=body)
            ok = response.status_code == 200
            if not ok:
                kinds_seen[f"{kind} {response.status_code}"] += 1
        except httpx.HTTPError as exc:
            ok = False
            kinds_seen[f"{kind} {exc.__class__.__name__}"] += 1
        elapsed = time.perf_counter() - started
        if ok:
            results[kind].append(elapsed)
        else:
            errors[kind] += 1


async def run_load(url: str, clients: int, seconds: float) -> tuple[dict[str, list[float]],
                                                                    dict[str, int], float]:
    """Run the mix; returns latencies (s) by kind, errors by kind and the wall time (s)."""
    results: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    budget = [MAX_REQUESTS]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(client_loop(client, seed, deadline, results, errors, budget)
                               for seed in range(clients)))
        wall = time.monotonic() - started
    return results, errors, wall


def main() -> None:
    """Build the demo, serve it with 2 workers, run the load, write the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS")
    args = parser.parse_args()
    cmrisk = [sys.executable, "-m", "geo_service.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        subprocess.run([*cmrisk, "demo", "--data-dir", str(data)], check=True,
                       capture_output=True)
        subprocess.run([*cmrisk, "run", "darien", "--data-dir", str(data)], check=True,
                       capture_output=True)
        port = free_port()
        # The server's output goes to a file: an unread pipe fills up and blocks the server.
        log = (data / "serve.log").open("wb")
        server = subprocess.Popen(
            [*cmrisk, "serve", "--workers", "2", "--port", str(port), "--data-dir", str(data)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{url}/healthz", server)
            results, errors, wall = asyncio.run(run_load(url, args.clients, args.seconds))
        finally:
            os.killpg(server.pid, signal.SIGTERM)  # the supervisor and its workers
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # workers still draining: stop them hard
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)
            log.close()
    total = sum(len(v) for v in results.values())
    failed = sum(errors.values())
    lines = [
        f"`cmrisk serve --workers 2` on the demo run, {args.clients} concurrent clients "
        f"(httpx, keep-alive) for {wall:.0f} s on loopback; mix: 50% tiles (z7–10, four "
        "layers), 30% 100-item bbox pages, 10% GeoJSON downloads, 10% POST /analysis.",
        "",
        f"**{total:,} requests, {failed} errors, {total / wall:.0f} requests/s.**",
        "",
        "| kind | requests | errors | p50 (ms) | p99 (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind in ("tile", "items", "download", "analysis"):
        values = sorted(results.get(kind, []))
        if not values:
            lines.append(f"| {kind} | 0 | {errors.get(kind, 0)} | – | – |")
            continue
        p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
        lines.append(f"| {kind} | {len(values):,} | {errors.get(kind, 0)} | "
                     f"{1000 * statistics.median(values):.1f} | {1000 * p99:.1f} |")
    if kinds_seen:
        lines += ["", "Failures: " + ", ".join(f"{k}: {v}" for k, v in sorted(kinds_seen.items()))]
    replace_section(HERE / "RESULTS.md", "Load", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
