"""JRC river flood depth reader: 0 (dry land) vs nodata (sea, permanent water), return periods."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from data_catalog.errors import MissingCRSError, SourceFormatError
from data_catalog.readers.jrc_flood import read_jrc_flood, return_period_from_name
from data_catalog.readers.report import Action, Issue

RES = 1 / 1200  # 3 arc-seconds (~90 m)


def depth_grid(value: float = 1.5) -> np.ndarray:
    data = np.zeros((6, 8), dtype="float32")  # dry land
    data[:, :2] = -9999.0  # sea along the west edge
    data[3, 4] = value  # one flooded cell
    return data


def write(path: Path, data: np.ndarray, *, west: float = -78.0, north: float = 8.5,
          nodata: float | None = -9999.0, crs: str | None = "EPSG:4326") -> Path:
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                   dtype=str(data.dtype), transform=from_origin(west, north, RES, RES))
    if crs:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data, 1)
    return path


@pytest.mark.parametrize(
    ("name", "rp"),
    [("ID64_N10_W080_RP100_depth.tif", 100), ("floodMapGL_rp10y.tif", 10),
     ("floodMapGL_rp500y.zip", 500), ("RP-20.tif", 20), ("depth.tif", None),
     ("Darién_sharp.tif", None)],
)
def test_return_period_from_name(name: str, rp: int | None) -> None:
    assert return_period_from_name(name) == rp


def test_zero_is_dry_land_and_nodata_is_sea(tmp_path: Path) -> None:
    path = write(tmp_path / "ID64_N10_W080_RP100_depth.tif", depth_grid())
    da, report = read_jrc_flood(path)
    assert da.dims == ("return_period", "y", "x") and da.name == "flood_depth"
    assert da["return_period"].values.tolist() == [100]
    assert da.attrs["units"] == "m" and da["return_period"].attrs["units"] == "years"
    assert da.rio.crs.to_epsg() == 4326 and da.dtype == np.float32
    values = da.values[0]
    assert np.isnan(values[:, :2]).all()  # sea / permanent water
    assert (values[:, 2:][~np.isclose(values[:, 2:], 1.5)] == 0.0).all()  # dry land stays 0
    assert values[3, 4] == pytest.approx(1.5)
    (masked,) = report.for_issue(Issue.NODATA_MASKED)
    assert masked.action is Action.MASKED and masked.count == 12
    assert "sea or permanent water" in masked.detail
    assert report.rows_read == 48 and report.cells_masked == 12
    assert "0: dry land" in da.attrs["nodata_meaning"]


def test_return_periods_stacked_in_order(tmp_path: Path) -> None:
    rp500 = write(tmp_path / "floodMapGL_rp500y.tif", depth_grid(3.0))
    rp10 = write(tmp_path / "floodMapGL_rp10y.tif", depth_grid(0.4))
    da, _ = read_jrc_flood([rp500, rp10])
    assert da["return_period"].values.tolist() == [10, 500]
    assert da.sel(return_period=500).values[3, 4] == pytest.approx(3.0)


def test_tiles_of_one_return_period_are_mosaicked(tmp_path: Path) -> None:
    west = write(tmp_path / "ID1_N10_W080_RP50_depth.tif", depth_grid(), west=-78.0)
    east = write(tmp_path / "ID2_N10_W070_RP50_depth.tif", depth_grid(2.0),
                 west=-78.0 + 8 * RES)
    da, report = read_jrc_flood([west, east])
    assert da.sizes["x"] == 16 and da.sizes["return_period"] == 1
    assert report.source_files == [west.name, east.name]


def test_return_period_argument(tmp_path: Path) -> None:
    path = write(tmp_path / "depth.tif", depth_grid())
    with pytest.raises(SourceFormatError, match="return period"):
        read_jrc_flood(path)
    da, report = read_jrc_flood(path, return_period=75)
    assert da["return_period"].values.tolist() == [75] and not report.for_issue(
        Issue.VALUE_NORMALISED)
    _, odd = read_jrc_flood(path, return_period=1000)
    assert odd.for_issue(Issue.VALUE_NORMALISED)  # not a period JRC publishes: flagged


def test_no_declared_nodata(tmp_path: Path) -> None:
    path = write(tmp_path / "floodMapGL_rp100y.tif", depth_grid(), nodata=None)
    da, report = read_jrc_flood(path)
    flagged = [e for e in report.entries if e.action is Action.FLAGGED]
    assert flagged and "cannot be told" in flagged[0].detail
    # -9999 is still caught, as an impossible negative depth, and reported as such
    assert np.isnan(da.values[0, 0, 0])
    assert report.for_issue(Issue.NEGATIVE_VALUE)[0].count == 12
    da2, report2 = read_jrc_flood(path, nodata=-9999.0)
    assert np.isnan(da2.values[0, :, :2]).all() and report2.cells_masked == 12


def test_negative_depth_masked(tmp_path: Path) -> None:
    data = depth_grid()
    data[5, 7] = -0.2
    da, report = read_jrc_flood(write(tmp_path / "x_RP100_depth.tif", data))
    assert np.isnan(da.values[0, 5, 7])
    assert report.for_issue(Issue.NEGATIVE_VALUE)[0].count == 1


def test_zipped_geotiff_and_bbox(tmp_path: Path) -> None:
    tif = write(tmp_path / "floodMapGL_rp100y.tif", depth_grid())
    archive = tmp_path / "floodMapGL_rp100y.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tif, tif.name)
    da, _ = read_jrc_flood(archive, bbox=(-78.0, 8.5 - 6 * RES, -78.0 + 4 * RES, 8.5))
    assert da.sizes["x"] <= 5 and da["return_period"].values.tolist() == [100]


def test_missing_crs(tmp_path: Path) -> None:
    path = write(tmp_path / "x_RP10_depth.tif", depth_grid(), crs=None)
    with pytest.raises(MissingCRSError):
        read_jrc_flood(path)


def test_vector_file_given(tmp_path: Path) -> None:
    path = tmp_path / "x_RP10_depth.tif"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(SourceFormatError):
        read_jrc_flood(path)
