"""IDMC GIDD readers: disasters API JSON and the two HDX CSV layouts with their HXL rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from data_catalog.errors import MissingColumnError, SourceFormatError
from data_catalog.readers.idmc_gidd import (
    read_idmc_api_json,
    read_idmc_gidd,
    read_idmc_hdx_csv,
)
from data_catalog.readers.report import Action, Issue


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iso3": "PAN", "country_name": "Panama", "year": 2022,
        "start_date": "2022-11-06", "start_date_accuracy": "Day",
        "end_date": "2022-11-20", "end_date_accuracy": "Day",
        "event_name": "Panama: Floods - Darién - 06/11/2022",
        "new_displacement": 1234, "new_displacement_rounded": 1200,
        "total_displacement": None, "total_displacement_rounded": None,
        "hazard_category": 1, "hazard_category_name": "Weather related",
        "hazard_sub_category": 4, "hazard_sub_category_name": "Hydrological",
        "hazard_type": 9, "hazard_type_name": "Flood",
        "hazard_sub_type": 21, "hazard_sub_type_name": "Riverine flood",
        "glide_numbers": ["FL-2022-000345-PAN"],
    }
    base.update(overrides)
    return base


EVENTS = [
    event(),
    event(event_name="Colombia: Floods - Chocó - 2022", iso3="COL", country_name="Colombia",
          start_date="2022-05-10", end_date="2022-04-30", new_displacement=5000,
          new_displacement_rounded=5000),
    event(event_name="Panama: Landslide - Darién", new_displacement=None,
          new_displacement_rounded=90, total_displacement=15, total_displacement_rounded=20,
          glide_numbers=[]),
    event(event_name="no figures", new_displacement=None, new_displacement_rounded=None),
    event(iso3="", event_name="no country"),
]


@pytest.fixture
def api_json(tmp_path: Path) -> Path:
    path = tmp_path / "idmc_gidd_disasters_2022.json"
    path.write_text(json.dumps(EVENTS, ensure_ascii=False), encoding="utf-8")
    return path


def test_api_events(api_json: Path) -> None:
    frame, report = read_idmc_api_json(api_json)
    assert report.rows_read == 5 and len(frame) == 4 == report.rows_kept
    first = frame.iloc[0]
    assert first["iso3"] == "PAN" and first["year"] == 2022
    assert first["new_displacement"] == 1234  # the unrounded figure wins
    assert not first["new_displacement_is_rounded"]
    assert first["start_date"] == pd.Timestamp("2022-11-06")
    assert first["glide_numbers"] == "FL-2022-000345-PAN"
    assert first["event_name"] == "Panama: Floods - Darién - 06/11/2022"
    assert frame["new_displacement"].dtype == "Int64"
    assert frame["start_date"].dtype == "datetime64[ns]"
    assert frame.attrs["variant"] == "api_json"
    assert frame.attrs["units"]["new_displacement"].startswith("displacements")


def test_end_before_start_is_fixed(api_json: Path) -> None:
    frame, report = read_idmc_api_json(api_json)
    colombia = frame[frame["iso3"] == "COL"].iloc[0]
    assert colombia["end_date"] == colombia["start_date"] == pd.Timestamp("2022-05-10")
    (entry,) = report.for_issue(Issue.END_BEFORE_START)
    assert entry.action is Action.FIXED and "2022-04-30" in entry.detail


def test_rounded_fallback(api_json: Path) -> None:
    frame, report = read_idmc_api_json(api_json)
    slide = frame[frame["event_name"] == "Panama: Landslide - Darién"].iloc[0]
    assert slide["new_displacement"] == 90 and slide["new_displacement_is_rounded"]
    assert slide["total_displacement"] == 15 and not slide["total_displacement_is_rounded"]
    assert pd.isna(slide["glide_numbers"])
    (entry,) = report.for_issue(Issue.ROUNDED_FALLBACK)
    assert entry.action is Action.FIXED and "90" in entry.detail
    none = frame[frame["event_name"] == "no figures"].iloc[0]
    assert pd.isna(none["new_displacement"]) and pd.isna(none["new_displacement_is_rounded"])


def test_row_without_country_rejected(api_json: Path) -> None:
    frame, report = read_idmc_api_json(api_json)
    (entry,) = report.for_issue(Issue.MISSING_ID)
    assert entry.action is Action.REJECTED and entry.row == 4
    assert (entry.line, entry.column, entry.value) == (5, "iso3", "")
    assert report.positions == "record" and len(frame) == report.rows_read - 1


def test_paged_api_response(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"count": 2, "next": "https://api/next?offset=1",
                                "previous": None, "results": EVENTS[:1]}), encoding="utf-8")
    frame, report = read_idmc_gidd(path)
    assert len(frame) == 1 and report.rows_read == 1
    assert any("next page" in e.detail for e in report.entries)


def test_api_missing_key_is_named(tmp_path: Path) -> None:
    bad = event()
    del bad["end_date"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([bad]), encoding="utf-8")
    with pytest.raises(MissingColumnError) as info:
        read_idmc_api_json(path)
    assert info.value.column == "end_date"


def test_api_not_a_list(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"detail": "Invalid client id"}), encoding="utf-8")
    with pytest.raises(SourceFormatError):
        read_idmc_api_json(path)


def test_countries_join(api_json: Path) -> None:
    countries = gpd.GeoDataFrame({"iso_a3": ["PAN"]}, geometry=[box(-83, 7, -77, 9.7)],
                                 crs="EPSG:4326")
    frame, report = read_idmc_api_json(api_json, countries=countries)
    assert isinstance(frame, gpd.GeoDataFrame) and frame.crs.to_epsg() == 4326
    assert frame[frame["iso3"] == "PAN"].geometry.notna().all()
    assert frame[frame["iso3"] == "COL"].geometry.isna().all()
    (entry,) = report.for_issue(Issue.MISSING_COORDINATES)
    assert entry.key == "COL" and entry.count == 1


HDX_COUNTRY = (
    "ISO3,Name,Year,Conflict Stock Displacement,Conflict Internal Displacements,"
    "Disaster Internal Displacements\n"
    "#country+code,#country+name,#date+year,#affected+idps+ind+stock+conflict,"
    "#affected+idps+ind+newdisp+conflict,#affected+idps+ind+newdisp+disaster\n"
    "PAN,Panamá,2022,,,4100\n"
    "COL,Colombia,2022,4766000,339000,281000\n"
    "COL,Colombia,2023,,,\n"
)

HDX_EVENTS = (
    "ISO3,Name,Year,Start Date,Event Name,Hazard Category,Hazard Type,New Displacements\n"
    "#country+code,#country+name,#date+year,#date+start,#crisis+name,#cause+category,"
    "#cause+type,#affected+idps+ind+newdisp\n"
    "PAN,Panamá,2022,2022-11-06,Panamá: Inundaciones - Darién,Weather related,Flood,1234\n"
    "COL,Colombia,2022,2022-05-10,Colombia: Floods - Chocó,Weather related,Flood,\n"
)


def test_hdx_country_year(tmp_path: Path) -> None:
    path = tmp_path / "displacement_data.csv"
    path.write_text(HDX_COUNTRY, encoding="utf-8")
    frame, report = read_idmc_hdx_csv(path)
    assert report.rows_read == 3 == len(frame)  # the HXL row is not a data row
    (hxl,) = report.for_issue(Issue.HXL_ROW)
    assert hxl.action is Action.SKIPPED and "line 2" in hxl.detail
    assert report.lines_skipped == 1
    pan = frame.iloc[0]
    assert pan["country_name"] == "Panamá" and pan["disaster_internal_displacements"] == 4100
    assert pd.isna(pan["conflict_stock_displacement"])
    assert frame.iloc[1]["conflict_stock_displacement"] == 4766000
    assert frame.attrs["variant"] == "hdx_country_year_csv"
    assert list(frame.columns)[:3] == ["iso3", "country_name", "year"]


def test_hdx_events(tmp_path: Path) -> None:
    path = tmp_path / "disaster_events.csv"
    path.write_text(HDX_EVENTS, encoding="utf-8")
    frame, report = read_idmc_gidd(path)
    assert len(frame) == 2 and frame.attrs["variant"] == "hdx_events_csv"
    assert frame.iloc[0]["new_displacement"] == 1234
    assert pd.isna(frame.iloc[1]["new_displacement"])
    assert frame.iloc[0]["hazard_type_name"] == "Flood"
    assert pd.isna(frame.iloc[0]["end_date"])
    assert report.for_issue(Issue.HXL_ROW)
    api, _ = read_idmc_api_json(_write(tmp_path / "a.json", json.dumps(EVENTS[:1])))
    assert list(frame.columns) == list(api.columns)  # one schema for events


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_hdx_without_hxl_row(tmp_path: Path) -> None:
    lines = HDX_COUNTRY.splitlines()
    path = _write(tmp_path / "plain.csv", "\n".join([lines[0], *lines[2:]]) + "\n")
    frame, report = read_idmc_hdx_csv(path)
    assert len(frame) == 3 and not report.for_issue(Issue.HXL_ROW)


def test_hdx_missing_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.csv", "ISO3,Name,Year,Start Date,Event Name,Hazard Category,"
                  "Hazard Type\nPAN,Panama,2022,2022-01-01,x,y,z\n")
    with pytest.raises(MissingColumnError) as info:
        read_idmc_hdx_csv(path)
    assert info.value.column == "New Displacements"
