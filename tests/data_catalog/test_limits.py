"""Ingest limits (settings `CMRISK_INGEST_*`): each hostile file is refused with one clear
message, before it costs disk or time, and the data dir is left as it was.

The hostile files are built here: a sparse GeoTIFF declaring 40,000 × 40,000 pixels, a zip
bomb, zips nested three deep, a file with too many features.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.windows import Window
from typer.testing import CliRunner, Result

from data_catalog.errors import SourceFormatError
from data_catalog.limits import IngestLimits, safe_extract, use_limits
from data_catalog.paths import DataDir
from geo_service.cli import app as cli


def snapshot(root: Path) -> dict[str, str]:
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(folder, name), root)] = "dir"
        for name in files:
            path = Path(folder, name)
            found[os.path.relpath(path, root)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data").ensure()


def cmrisk(data: DataDir, *args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--data-dir", str(data.root)],
                              env={f"CMRISK_INGEST_{k.upper()}": v for k, v in env.items()})


def refused(result: Result, setting: str) -> str:
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert f"refused (limit: CMRISK_INGEST_{setting.upper()})" in text
    return text


def sparse_geotiff(path: Path) -> Path:
    """40,000 × 40,000 float32 pixels declared (6.4 GB), one 256-px block written: a few KB."""
    with rasterio.open(path, "w", driver="GTiff", width=40_000, height=40_000, count=1,
                       dtype="float32", crs="EPSG:4326", tiled=True, blockxsize=256,
                       blockysize=256, compress="deflate", sparse_ok=True,
                       transform=Affine(0.0001, 0, -79.5, 0, -0.0001, 9.8)) as dst:
        dst.write(np.ones((256, 256), "float32"), 1, window=Window(0, 0, 256, 256))
    return path


def test_a_sparse_huge_geotiff_is_refused_before_it_is_read(data: DataDir,
                                                            tmp_path: Path) -> None:
    tif = sparse_geotiff(tmp_path / "flood_rp100.tif")
    assert tif.stat().st_size < 300_000  # the block index only
    before = snapshot(data.root)
    for source in ("raster", "jrc_flood"):
        args = ["--id", "huge"] if source == "raster" else []
        text = refused(cmrisk(data, "ingest", source, str(tif), *args), "max_raster_pixels")
        assert ("flood_rp100.tif: the raster declares 40,000 × 40,000 pixels × 1 band(s) = "
                "1,600,000,000 pixels, more than the 250,000,000 allowed") in text
    # Within the pixel limit but over the bytes limit: the other setting is named.
    text = refused(cmrisk(data, "ingest", "raster", str(tif), "--id", "huge",
                          max_raster_pixels="2000000000"), "max_raster_bytes")
    assert "6,400,000,000 bytes uncompressed" in text
    assert snapshot(data.root) == before


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return path


def test_a_zip_bomb_is_refused_without_writing_it(data: DataDir, tmp_path: Path) -> None:
    bomb = zip_of(tmp_path / "bomb.zip", {"WDPA-polygons.shp": bytes(64 << 20)})
    assert bomb.stat().st_size < 200_000  # 64 MiB of zeros deflate to ~64 KB
    before = snapshot(data.root)
    text = refused(cmrisk(data, "ingest", "wdpa", str(bomb)), "max_compression_ratio")
    assert "'WDPA-polygons.shp' expands 1,0" in text  # about a thousand times
    # Incompressible bytes past the total: stopped while copying, at the limit.
    rng = np.random.default_rng(0)
    big = zip_of(tmp_path / "big.zip", {f"part{i}.bin": rng.bytes(1 << 20) for i in range(3)})
    text = refused(cmrisk(data, "ingest", "vector", str(big), "--id", "big",
                          max_extracted_bytes=str(2 << 20)), "max_extracted_bytes")
    assert "big.zip: extracting it passes 2,097,152 bytes" in text
    many = zip_of(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(30)})
    text = refused(cmrisk(data, "ingest", "wdpa", str(many), max_archive_members="20"),
                   "max_archive_members")
    assert "the archive holds more than 20 files" in text
    assert snapshot(data.root) == before


def test_nested_zips_open_one_level_only(data: DataDir, tmp_path: Path) -> None:
    parks = tmp_path / "parks.geojson"
    gpd.GeoDataFrame({"WDPAID": [555], "NAME": ["A"], "DESIG_ENG": ["National Park"],
                      "DESIG_TYPE": ["National"], "IUCN_CAT": ["II"], "REP_AREA": [10.0],
                      "ISO3": ["PAN"]}, geometry=[shapely.box(-78, 8, -77.9, 8.1)],
                     crs="EPSG:4326").to_file(parks)
    inner = zip_of(tmp_path / "inner.zip", {"parks.geojson": parks.read_bytes()})
    middle = zip_of(tmp_path / "middle.zip", {"inner.zip": inner.read_bytes()})
    outer = zip_of(tmp_path / "outer.zip", {"middle.zip": middle.read_bytes()})
    before = snapshot(data.root)
    text = refused(cmrisk(data, "ingest", "wdpa", str(outer)), "max_archive_depth")
    assert "'inner.zip' is an archive 2 level(s) inside the archive; at most 1" in text
    assert snapshot(data.root) == before
    # One level (the WDPA download's layout) is read.
    ok = cmrisk(data, "ingest", "wdpa", str(middle))
    assert ok.exit_code == 0, ok.output


def test_extraction_counts_bytes_even_when_the_zip_lies(tmp_path: Path) -> None:
    # A member whose header declares 10 bytes but holds 3 MiB: the copy stops at the limit.
    archive = zip_of(tmp_path / "liar.zip", {"a.bin": np.random.default_rng(1).bytes(3 << 20)})
    raw = bytearray(archive.read_bytes())
    for signature in (b"PK\x03\x04", b"PK\x01\x02"):
        start = raw.find(signature)
        offset = start + (22 if signature == b"PK\x03\x04" else 24)
        raw[offset:offset + 4] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    # Python's zipfile reads no further than the declared size, so the CRC check refuses it.
    with use_limits(IngestLimits(max_extracted_bytes=1 << 20)), \
            pytest.raises(SourceFormatError, match=r"liar\.zip: not a valid zip archive"):
        safe_extract(archive, tmp_path / "out")
    written = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written <= (1 << 20) + (1 << 20)  # never more than the limit plus one chunk


def test_too_many_features_or_rows(data: DataDir, tmp_path: Path) -> None:
    points = tmp_path / "sites.geojson"
    gpd.GeoDataFrame({"name": [str(i) for i in range(30)]},
                     geometry=[shapely.Point(-77.5 + i / 100, 8.2) for i in range(30)],
                     crs="EPSG:4326").to_file(points)
    counts = tmp_path / "counts.csv"
    counts.write_text("point_id,month,direction,nationality,sex,age_group,count\n"
                      + "".join(f"PA-BCH,2024-{m:02d},northbound,VEN,F,18-59,1\n"
                                for m in range(1, 13)))
    before = snapshot(data.root)
    text = refused(cmrisk(data, "ingest", "vector", str(points), "--id", "sites",
                          max_features="20"), "max_features")
    assert "sites.geojson: the file holds 30 features, more than the 20 allowed" in text
    text = refused(cmrisk(data, "ingest", "flow_counts", str(counts), max_features="10"),
                   "max_features")
    assert "counts.csv: the file holds 12 rows, more than the 10 allowed" in text
    assert snapshot(data.root) == before


def test_free_disk_is_kept(data: DataDir, tmp_path: Path) -> None:
    tif = tmp_path / "small.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=16, height=16, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(0.01, 0, -78, 0, -0.01, 8.5)) as dst:
        dst.write(np.ones((16, 16), "float32"), 1)
    before = snapshot(data.root)
    text = refused(cmrisk(data, "ingest", "raster", str(tif), "--id", "small",
                          min_free_disk_bytes=str(10**18)), "min_free_disk_bytes")
    assert "less than the 1,000,000,000,000,000,000 to keep free" in text
    assert snapshot(data.root) == before
    assert cmrisk(data, "ingest", "raster", str(tif), "--id", "small").exit_code == 0


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMRISK_INGEST_MAX_FEATURES", "7")
    assert IngestLimits().max_features == 7
    assert IngestLimits().max_archive_depth == 1  # the default
