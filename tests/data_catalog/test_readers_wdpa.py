"""WDPA reader: real field layout, point buffering, IUCN normalisation, same-place records."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import MultiPoint, Point, Polygon, box

from data_catalog.errors import MissingColumnError, MissingCRSError, SourceFormatError
from data_catalog.readers.report import Action, Issue
from data_catalog.readers.wdpa import normalise_iucn, read_wdpa

GEOD = Geod(ellps="WGS84")

# The WDPA attribute table as in the monthly shapefiles (field names of at most 10 characters).
FIELDS = dict(
    WDPA_PID="", PA_DEF="1", ORIG_NAME="", DESIG="", INT_CRIT="Not Applicable", MARINE="0",
    REP_M_AREA=0.0, GIS_M_AREA=0.0, GIS_AREA=0.0, NO_TAKE="Not Applicable", NO_TK_AREA=0.0,
    STATUS="Designated", STATUS_YR=1980, GOV_TYPE="Federal or national ministry or agency",
    OWN_TYPE="State", MANG_AUTH="Ministerio de Ambiente", ISO3="PAN", PARENT_ISO="PAN",
)
PARK = box(-78.42, 7.20, -77.15, 8.52)  # Darién National Park's published extent (approx.)


def record(wdpaid: int, name: str, desig_eng: str, desig_type: str, iucn: str, rep_area: float,
           **extra: object) -> dict[str, object]:
    return {**FIELDS, "WDPAID": wdpaid, "WDPA_PID": str(wdpaid), "NAME": name,
            "ORIG_NAME": name, "DESIG_ENG": desig_eng, "DESIG_TYPE": desig_type,
            "IUCN_CAT": iucn, "REP_AREA": rep_area, **extra}


def polygons() -> gpd.GeoDataFrame:
    rows = [
        record(2553, "Darién", "National Park", "National", "II", 5790.0,
               DESIG="Parque Nacional"),
        record(159, "Darién National Park", "World Heritage Site (natural or mixed)",
               "International", "Not Applicable", 5970.0),
        record(30617, "Darién", "UNESCO-MAB Biosphere Reserve", "International",
               "Not Applicable", 5800.0),
        record(555, "Filo del Tallo", "Hydrological Reserve", "National", "Not Reported", 248.0),
        record(556, "Canglón", "Forest Reserve", "National", "vi", 311.0, STATUS_YR=0),
    ]
    geoms = [PARK, PARK.buffer(0.01), PARK.buffer(-0.01), box(-77.8, 8.2, -77.6, 8.4),
             box(-77.65, 8.25, -77.5, 8.35)]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def points() -> gpd.GeoDataFrame:
    rows = [
        record(900, "Punta Patiño", "Private Nature Reserve", "National", "IV", 263.0),
        record(901, "Sin área", "Wildlife Refuge", "National", "IV", 0.0),
        record(902, "Islas", "Wildlife Refuge", "National", "Ia", 100.0),
    ]
    geoms = [MultiPoint([(-78.25, 8.25)]), MultiPoint([(-77.9, 8.0)]),
             MultiPoint([(-77.0, 8.9), (-77.1, 9.0)])]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def geodesic_km2(geom: object) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


@pytest.fixture
def shapefiles(tmp_path: Path) -> list[Path]:
    poly = tmp_path / "WDPA_Nov2024_Public_PAN_shp-polygons.shp"
    pts = tmp_path / "WDPA_Nov2024_Public_PAN_shp-points.shp"
    polygons().to_file(poly)
    points().to_file(pts)
    return [poly, pts]


def test_polygons_and_points_from_shapefiles(shapefiles: list[Path]) -> None:
    frame, report = read_wdpa(shapefiles)
    assert frame.crs.to_epsg() == 4326
    assert set(frame.geometry.geom_type) == {"MultiPolygon"}
    assert report.rows_read == 8
    assert report.rows_kept == len(frame) == 5  # 2 same-place records and 1 area-less point out
    assert frame["wdpaid"].dtype == "Int64"
    assert frame["rep_area_km2"].dtype == "float64"
    assert frame.attrs["source_id"] == "wdpa"
    assert len(frame.attrs["sha256"].split()) == 2
    assert frame.attrs["units"]["rep_area_km2"] == "km²"
    darien = frame.set_index("wdpaid").loc[2553]
    assert darien["name"] == "Darién"
    assert darien["area_id"] == "wdpa:2553"
    assert darien["iucn_cat"] == "II"
    assert darien["parent_iso3"] == "PAN"


def test_point_buffered_to_reported_area(shapefiles: list[Path]) -> None:
    frame, report = read_wdpa(shapefiles)
    site = frame.set_index("wdpaid").loc[900]
    assert site["geometry_source"] == "point_buffer"
    assert geodesic_km2(site.geometry) == pytest.approx(263.0, rel=0.005)
    assert site.geometry.centroid.distance(Point(-78.25, 8.25)) < 1e-3
    two = frame.set_index("wdpaid").loc[902]
    assert len(two.geometry.geoms) == 2  # a MultiPoint: two circles sharing REP_AREA
    assert geodesic_km2(two.geometry) == pytest.approx(100.0, rel=0.005)
    assert {e.key for e in report.for_issue(Issue.POINT_BUFFERED)} == {"WDPAID 900", "WDPAID 902"}


def test_point_without_area_dropped_and_reported(shapefiles: list[Path]) -> None:
    frame, report = read_wdpa(shapefiles)
    assert 901 not in frame["wdpaid"].tolist()
    (entry,) = report.for_issue(Issue.POINT_WITHOUT_AREA)
    assert entry.action is Action.DROPPED and entry.key == "WDPAID 901"


def test_iucn_not_reported_normalised_with_report(shapefiles: list[Path]) -> None:
    frame, report = read_wdpa(shapefiles, dedupe=False)
    by_id = frame.set_index("wdpaid")
    assert pd.isna(by_id.loc[555, "iucn_cat"])
    assert by_id.loc[556, "iucn_cat"] == "VI"  # 'vi' → 'VI'
    not_reported = {e.key for e in report.for_issue(Issue.IUCN_NOT_REPORTED)}
    assert not_reported == {"WDPAID 159", "WDPAID 30617", "WDPAID 555"}
    assert [e.key for e in report.for_issue(Issue.VALUE_NORMALISED)
            if "IUCN" in e.detail] == ["WDPAID 556"]
    assert by_id["status_yr"].isna().loc[556]  # STATUS_YR 0 means not reported


@pytest.mark.parametrize(
    ("raw", "expected", "issue"),
    [("II", "II", None), ("Ia", "Ia", None), (" ib ", "Ib", Issue.VALUE_NORMALISED),
     ("Not Reported", None, Issue.IUCN_NOT_REPORTED),
     ("Not Applicable", None, Issue.IUCN_NOT_REPORTED),
     ("Not Assigned", None, Issue.IUCN_NOT_REPORTED), ("VII", None, Issue.IUCN_UNKNOWN),
     ("", None, None), (None, None, None)],
)
def test_normalise_iucn(raw: str | None, expected: str | None, issue: Issue | None) -> None:
    assert normalise_iucn(raw) == (expected, issue)


def test_same_place_keeps_the_national_designation(shapefiles: list[Path]) -> None:
    frame, report = read_wdpa(shapefiles)
    ids = frame["wdpaid"].tolist()
    assert 2553 in ids and 159 not in ids and 30617 not in ids
    dropped = report.for_issue(Issue.DUPLICATE_DESIGNATION)
    assert {e.key for e in dropped} == {"WDPAID 159", "WDPAID 30617"}
    assert all(e.action is Action.DROPPED and "WDPAID 2553" in e.detail for e in dropped)
    others = frame.set_index("wdpaid").loc[2553, "other_designations"]
    assert "World Heritage Site" in others and "[WDPAID 159]" in others
    assert "Biosphere" in others
    # the overlapping but distinct reserves (IoU far below the threshold) are both kept
    assert {555, 556} <= set(ids)


def test_without_national_record_world_heritage_beats_biosphere(tmp_path: Path) -> None:
    rows = polygons().iloc[1:3]
    path = tmp_path / "intl.gpkg"
    rows.to_file(path, layer="WDPA_poly_Nov2024")
    frame, report = read_wdpa(path)
    assert frame["wdpaid"].tolist() == [159]
    assert [e.key for e in report.for_issue(Issue.DUPLICATE_DESIGNATION)] == ["WDPAID 30617"]


def test_dedupe_off_keeps_all(shapefiles: list[Path]) -> None:
    frame, report = read_wdpa(shapefiles, dedupe=False)
    assert len(frame) == 7 and not report.for_issue(Issue.DUPLICATE_DESIGNATION)


def test_geopackage_with_point_and_polygon_layers_and_a_table(tmp_path: Path) -> None:
    path = tmp_path / "WDPA_Nov2024_Public.gpkg"
    polygons().to_file(path, layer="WDPA_poly_Nov2024")
    points().to_file(path, layer="WDPA_point_Nov2024")
    import pyogrio

    table = polygons().drop(columns="geometry").iloc[:1]
    pyogrio.write_dataframe(table, path, layer="WDPA_source", driver="GPKG")
    frame, report = read_wdpa(path)
    assert len(frame) == 5
    assert any("WDPA_source" in e.detail for e in report.entries if e.action is Action.SKIPPED)


def test_geojson_and_bbox(tmp_path: Path) -> None:
    path = tmp_path / "wdpa.geojson"
    polygons().to_file(path, driver="GeoJSON")
    frame, _ = read_wdpa(path, bbox=(-77.7, 8.28, -77.55, 8.32))
    assert set(frame["wdpaid"]) == {2553, 555, 556}


def test_nested_zip_as_downloaded(tmp_path: Path, shapefiles: list[Path]) -> None:
    inner = tmp_path / "WDPA_Nov2024_Public_shp_0.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        for shp in shapefiles:
            for part in shp.parent.glob(shp.stem + ".*"):
                zf.write(part, part.name)
    outer = tmp_path / "WDPA_Nov2024_Public_shp.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, inner.name)
        zf.writestr("WDPA_Manual.txt", "terms")
    frame, report = read_wdpa(outer)
    assert len(frame) == 5
    assert report.source_files == [outer.name]


def test_parcels_with_one_wdpaid_are_merged(tmp_path: Path) -> None:
    rows = [record(777, "Parcelas", "Forest Reserve", "National", "VI", 20.0, WDPA_PID="777_A"),
            record(777, "Parcelas", "Forest Reserve", "National", "VI", 20.0, WDPA_PID="777_B")]
    gdf = gpd.GeoDataFrame(rows, geometry=[box(-77, 8, -76.9, 8.1), box(-76.8, 8, -76.7, 8.1)],
                           crs="EPSG:4326")
    path = tmp_path / "parcels.gpkg"
    gdf.to_file(path)
    frame, report = read_wdpa(path)
    assert len(frame) == 1 and len(frame.geometry.iloc[0].geoms) == 2
    assert report.rows_read == 2 and report.rows_dropped == 1 and report.rows_fixed == 1


def test_invalid_polygon_made_valid_and_reprojected(tmp_path: Path) -> None:
    bowtie = Polygon([(-77.0, 8.0), (-76.9, 8.1), (-76.9, 8.0), (-77.0, 8.1)])
    gdf = gpd.GeoDataFrame([record(1, "Bowtie", "Forest Reserve", "National", "VI", 1.0)],
                           geometry=[bowtie], crs="EPSG:4326").to_crs("EPSG:32617")
    path = tmp_path / "utm.gpkg"
    gdf.to_file(path)
    frame, report = read_wdpa(path)
    assert frame.geometry.iloc[0].is_valid
    assert report.for_issue(Issue.INVALID_GEOMETRY)
    assert report.for_issue(Issue.REPROJECTED)


def test_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "WDPA_Nov2024_Public_csv.csv"
    path.write_text("WDPAID,NAME\n1,Darién\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="CSV file is not a vector dataset"):
        read_wdpa(path)


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "no_iucn.gpkg"
    polygons().drop(columns="IUCN_CAT").to_file(path)
    with pytest.raises(MissingColumnError) as info:
        read_wdpa(path)
    assert info.value.column == "IUCN_CAT"
    assert "IUCN_CAT" in str(info.value)


def test_shapefile_without_prj_has_no_crs(tmp_path: Path) -> None:
    path = tmp_path / "noprj.shp"
    polygons().to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(MissingCRSError):
        read_wdpa(path)


def test_not_a_vector_file(tmp_path: Path) -> None:
    path = tmp_path / "wdpa.geojson"
    path.write_text("this is not json", encoding="utf-8")
    with pytest.raises(SourceFormatError):
        read_wdpa(path)


def test_report_is_json_serialisable(shapefiles: list[Path]) -> None:
    _, report = read_wdpa(shapefiles)
    data = json.loads(report.to_json())
    assert data["rows_read"] == 8 and data["rows_kept"] == 5
    assert data["issues"]["duplicate_designation"] == 2
