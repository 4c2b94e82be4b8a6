"""Natural Earth admin-0 reader: multipolygons, the antimeridian, ISO_A3 '-99' fallbacks."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from data_catalog.errors import MissingColumnError, MissingCRSError, SourceFormatError
from data_catalog.readers.natural_earth import read_natural_earth
from data_catalog.readers.report import Action, Issue


def country(adm0: str, iso: str, name: str, eh: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"featurecla": "Admin-0 country", "SOVEREIGNT": name, "ADM0_A3": adm0,
            "ISO_A3": iso, "ISO_A3_EH": eh if eh is not None else iso, "NAME": name,
            "NAME_LONG": name, "CONTINENT": "North America", "REGION_UN": "Americas",
            "SUBREGION": "Central America", "POP_EST": 4351267.0, **extra}


FIJI = MultiPolygon([  # as Natural Earth draws it: already split at ±180°
    box(177.0, -18.3, 180.0, -16.0),
    box(-180.0, -16.6, -179.7, -16.0),
])
RUSSIA = MultiPolygon([box(30.0, 50.0, 180.0, 75.0), box(-180.0, 64.0, -169.0, 70.0)])
ANTARCTICA = Polygon([(-180, -90), (-180, -84.7), (0, -70), (180, -84.7), (180, -90),
                      (-180, -90)])


def countries() -> gpd.GeoDataFrame:
    rows = [
        country("PAN", "PAN", "Panamá"),
        country("COL", "COL", "Colombia", SUBREGION="South America"),
        country("FRA", "-99", "France", eh="FRA", CONTINENT="Europe"),
        country("KOS", "-99", "Kosovo", eh="-99", CONTINENT="Europe"),
        country("FJI", "FJI", "Fiji", CONTINENT="Oceania"),
        country("RUS", "RUS", "Russia", CONTINENT="Europe"),
        country("ATA", "ATA", "Antarctica", CONTINENT="Antarctica", POP_EST=4490.0),
    ]
    geoms = [box(-83.0, 7.2, -77.2, 9.6), box(-79.0, -4.2, -66.9, 12.4),
             MultiPolygon([box(-5, 42, 8, 51), box(8.5, 41.4, 9.6, 43.0)]), box(20, 42, 21.8, 43.3),
             FIJI, RUSSIA, ANTARCTICA]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


@pytest.fixture
def shapefile_zip(tmp_path: Path) -> Path:
    shp = tmp_path / "ne_10m_admin_0_countries.shp"
    countries().to_file(shp)
    archive = tmp_path / "ne_10m_admin_0_countries.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("ne_10m_admin_0_countries.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    return archive


def test_countries_from_zipped_shapefile(shapefile_zip: Path) -> None:
    frame, report = read_natural_earth(shapefile_zip)
    assert len(frame) == 7 == report.rows_kept
    assert set(frame.geometry.geom_type) == {"MultiPolygon"}
    assert frame.crs.to_epsg() == 4326
    assert frame["pop_est"].dtype == "Int64"
    assert frame.set_index("iso_a3").loc["PAN", "name"] == "Panamá"
    assert frame.attrs["source_id"] == "natural_earth"


def test_iso_a3_fallback(shapefile_zip: Path) -> None:
    frame, report = read_natural_earth(shapefile_zip)
    codes = dict(zip(frame["name"], frame["iso_a3"], strict=True))
    assert codes["France"] == "FRA"  # from ISO_A3_EH
    assert codes["Kosovo"] == "KOS"  # from ADM0_A3
    entries = {e.key: e for e in report.for_issue(Issue.ISO_A3_FALLBACK)}
    assert set(entries) == {"ADM0_A3 FRA France", "ADM0_A3 KOS Kosovo"}
    assert "ISO_A3_EH" in entries["ADM0_A3 FRA France"].detail
    assert "ADM0_A3" in entries["ADM0_A3 KOS Kosovo"].detail


def test_iso_a3_fallback_without_eh_column(tmp_path: Path) -> None:
    path = tmp_path / "old.geojson"
    countries().drop(columns="ISO_A3_EH").to_file(path, driver="GeoJSON")
    frame, _ = read_natural_earth(path)
    assert dict(zip(frame["name"], frame["iso_a3"], strict=True))["France"] == "FRA"


def test_split_countries_are_kept_valid(shapefile_zip: Path) -> None:
    frame, report = read_natural_earth(shapefile_zip)
    by = frame.set_index("iso_a3")
    for code in ("FJI", "RUS", "ATA"):
        geom = by.loc[code].geometry
        assert geom.is_valid
        assert geom.bounds[0] >= -180 and geom.bounds[2] <= 180
    assert by.loc["FJI"].geometry.area == pytest.approx(FIJI.area)
    assert by.loc["ATA"].geometry.area == pytest.approx(ANTARCTICA.area)
    assert not report.for_issue(Issue.ANTIMERIDIAN_SPLIT)


def test_polygon_drawn_across_the_antimeridian_is_split(tmp_path: Path) -> None:
    # a re-export that joined Fiji's parts: the ring jumps from 179.5 to -179.5
    crossing = {"type": "Polygon", "coordinates": [[[179.0, -16.0], [-179.5, -16.0],
                                                    [-179.5, -17.0], [179.0, -17.0],
                                                    [179.0, -16.0]]]}
    feature = {"type": "Feature", "properties": country("FJI", "FJI", "Fiji"),
               "geometry": crossing}
    path = tmp_path / "fiji.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}),
                    encoding="utf-8")
    frame, report = read_natural_earth(path)
    geom = frame.geometry.iloc[0]
    assert len(geom.geoms) == 2
    assert geom.area == pytest.approx(1.5)  # 1.5° × 1°, not the rest of the world
    assert geom.bounds == pytest.approx((-180.0, -17.0, 180.0, -16.0))
    (entry,) = report.for_issue(Issue.ANTIMERIDIAN_SPLIT)
    assert entry.action is Action.FIXED


def test_lower_case_fields_and_invalid_polygon(tmp_path: Path) -> None:
    gdf = countries().iloc[:1].rename(columns=str.lower).set_geometry("geometry")
    gdf = gdf.set_geometry([Polygon([(-80, 8), (-78, 9), (-78, 8), (-80, 9)])])
    path = tmp_path / "lower.gpkg"
    gdf.to_file(path)
    frame, report = read_natural_earth(path)
    assert frame["iso_a3"].tolist() == ["PAN"]
    assert frame.geometry.iloc[0].is_valid
    assert report.for_issue(Issue.INVALID_GEOMETRY)


def test_errors(tmp_path: Path) -> None:
    csv = tmp_path / "countries.csv"
    csv.write_text("ADM0_A3,ISO_A3,NAME\nPAN,PAN,Panama\n", encoding="utf-8")
    with pytest.raises(SourceFormatError):
        read_natural_earth(csv)
    missing = tmp_path / "noadm.gpkg"
    countries().drop(columns="ADM0_A3").to_file(missing)
    with pytest.raises(MissingColumnError) as info:
        read_natural_earth(missing)
    assert info.value.column == "ADM0_A3"
    noprj = tmp_path / "noprj.shp"
    countries().to_file(noprj)
    noprj.with_suffix(".prj").unlink()
    with pytest.raises(MissingCRSError):
        read_natural_earth(noprj)
