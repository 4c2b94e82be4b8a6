"""Alignment of inputs onto the grid: other CRS, nodata and NaN, partial coverage."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer

from pipelines.align import align_to_grid
from pipelines.config import GridSpec
from pipelines.grid import Grid

SPEC = GridSpec(crs="EPSG:32618", resolution_m=1000, bounds_lonlat=(-78.2, 8.0, -77.8, 8.4))


def test_grid_is_snapped_and_metric() -> None:
    grid = Grid.from_spec(SPEC)
    assert grid.resolution == 1000 and grid.cell_area_km2 == pytest.approx(1.0)
    west, _south, _east, north = grid.bounds
    assert west % 1000 == 0 and north % 1000 == 0
    assert 40 <= grid.width <= 50 and 40 <= grid.height <= 50
    assert Grid.from_spec(SPEC, scale=4).width == pytest.approx(2 * grid.width, abs=2)


def test_lonlat_input_lands_in_the_right_cells(write_raster) -> None:
    # A 0.01° lon/lat raster: value = 1 west of −78.0°, 2 east of it.
    grid = Grid.from_spec(SPEC)
    lon = -78.3 + 0.01 * (np.arange(60) + 0.5)
    values = np.where(lon < -78.0, 1.0, 2.0).astype("float32")[None, :].repeat(60, axis=0)
    path = write_raster("lonlat.tif", values, "EPSG:4326", Affine(0.01, 0, -78.3, 0, -0.01, 8.5))
    aligned = align_to_grid(path, grid, "nearest").values
    to_utm = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    for lon_probe, expected in ((-78.1, 1.0), (-77.9, 2.0)):
        x, y = to_utm.transform(lon_probe, 8.2)
        col, row = ~grid.transform @ (x, y)
        assert aligned[int(row), int(col)] == expected


def test_nodata_and_nan_stay_missing(write_raster) -> None:
    grid = Grid.from_spec(SPEC)
    values = np.full((60, 60), 5.0, dtype="float32")
    values[:30, :] = -9999.0          # nodata in the north
    values[30:, :10] = np.nan         # NaN, no tag needed, in the south-west
    path = write_raster("nodata.tif", values, "EPSG:4326",
                        Affine(0.01, 0, -78.3, 0, -0.01, 8.5), nodata=-9999.0)
    aligned = align_to_grid(path, grid, "bilinear").values
    assert not np.any(aligned == -9999.0)
    assert np.isnan(aligned[0, grid.width // 2])              # north: nodata → NaN
    assert aligned[-1, grid.width // 2] == pytest.approx(5.0)  # south: value kept


def test_input_not_covering_the_grid_is_missing_outside(write_raster) -> None:
    grid = Grid.from_spec(SPEC)
    # Covers only lon −78.2…−78.0: the eastern half of the grid is NaN, never 0.
    values = np.full((40, 20), 3.0, dtype="float32")
    path = write_raster("west.tif", values, "EPSG:4326", Affine(0.01, 0, -78.2, 0, -0.01, 8.4))
    aligned = align_to_grid(path, grid, "bilinear").values
    assert np.isnan(aligned[:, -3:]).all()
    assert np.nanmax(aligned) == pytest.approx(3.0)
    assert not (aligned == 0).any()


def test_utm_input_in_another_zone(write_raster) -> None:
    # Input in UTM 17N (EPSG:32617), grid in UTM 18N: values survive the reprojection.
    grid = Grid.from_spec(SPEC)
    to_17 = Transformer.from_crs("EPSG:4326", "EPSG:32617", always_xy=True)
    x0, y0 = to_17.transform(-78.3, 8.5)
    values = np.full((60, 60), 7.0, dtype="float32")
    path = write_raster("utm17.tif", values, "EPSG:32617", Affine(1000, 0, x0, 0, -1000, y0))
    aligned = align_to_grid(path, grid, "bilinear").values
    assert np.nanmean(aligned) == pytest.approx(7.0)
    assert np.isfinite(aligned).mean() > 0.9


def test_raster_without_crs_is_refused(write_raster, tmp_path) -> None:
    import rasterio

    path = tmp_path / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1,
                       dtype="float32") as dst:
        dst.write(np.ones((4, 4), dtype="float32"), 1)
    with pytest.raises(ValueError, match="no CRS"):
        align_to_grid(path, Grid.from_spec(SPEC))
