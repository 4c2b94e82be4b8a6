"""Scale benchmark: the chunked pipeline at 1×, 4×, 16× and 64× the Darién demo's cells, locally
and on a 2-worker dask cluster, and the corridor region at 1 km.

Each run is its own fresh process (so its peak RSS is its own): seconds per stage, seconds per
million cells per stage, peak RSS of the run's process (and, on the cluster, of the largest
worker). Targets (issue 16): 64× peak RSS ≤ 1 GB; time per million cells at 64× ≤ 1.5× that at
16× for every stage. The cluster is a `dask scheduler` and two `dask worker` processes (one
thread each) on loopback. The machine's load average is recorded before and after: on a shared
machine the times are as noisy as that load says. Writes the `## Scale` section of
bench/RESULTS.md.

    .venv/bin/python bench/scale.py [--scales 1,4,16,64] [--cluster-scales 1,4,16]
        [--no-cluster] [--no-corridor]

The corridor run is followed by the load of its planning map in headless Chromium
(`bench/map_load.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import replace_section  # noqa: E402

BIN = Path(sys.executable).parent
CHUNKED = ("align", "surfaces", "indicators", "score", "write", "areas", "sensitivity")
"""The stages that go window by window (the others are per run, not per cell)."""
RSS_TARGET_MB = 1024
RATIO_TARGET = 1.5


def child(region: str, scale: int, root: Path, scheduler: str | None) -> dict[str, Any]:
    """Run one region at one scale in this process (on the cluster when `scheduler`)."""
    from data_catalog.paths import DataDir
    from pipelines.config import load_region
    from pipelines.grid import Grid
    from pipelines.run import run

    client = None
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
    memory = StageMemory()
    try:
        config = load_region(region)
        started = time.perf_counter()
        # The corridor's run becomes current: its map is timed afterwards (bench/map_load.py).
        with memory.sampling():
            result = run(config, DataDir(root), scale=scale, switch=region != "darien",
                         hook=memory.hook)
        wall = time.perf_counter() - started
        workers_mb = None
        if client is not None:
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            workers_mb = max(peaks.values()) / 1024
    finally:
        if client is not None:
            client.close()
    grid = Grid.from_spec(config.grid, scale)
    return {"region": region, "scale": scale, "cells": grid.width * grid.height,
            "windows": -(-grid.width // grid.chunk) * -(-grid.height // grid.chunk),
            "timings_s": result.timings_s, "wall_s": wall,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_peak_rss_mb": workers_mb, "stage_rss_mb": memory.peaks}


class StageMemory:
    """The run process's resident memory sampled every `PERIOD_S` and kept per stage: the
    highest sample while each stage ran (MB)."""

    PERIOD_S = 0.02

    def __init__(self) -> None:
        self.stage = "start"
        self.peaks: dict[str, float] = {}

    def hook(self, stage: str, event: str) -> None:
        """A `pipelines.run.StageHook`: the stage being sampled."""
        if event == "start":
            self.stage = stage

    @contextmanager
    def sampling(self) -> Iterator[None]:
        """Sample in a thread while the block runs."""
        import threading

        import psutil

        process, done = psutil.Process(), threading.Event()

        def sample() -> None:
            while True:
                mb = process.memory_info().rss / 2**20
                self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), mb)
                if done.wait(self.PERIOD_S):
                    return

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def cluster(workers: int = 2) -> Iterator[str]:
    """A dask scheduler and `workers` one-thread workers on loopback, stopped afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs += [subprocess.Popen([str(BIN / "dask"), "worker", address, "--host", "127.0.0.1",
                                "--nthreads", "1", "--no-dashboard"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for _ in range(workers)]
    try:
        from distributed import Client

        with Client(address, timeout=120) as client:
            client.wait_for_workers(workers, timeout=300)
        yield address
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def _run_child(region: str, scale: int, root: Path, scheduler: str | None) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", region, "--scale", str(scale),
            "--root", str(root)]
    if scheduler:
        args += ["--scheduler", scheduler]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    row["where"] = "cluster" if scheduler else "local"
    print(f"{region} {scale}× {row['where']}: {row['wall_s']:.1f} s, "
          f"{row['peak_rss_mb']:.0f} MB", file=sys.stderr)
    return row


def per_million(row: dict[str, Any], stage: str) -> float:
    """Seconds per million cells of one stage."""
    return float(row["timings_s"][stage]) / (row["cells"] / 1e6)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    stages = list(rows[0]["timings_s"])
    head = " | ".join(f"{r['scale']}× {r['where']} ({r['cells'] / 1e6:.2f} M cells, "
                      f"{r['windows']} windows)" for r in rows)
    lines = [f"| stage | {head} |", "|---|" + "---:|" * len(rows)]
    for stage in stages:
        cells = [f"{r['timings_s'][stage]:.2f}" + (f" ({per_million(r, stage):.2f}/M)"
                                                   if stage in CHUNKED else "") for r in rows]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(
        f"**{sum(r['timings_s'].values()):.2f}**" for r in rows) + " |")
    lines.append("| peak RSS, run process (MB) | " + " | ".join(
        f"{r['peak_rss_mb']:.0f}" for r in rows) + " |")
    if any(r["worker_peak_rss_mb"] for r in rows):
        lines.append("| peak RSS, largest worker (MB) | " + " | ".join(
            f"{r['worker_peak_rss_mb']:.0f}" if r["worker_peak_rss_mb"] else "–"
            for r in rows) + " |")
    return lines


def _memory_table(rows: list[dict[str, Any]]) -> list[str]:
    """Peak resident memory of the run's process while each stage ran, one row per run."""
    stages = [s for s in rows[0]["stage_rss_mb"] if s != "start"]
    lines = ["| run | " + " | ".join(stages) + " |", "|---|" + "---:|" * len(stages)]
    for r in rows:
        lines.append(f"| {r['region']} {r['scale']}× {r['where']} | " + " | ".join(
            f"{r['stage_rss_mb'].get(s, 0):.0f}" for s in stages) + " |")
    return lines


def _targets(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for where in ("local", "cluster"):
        by_scale = {r["scale"]: r for r in rows if r["where"] == where}
        if 64 in by_scale:
            rss = by_scale[64]["peak_rss_mb"]
            lines.append(f"- {where}, 64× peak RSS: **{rss:.0f} MB** (target ≤ {RSS_TARGET_MB}:"
                         f" {'met' if rss <= RSS_TARGET_MB else 'NOT met'})")
        if 64 in by_scale and 16 in by_scale:
            ratios = {s: per_million(by_scale[64], s) / max(per_million(by_scale[16], s), 1e-9)
                      for s in CHUNKED}
            worst = max(ratios, key=lambda s: ratios[s])
            lines.append(f"- {where}, time per million cells 64× / 16×: " + ", ".join(
                f"{s} {r:.2f}" for s, r in ratios.items())
                + f" (worst: {worst} {ratios[worst]:.2f}; target ≤ {RATIO_TARGET}:"
                f" {'met' if ratios[worst] <= RATIO_TARGET else 'NOT met'})")
    return lines


def main() -> None:
    """Run every configuration in child processes and write the section."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,4,16,64")
    parser.add_argument("--cluster-scales", default=None,
                        help="scales run on the cluster (default: --scales)")
    parser.add_argument("--no-cluster", action="store_true")
    parser.add_argument("--no-corridor", action="store_true")
    parser.add_argument("--no-local", action="store_true")
    parser.add_argument("--section", default="Scale",
                        help="the RESULTS.md section written (e.g. a later cluster-only run)")
    parser.add_argument("--child")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--root")
    parser.add_argument("--scheduler")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.scale, Path(args.root), args.scheduler)))
        return
    from data_catalog.demo.generate import write_demo
    from data_catalog.paths import DataDir

    scales = [int(s) for s in args.scales.split(",")]
    cluster_scales = [int(s) for s in (args.cluster_scales or args.scales).split(",")]
    load_before = os.getloadavg()
    started = time.perf_counter()
    local: list[dict[str, Any]] = []
    remote: list[dict[str, Any]] = []
    corridor: list[dict[str, Any]] = []
    map_result: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = DataDir(root).ensure()
        write_demo(data.inputs)
        if not args.no_local:
            local = [_run_child("darien", scale, root, None) for scale in scales]
        if not args.no_cluster:
            with cluster(2) as address:
                remote = [_run_child("darien", scale, root, address)
                          for scale in cluster_scales]
        if not args.no_corridor:
            write_demo(data.region("corridor").ensure().inputs, region="corridor")
            corridor = [_run_child("corridor", 1, root, None)]
            from map_load import lines as map_lines
            from map_load import measure

            map_result = map_lines(measure(root, "corridor"))
    load_after = os.getloadavg()
    lines = [
        "The chunked pipeline (`pipelines/chunks.py`): every stage from align to sensitivity",
        "reads, computes and writes by window (512 cells), intermediates in tiled scratch",
        "GeoTIFFs; the area stages spill the coverage by window, then score blocks of areas "
        "(docs/METHOD.md).",
        "`run(config, scale=N)` in a fresh",
        "process per row; seconds per stage with seconds per million cells for the chunked",
        "stages. Cluster: a `dask scheduler` and two one-thread `dask worker` processes on",
        "loopback (the run's process reads and writes the scratch, the workers compute).",
        "",
        f"Machine: {os.cpu_count()} cores, **shared** with other sessions: load average "
        f"{load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f} (1/5/15 min) "
        f"before, {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} after "
        f"({(time.perf_counter() - started) / 60:.0f} min in all). On a loaded machine the "
        "times are noisy; memory is not.",
    ]
    if local:
        lines += ["", "### Darién, local (threads)", "", *_table(local)]
    if remote:
        lines += ["", "### Darién, 2-worker cluster", "", *_table(remote)]
    if corridor:
        lines += ["", "### Corridor at 1 km, local", "", *_table(corridor),
                  "", "### Corridor at 1 km: the planning map, every layer on", "",
                  *map_result]
    lines += ["", "### Memory by stage", "",
              "Resident memory (MB) of each run's process, sampled every 20 ms, the highest "
              "while each stage ran (on the cluster, the workers' memory is the row above's "
              "\"largest worker\").", "", *_memory_table(local + remote + corridor)]
    lines += ["", "### Targets", "", *_targets(local + remote)]
    replace_section(HERE / "RESULTS.md", args.section, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
