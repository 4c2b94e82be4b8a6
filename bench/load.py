"""Load test (loopback only, bounded): 64 concurrent clients for 60 s against
`cmrisk serve --workers 2`, mixing tiles, item pages, downloads and area analysis.

    .venv/bin/python bench/load.py [--clients 64] [--seconds 60]
    .venv/bin/python bench/load.py --worst-case [--clients 16] [--seconds 60]

Builds a fresh demo data dir, starts the service on a free 127.0.0.1 port, runs the mix,
stops everything, and writes the `## Load` section of bench/RESULTS.md: requests, errors,
throughput and p50/p99 per kind.

`--worst-case` adds, beside the clients, four attackers sending issue 10's worst-case
requests (`tests/worstcase.py`: star polygons of 1,001, 999 and 99,997 vertices, 100,000
nested arrays, a huge area, an oversized body) back to back, and a probe calling /healthz;
it writes `## Load: worst case`: the answers each family got and their time, /healthz p50/p99
under the attack, and the peak RSS of each worker's process tree.
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
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import morecantile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
from results import replace_section  # noqa: E402

from tests.live import free_port, wait_until_up  # noqa: E402
from tests.worstcase import FAMILIES, RssSampler, worker_pids  # noqa: E402

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


ATTACKERS = 4
"""Worst-case requests in flight at once (issue 10: 2-4)."""


async def attacker_loop(url: str, seed: int, deadline: float,
                        answers: dict[str, list[tuple[str, float]]]) -> None:
    """One attacker: worst-case requests back to back, each on a new connection."""
    rng = random.Random(1000 + seed)
    names = sorted(FAMILIES)
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        while time.monotonic() < deadline:
            family = rng.choice(names)
            started = time.perf_counter()
            try:
                response = await client.post("/analysis", content=FAMILIES[family],
                                             headers={"content-type": "application/json"})
                status = str(response.status_code)
                if response.status_code >= 400:
                    status += f" {response.json().get('title', '')}"
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            answers[family].append((status, time.perf_counter() - started))


async def probe_loop(url: str, deadline: float, latencies: list[float],
                     statuses: dict[int, int]) -> None:
    """/healthz back to back: the latency a load balancer's health check sees."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status = (await client.get("/healthz")).status_code
            except httpx.HTTPError:
                status = 0
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1


@dataclass
class Attack:
    """What the worst-case part of a run saw."""

    answers: dict[str, list[tuple[str, float]]] = field(
        default_factory=lambda: defaultdict(list))
    probe: list[float] = field(default_factory=list)
    probe_statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))


async def run_load(url: str, clients: int, seconds: float, attack: Attack | None = None
                   ) -> tuple[dict[str, list[float]], dict[str, int], float]:
    """Run the mix (and the attack); returns latencies (s) by kind, errors by kind and the
    wall time (s)."""
    results: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    budget = [MAX_REQUESTS]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.monotonic()
        deadline = started + seconds
        tasks = [client_loop(client, seed, deadline, results, errors, budget)
                 for seed in range(clients)]
        if attack is not None:
            tasks += [attacker_loop(url, seed, deadline, attack.answers)
                      for seed in range(ATTACKERS)]
            tasks.append(probe_loop(url, deadline, attack.probe, attack.probe_statuses))
        await asyncio.gather(*tasks)
        wall = time.monotonic() - started
    return results, errors, wall


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def attack_lines(attack: Attack, peaks: dict[int, int], clients: int, wall: float
                 ) -> list[str]:
    """The `## Load: worst case` section."""
    lines = [
        f"`cmrisk serve --workers 2` on the demo run (work processes: 1 per worker, "
        f"{os.environ.get('CMRISK_WORK_MEMORY_MB', '768')} MiB address space each, 20 s time "
        f"limit), {wall:.0f} s on loopback: {clients} clients running the ordinary mix, "
        f"{ATTACKERS} attackers sending worst-case requests back to back (so 2-4 at once), "
        "and a probe calling /healthz back to back.",
        "",
        "| family | answers (status title × count) | median answer (s) | max answer (s) |",
        "|---|---|---:|---:|",
    ]
    for family in sorted(attack.answers):
        got = attack.answers[family]
        statuses: dict[str, int] = defaultdict(int)
        for status, _ in got:
            statuses[status] += 1
        times = [t for _, t in got]
        counts = ", ".join(f"{s} × {n}" for s, n in sorted(statuses.items()))
        lines.append(f"| {family} | {counts} | {statistics.median(times):.2f} | "
                     f"{max(times):.2f} |")
    probe = attack.probe
    lines += [
        "",
        f"/healthz under the attack: {len(probe):,} calls, statuses "
        f"{dict(sorted(attack.probe_statuses.items()))}, p50 {1000 * percentile(probe, 0.5):.1f}"
        f" ms, p99 {1000 * percentile(probe, 0.99):.1f} ms, max {1000 * max(probe):.0f} ms.",
        "",
        "Peak RSS of each worker's process tree (worker + its work process), sampled every "
        "50 ms: " + ", ".join(f"{v / 2**20:.0f} MB" for v in peaks.values()) + ".",
    ]
    return lines


def main() -> None:
    """Build the demo, serve it with 2 workers, run the load, write the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS")
    parser.add_argument("--worst-case", action="store_true",
                        help="add issue 10's worst-case requests and a /healthz probe")
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
        attack = Attack() if args.worst_case else None
        peaks: dict[int, int] = {}
        try:
            wait_until_up(f"{url}/healthz", server)
            sampler = RssSampler(worker_pids(server.pid)).start()
            try:
                results, errors, wall = asyncio.run(
                    run_load(url, args.clients, args.seconds, attack))
            finally:
                peaks = sampler.stop()
        finally:
            os.killpg(server.pid, signal.SIGTERM)  # the supervisor and its workers
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # workers still draining: stop them hard
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)
            log.close()
    load_before = os.getloadavg()[0]
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
    lines += [
        "",
        "Analyses run in work processes (`work_processes` 1 and `work_queue` 8 per worker): at "
        "most 9 per worker are in flight, waiting included, and more are refused at once "
        "(503 `Busy`, `Retry-After`) rather than piling up; every other kind runs in the "
        f"server's threads. Load average (1 min) at the end of the run: {load_before:.2f} on "
        f"{os.cpu_count()} cores (other work on the machine shares them).",
    ]
    title = "Load"
    if attack is not None:
        title = "Load: worst case"
        lines += ["", *attack_lines(attack, peaks, args.clients, wall)]
    if not args.no_write:
        replace_section(HERE / "RESULTS.md", title, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
