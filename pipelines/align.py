"""Alignment of every raster input onto the analysis grid, as georeferenced xarray arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from pipelines.grid import Grid

RESAMPLING = {
    "bilinear": Resampling.bilinear,
    "nearest": Resampling.nearest,
    "average": Resampling.average,
    "mode": Resampling.mode,
}


def grid_array(grid: Grid, data: np.ndarray, name: str, units: str | None = None
               ) -> xr.DataArray:
    """Wrap a (rows, cols) array as a georeferenced DataArray on `grid`."""
    if data.shape != grid.shape:
        raise ValueError(f"{name}: shape {data.shape} is not the grid's {grid.shape}")
    array = xr.DataArray(data, dims=("y", "x"), coords=grid.coords(), name=name)
    if units is not None:
        array.attrs["units"] = units
    array.rio.write_crs(grid.crs, inplace=True)
    array.rio.write_transform(grid.transform, inplace=True)
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
    aligned = grid_array(grid, array, path.stem, tags.get("units"))
    aligned.attrs.update(
        source_path=path.name,
        resampling=resampling,
        synthetic=tags.get("synthetic", "false").lower() == "true",
    )
    return aligned.chunk({"y": grid.chunk, "x": grid.chunk})
