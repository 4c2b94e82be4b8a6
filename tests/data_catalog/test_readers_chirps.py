"""CHIRPS reader: GeoTIFF (plain and gzipped) and NetCDF (`precip` on lat/lon/time)."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.shutil
from rasterio.transform import from_origin

from data_catalog.errors import MissingCRSError, SourceFormatError
from data_catalog.readers.chirps import decode_cf_time, read_chirps, time_from_name
from data_catalog.readers.report import Action, Issue

WEST, NORTH, RES = -78.0, 9.0, 0.05


def write_tif(path: Path, data: np.ndarray, *, nodata: float | None = -9999.0,
              crs: str | None = "EPSG:4326", scale: float | None = None) -> Path:
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                   dtype=str(data.dtype), transform=from_origin(WEST, NORTH, RES, RES))
    if crs:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data, 1)
        if scale is not None:
            ds.scales = (scale,)
            ds.offsets = (0.0,)
    return path


def rain(rows: int = 4, cols: int = 5, value: float = 2.5) -> np.ndarray:
    data = np.full((rows, cols), value, dtype="float32")
    data[0, 0] = -9999.0  # ocean
    return data


def test_monthly_geotiff(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "chirps-v2.0.2024.01.tif", rain())
    da, report = read_chirps(path)
    assert da.dims == ("time", "y", "x") and da.name == "precip"
    assert da.dtype == np.float32
    assert da.rio.crs.to_epsg() == 4326
    assert da.attrs["units"] == "mm/month"
    assert pd.Timestamp(da["time"].values[0]) == pd.Timestamp("2024-01-01")
    assert np.isnan(da.values[0, 0, 0]) and da.values[0, 1, 1] == pytest.approx(2.5)
    assert float(da["y"][0]) > float(da["y"][-1])  # north up
    assert report.cells_masked == 1 and report.rows_read == 20
    assert da.attrs["source_id"] == "chirps" and len(da.attrs["sha256"]) == 64
    assert da.attrs["reader"].endswith("read_chirps")


def test_daily_gzipped_geotiff(tmp_path: Path) -> None:
    tif = write_tif(tmp_path / "plain.tif", rain(value=12.0))
    gz = tmp_path / "chirps-v2.0.2024.01.15.tif.gz"
    with tif.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    da, _ = read_chirps(gz)
    assert da.attrs["units"] == "mm/day"
    assert pd.Timestamp(da["time"].values[0]) == pd.Timestamp("2024-01-15")
    assert float(np.nanmax(da.values)) == pytest.approx(12.0)


def test_scale_factor_applied_after_masking(tmp_path: Path) -> None:
    data = np.full((4, 5), 123, dtype="int16")
    data[1, 1] = -9999
    path = write_tif(tmp_path / "chirps-v2.0.2024.02.tif", data, scale=0.1)
    da, report = read_chirps(path)
    assert da.values[0, 0, 0] == pytest.approx(12.3)
    assert np.isnan(da.values[0, 1, 1])  # -9999 masked before scaling (not -999.9)
    assert report.for_issue(Issue.SCALED)


def test_negative_values_masked_and_reported(tmp_path: Path) -> None:
    data = rain()
    data[2, 2] = -3.0
    da, report = read_chirps(write_tif(tmp_path / "chirps-v2.0.2024.03.tif", data))
    assert np.isnan(da.values[0, 2, 2])
    (entry,) = report.for_issue(Issue.NEGATIVE_VALUE)
    assert entry.action is Action.MASKED and entry.count == 1


def test_several_files_stacked_in_time_order(tmp_path: Path) -> None:
    march = write_tif(tmp_path / "chirps-v2.0.2024.03.tif", rain(value=3.0))
    january = write_tif(tmp_path / "chirps-v2.0.2024.01.tif", rain(value=1.0))
    da, report = read_chirps([march, january])
    assert [pd.Timestamp(t).month for t in da["time"].values] == [1, 3]
    assert da.values[0, 1, 1] == pytest.approx(1.0)
    assert report.source_files == [march.name, january.name]


def test_files_on_different_grids_refused(tmp_path: Path) -> None:
    a = write_tif(tmp_path / "chirps-v2.0.2024.01.tif", rain())
    b = write_tif(tmp_path / "chirps-v2.0.2024.02.tif", rain(rows=6))
    with pytest.raises(SourceFormatError, match="one grid"):
        read_chirps([a, b])


def test_bbox(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "chirps-v2.0.2024.01.tif", rain(rows=20, cols=20))
    da, _ = read_chirps(path, bbox=(-77.9, 8.6, -77.6, 8.9))
    assert da.sizes["x"] < 20 and da.sizes["y"] < 20
    assert float(da["x"].min()) >= -77.95 and float(da["y"].max()) <= 8.95


def test_time_from_name_or_argument(tmp_path: Path) -> None:
    assert time_from_name("chirps-v2.0.2024.tif") == (pd.Timestamp("2024-01-01"), "mm/year")
    assert time_from_name("chirps-v2.0.2024.05.3.tif") == (pd.Timestamp("2024-05-01"), "mm")
    assert time_from_name("rain.tif") is None
    path = write_tif(tmp_path / "rain.tif", rain())
    with pytest.raises(SourceFormatError, match="no date"):
        read_chirps(path)
    da, _ = read_chirps(path, time="2024-06-01", units="mm/pentad")
    assert da.attrs["units"] == "mm/pentad"


def test_geotiff_without_crs(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "chirps-v2.0.2024.01.tif", rain(), crs=None)
    with pytest.raises(MissingCRSError):
        read_chirps(path)


def test_not_a_raster(tmp_path: Path) -> None:
    path = tmp_path / "chirps-v2.0.2024.01.tif"
    path.write_text("lat,lon,precip\n", encoding="utf-8")
    with pytest.raises(SourceFormatError):
        read_chirps(path)


# -- NetCDF -------------------------------------------------------------------------------------


def write_gdal_netcdf(tmp_path: Path, name: str = "chirps-v2.0.1981.days_p05.nc",
                      variable: str = "precip") -> Path:
    """A NetCDF-4 file written by GDAL: int16 `precip` with scale_factor 0.1 and -9999 fill."""
    data = (np.arange(3 * 4 * 5).reshape(3, 4, 5) * 10).astype("int16")
    data[0, 0, 0] = -9999
    src = tmp_path / "src.tif"
    with rasterio.open(src, "w", driver="GTiff", width=5, height=4, count=3, dtype="int16",
                       crs="EPSG:4326", transform=from_origin(WEST, NORTH, RES, RES),
                       nodata=-9999) as ds:
        ds.write(data)
        ds.update_tags(NETCDF_DIM_EXTRA="{time}", NETCDF_DIM_time_DEF="{3,6}",
                       NETCDF_DIM_time_VALUES="{366,367,368}")
        ds.update_tags(**{"time#units": "days since 1980-1-1 0:0:0",
                          "time#calendar": "gregorian"})
        for band in (1, 2, 3):
            ds.update_tags(band, NETCDF_VARNAME=variable)
        ds.scales = (0.1, 0.1, 0.1)
        ds.offsets = (0.0, 0.0, 0.0)
    out = tmp_path / name
    rasterio.shutil.copy(src, out, driver="netCDF", FORMAT="NC4")
    return out


def test_gdal_netcdf4_scaled(tmp_path: Path) -> None:
    da, report = read_chirps(write_gdal_netcdf(tmp_path))
    assert da.dims == ("time", "y", "x") and da.sizes["time"] == 3
    assert list(pd.DatetimeIndex(da["time"].values)) == list(
        pd.date_range("1981-01-01", periods=3, freq="D"))
    assert np.isnan(da.values[0, 0, 0])
    assert da.values[0, 0, 1] == pytest.approx(1.0)  # raw 10 · 0.1
    assert da.values[2, 3, 4] == pytest.approx(59.0 * 10 * 0.1)
    assert report.cells_masked == 1 and report.for_issue(Issue.SCALED)


def test_netcdf_without_precip(tmp_path: Path) -> None:
    path = write_gdal_netcdf(tmp_path, name="other.nc", variable="rain")
    with pytest.raises(SourceFormatError, match="no 'precip' variable"):
        read_chirps(path)


def _name(s: str) -> bytes:
    raw = s.encode()
    return struct.pack(">i", len(raw)) + raw + b"\0" * (-len(raw) % 4)


def _attr(name: str, value: str | float) -> bytes:
    if isinstance(value, str):
        raw = value.encode()
        return _name(name) + struct.pack(">ii", 2, len(raw)) + raw + b"\0" * (-len(raw) % 4)
    return _name(name) + struct.pack(">iif", 5, 1, value)


def _attrs(items: list[tuple[str, str | float]]) -> bytes:
    if not items:
        return struct.pack(">ii", 0, 0)
    return struct.pack(">ii", 12, len(items)) + b"".join(_attr(k, v) for k, v in items)


def write_netcdf3(path: Path, precip: np.ndarray, lats: np.ndarray, lons: np.ndarray,
                  days: np.ndarray) -> Path:
    """A NetCDF-3 classic file in CHIRPS's own layout: precip(time, latitude, longitude)."""
    dims = [("time", len(days)), ("latitude", len(lats)), ("longitude", len(lons))]
    variables = [  # name, dim ids, attrs, nc type, big-endian bytes
        ("time", [0], [("units", "days since 1980-1-1 0:0:0"), ("calendar", "gregorian"),
                       ("standard_name", "time")], 6, days.astype(">f8").tobytes()),
        ("latitude", [1], [("units", "degrees_north"), ("standard_name", "latitude")], 5,
         lats.astype(">f4").tobytes()),
        ("longitude", [2], [("units", "degrees_east"), ("standard_name", "longitude")], 5,
         lons.astype(">f4").tobytes()),
        ("precip", [0, 1, 2], [("units", "mm/day"),
                               ("standard_name", "convective precipitation rate"),
                               ("_FillValue", -9999.0), ("missing_value", -9999.0)], 5,
         precip.astype(">f4").tobytes()),
    ]
    header = b"CDF\x01" + struct.pack(">i", 0)
    header += struct.pack(">ii", 10, len(dims)) + b"".join(
        _name(n) + struct.pack(">i", size) for n, size in dims)
    header += _attrs([("Conventions", "CF-1.6"), ("title", "CHIRPS Version 2.0")])

    def var_block(offsets: list[int]) -> bytes:
        out = struct.pack(">ii", 11, len(variables))
        for (name, ids, attrs, kind, data), begin in zip(variables, offsets, strict=True):
            size = len(data) + (-len(data) % 4)
            out += _name(name) + struct.pack(">i", len(ids)) + b"".join(
                struct.pack(">i", i) for i in ids)
            out += _attrs(attrs) + struct.pack(">iii", kind, size, begin)
        return out

    start = len(header) + len(var_block([0] * len(variables)))
    offsets, pos = [], start
    for *_, data in variables:
        offsets.append(pos)
        pos += len(data) + (-len(data) % 4)
    body = b"".join(d + b"\0" * (-len(d) % 4) for *_, d in variables)
    path.write_bytes(header + var_block(offsets) + body)
    return path


def test_chirps_layout_netcdf3(tmp_path: Path) -> None:
    lats = np.array([8.025, 8.075, 8.125], dtype="float32")  # ascending, as CHIRPS
    lons = np.array([-77.975, -77.925, -77.875, -77.825], dtype="float32")
    precip = np.zeros((2, 3, 4), dtype="float32")
    precip[:, 2, :] = 30.0  # the northern row
    precip[0, 0, 0] = -9999.0
    path = write_netcdf3(tmp_path / "chirps-v2.0.2024.days_p05.nc", precip, lats, lons,
                         np.array([16071.0, 16072.0]))
    da, report = read_chirps(path)
    assert da.attrs["units"] == "mm/day"
    assert pd.Timestamp(da["time"].values[0]) == pd.Timestamp("2024-01-01")
    assert float(da["y"][0]) == pytest.approx(8.125)  # north up after reading
    assert np.all(da.values[:, 0, :] == 30.0)
    assert np.isnan(da.values[0, -1, 0]) and report.cells_masked == 1
    assert da.rio.crs.to_epsg() == 4326
    assert any("EPSG:4326" in e.detail for e in report.for_issue(Issue.REPROJECTED))


def test_decode_cf_time() -> None:
    times = decode_cf_time(np.array([0, 1.5]), "hours since 2024-01-01T00:00:00Z", None)
    assert list(times) == [pd.Timestamp("2024-01-01 00:00"), pd.Timestamp("2024-01-01 01:30")]
    with pytest.raises(ValueError, match="calendar"):
        decode_cf_time(np.array([0]), "days since 2000-1-1", "360_day")
    with pytest.raises(ValueError, match="units"):
        decode_cf_time(np.array([0]), "fortnights", None)
