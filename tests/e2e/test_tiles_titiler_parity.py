"""Our tiles equal TiTiler's, pixel for pixel, on a COG ingested with a colormap and rescale.

TiTiler (pinned, in its own virtual environment `.venv-bench`, which `make test` builds) runs
as a real uvicorn server on a free loopback port; our service answers through TestClient.
Compared: the decoded RGBA of each tile, ±1 per channel. RGB is compared where either image
is visible (alpha > 0): a fully transparent pixel has no colour. Tiles TiTiler answers 404
(outside the data) must be fully transparent 200s here. This test never skips.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
from affine import Affine
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from data_catalog.paths import DataDir
from geo_service.app import create_app
from geo_service.cli import app as cli
from geo_service.settings import Settings
from tests.live import live_service
from tests.pngs import decode

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BENCH_VENV = Path(os.environ.get("CMRISK_BENCH_VENV", REPO / ".venv-bench"))
TMS = morecantile.tms.get("WebMercatorQuad")
LAYER = "parity"
RESCALE = "0,10"
ZOOMS = range(7, 13)
TILES_PER_ZOOM = 11


@pytest.fixture(scope="module")
def titiler() -> Iterator[str]:
    uvicorn = BENCH_VENV / "bin" / "uvicorn"
    if not uvicorn.exists():
        pytest.fail(f"TiTiler is not installed in {BENCH_VENV}: run `make bench-venv` "
                    "(`make test` does it)")
    command = [str(uvicorn), "titiler.application.main:app", "--host", "127.0.0.1",
               "--port", "{port}", "--workers", "1", "--log-level", "warning"]
    with live_service(None, command=command, timeout_s=120) as url:
        yield url


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    """A float32 UTM raster with NaN nodata, ingested with `--colormap viridis --rescale`."""
    folder = tmp_path_factory.mktemp("parity")
    rows, cols = np.mgrid[0:1400, 0:1400].astype("float32")
    rng = np.random.default_rng(7)
    values = (5 + 4.5 * np.sin(cols / 90) * np.cos(rows / 130)
              + rng.normal(0, 0.4, rows.shape)).astype("float32")
    values[200:500, 300:700] = np.nan
    values[1300:, :] = -3.0  # below the stretch: clipped to the first colour
    source = folder / "source.tif"
    with rasterio.open(source, "w", driver="GTiff", width=1400, height=1400, count=1,
                       dtype="float32", crs="EPSG:32618", nodata=float("nan"),
                       transform=Affine(150.0, 0, 210_000, 0, -150.0, 1_010_000)) as dst:
        dst.write(values, 1)
    data = DataDir(folder / "data").ensure()
    result = CliRunner().invoke(cli, ["ingest", "raster", str(source), "--id", LAYER,
                                      "--colormap", "viridis", "--rescale", RESCALE,
                                      "--data-dir", str(data.root)])
    assert result.exit_code == 0, result.output
    return data


def tiles_to_compare(bbox: list[float]) -> list[morecantile.Tile]:
    west, south, east, north = bbox
    chosen = []
    for z in ZOOMS:
        around = list(TMS.tiles(west - 0.25, south - 0.25, east + 0.25, north + 0.25, [z]))
        step = max(1, len(around) // TILES_PER_ZOOM)
        chosen += around[::step][:TILES_PER_ZOOM]
    return chosen


def test_tiles_equal_titiler(titiler: str, ingested: DataDir) -> None:
    asset = ingested.layers / LAYER / "data.tif"
    with TestClient(create_app(Settings(data_dir=ingested.root))) as ours:
        layer = ours.get(f"/layers/{LAYER}").json()
        tiles = tiles_to_compare(layer["bbox"])
        assert len(tiles) >= 50
        compared = drawn = absent = 0
        for tile in tiles:
            response = ours.get(f"/tiles/{LAYER}/{tile.z}/{tile.x}/{tile.y}.png")
            assert response.status_code == 200, (tile, response.text)
            mine = decode(response.content)
            url = (f"{titiler}/cog/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
                   f"?url={asset}&rescale={RESCALE}&colormap_name=viridis")
            try:
                with urllib.request.urlopen(url, timeout=60) as peer:
                    theirs = decode(peer.read())
            except urllib.error.HTTPError as error:
                assert error.code == 404, (tile, error.code)
                assert (mine[..., 3] == 0).all(), f"{tile}: TiTiler 404, ours not transparent"
                absent += 1
                continue
            difference = np.abs(mine.astype(np.int16) - theirs.astype(np.int16))
            assert (difference[..., 3] <= 1).all(), f"{tile}: alpha differs"
            visible = (mine[..., 3] > 0) | (theirs[..., 3] > 0)
            assert (difference[visible][:, :3] <= 1).all(), f"{tile}: colour differs"
            compared += 1
            drawn += int(visible.any())
    print(f"parity: {compared} tiles compared ({drawn} with data), {absent} TiTiler 404s")
    assert compared + absent >= 50
    assert drawn >= 30 and absent >= 3, (drawn, absent)
