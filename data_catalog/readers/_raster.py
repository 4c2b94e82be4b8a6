"""Opening rasters for the readers: GeoTIFF (plain, gzipped, zipped) and NetCDF through GDAL."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rioxarray
import xarray as xr
from rasterio.errors import RasterioIOError

from data_catalog.errors import MissingCRSError, SourceFormatError
from data_catalog.limits import check_raster_size
from data_catalog.readers._common import BBox
from data_catalog.readers.report import Action, IngestReport, Issue

GEOTIFF_SUFFIXES = (".tif", ".tiff")
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf")


def gdal_path(path: Path) -> str:
    """The GDAL path of a raster: `/vsigzip/` for `.gz`, `/vsizip/…/x.tif` for a zip with a TIFF.

    Raises:
        SourceFormatError: For a zip without exactly one GeoTIFF.
    """
    name = path.name.lower()
    if name.endswith(".gz"):
        return f"/vsigzip/{path}"
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as zf:
                tifs = [m for m in zf.namelist() if m.lower().endswith(GEOTIFF_SUFFIXES)]
        except zipfile.BadZipFile as exc:
            raise SourceFormatError(f"not a valid zip archive ({exc})", path=path) from exc
        if len(tifs) != 1:
            raise SourceFormatError(f"expected one GeoTIFF in the zip, found {len(tifs)}",
                                    path=path)
        return f"/vsizip/{path}/{tifs[0]}"
    return str(path)


def is_netcdf(path: Path) -> bool:
    """True for a NetCDF file (by suffix, or by the NetCDF-3 / HDF5 signature)."""
    if path.suffix.lower() in NETCDF_SUFFIXES:
        return True
    with path.open("rb") as fh:
        head = fh.read(8)
    return head.startswith(b"CDF") or head.startswith(b"\x89HDF")


def has_cf_lonlat(tags: dict[str, str]) -> bool:
    """True when NetCDF tags show CF longitude/latitude axes (units degrees_east/north)."""
    units = {k.split("#", 1)[0].lower(): v.lower() for k, v in tags.items()
             if k.endswith("#units")}
    lat = any(units.get(n, "").startswith("degrees_n") for n in ("lat", "latitude", "y"))
    lon = any(units.get(n, "").startswith("degrees_e") for n in ("lon", "longitude", "x"))
    return lat and lon


def check_raster(target: str, path: Path, report: IngestReport, *,
                 cf_lonlat: bool = False) -> dict[str, Any]:
    """Open `target` with rasterio to check it is a raster with a CRS; returns its tags.

    With `cf_lonlat`, a NetCDF grid that has no grid mapping but CF longitude/latitude axes
    (as CHIRPS's files) is taken as EPSG:4326, reported once; `assumed_crs` says so.

    Raises:
        SourceFormatError: GDAL cannot open it as a raster.
        MissingCRSError: It has no CRS.
        IngestLimitError: It declares more pixels or bytes than the ingest limits allow.
    """
    try:
        with rasterio.open(target) as ds:
            if ds.count:
                check_raster_size(ds.width, ds.height, ds.count, ds.dtypes[0], path)
            info = {"tags": ds.tags(), "band_tags": ds.tags(1) if ds.count else {},
                    "nodata": ds.nodata, "count": ds.count, "subdatasets": ds.subdatasets,
                    "driver": ds.driver, "assumed_crs": False}
            if ds.crs is None:
                if not (cf_lonlat and has_cf_lonlat(info["tags"])):
                    raise MissingCRSError(path=path, what="raster")
                info["assumed_crs"] = True
            return info
    except RasterioIOError as exc:
        raise SourceFormatError(f"cannot open as a raster ({exc})", path=path) from exc


def open_raster(target: str, path: Path, report: IngestReport,
                bbox: BBox | None = None, *, cf_lonlat: bool = False) -> xr.DataArray:
    """Open a raster (all bands) as a DataArray of raw values, EPSG:4326, clipped to bbox.

    Values are not masked or scaled here (see `mask_and_scale`); times are not decoded.

    Raises:
        SourceFormatError: Not a raster, or bbox outside it.
        MissingCRSError: No CRS (see `check_raster` for `cf_lonlat`).
    """
    info = check_raster(target, path, report, cf_lonlat=cf_lonlat)
    opened = rioxarray.open_rasterio(target, mask_and_scale=False, decode_times=False)
    if not isinstance(opened, xr.DataArray):
        raise SourceFormatError("holds several variables; name the one to read", path=path)
    da = opened
    if da.rio.crs is None:
        if not info["assumed_crs"]:  # pragma: no cover - check_raster catches this first
            raise MissingCRSError(path=path, what="raster")
        report.add(Issue.REPROJECTED, Action.FIXED,
                   f"{path.name} has no grid mapping; its CF longitude/latitude axes are taken "
                   "as EPSG:4326 (WGS 84)", count=0)
        da = da.rio.write_crs("EPSG:4326")
    if da.rio.crs.to_epsg() != 4326:
        report.add(Issue.REPROJECTED, Action.FIXED,
                   f"{path.name} reprojected from {da.rio.crs.to_string()} to EPSG:4326", count=0)
        da = da.rio.reproject("EPSG:4326")
    if bbox is not None:
        try:
            da = da.rio.clip_box(*bbox)
        except Exception as exc:  # rioxarray raises NoDataInBounds / OneDimensionalRaster
            raise SourceFormatError(f"bbox {bbox} does not overlap the raster ({exc})",
                                    path=path) from exc
    return da.load()


def mask_and_scale(
    da: xr.DataArray,
    *,
    nodata: list[float],
    scale: float,
    offset: float,
    report: IngestReport,
    label: str,
    nodata_meaning: str = "nodata",
) -> xr.DataArray:
    """Raw values → float32 physical values: nodata → NaN, then value·scale + offset.

    Masked cells are counted and reported (`nodata_masked`, action `masked`); a scale or offset
    other than (1, 0) is reported once (`scaled`).
    """
    raw = da.values
    mask = np.zeros(raw.shape, dtype=bool)
    for value in nodata:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        mask |= np.isclose(raw, value, rtol=0.0, atol=1e-6 * max(1.0, abs(value)))
    if np.issubdtype(raw.dtype, np.floating):
        mask |= ~np.isfinite(raw)
    values = raw.astype("float64") * scale + offset
    values[mask] = np.nan
    n = int(mask.sum())
    if n:
        report.add(Issue.NODATA_MASKED, Action.MASKED,
                   f"{label}: {n} cells with nodata {nodata} set to NaN ({nodata_meaning})",
                   count=n)
    if scale != 1.0 or offset != 0.0:
        report.add(Issue.SCALED, Action.FIXED,
                   f"{label}: values scaled as raw·{scale:g} + {offset:g}", count=0)
    out = da.copy(data=values.astype("float32"))
    out.attrs = {}
    out.rio.write_nodata(np.nan, encoded=False, inplace=True)
    return out


def float_attr(attrs: dict[str, Any], *names: str, default: float) -> float:
    """The first of `names` present in attrs, as a float (first element of an array)."""
    for name in names:
        if name in attrs and attrs[name] is not None:
            value = attrs[name]
            if isinstance(value, list | tuple | np.ndarray):
                value = np.asarray(value).ravel()[0]
            try:
                return float(value)
            except (TypeError, ValueError):
                continue
    return default
