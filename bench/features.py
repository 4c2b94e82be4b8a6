"""OGC API - Features benchmark: cmrisk beside pygeoapi on the same points, and cmrisk on
PostGIS beside tipg on the same PostGIS tables.

For 10^4, 10^5 and 10^6 random points (GeoParquet with x/y columns), one uvicorn worker each
on loopback, measures p50/p99 of a 100-feature bbox page (random boxes holding ~150 points,
`limit=100`) and the time of a full download (cmrisk: `/download?f=geojson`, streamed;
pygeoapi and tipg: `/items?limit=N`):

- part `embedded`: cmrisk's embedded store beside pygeoapi's Parquet and GeoJSON providers
  (PEERS.md); writes the `## Features` section of bench/RESULTS.md;
- part `postgis`: a throwaway PostgreSQL 15 + PostGIS 3 cluster on loopback (tests/postgis.py),
  the layers loaded with `cmrisk db load`'s function, then cmrisk (`CMRISK_DATABASE_URL`) and
  tipg serving the same tables, requests alternating between the two with the same boxes;
  writes the `## Features on PostGIS` section.

The peers run from `.venv-bench` (git-ignored; `make bench` installs them, pinned):

    .venv/bin/python bench/features.py [--sizes 10000,100000,1000000] [--parts postgis]

Loopback only, bounded in requests and time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from results import replace_section  # noqa: E402

BENCH_VENV = REPO / ".venv-bench"
WORK = HERE / "out" / "features"
EXTENT = (-80.0, 0.0, -70.0, 10.0)
"""Where the points fall (degrees): 100 square degrees."""
PAGE_TARGET = 150
"""Points expected inside each bbox (the page holds 100 of them)."""
DOWNLOAD_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_points(n: int, folder: Path, geojson: bool) -> tuple[Path, Path | None]:
    """n random points with id, kind, value, x, y; GeoParquet (and GeoJSON when asked)."""
    rng = np.random.default_rng(n)
    x = rng.uniform(EXTENT[0], EXTENT[2], n)
    y = rng.uniform(EXTENT[1], EXTENT[3], n)
    frame = gpd.GeoDataFrame({
        "id": np.arange(1, n + 1), "kind": rng.choice(["flood", "landslide", "storm"], n),
        "value": np.round(rng.random(n) * 100, 3), "x": x, "y": y,
    }, geometry=shapely.points(x, y), crs="EPSG:4326")
    parquet = folder / f"points_{n}.parquet"
    frame.to_parquet(parquet, index=False)
    path = None
    if geojson:
        path = folder / f"points_{n}.geojson"
        frame.to_file(path, driver="GeoJSON")
    return parquet, path


def boxes(n: int, count: int, seed: int = 7) -> list[str]:
    """Random bboxes that hold about PAGE_TARGET points each."""
    area = (EXTENT[2] - EXTENT[0]) * (EXTENT[3] - EXTENT[1])
    side = float(np.sqrt(PAGE_TARGET / n * area))
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        west = rng.uniform(EXTENT[0], EXTENT[2] - side)
        south = rng.uniform(EXTENT[1], EXTENT[3] - side)
        out.append(f"{west:.5f},{south:.5f},{west + side:.5f},{south + side:.5f}")
    return out


def wait_up(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {url}")
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server did not start: {url}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def page_times(client: httpx.Client, url: str, bboxes: list[str],
               budget_s: float) -> list[float]:
    """Seconds per page request (body read), stopping early past `budget_s`."""
    times = []
    started = time.monotonic()
    for box in bboxes:
        t0 = time.perf_counter()
        response = client.get(url, params={"bbox": box, "limit": 100, "f": "json"})
        response.read()
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.text[:300]
        if time.monotonic() - started > budget_s:
            break
    return times


def download_time(client: httpx.Client, url: str, params: dict[str, Any],
                  expect: int) -> float | None:
    """Seconds to receive a whole result of `expect` features; None past the timeout."""
    t0 = time.perf_counter()
    try:
        with client.stream("GET", url, params=params,
                           timeout=DOWNLOAD_TIMEOUT_S) as response:
            assert response.status_code == 200
            body = b"".join(response.iter_bytes())
    except httpx.TimeoutException:
        return None
    elapsed = time.perf_counter() - t0
    returned = len(json.loads(body)["features"])
    assert returned == expect, (url, returned, expect)
    return elapsed


def pygeoapi_config(path: Path, port: int, resources: dict[str, dict[str, Any]],
                    max_items: int) -> None:
    import yaml

    config = {
        "server": {"bind": {"host": "127.0.0.1", "port": port},
                   "url": f"http://127.0.0.1:{port}", "mimetype": "application/json; "
                   "charset=UTF-8", "encoding": "utf-8", "language": "en-US",
                   "limits": {"default_items": 100, "max_items": max_items},
                   "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                           "attribution": "OpenStreetMap"}},
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "bench", "description": "bench", "keywords": ["bench"],
                               "keywords_type": "theme", "terms_of_service": "none",
                               "url": "http://127.0.0.1"},
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "bench", "url": "http://127.0.0.1"},
            "contact": {"name": "bench", "position": "bench", "address": "x", "city": "x",
                        "stateorprovince": "x", "postalcode": "x", "country": "x",
                        "phone": "x", "fax": "x", "email": "x@example.invalid", "url": "x",
                        "hours": "x", "instructions": "x", "role": "pointOfContact"}},
        "resources": resources,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def resource(title: str, provider: dict[str, Any]) -> dict[str, Any]:
    return {"type": "collection", "title": title, "description": title, "keywords": ["bench"],
            "extents": {"spatial": {"bbox": list(EXTENT),
                                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [{"type": "feature", **provider}]}


def summarise(times: list[float]) -> tuple[float, float, int]:
    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, int(np.ceil(0.99 * len(ms))) - 1)]
    return statistics.median(ms), p99, len(ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--pages", type=int, default=300, help="cmrisk page requests per size")
    parser.add_argument("--peer-pages", type=int, default=100)
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--parts", default="embedded,postgis",
                        help="embedded (vs pygeoapi) and/or postgis (vs tipg)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    parts = set(args.parts.split(","))

    from data_catalog.ingest import IngestOptions, ingest
    from data_catalog.paths import DataDir

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    data = DataDir(WORK / "data").ensure()
    files: dict[int, tuple[Path, Path | None]] = {}
    for n in sizes:
        print(f"writing {n:,} points", flush=True)
        files[n] = write_points(n, WORK, geojson=not args.no_peers and "embedded" in parts)
        ingest(data, "vector", files[n][0],
               IngestOptions(layer_id=f"points_{n}", title=f"{n} points"))

    if "postgis" in parts:
        run_postgis(sizes, data.root, args.pages, with_peer=not args.no_peers)
    if "embedded" not in parts:
        return
    results: dict[str, dict[int, dict[str, Any]]] = {"cmrisk": {}, "parquet": {}, "geojson": {}}
    port = free_port()
    env = {**os.environ, "CMRISK_DATA_DIR": str(data.root)}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "geo_service.asgi:app",
                               "--host", "127.0.0.1", "--port", str(port),
                               "--log-level", "warning"], env=env, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{base}/healthz", server)
        with httpx.Client(timeout=120) as client:
            for n in sizes:
                url = f"{base}/collections/points_{n}/items"
                t0 = time.perf_counter()
                client.get(url, params={"bbox": boxes(n, 1)[0], "limit": 100})
                load = time.perf_counter() - t0
                times = page_times(client, url, boxes(n, args.pages), budget_s=120)
                downloads = [download_time(client, f"{base}/collections/points_{n}/download",
                                           {"f": "geojson"}, n) for _ in range(3 if n < 10**6
                                                                               else 2)]
                results["cmrisk"][n] = {"pages": summarise(times), "first_s": load,
                                        "download": downloads}
                print("cmrisk", n, results["cmrisk"][n], flush=True)
    finally:
        stop(server)

    if not args.no_peers:
        run_peers(sizes, files, results, args.peer_pages)
    write_results(sizes, results)


TIPG_VERSION = "1.6.1"
LOAD_AVERAGE = os.getloadavg()[0]
"""The machine's load when the benchmark started."""


def server_process(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """A server whose output goes to a file (an unread pipe would block it)."""
    log = (WORK / f"{Path(argv[0]).name}-{len(list(WORK.glob('*.log')))}.log").open("wb")
    return subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)


def run_postgis(sizes: list[int], data_root: Path, pages: int, *, with_peer: bool) -> None:
    """cmrisk on PostGIS beside tipg on the same tables; writes `## Features on PostGIS`."""
    sys.path.insert(0, str(REPO))
    import psycopg

    from data_catalog.paths import DataDir
    from geo_service.features.postgis_load import publish_layers
    from tests.postgis import postgis_cluster

    tipg = BENCH_VENV / "bin" / "uvicorn"
    if with_peer and not any((BENCH_VENV / "lib").glob("python*/site-packages/tipg")):
        print("no tipg in .venv-bench: make bench installs it", flush=True)
        with_peer = False
    results: dict[str, dict[int, dict[str, Any]]] = {"cmrisk": {}, "tipg": {}}
    with postgis_cluster() as cluster, cluster.database() as url:
        t0 = time.perf_counter()
        report = publish_layers(url, DataDir(data_root))
        load_s = time.perf_counter() - t0
        print(report.summary(), flush=True)
        with psycopg.connect(url) as conn:
            tables = dict(conn.execute("SELECT id, table_name FROM cmrisk.collections")
                          .fetchall())
            version = conn.execute("SELECT postgis_lib_version(), current_setting("
                                   "'server_version')").fetchone()
        ours_port, tipg_port = free_port(), free_port()
        ours = server_process([sys.executable, "-m", "uvicorn", "geo_service.asgi:app",
                               "--host", "127.0.0.1", "--port", str(ours_port),
                               "--log-level", "warning"],
                              {**os.environ, "CMRISK_DATA_DIR": str(data_root),
                               "CMRISK_DATABASE_URL": url}, REPO)
        peer = server_process([str(tipg), "tipg.main:app", "--host", "127.0.0.1",
                               "--port", str(tipg_port), "--log-level", "warning"],
                              {**os.environ, "DATABASE_URL": url,
                               "TIPG_DB_SCHEMAS": '["cmrisk"]',
                               "TIPG_MAX_FEATURES_PER_QUERY": str(max(sizes))},
                              WORK) if with_peer else None
        ours_base, tipg_base = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{tipg_port}"
        try:
            wait_up(f"{ours_base}/healthz", ours)
            if peer is not None:
                wait_up(f"{tipg_base}/collections", peer)
            with httpx.Client(timeout=DOWNLOAD_TIMEOUT_S) as client:
                for n in sizes:
                    collection = f"points_{n}"
                    urls = {"cmrisk": (f"{ours_base}/collections/{collection}/items",
                                       {"f": "json"})}
                    if peer is not None:
                        urls["tipg"] = (f"{tipg_base}/collections/cmrisk.{tables[collection]}"
                                        "/items", {"f": "geojson",
                                                   "properties": "kind,value,x,y"})
                    times = alternating_pages(client, urls, boxes(n, pages), budget_s=180)
                    for name, (page_url, params) in urls.items():
                        if name == "cmrisk":
                            download = [download_time(
                                client, f"{ours_base}/collections/{collection}/download",
                                {"f": "geojson"}, n) for _ in range(3 if n < 10**6 else 2)]
                        else:
                            download = [download_time(client, page_url,
                                                      {**params, "limit": n}, n)
                                        for _ in range(1 if n >= 10**5 else 2)]
                        results[name][n] = {"pages": summarise(times[name]),
                                            "download": download}
                        print(name, "postgis", n, results[name][n], flush=True)
        finally:
            stop(ours)
            if peer is not None:
                stop(peer)
    write_postgis_results(sizes, results, load_s, report.summary(), version)


def alternating_pages(client: httpx.Client, urls: dict[str, tuple[str, dict[str, Any]]],
                      bboxes: list[str], budget_s: float) -> dict[str, list[float]]:
    """Seconds per page for each server, the same boxes in turn (who goes first alternates),
    after checking that both find the same number of features."""
    times: dict[str, list[float]] = {name: [] for name in urls}
    names = list(urls)
    started = time.monotonic()
    for index, box in enumerate(bboxes):
        matched = set()
        for name in names if index % 2 == 0 else names[::-1]:
            page_url, params = urls[name]
            t0 = time.perf_counter()
            response = client.get(page_url, params={**params, "bbox": box, "limit": 100})
            body = response.read()
            times[name].append(time.perf_counter() - t0)
            assert response.status_code == 200, (name, body[:300])
            matched.add(json.loads(body)["numberMatched"])
        assert len(matched) == 1, (box, matched)
        if time.monotonic() - started > budget_s:
            break
    return times


def write_postgis_results(sizes: list[int], results: dict[str, dict[int, dict[str, Any]]],
                          load_s: float, load: str, version: Any) -> None:
    header = " | ".join(f"{n:,} points" for n in sizes)
    lines = [
        f"PostgreSQL {version[1]} + PostGIS {version[0]} (Debian), a throwaway cluster on "
        "loopback (fsync off), loaded by `cmrisk db load`'s function: one table per collection "
        f"with a GiST index ({load}). cmrisk (`CMRISK_DATABASE_URL`, psycopg 3 pool) and tipg "
        f"{TIPG_VERSION} (asyncpg) serve the same tables, one uvicorn worker each; the client "
        "sends each box to both in turn (who goes first alternates) and checks that both "
        f"find the same `numberMatched`. A page: `bbox` of a random box holding ~{PAGE_TARGET}"
        " points, `limit=100`, the same four properties, body read (ms, p50 / p99). A "
        "download: every feature as GeoJSON (s, median; cmrisk `/download?f=geojson` "
        "streamed, tipg `/items?limit=N`).",
        "",
        f"| server | metric | {header} |",
        "|---|---|" + "---:|" * len(sizes),
    ]
    names = {"cmrisk": "cmrisk on PostGIS", "tipg": f"tipg {TIPG_VERSION}, same tables"}
    for key, label in names.items():
        row = results.get(key, {})
        if not row:
            continue
        lines.append(f"| {label} | page p50 / p99 (ms) | "
                     + " | ".join(_ms(row.get(n, {}).get("pages")) for n in sizes) + " |")
        lines.append(f"| {label} | full download (s) | "
                     + " | ".join(_s(row.get(n, {}).get("download")) for n in sizes) + " |")
    ratios = []
    for n in sizes:
        ours = results["cmrisk"].get(n, {}).get("pages")
        theirs = results["tipg"].get(n, {}).get("pages")
        ratios.append(f"{ours[0] / theirs[0]:.2f}×" if ours and theirs else "–")
    lines.append("| **cmrisk / tipg** | page p50 ratio | " + " | ".join(ratios) + " |")
    lines += ["", f"Load of the {len(sizes)} collections into PostGIS: {load_s:.1f} s. "
              "Target: cmrisk-on-PostGIS page p50 ≤ tipg's (ratio ≤ 1).",
              "", f"Load average (1 min) when the run started: {LOAD_AVERAGE:.2f} on "
              f"{os.cpu_count()} cores; requests alternate between the two servers, so other "
              "load affects both."]
    replace_section(HERE / "RESULTS.md", "Features on PostGIS", "\n".join(lines))
    print("\n".join(lines))


def run_peers(sizes: list[int], files: dict[int, tuple[Path, Path | None]],
              results: dict[str, dict[int, dict[str, Any]]], pages: int) -> None:
    """pygeoapi with its Parquet and GeoJSON providers on the same files."""
    binary = BENCH_VENV / "bin"
    if not (binary / "pygeoapi").exists():
        print("no .venv-bench with pygeoapi: peers skipped", flush=True)
        return
    port = free_port()
    resources = {}
    for n in sizes:
        parquet, geojson = files[n]
        resources[f"p{n}"] = resource(f"{n} points (Parquet)", {
            "name": "Parquet", "data": {"source": str(parquet)}, "id_field": "id",
            "x_field": "x", "y_field": "y"})
        if geojson is not None:
            resources[f"g{n}"] = resource(f"{n} points (GeoJSON)", {
                "name": "GeoJSON", "data": str(geojson), "id_field": "id"})
    config = WORK / "pygeoapi.yml"
    openapi = WORK / "pygeoapi-openapi.yml"
    pygeoapi_config(config, port, resources, max_items=max(sizes))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run([str(binary / "pygeoapi"), "openapi", "generate", str(config),
                    "--output-file", str(openapi)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    server = subprocess.Popen([str(binary / "uvicorn"), "pygeoapi.starlette_app:APP",
                               "--host", "127.0.0.1", "--port", str(port),
                               "--log-level", "warning"], env=env, cwd=WORK)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{base}/collections", server)
        with httpx.Client(timeout=DOWNLOAD_TIMEOUT_S) as client:
            for n in sizes:
                for kind, prefix in (("parquet", "p"), ("geojson", "g")):
                    if f"{prefix}{n}" not in resources:
                        continue
                    url = f"{base}/collections/{prefix}{n}/items"
                    count = pages if kind == "parquet" else max(3, pages // 10)
                    times = page_times(client, url, boxes(n, count), budget_s=90)
                    reps = 1 if n >= 10**5 else 2
                    downloads = [download_time(client, url, {"limit": n, "f": "json"}, n)
                                 for _ in range(reps)]
                    results[kind][n] = {"pages": summarise(times), "download": downloads}
                    print(kind, n, results[kind][n], flush=True)
    finally:
        stop(server)


def _ms(value: tuple[float, float, int] | None) -> str:
    return "–" if value is None else f"{value[0]:.1f} / {value[1]:.1f} (n={value[2]})"


def _s(values: list[float | None] | None) -> str:
    if not values:
        return "–"
    done = [v for v in values if v is not None]
    if not done:
        return f"> {DOWNLOAD_TIMEOUT_S:.0f}"
    return f"{statistics.median(done):.2f}"


def write_results(sizes: list[int], results: dict[str, dict[int, dict[str, Any]]]) -> None:
    header = " | ".join(f"{n:,} points" for n in sizes)
    lines = [
        "One uvicorn worker each on loopback, 2 cores. A page: `bbox` of a random box holding "
        f"~{PAGE_TARGET} points, `limit=100`, body read (ms, p50 / p99). A download: every "
        "feature as GeoJSON (s, median; cmrisk `/download?f=geojson` streamed, pygeoapi "
        "`/items?limit=N`). cmrisk loads a collection once per layer version (first request, "
        "included in neither figure; listed).",
        "",
        f"| server | metric | {header} |",
        "|---|---|" + "---:|" * len(sizes),
    ]
    names = {"cmrisk": "cmrisk (GeoParquet in memory, STRtree)",
             "parquet": "pygeoapi Parquet provider", "geojson": "pygeoapi GeoJSON provider"}
    for key, label in names.items():
        row = results.get(key, {})
        if not row:
            continue
        lines.append(f"| {label} | page p50 / p99 (ms) | "
                     + " | ".join(_ms(row.get(n, {}).get("pages")) for n in sizes) + " |")
        lines.append(f"| {label} | full download (s) | "
                     + " | ".join(_s(row.get(n, {}).get("download")) for n in sizes) + " |")
        if key == "cmrisk":
            lines.append(f"| {label} | first request, loads the collection (s) | "
                         + " | ".join(f"{row[n]['first_s']:.2f}" if n in row else "–"
                                      for n in sizes) + " |")
    ratios = []
    for n in sizes:
        ours = results["cmrisk"].get(n, {}).get("pages")
        theirs = results["parquet"].get(n, {}).get("pages")
        ratios.append(f"{theirs[0] / ours[0]:.0f}×" if ours and theirs else "–")
    lines.append("| **pygeoapi Parquet / cmrisk** | page p50 ratio | " + " | ".join(ratios)
                 + " |")
    big = results["cmrisk"].get(max(sizes), {}).get("pages")
    lines += ["", f"Targets: page p50 ≤ 20 ms at 10^6 points (measured "
              f"{big[0]:.1f} ms); ≥ 10× faster than pygeoapi's Parquet provider."
              if big else ""]
    replace_section(HERE / "RESULTS.md", "Features", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
