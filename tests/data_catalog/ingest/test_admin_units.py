"""`cmrisk ingest admin_units PATH --level 1|2`: geoBoundaries GeoJSON, a GADM GeoPackage and a
zipped shapefile become the admin inputs of the next run, all or nothing, versioned."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from data_catalog.errors import SourceFormatError
from data_catalog.ingest import IngestOptions, IngestRefused, ingest
from data_catalog.paths import DataDir
from geo_service.cli import app as cli_app
from pipelines.config import load_region
from tests.data_catalog.ingest.test_pipeline_inputs import tree_digest

BBOX = load_region("darien").grid.bounds_lonlat


def _units(names: list[str], **columns: list[object]) -> gpd.GeoDataFrame:
    """Units side by side along 8.3° N inside the Darién region, 0.3° wide each."""
    boxes = [shapely.box(-78.5 + 0.3 * i, 8.1, -78.2 + 0.3 * i, 8.5) for i in range(len(names))]
    return gpd.GeoDataFrame(columns, geometry=boxes, crs="EPSG:4326")


@pytest.fixture
def data(demo_inputs: Path, copy_data_dir) -> DataDir:
    return DataDir(copy_data_dir(demo_inputs))


def test_geoboundaries_adm2_geojson_becomes_the_adm2_input(data: DataDir,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "geoBoundaries-PAN-ADM2.geojson"
    names = ["Chepigana", "Pinogana"]
    _units(names, shapeName=names, shapeID=["PAN-ADM2-1", "PAN-ADM2-2"],
           shapeGroup=["PAN", "PAN"], shapeType=["ADM2", "ADM2"]).to_file(path)
    outcome = ingest(data, "admin_units", path, IngestOptions(level=2, bbox=BBOX))
    stored = gpd.read_parquet(data.inputs / "admin_units" / "adm2.parquet")
    assert stored["shapeID"].tolist() == ["PAN-ADM2-1", "PAN-ADM2-2"]
    assert stored["shapeType"].tolist() == ["ADM2", "ADM2"]
    assert not stored["synthetic"].any()
    assert outcome.input == "admin_units" and outcome.version.version == 2  # 1 = baseline
    # The other level is left as it was (the demo's generated ADM1 outlines).
    assert not (data.inputs / "admin_units" / "adm1.parquet").exists()


def test_gadm_level_1_in_a_geopackage_and_a_zipped_shapefile(data: DataDir,
                                                             tmp_path: Path) -> None:
    gpkg = tmp_path / "gadm41_COL.gpkg"
    _units(["Chocó"], GID_1=["COL.13_1"], NAME_1=["Chocó"], GID_0=["COL"]).to_file(
        gpkg, layer="ADM_ADM_1", driver="GPKG")
    ingest(data, "admin_units", gpkg, IngestOptions(level=1))
    stored = gpd.read_parquet(data.inputs / "admin_units" / "adm1.parquet")
    assert stored[["shapeID", "shapeName", "shapeGroup"]].values.tolist() == [
        ["COL.13_1", "Chocó", "COL"]]
    shp = tmp_path / "shp" / "gadm41_PAN_2.shp"
    shp.parent.mkdir()
    _units(["Cémaco"], GID_2=["PAN.4.1_1"], NAME_2=["Cémaco"], NAME_1=["Emberá"],
           GID_0=["PAN"]).to_file(shp)
    archive = tmp_path / "gadm41_PAN_2.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in shp.parent.iterdir():
            zipped.write(part, part.name)
    ingest(data, "admin_units", archive, IngestOptions(level=2))
    adm2 = gpd.read_parquet(data.inputs / "admin_units" / "adm2.parquet")
    assert adm2[["shapeID", "parentName"]].values.tolist() == [["PAN.4.1_1", "Emberá"]]


def test_bad_files_are_refused_whole(data: DataDir, tmp_path: Path) -> None:
    before = tree_digest(data.root)
    unnamed = tmp_path / "unnamed.geojson"
    _units(["a", "b"], shapeID=["X-1", "X-2"], shapeName=["Darién", None],
           shapeGroup=["PAN", "PAN"]).to_file(unnamed)
    with pytest.raises(IngestRefused, match="shapeName"):
        ingest(data, "admin_units", unnamed, IngestOptions(level=1))
    stranger = tmp_path / "stranger.geojson"
    _units(["a"], code=["1"], label=["x"]).to_file(stranger)
    with pytest.raises(SourceFormatError, match="shapeID, shapeName, shapeGroup"):
        ingest(data, "admin_units", stranger, IngestOptions(level=2))
    with pytest.raises(ValueError, match="--level 1"):
        ingest(data, "admin_units", unnamed, IngestOptions())
    assert tree_digest(data.root) == before


def test_the_command_line_takes_the_level(data: DataDir, tmp_path: Path) -> None:
    path = tmp_path / "adm1.geojson"
    _units(["Darién"], shapeID=["PAN-ADM1-5"], shapeName=["Darién"],
           shapeGroup=["PAN"]).to_file(path)
    result = CliRunner().invoke(cli_app, ["ingest", "admin_units", str(path), "--level", "1",
                                          "--data-dir", str(data.root)])
    assert result.exit_code == 0, result.output
    assert "admin_units version 2" in result.output
    assert gpd.read_parquet(data.inputs / "admin_units" / "adm1.parquet")[
        "shapeName"].tolist() == ["Darién"]
