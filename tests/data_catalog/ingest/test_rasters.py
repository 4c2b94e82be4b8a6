"""`cmrisk ingest raster`: any raster becomes a COG user layer, atomically."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rio_cogeo.cogeo import cog_validate
from typer.testing import CliRunner

from data_catalog.ingest import rasters as user_rasters
from data_catalog.paths import DataDir, switch_symlink
from geo_service.cli import app as cli
from layers.registry import Registry
from tests.ingesting import ingest_raster

UTM = "EPSG:32618"
UTM_CELLS = Affine(100.0, 0, 200_000, 0, -100.0, 1_000_000)


def write_tif(path: Path, array: np.ndarray, *, crs: str | None = UTM,
              transform: Affine = UTM_CELLS,
              nodata: float | None = None, driver: str = "GTiff", **extra: Any) -> Path:
    profile: dict[str, Any] = {"driver": driver, "width": array.shape[1],
                               "height": array.shape[0], "count": 1,
                               "dtype": array.dtype.name, "transform": transform, **extra}
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root, with a content hash for files."""
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


def checkerboard(shape: tuple[int, int], dtype: str) -> np.ndarray:
    rows, cols = np.indices(shape)
    return np.where((rows + cols) % 2 == 0, 0, 10).astype(dtype)


def test_a_plain_geotiff_is_converted_to_a_cog(data: DataDir, tmp_path: Path) -> None:
    source = write_tif(tmp_path / "float.tif", checkerboard((1200, 1000), "float32"))
    layer = ingest_raster(data, source, layer_id="rain", title="Rainfall", units="mm",
                          colormap="blues", rescale="0,10")
    asset = data.layers / "rain" / "data.tif"
    assert layer.asset == asset and layer.kind == "raster" and layer.run_id is None
    valid, errors, warnings = cog_validate(str(asset), strict=True, quiet=True)
    assert valid, (errors, warnings)
    with rasterio.open(source) as src, rasterio.open(asset) as cog:
        assert cog.crs == src.crs and cog.transform == src.transform
        assert cog.overviews(1) and cog.block_shapes[0] == (256, 256)
        assert cog.profile["compress"].lower() == "zstd"
        assert np.isnan(cog.nodata)  # float without a nodata tag: NaN declared
        np.testing.assert_array_equal(cog.read(1), src.read(1))
    with rasterio.open(asset, overview_level=0) as overview:
        # Continuous data: averaged overviews (a 0/10 checkerboard averages to 5).
        assert np.allclose(overview.read(1)[:10, :10], 5.0)


def test_integer_rasters_keep_nearest_overviews(data: DataDir, tmp_path: Path) -> None:
    source = write_tif(tmp_path / "classes.tif", checkerboard((1200, 1000), "uint8"),
                       nodata=255)
    ingest_raster(data, source, layer_id="classes")
    with rasterio.open(data.layers / "classes" / "data.tif", overview_level=0) as overview:
        assert set(np.unique(overview.read(1))) <= {0, 10}
        assert overview.nodata == 255


def test_a_valid_cog_is_kept_byte_for_byte(data: DataDir, tmp_path: Path) -> None:
    source = write_tif(tmp_path / "cog.tif", checkerboard((700, 700), "int16"), driver="COG",
                       blocksize=512, compress="DEFLATE", crs="EPSG:4326",
                       transform=Affine(0.001, 0, -78, 0, -0.001, 9))
    assert cog_validate(str(source), strict=True, quiet=True)[0]
    layer = ingest_raster(data, source, layer_id="kept")
    assert (data.layers / "kept" / "data.tif").read_bytes() == source.read_bytes()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert layer.provenance == [{"name": "cog.tif", "synthetic": False, "cog": "kept",
                                 "sha256": digest}]


def test_the_stac_item_and_the_registry(data: DataDir, tmp_path: Path) -> None:
    source = write_tif(tmp_path / "depth.tif", np.linspace(0, 4, 400 * 300,
                                                           dtype="float32").reshape(400, 300),
                       nodata=-1.0)
    layer = ingest_raster(data, source, layer_id="flood-depth", title="Flood depth",
                          units="m", colormap="ylgnbu", rescale="0,3")
    item = json.loads((data.layers / "flood-depth" / "item.json").read_text())
    props = item["properties"]
    assert item["id"] == "flood-depth" and props["title"] == "Flood depth"
    for key, value in {"kind": "raster", "value_type": "continuous", "units": "m",
                       "synthetic": False, "access": "public", "colormap": "ylgnbu",
                       "rescale": [0.0, 3.0]}.items():
        assert props[f"cmrisk:{key}"] == value, key
    assert item["assets"]["data"]["href"] == "./data.tif"
    assert item["assets"]["data"]["type"].startswith("image/tiff")
    west, south, east, north = item["bbox"]
    assert -78 < west < east < -77 and 8 < south < north < 10
    assert str(tmp_path) not in json.dumps(item)  # no file-system path in the catalog
    served = Registry(data).get("flood-depth")
    assert served == layer
    assert served.style.colormap == "ylgnbu" and served.style.rescale == (0.0, 3.0)
    assert served.legend.units == "m" and len(served.legend.classes) == 5


def test_default_stretch(data: DataDir, tmp_path: Path) -> None:
    values = np.linspace(0, 100, 101 * 101, dtype="float32").reshape(101, 101)
    values[:10] = np.nan
    layer = ingest_raster(data, write_tif(tmp_path / "p.tif", values), layer_id="pct")
    low, high = layer.style.rescale or (0, 0)
    assert 9 < low < 12 and 97 < high < 99  # 2nd and 98th percentiles of valid cells
    assert layer.style.colormap == "viridis"
    counts = ingest_raster(data, write_tif(tmp_path / "i.tif",
                                           np.arange(400, dtype="int16").reshape(20, 20)),
                           layer_id="int")
    assert counts.style.rescale == (0.0, 399.0)


def test_reingest_replaces_the_layer(data: DataDir, tmp_path: Path) -> None:
    first = ingest_raster(data, write_tif(tmp_path / "a.tif", np.ones((50, 50), "float32")),
                          layer_id="same", rescale="0,2")
    second = ingest_raster(data, write_tif(tmp_path / "b.tif",
                                           np.full((50, 50), 2, "float32")),
                           layer_id="same", rescale="0,2")
    assert first.version != second.version
    assert sorted(p.name for p in data.layers.iterdir()) == ["same"]
    assert not (data.root / ".tmp").exists()


@pytest.mark.parametrize("kwargs,message", [
    ({"layer_id": "../evil"}, "layer id"), ({"layer_id": "Upper"}, "layer id"),
    ({"layer_id": ""}, "layer id"), ({"layer_id": "a/b"}, "layer id"),
    ({"layer_id": "ok", "colormap": "jet"}, "colormap"),
    ({"layer_id": "ok", "rescale": "1"}, "--rescale"),
    ({"layer_id": "ok", "rescale": "5,1"}, "--rescale"),
    ({"layer_id": "ok", "rescale": "a,b"}, "--rescale"),
    ({"layer_id": "ok", "rescale": "nan,1"}, "--rescale"),
])
def test_bad_arguments_change_nothing(data: DataDir, tmp_path: Path, kwargs: dict[str, str],
                                      message: str) -> None:
    source = write_tif(tmp_path / "x.tif", np.ones((20, 20), "float32"))
    before = snapshot(data.root)
    with pytest.raises(ValueError, match=message):
        ingest_raster(data, source, **kwargs)  # type: ignore[arg-type]
    assert snapshot(data.root) == before


def test_bad_files_change_nothing(data: DataDir, tmp_path: Path) -> None:
    text = tmp_path / "notes.tif"
    text.write_text("not a raster")
    no_crs = write_tif(tmp_path / "nocrs.tif", np.ones((20, 20), "float32"), crs=None)
    empty = write_tif(tmp_path / "empty.tif", np.full((20, 20), np.nan, "float32"))
    before = snapshot(data.root)
    for path, message in ((text, "cannot open"), (no_crs, "CRS"), (empty, "no valid cell")):
        with pytest.raises(ValueError, match=message):
            ingest_raster(data, path, layer_id="bad")
        assert snapshot(data.root) == before, path.name


def test_a_failed_conversion_changes_nothing(data: DataDir, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ingest_raster(data, write_tif(tmp_path / "old.tif", np.ones((30, 30), "float32")),
                  layer_id="layer", rescale="0,1")
    before = snapshot(data.root)

    def broken(*args: Any, **kwargs: Any) -> None:
        Path(args[1]).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(user_rasters, "cog_translate", broken)
    big = write_tif(tmp_path / "new.tif", np.ones((1200, 1200), "float32"))
    with pytest.raises(OSError, match="disk full"):
        ingest_raster(data, big, layer_id="layer")
    assert snapshot(data.root) == before


def test_run_layer_ids_are_refused(data: DataDir, tmp_path: Path) -> None:
    run = data.runs / "r1"
    (run / "items").mkdir(parents=True)
    (run / "items" / "risk.json").write_text("{}")
    switch_symlink(data.current, run)
    with pytest.raises(ValueError, match="current run"):
        ingest_raster(data, write_tif(tmp_path / "r.tif", np.ones((9, 9), "float32")),
                      layer_id="risk")


def test_cli_ingest_raster(data: DataDir, tmp_path: Path) -> None:
    source = write_tif(tmp_path / "cli.tif", np.ones((40, 40), "float32"))
    result = CliRunner().invoke(cli, ["ingest", "raster", str(source), "--id", "cli-layer",
                                      "--colormap", "magma", "--rescale", "0,2",
                                      "--units", "m", "--data-dir", str(data.root)])
    assert result.exit_code == 0, result.output
    layer = Registry(data).get("cli-layer")
    assert layer.style.colormap == "magma" and layer.units == "m"
    bad = CliRunner().invoke(cli, ["ingest", "raster", str(source), "--id", "x",
                                   "--colormap", "jet", "--data-dir", str(data.root)])
    assert bad.exit_code != 0 and "colormap" in bad.output
