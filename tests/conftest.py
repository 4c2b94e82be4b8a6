"""Shared fixtures: small real rasters and vectors written per test, and a demo data dir."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from data_catalog.paths import DataDir
from geo_service.app import create_app
from geo_service.features.postgis_load import publish_layers
from geo_service.settings import Settings
from tests.live import live_service
from tests.postgis import Cluster, postgis_cluster

# Property tests must not depend on the machine's speed or on earlier runs: no deadlines, no
# "too slow" health check, the same examples every time, no example database.
settings.register_profile("cmrisk", deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("cmrisk")

REPO = Path(__file__).resolve().parents[1]

# The test clients name the host "testserver" (Starlette's TestClient); live servers are
# reached at 127.0.0.1. Every app a test makes, and every server it starts, allows both.
os.environ.setdefault("CMRISK_ALLOWED_HOSTS", '["testserver", "127.0.0.1", "localhost", "::1"]')
# The command line speaks the reader's language (CMRISK_LANG, else LANG): tests that read its
# messages read them in English unless they ask for another language themselves.
os.environ["CMRISK_LANG"] = "en"


@pytest.fixture
def write_raster(tmp_path: Path) -> Callable[..., Path]:
    """Write a single-band GeoTIFF: write_raster(name, array, crs, transform, nodata=None)."""

    def write(name: str, array: np.ndarray, crs: str, transform: Affine,
              nodata: float | None = None, tags: dict[str, str] | None = None) -> Path:
        path = tmp_path / name
        with rasterio.open(path, "w", driver="GTiff", width=array.shape[1],
                           height=array.shape[0], count=1, dtype=array.dtype.name, crs=crs,
                           transform=transform, nodata=nodata) as dst:
            dst.write(array, 1)
            if tags:
                dst.update_tags(**tags)
        return path

    return write


@pytest.fixture(scope="session")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the generated demo inputs (written once per session)."""
    from data_catalog.demo.generate import write_demo
    from data_catalog.paths import DataDir

    root = tmp_path_factory.mktemp("demo-inputs")
    write_demo(DataDir(root).ensure().inputs)
    return root


@pytest.fixture(scope="session")
def demo_run(demo_inputs: Path) -> Path:
    """A data dir with the demo inputs and one completed, current pipeline run.

    Read-only for tests: copy it (`copy_data_dir`) before changing anything.
    """
    from data_catalog.paths import DataDir
    from pipelines.config import load_region
    from pipelines.run import run

    run(load_region("darien"), DataDir(demo_inputs))
    return demo_inputs


CORRIDOR_5KM = REPO / "tests" / "data" / "regions" / "corridor_5km.yaml"
"""The corridor region at 5 km cells, through a region file that extends it."""


def cmrisk(*args: str | Path) -> None:
    """Run the `cmrisk` command line in a child process; it must succeed."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "geo_service.cli", *map(str, args)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="session")
def two_regions(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the Darién run and a corridor run at 5 km, both made by the command
    line (`cmrisk demo --region corridor`, `cmrisk run <file>`). Read-only for tests."""
    import shutil

    root = tmp_path_factory.mktemp("two-regions") / "data"
    shutil.copytree(demo_run, root, symlinks=True)
    cmrisk("demo", "--region", "corridor", "--data-dir", root)
    cmrisk("run", CORRIDOR_5KM, "--data-dir", root)
    return root


@pytest.fixture
def copy_data_dir(tmp_path: Path) -> Callable[[Path], Path]:
    """Copy a data dir (symlinks kept) into this test's tmp dir; returns the copy's root."""
    import shutil

    def copy(source: Path) -> Path:
        target = tmp_path / "data"
        shutil.copytree(source, target, symlinks=True)
        return target

    return copy


@pytest.fixture(scope="session")
def postgis() -> Iterator[Cluster]:
    """A PostgreSQL 15 + PostGIS 3 cluster on loopback, started once per session."""
    with postgis_cluster() as cluster:
        yield cluster


@dataclass
class FeatureBackend:
    """One feature store the service can run on: the embedded GeoParquet files, or PostGIS.

    Tests that change the data dir call `publish` afterwards, as `cmrisk ingest` and
    `cmrisk run` do when `CMRISK_DATABASE_URL` is set.
    """

    name: str
    url: str | None = None
    apps: list[FastAPI] = field(default_factory=list)

    def settings(self, data_dir: Path, **fields: Any) -> Settings:
        """Service settings for `data_dir` on this store."""
        return Settings(data_dir=data_dir, database_url=self.url, **fields)

    def env(self) -> dict[str, str]:
        """Environment of a live service on this store."""
        return {"CMRISK_DATABASE_URL": self.url} if self.url else {}

    def publish(self, data_dir: Path) -> None:
        """Load the data dir's current layers into the store (PostGIS only)."""
        if self.url:
            publish_layers(self.url, DataDir(data_dir))

    def client(self, data_dir: Path, **fields: Any) -> TestClient:
        """A TestClient of the service on `data_dir` (published first)."""
        self.publish(data_dir)
        app = create_app(self.settings(data_dir, **fields))
        self.apps.append(app)
        return TestClient(app)

    @contextmanager
    def live(self, data_dir: Path) -> Iterator[str]:
        """A live service (uvicorn on loopback) on `data_dir` (published first): its URL."""
        self.publish(data_dir)
        with live_service(data_dir, env=self.env()) as url:
            yield url

    def close(self) -> None:
        """Close the database connections of the apps made here."""
        for app in self.apps:
            app.state.regions.close()


@pytest.fixture(scope="module", params=["geoparquet", "postgis"])
def feature_backend(request: pytest.FixtureRequest) -> Iterator[FeatureBackend]:
    """Each feature store in turn, with a fresh PostGIS database per module."""
    if request.param == "geoparquet":
        backend = FeatureBackend("geoparquet")
        yield backend
        backend.close()
        return
    cluster: Cluster = request.getfixturevalue("postgis")
    with cluster.database() as url:
        backend = FeatureBackend("postgis", url)
        yield backend
        backend.close()


@pytest.fixture(params=["files", "postgres"])
def version_backend(request: pytest.FixtureRequest,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """Each input-version store in turn: the data dir's folder, then PostgreSQL (a fresh
    database, named by `CMRISK_DATABASE_URL` for this test as `cmrisk` reads it); yields the
    database URL or None."""
    if request.param == "files":
        monkeypatch.delenv("CMRISK_DATABASE_URL", raising=False)
        yield None
        return
    cluster: Cluster = request.getfixturevalue("postgis")
    with cluster.database() as url:
        monkeypatch.setenv("CMRISK_DATABASE_URL", url)
        yield url
