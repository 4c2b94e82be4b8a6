"""Reader for CHIRPS v2 precipitation (Climate Hazards Center, UC Santa Barbara), 0.05°.

Inputs: GeoTIFF (`chirps-v2.0.2024.01.tif` monthly, `chirps-v2.0.2024.01.15.tif` daily,
`chirps-v2.0.2024.tif` yearly; `.tif.gz` as distributed), or NetCDF with the variable `precip`
on lat/lon (or latitude/longitude) and time (`chirps-v2.0.2024.days_p05.nc`,
`chirps-v2.0.monthly.nc`). NetCDF is read through GDAL's netCDF driver (bundled with rasterio),
so no NetCDF Python package is needed.

Output: a float32 DataArray `precip` with dims (time, y, x) in EPSG:4326 (x = longitude, y =
latitude, degrees, north up), precipitation in mm per period (`units`: mm/day, mm/month,
mm/year, or mm when the period is unknown). −9999 (and any declared _FillValue/missing_value/
nodata) → NaN, counted in the report; `scale_factor`/`add_offset` applied after masking;
negative values (impossible for rainfall) → NaN, reported. Several files are stacked in time
order. Use `bbox` for global files: only that window is read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from data_catalog.errors import SourceFormatError
from data_catalog.readers._common import BBox, PathLike, as_paths, new_report, provenance
from data_catalog.readers._raster import (
    check_raster,
    float_attr,
    gdal_path,
    is_netcdf,
    mask_and_scale,
    open_raster,
)
from data_catalog.readers.report import Action, IngestReport, Issue, ReadResult

SOURCE_ID = "chirps"
READER = "data_catalog.readers.chirps:read_chirps"
VARIABLE = "precip"
CHIRPS_NODATA = -9999.0
"""CHIRPS's nodata value (ocean, outside 50°S–50°N), in raw units."""

_NAME = re.compile(r"(?<!\d)(\d{4})(?:\.(\d{2}))?(?:\.(\d{1,2}))?(?=\.(?:tif|tiff)(?:\.gz)?$)",
                   re.IGNORECASE)
_SINCE = re.compile(r"^\s*(\w+)\s+since\s+(.+?)\s*$", re.IGNORECASE)
_UNITS = {"days": "D", "day": "D", "d": "D", "hours": "h", "hour": "h", "h": "h",
          "minutes": "min", "minute": "min", "seconds": "s", "second": "s", "s": "s"}


def time_from_name(name: str) -> tuple[pd.Timestamp, str] | None:
    """The time step and units that a CHIRPS GeoTIFF name implies, or None.

    `chirps-v2.0.2024.01.15.tif` → (2024-01-15, 'mm/day'); `…2024.01.tif` → (2024-01-01,
    'mm/month'); `…2024.tif` → (2024-01-01, 'mm/year'); a one-digit third part (pentad or
    dekad number) → (first day of the month, 'mm').
    """
    m = _NAME.search(name)
    if not m:
        return None
    year, month, part = m.group(1), m.group(2), m.group(3)
    if month is None:
        return pd.Timestamp(int(year), 1, 1), "mm/year"
    if part is None:
        return pd.Timestamp(int(year), int(month), 1), "mm/month"
    if len(part) == 2:
        return pd.Timestamp(int(year), int(month), int(part)), "mm/day"
    return pd.Timestamp(int(year), int(month), 1), "mm"


def decode_cf_time(values: np.ndarray, units: str, calendar: str | None) -> pd.DatetimeIndex:
    """CF time numbers ('days since 1980-1-1 0:0:0') → timestamps (standard calendars only).

    Raises:
        ValueError: For units or calendars that are not understood.
    """
    cal = (calendar or "standard").lower()
    if cal not in {"standard", "gregorian", "proleptic_gregorian"}:
        raise ValueError(f"calendar {calendar!r} is not supported")
    m = _SINCE.match(units)
    if not m or m.group(1).lower() not in _UNITS:
        raise ValueError(f"time units {units!r} not understood")
    origin = _parse_origin(m.group(2))
    return pd.DatetimeIndex(origin + pd.to_timedelta(np.asarray(values, dtype="float64"),
                                                     unit=_UNITS[m.group(1).lower()]))


def _parse_origin(text: str) -> pd.Timestamp:
    text = text.strip().replace("T", " ").rstrip("Z").strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return pd.Timestamp(datetime.strptime(text.split(".")[0], fmt))
        except ValueError:
            continue
    raise ValueError(f"time origin {text!r} not understood")


def read_chirps(
    paths: PathLike | Sequence[PathLike],
    *,
    bbox: BBox | None = None,
    time: str | pd.Timestamp | None = None,
    units: str | None = None,
    source_id: str = SOURCE_ID,
) -> ReadResult[xr.DataArray]:
    """Read CHIRPS GeoTIFF and/or NetCDF files into one (time, y, x) DataArray (see module doc).

    Args:
        paths: One file or several.
        bbox: Optional (west, south, east, north) in degrees to read.
        time: The time step of a single GeoTIFF whose name carries no date.
        units: Override the units (e.g. 'mm/pentad'); otherwise from the name or the file.
        source_id: Source id written into the provenance.

    Returns:
        Precipitation (mm per period) and the ingest report (unit: cell).

    Raises:
        SourceFormatError: Not a raster, no `precip` variable, unknown time, or files on
            different grids.
        MissingCRSError: A GeoTIFF without CRS.
    """
    files = as_paths(paths)
    report = new_report(source_id, READER, files, unit="cell")
    parts: list[xr.DataArray] = []
    found_units: set[str] = set()
    for path in files:
        if is_netcdf(path):
            da, unit = _read_netcdf(path, report, bbox)
        else:
            da, unit = _read_geotiff(path, report, bbox, time if len(files) == 1 else None)
        parts.append(da)
        found_units.add(unit)
    try:
        result = xr.concat(parts, dim="time", join="exact") if len(parts) > 1 else parts[0]
    except ValueError as exc:
        raise SourceFormatError(f"the files are not on one grid ({exc})") from exc
    result = result.sortby("time").sortby("y", ascending=False)
    result = result.drop_vars([c for c in result.coords if c not in ("time", "y", "x")])
    result = result.assign_coords(time=result["time"].values.astype("datetime64[ns]"))
    result.name = VARIABLE
    report.rows_read = int(result.size)
    result.attrs = provenance(report)
    result.attrs.update({
        "units": units or (found_units.pop() if len(found_units) == 1 else "mm"),
        "long_name": "precipitation",
        "standard_name": "precipitation_amount",
        "nodata_meaning": "NaN: no data in CHIRPS (-9999: ocean, outside 50°S-50°N)",
    })
    result.rio.write_crs("EPSG:4326", inplace=True)
    return ReadResult(result, report)


def _read_geotiff(path: Path, report: IngestReport, bbox: BBox | None,
                  time: str | pd.Timestamp | None) -> tuple[xr.DataArray, str]:
    target = gdal_path(path)
    da = open_raster(target, path, report, bbox)
    if time is not None:
        stamp, unit = pd.Timestamp(time), "mm"
    else:
        named = time_from_name(path.name)
        if named is None:
            raise SourceFormatError(
                "no date in the file name (expected chirps-v2.0.YYYY[.MM[.DD]].tif); "
                "pass time=", path=path)
        stamp, unit = named
    unit = str(da.attrs.get("units") or unit)
    if da.sizes.get("band", 1) != 1:
        raise SourceFormatError(f"expected one band, found {da.sizes['band']}", path=path)
    da = da.isel(band=0, drop=True)
    nodata = [CHIRPS_NODATA, float_attr(da.attrs, "_FillValue", default=CHIRPS_NODATA)]
    if da.rio.nodata is not None:
        nodata.append(float(da.rio.nodata))
    scale = float_attr(da.attrs, "scale_factor", default=1.0)
    offset = float_attr(da.attrs, "add_offset", default=0.0)
    out = mask_and_scale(da, nodata=nodata, scale=scale, offset=offset, report=report,
                         label=path.name, nodata_meaning="no CHIRPS data")
    out = _mask_negative(out, report, path.name)
    return out.expand_dims(time=[stamp]), unit


def _read_netcdf(path: Path, report: IngestReport,
                 bbox: BBox | None) -> tuple[xr.DataArray, str]:
    info = check_raster(str(path), path, report, cf_lonlat=True)
    subdatasets = info["subdatasets"]
    if subdatasets:
        wanted = [s for s in subdatasets if s.rsplit(":", 1)[-1] == VARIABLE]
        if not wanted:
            names = [s.rsplit(":", 1)[-1] for s in subdatasets]
            raise SourceFormatError(f"no {VARIABLE!r} variable (found: {', '.join(names)})",
                                    path=path)
        target = wanted[0]
        info = check_raster(target, path, report, cf_lonlat=True)
    else:
        varname = info["band_tags"].get("NETCDF_VARNAME")
        if varname != VARIABLE:
            raise SourceFormatError(f"no {VARIABLE!r} variable (found: {varname})", path=path)
        target = str(path)
    tags = info["tags"]
    band_tags = info["band_tags"]
    da = open_raster(target, path, report, bbox, cf_lonlat=True)
    prefix = f"{VARIABLE}#"
    var_attrs = {k[len(prefix):]: v for k, v in tags.items() if k.startswith(prefix)}
    var_attrs.update(band_tags)
    nodata = [CHIRPS_NODATA]
    for name in ("_FillValue", "missing_value"):
        if name in var_attrs:
            nodata.append(float_attr(var_attrs, name, default=CHIRPS_NODATA))
    if info["nodata"] is not None:
        nodata.append(float(info["nodata"]))
    scale = float_attr(var_attrs, "scale_factor", default=1.0)
    offset = float_attr(var_attrs, "add_offset", default=0.0)
    if "time" not in da.dims:
        raise SourceFormatError(f"{VARIABLE!r} has no time dimension", path=path)
    units = tags.get("time#units")
    if not units:
        raise SourceFormatError("the time variable has no units", path=path)
    try:
        times = decode_cf_time(da["time"].values, units, tags.get("time#calendar"))
    except ValueError as exc:
        raise SourceFormatError(str(exc), path=path) from exc
    out = mask_and_scale(da, nodata=nodata, scale=scale, offset=offset, report=report,
                         label=path.name, nodata_meaning="no CHIRPS data")
    out = out.assign_coords(time=times)
    out = _mask_negative(out, report, path.name)
    unit = str(var_attrs.get("units") or "mm")
    return out, unit


def _mask_negative(da: xr.DataArray, report: IngestReport, label: str) -> xr.DataArray:
    negative = np.asarray(da.values < 0)
    n = int(negative.sum())
    if not n:
        return da
    report.add(Issue.NEGATIVE_VALUE, Action.MASKED,
               f"{label}: {n} cells with negative precipitation set to NaN", count=n)
    return da.where(~negative)
