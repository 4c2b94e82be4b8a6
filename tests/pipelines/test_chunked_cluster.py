"""The chunked run on a dask cluster (a `dask scheduler` and two `dask worker` processes on
loopback) is bit-identical to a local run with the same chunking, for both regions."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

from data_catalog.paths import DataDir
from tests.conftest import cmrisk

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
VOLATILE = ["run_id", "as_of"]

# Small windows, so that each region's test-sized grid is cut into many (with halos crossing
# window edges), and fewer sensitivity draws, so that the four runs stay short.
REGIONS = {
    "darien": "extends: darien\ngrid: {chunk_cells: 128}\nsensitivity: {draws: 20}\n",
    "corridor": ("extends: corridor\ngrid: {resolution_m: 5000, chunk_cells: 64}\n"
                 "sensitivity: {draws: 20}\n"),
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    """A scheduler and two single-threaded workers, each its own process, on loopback."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    common = ["--no-dashboard"]
    scheduler = subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
         address.rsplit(":", 1)[1], *common],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = [subprocess.Popen(
        [str(BIN / "dask"), "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
         "--nworkers", "1", *common],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        with Client(address, timeout=120) as client:
            client.wait_for_workers(2, timeout=300)
        yield address
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _task_prefixes(address: str) -> set[str]:
    from distributed import Client

    with Client(address, timeout=60) as client:
        return set(client.run_on_scheduler(
            lambda dask_scheduler: list(dask_scheduler.task_prefixes)))


def _assert_same_run(local: Path, remote: Path) -> None:
    rasters = sorted(p.name for p in local.glob("*.tif"))
    assert rasters and rasters == sorted(p.name for p in remote.glob("*.tif"))
    for name in rasters:
        with rasterio.open(local / name) as a, rasterio.open(remote / name) as b:
            assert {**a.profile, "nodata": repr(a.nodata)} == \
                {**b.profile, "nodata": repr(b.nodata)}, name  # NaN != NaN
            assert a.tags() == b.tags(), name
            # Bytes, not values: NaN == NaN, and -0.0 != 0.0.
            assert a.read(1).tobytes() == b.read(1).tobytes(), name
    tables = sorted(p.name for p in local.glob("*.parquet"))
    assert tables and tables == sorted(p.name for p in remote.glob("*.parquet"))
    for name in tables:
        a, b = gpd.read_parquet(local / name), gpd.read_parquet(remote / name)
        a = a.drop(columns=[c for c in VOLATILE if c in a.columns])
        b = b.drop(columns=[c for c in VOLATILE if c in b.columns])
        pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b), check_exact=True)


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_a_cluster_run_is_bit_identical_to_a_local_run(
        region: str, dask_cluster: str, demo_run: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(demo_run, root, symlinks=True)
    if region != "darien":
        cmrisk("demo", "--region", region, "--data-dir", root)
    region_file = tmp_path / f"{region}_chunked.yaml"
    region_file.write_text(REGIONS[region], encoding="utf-8")
    data = DataDir(root)

    cmrisk("run", region_file, "--data-dir", root)
    local = data.region(region).current.resolve()
    cmrisk("run", region_file, "--data-dir", root, "--scheduler", dask_cluster)
    remote = data.region(region).current.resolve()
    assert remote != local

    grid = json.loads((remote / "run.json").read_text(encoding="utf-8"))["grid"]
    chunk = 128 if region == "darien" else 64
    assert grid["width"] > 2 * chunk and grid["height"] > 2 * chunk  # many windows
    # Every chunked stage ran on the cluster's workers, not in the command's threads.
    prefixes = _task_prefixes(dask_cluster)
    for stage in ("align_block", "surface_block", "indicator_block", "score_block",
                  "area_block", "sensitivity_block"):
        assert any(p.startswith(stage) for p in prefixes), (stage, prefixes)
    _assert_same_run(local, remote)
    scored = [gpd.read_parquet(p) for p in remote.glob("*.parquet")]
    assert any(np.isfinite(f["risk"]).any() for f in scored if "risk" in f.columns)
