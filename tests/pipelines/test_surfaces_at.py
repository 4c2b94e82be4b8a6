"""Surfaces read at a few cells (`compute_surface(..., at=cells)`, used by the sensitivity
audit) equal the whole grid's surface at those cells."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from pipelines.config import GridSpec
from pipelines.grid import Grid
from pipelines.mobility import gaussian_blur, gaussian_blur_at
from pipelines.surfaces import compute_surface


def test_blur_at_cells_equals_the_blur_there() -> None:
    rng = np.random.default_rng(5)
    values = np.zeros((40, 30))
    values[rng.integers(0, 40, 25), rng.integers(0, 30, 25)] = rng.uniform(1, 100, 25)
    values[0, 0] = values[39, 29] = 50.0          # mass at the edges: what leaves is lost
    rows, cols = np.nonzero(np.ones_like(values))
    for sigma in (0.0, 0.7, 2.5, 6.0):
        whole = gaussian_blur(values, sigma)
        assert gaussian_blur_at(values, sigma, (rows, cols)) == pytest.approx(
            whole.ravel(), rel=1e-12, abs=1e-12)


def test_kernel_density_at_cells() -> None:
    grid = Grid.from_spec(GridSpec(crs="EPSG:32618", resolution_m=1000,
                                   bounds_lonlat=(-78.0, 8.0, -77.8, 8.2)), 1)
    west, south, east, north = grid.bounds
    points = gpd.GeoDataFrame(
        {"people": [10.0, 4.0, 7.0], "date": pd.to_datetime(["2020-01-01", "2021-05-01",
                                                              "2022-03-01"])},
        geometry=[shapely.Point(west + 3500, south + 4500), shapely.Point(west + 9000,
                  north - 2500), shapely.Point(east - 1500, south + 800)], crs=grid.crs)
    parameters = {"weight": "people", "kernel_km": 2.0, "date_field": "date"}
    whole = compute_surface("kernel_density", grid, {"points": points}, parameters)
    cells = (np.array([0, 3, 10, grid.shape[0] - 1]), np.array([0, 4, 7, grid.shape[1] - 1]))
    at = compute_surface("kernel_density", grid, {"points": points}, parameters, cells)
    assert at == pytest.approx(whole[cells], rel=1e-12, abs=1e-15)
    distance = compute_surface("distance_to_points", grid, {"points": points}, {}, cells)
    assert distance == pytest.approx(
        compute_surface("distance_to_points", grid, {"points": points}, {})[cells])
