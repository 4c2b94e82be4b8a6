"""Large areas are read from overviews: the number of cells read follows `max_cells`, not the
area, and the statistics say which resolution they used. A real COG with overviews, values by
hand: 2 west of a meridian line, 8 east of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer

from geo_service.features.zonal import overview_factor, raster_stats, stored_area
from layers.models import Layer, Legend

CELL = 100.0  # m
SIZE = 2048  # cells per side
WEST, NORTH = 200_000.0, 1_000_000.0  # EPSG:32618


@pytest.fixture(scope="module")
def halves(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = np.full((SIZE, SIZE), 2.0, dtype="float32")
    data[:, SIZE // 2:] = 8.0
    path = tmp_path_factory.mktemp("cog") / "halves.tif"
    with rasterio.open(path, "w", driver="COG", width=SIZE, height=SIZE, count=1,
                       dtype="float32", crs="EPSG:32618", nodata=-9999.0,
                       transform=Affine(CELL, 0, WEST, 0, -CELL, NORTH), blocksize=256,
                       overview_resampling="average", compress="deflate") as dst:
        dst.write(data, 1)
    with rasterio.open(path) as src:
        assert src.overviews(1) == [2, 4, 8]
    return path


def layer_of(path: Path) -> Layer:
    return Layer(id="halves", title="Halves", kind="raster", value_type="continuous",
                 units="score 1", legend=Legend(units="", classes=[]), version="1", asset=path)


def square(half_km: float) -> shapely.Geometry:
    """A square (in UTM) centred on the line between the halves, as lon/lat."""
    x, y = WEST + SIZE // 2 * CELL, NORTH - SIZE // 2 * CELL
    half = half_km * 1000
    to_lonlat = Transformer.from_crs("EPSG:32618", "EPSG:4326", always_xy=True)
    ring = [to_lonlat.transform(x + dx, y + dy) for dx, dy in
            ((-half, -half), (half, -half), (half, half), (-half, half), (-half, -half))]
    return shapely.Polygon(ring)


def test_overview_factor_by_hand() -> None:
    assert overview_factor(1_000, 1_000) == 1
    assert overview_factor(1_001, 1_000) == 2
    assert overview_factor(4_000, 1_000) == 2
    assert overview_factor(4_001, 1_000) == 4
    assert overview_factor(40_804, 5_000) == 4  # 202 × 202 cells: 40,804 > 20,000, ≤ 80,000


def test_large_areas_are_read_at_the_resolution_that_fits(halves: Path) -> None:
    area = stored_area(square(10))  # 20 km × 20 km: 200 × 200 cells + a margin
    full = raster_stats(layer_of(halves), area, [], max_cells=10_000_000)
    coarse = raster_stats(layer_of(halves), area, [], max_cells=5_000)
    assert full["resolution"] == {"x": 100.0, "y": 100.0, "units": "metre",
                                  "overview_factor": 1}
    assert coarse["resolution"]["overview_factor"] == 4
    assert coarse["resolution"]["x"] == pytest.approx(400.0, rel=0.02)
    # The square sits half on 2 and half on 8 (the line falls on an overview cell edge).
    for stats in (full, coarse):
        assert stats["mean"] == pytest.approx(5.0, abs=0.05)
        assert (stats["min"], stats["max"]) == (2.0, 8.0)
    assert coarse["cells"] < full["cells"] / 10  # 16× fewer cells, give or take the edges
