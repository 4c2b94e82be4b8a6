"""The analysis grid and the alignment of every raster input onto it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds

from pipelines.config import GridSpec

RESAMPLING = {
    "bilinear": Resampling.bilinear,
    "nearest": Resampling.nearest,
    "average": Resampling.average,
    "mode": Resampling.mode,
}


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

    def empty(self, name: str, fill: float = np.nan) -> xr.DataArray:
        """A float32 array on the grid filled with `fill`, georeferenced."""
        data = np.full(self.shape, fill, dtype="float32")
        return self.wrap(data, name)

    def wrap(self, data: np.ndarray, name: str, units: str | None = None) -> xr.DataArray:
        """Wrap a (rows, cols) array as a georeferenced DataArray on this grid."""
        if data.shape != self.shape:
            raise ValueError(f"{name}: shape {data.shape} is not the grid's {self.shape}")
        array = xr.DataArray(data, dims=("y", "x"), coords=self.coords(), name=name)
        if units is not None:
            array.attrs["units"] = units
        array.rio.write_crs(self.crs, inplace=True)
        array.rio.write_transform(self.transform, inplace=True)
        return array


def align_to_grid(path: Path, grid: Grid, resampling: str = "bilinear") -> xr.DataArray:
    """Read band 1 of a raster warped onto `grid`, nodata and NaN as NaN.

    The source may be in any CRS GDAL reads. Cells of the grid outside the source are NaN
    (missing stays missing). GDAL's warper (a WarpedVRT) resamples straight onto the grid;
    the result is chunked for the dask-backed scoring.

    Returns:
        float32 DataArray with dims (y, x), attrs `units` (from the file's tags when present),
        `source_path` (the file name only) and `resampling`.
    """
    with rasterio.open(path) as src:
        if src.crs is None:
            raise ValueError(f"{path.name}: raster has no CRS")
        tags = src.tags()
        nodata = src.nodata
        with WarpedVRT(
            src,
            crs=grid.crs,
            transform=grid.transform,
            width=grid.width,
            height=grid.height,
            resampling=RESAMPLING[resampling],
            src_nodata=nodata,
            nodata=np.nan,
            dtype="float32",
        ) as vrt:
            array = vrt.read(1, out_dtype="float32")
    if nodata is not None and not np.isnan(nodata):
        array[array == nodata] = np.nan
    aligned = grid.wrap(array, path.stem, tags.get("units"))
    aligned.attrs.update(
        source_path=path.name,
        resampling=resampling,
        synthetic=tags.get("synthetic", "false").lower() == "true",
    )
    return aligned.chunk({"y": grid.chunk, "x": grid.chunk})
