"""`cmrisk run --scheduler ADDR`: the same graph on an existing dask.distributed cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
from distributed import LocalCluster

from data_catalog.paths import DataDir


def test_run_on_a_dask_cluster_gives_the_same_scores(demo_run: Path, copy_data_dir) -> None:
    root = copy_data_dir(demo_run)
    data = DataDir(root)
    local = data.current_run()
    assert local is not None
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        result = subprocess.run(
            [sys.executable, "-m", "geo_service.cli", "run", "darien", "--data-dir", str(root),
             "--scheduler", cluster.scheduler_address],
            capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        # The scoring blocks ran on the cluster, not in the command's own threads.
        prefixes = set(cluster.scheduler.task_prefixes)
        assert any("block" in prefix for prefix in prefixes), prefixes
    remote = data.current_run()
    assert remote is not None and remote != local
    for name in ("risk", "vulnerability", "risk_class"):
        with rasterio.open(local / f"{name}.tif") as a, rasterio.open(remote / f"{name}.tif") as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))
    assert json.loads((remote / "run.json").read_text())["summary"]["areas"]
