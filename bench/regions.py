"""Regions benchmark: the corridor's full 1 km run beside Darién's, and the service's start-up.

For each region: the demo's generation and the pipeline's run (seconds per stage, peak RSS), each
in a fresh process; the corridor at 1 km (its region file) and at 5 km (the test suite's file).
Then the cold import of the service (`import geo_service.app`, median of 5 fresh processes) and
whether it imports dask, now and, with `--baseline-src DIR` (a source tree of an earlier commit,
e.g. `git archive afce8b7 | tar -x -C DIR`), before. Writes the `## Regions` section of
bench/RESULTS.md.

    .venv/bin/python bench/regions.py [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from results import replace_section  # noqa: E402

CORRIDOR_5KM = REPO / "tests" / "data" / "regions" / "corridor_5km.yaml"
RUNS = (("darien", "darien", "1 km"), ("corridor", "corridor", "1 km"),
        ("corridor", str(CORRIDOR_5KM), "5 km"))
IMPORT_PROBE = (
    "import sys, time\n"
    "started = time.perf_counter()\n"
    "import geo_service.app\n"
    "took = time.perf_counter() - started\n"
    "print(took, int('dask' in sys.modules), int('xarray' in sys.modules), len(sys.modules))\n"
)


def child_demo(region: str, root: Path) -> dict[str, object]:
    """Write a region's demo in this process; its time and peak RSS."""
    from data_catalog.demo.generate import write_demo
    from data_catalog.paths import DataDir

    started = time.perf_counter()
    manifest = write_demo(DataDir(root).ensure().region(region).ensure().inputs, region=region)
    return {"seconds": time.perf_counter() - started, "files": len(manifest.files),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_run(region_file: str, root: Path) -> dict[str, object]:
    """Run a region in this process; its stages, cells, areas and peak RSS."""
    from data_catalog.paths import DataDir
    from pipelines.config import load_region
    from pipelines.grid import Grid
    from pipelines.run import run

    config = load_region(region_file)
    result = run(config, DataDir(root), switch=False)
    grid = Grid.from_spec(config.grid)
    return {"timings_s": result.timings_s, "cells": grid.width * grid.height,
            "areas": result.summary["areas"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(kind: str, arg: str, root: Path) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, arg, str(root)],
                         check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def import_times(source: Path | None, repeats: int = 5) -> dict[str, float]:
    """Median cold import of the service, from this tree or from `source`."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    rows = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], check=True,
                             capture_output=True, text=True, env=env, cwd=source or REPO)
        took, dask, xarray, modules = out.stdout.split()
        rows.append((float(took), int(dask), int(xarray), int(modules)))
    return {"seconds": statistics.median(r[0] for r in rows), "dask": rows[0][1],
            "xarray": rows[0][2], "modules": rows[0][3]}


def main() -> None:
    """Run everything in child processes and write the results section."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=3)
    parser.add_argument("--baseline-src", type=Path)
    args = parser.parse_args()
    if args.child:
        kind, arg, root = args.child
        result = child_demo(arg, Path(root)) if kind == "demo" else child_run(arg, Path(root))
        print(json.dumps(result))
        return
    demos, runs = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for region in ("darien", "corridor"):
            demos[region] = _child("demo", region, root)
            print(f"demo {region}: done", file=sys.stderr)
        for region, region_file, label in RUNS:
            runs.append((region, label, _child("run", region_file, root)))
            print(f"run {region} {label}: done", file=sys.stderr)
    now = import_times(None)
    before = import_times(args.baseline_src) if args.baseline_src else None

    lines = [
        "Each demo and each run in a fresh process (peak RSS is its own); the corridor's 1 km",
        "run is its region file as shipped, its 5 km run the test suite's",
        "(`tests/data/regions/corridor_5km.yaml`). Seconds; 2 cores shared with other work, one",
        "run each.",
        "",
        "| | " + " | ".join(f"{region} {label}" for region, label, _ in runs) + " |",
        "|---|" + "---:|" * len(runs),
        "| cells | " + " | ".join(f"{r['cells']:,}" for _, _, r in runs) + " |",
        "| areas scored | " + " | ".join(
            ", ".join(f"{n:,} {k}" for k, n in r["areas"].items())  # type: ignore[attr-defined]
            for _, _, r in runs) + " |",
        "| demo inputs written (s) | " + " | ".join(
            f"{demos[region]['seconds']:.1f}" if label == "1 km" else "(same)"
            for region, label, _ in runs) + " |",
    ]
    stages = list(runs[0][2]["timings_s"])  # type: ignore[call-overload]
    for stage in stages:
        lines.append(f"| {stage} | " + " | ".join(
            f"{r['timings_s'][stage]:.2f}" for _, _, r in runs) + " |")  # type: ignore[index]
    lines.append("| **run total** | " + " | ".join(
        f"**{sum(r['timings_s'].values()):.2f}**" for _, _, r in runs) + " |")  # type: ignore[attr-defined]
    lines.append("| peak RSS of the run (MB) | " + " | ".join(
        f"{r['peak_rss_mb']:.0f}" for _, _, r in runs) + " |")
    lines += [
        "",
        "Service start-up: `import geo_service.app` in a fresh process, median of 5.",
        "",
        "| | seconds | imports dask | imports xarray | modules |",
        "|---|---:|---|---|---:|",
    ]
    if before is not None:
        lines.append(f"| before (branch point) | {before['seconds']:.2f} | "
                     f"{'yes' if before['dask'] else 'no'} | "
                     f"{'yes' if before['xarray'] else 'no'} | {before['modules']:.0f} |")
    lines.append(f"| now | {now['seconds']:.2f} | {'yes' if now['dask'] else 'no'} | "
                 f"{'yes' if now['xarray'] else 'no'} | {now['modules']:.0f} |")
    replace_section(HERE / "RESULTS.md", "Regions", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
