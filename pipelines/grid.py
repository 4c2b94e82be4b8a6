"""The analysis grid: CRS, cell size, extent and chunking (no data of its own).

Kept free of xarray and dask, so that the service can describe a raster window with it
(`geo_service.features.zonal`) without importing them; `pipelines.align` puts data on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from affine import Affine
from pyproj import CRS
from rasterio.warp import transform_bounds

if TYPE_CHECKING:
    from pipelines.config import GridSpec


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS, affine transform, shape (rows, cols) and chunking."""

    crs: CRS
    transform: Affine
    height: int
    width: int
    chunk: int = 512

    @classmethod
    def from_spec(cls, spec: GridSpec, scale: int = 1) -> Grid:
        """The grid covering `spec.bounds_lonlat`, snapped to whole cells of `resolution_m`.

        Args:
            spec: the region's grid section.
            scale: multiply the number of cells by this (cell size divided by sqrt(scale)).
        """
        crs = CRS.from_user_input(spec.crs)
        res = spec.resolution_m / math.sqrt(scale)
        west, south, east, north = transform_bounds(
            "EPSG:4326", crs, *spec.bounds_lonlat, densify_pts=21
        )
        west, south = math.floor(west / res) * res, math.floor(south / res) * res
        east, north = math.ceil(east / res) * res, math.ceil(north / res) * res
        width, height = round((east - west) / res), round((north - south) / res)
        return cls(crs, Affine(res, 0, west, 0, -res, north), height, width, spec.chunk_cells)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.height, self.width

    @property
    def resolution(self) -> float:
        """Cell edge in CRS units (metres for a projected grid)."""
        return float(self.transform.a)

    @property
    def cell_area_km2(self) -> float:
        """Area of one cell in km² (grid units taken as metres)."""
        return abs(self.transform.a * self.transform.e) / 1e6

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in the grid CRS."""
        west, north = self.transform.c, self.transform.f
        south = north + self.transform.e * self.height
        return west, south, west + self.transform.a * self.width, north

    def coords(self) -> dict[str, np.ndarray]:
        """Cell-centre coordinates: {"y": rows (descending), "x": cols}."""
        res = self.resolution
        west, _, _, north = self.bounds
        x = west + res * (np.arange(self.width) + 0.5)
        y = north - res * (np.arange(self.height) + 0.5)
        return {"y": y, "x": x}
