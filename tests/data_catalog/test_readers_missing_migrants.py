"""IOM Missing Migrants readers: the CSV export and the yearly website JSON, with their quirks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from data_catalog.errors import MissingColumnError, SourceFormatError
from data_catalog.readers.missing_migrants import (
    CSV_HEADER,
    JSON_KEYS,
    read_missing_migrants,
    read_missing_migrants_csv,
    read_missing_migrants_json,
)
from data_catalog.readers.report import Action, Issue

HEADER_LINE = (
    "Main ID,Incident ID,Incident Type,Region of Incident,Incident Date,Incident Year,Month,"
    "Number of Dead,Minimum Estimated Number of Missing,Total Number of Dead and Missing,"
    "Number of Survivors,Number of Females,Number of Males,Number of Children,Country of Origin,"
    "Region of Origin,Cause of Death,Country of Incident,Migration Route,Location of Incident,"
    "Coordinates,UNSD Geographical Grouping,Information Source,URL,Source Quality"
)


def csv_row(main_id: str, coords: str, *, region: str = "Central America",
            location: str = "Darién jungle, Panamá", dead: str = "1", missing: str = "",
            total: str = "1", date: str = "2023-03-14", year: str = "2023",
            month: str = "March", **extra: str) -> dict[str, str]:
    row = {
        "Main ID": main_id, "Incident ID": main_id, "Incident Type": "Incident",
        "Region of Incident": region, "Incident Date": date, "Incident Year": year,
        "Month": month, "Number of Dead": dead, "Minimum Estimated Number of Missing": missing,
        "Total Number of Dead and Missing": total, "Number of Survivors": "",
        "Number of Females": "", "Number of Males": "1", "Number of Children": "",
        "Country of Origin": "Venezuela (Bolivarian Republic of)",
        "Region of Origin": "Latin America / Caribbean", "Cause of Death": "Drowning",
        "Country of Incident": "Panama", "Migration Route": "Darien",
        "Location of Incident": location, "Coordinates": coords,
        "UNSD Geographical Grouping": "Central America",
        "Information Source": "Servicio Nacional de Fronteras (SENAFRONT)",
        "URL": "https://example.org/nota", "Source Quality": "4",
    }
    row.update(extra)
    return row


ROWS = [
    csv_row("2023.MMP00101", "8.457, -77.679", location="Río Tuquesa, near Bajo Chiquito",
            dead="3", total="3"),
    csv_row("2023.MMP00102", "-77.814, 8.403", location="Lajas Blancas reception station"),
    csv_row("2023.MMP00103", "-112.590416, 32.22804", region="North America",
            location="Pima County, Arizona"),
    csv_row("2023.MMP00104", "", dead="", total="", location="Darién, location unknown"),
    csv_row("2023.MMP00105", "8.6, -77.3", dead="1,022", total="1,022",
            location="Capurganá coast", **{"Region of Incident": "South America",
                                           "Country of Incident": "Colombia"}),
    csv_row("2023.MMP00106", "40.0, 10.0", location="somewhere far"),
    csv_row("2023.MMP00107", "unknown", location="Acandí"),
    csv_row("2023.MMP00108", "8.5, -77.5", location="Metetí"),
    csv_row("2023.MMP00109", "8.5, -77.5", location='Cañas Blancas, "El Tapón",\nDarién'),
    csv_row("2023.MMP00110", "8.41, -77.80", dead="2", missing="1", total="5",
            location="Quebrada León"),
    csv_row("2023.MMP00111", "8.40, -77.81", dead="x", date="31/02/2023",
            location="Lajas Blancas river"),
]


def write_csv(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8",
              header: tuple[str, ...] = CSV_HEADER) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(header), extrasaction="ignore",
                            lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.fixture
def mmp_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "Missing_Migrants_Global_Figures_allData.csv", ROWS)


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("mmp_id")


def test_header_is_the_documented_one(mmp_csv: Path) -> None:
    assert mmp_csv.read_text(encoding="utf-8").splitlines()[0] == HEADER_LINE


def test_csv_tidy_frame(mmp_csv: Path) -> None:
    frame, report = read_missing_migrants_csv(mmp_csv)
    # Two rows are bad (MMP00110: dead + missing ≠ total; MMP00111: "x" dead, 31/02 date).
    assert report.rows_read == len(ROWS) == len(frame) + 2 == report.rows_kept + 2
    assert report.rows_rejected == 2
    assert frame.crs.to_epsg() == 4326
    first = by_id(frame).loc["2023.MMP00101"]
    assert (first["lat"], first["lon"]) == (8.457, -77.679)
    assert first.geometry.x == -77.679 and first.geometry.y == 8.457
    assert first["number_dead"] == 3 and pd.isna(first["number_missing"])
    assert first["date"] == pd.Timestamp("2023-03-14") and first["month"] == 3
    assert first["location_description"] == "Río Tuquesa, near Bajo Chiquito"
    assert first["migration_route"] == "Darien"
    assert frame["number_dead"].dtype == "Int64"
    assert frame["date"].dtype == "datetime64[ns]"
    assert frame.attrs["variant"] == "csv"
    assert frame.attrs["units"]["number_dead"] == "persons"


def test_swapped_lat_lon_detected_and_fixed(mmp_csv: Path) -> None:
    frame, report = read_missing_migrants_csv(mmp_csv)
    swapped = {e.key: e for e in report.for_issue(Issue.LATLON_SWAPPED)}
    assert set(swapped) == {"Main ID 2023.MMP00102", "Main ID 2023.MMP00103"}
    assert all(e.action is Action.FIXED for e in swapped.values())
    lajas = by_id(frame).loc["2023.MMP00102"]
    assert (lajas["lat"], lajas["lon"]) == (8.403, -77.814)  # back inside Central America
    pima = by_id(frame).loc["2023.MMP00103"]
    assert (pima["lat"], pima["lon"]) == (32.22804, -112.590416)  # |lat| > 90 case
    assert "|lat| > 90" in swapped["Main ID 2023.MMP00103"].detail


def test_region_override_for_swap_detection(mmp_csv: Path) -> None:
    darien = (-79.5, 6.8, -76.5, 9.8)
    _, report = read_missing_migrants_csv(mmp_csv, region_bbox=darien)
    outside = {e.key for e in report.for_issue(Issue.OUTSIDE_REGION)}
    assert "Main ID 2023.MMP00106" in outside


def test_empty_cells_and_numbers(mmp_csv: Path) -> None:
    frame, report = read_missing_migrants_csv(mmp_csv)
    rows = by_id(frame)
    empty = rows.loc["2023.MMP00104"]
    assert pd.isna(empty["number_dead"]) and pd.isna(empty["total_dead_and_missing"])
    assert empty.geometry is None and pd.isna(empty["lat"])
    assert rows.loc["2023.MMP00105", "number_dead"] == 1022  # "1,022"
    # Unreadable values are never set to NA: the row is rejected, each field named by its line
    # (MMP00109 spans two lines: a quoted newline).
    assert "2023.MMP00111" not in rows.index and "2023.MMP00110" not in rows.index
    rejected = {(e.key, e.issue, e.line, e.column, e.value) for e in report.rejected()}
    assert rejected == {
        ("Main ID 2023.MMP00111", "invalid_number", 13, "Number of Dead", "x"),
        ("Main ID 2023.MMP00111", "invalid_date", 13, "Incident Date", "31/02/2023"),
        ("Main ID 2023.MMP00110", "total_mismatch", 12, "Total Number of Dead and Missing", "5"),
    }
    assert [e.key for e in report.for_issue(Issue.MISSING_COORDINATES)] == ["Main ID 2023.MMP00104"]
    assert [e.key for e in report.for_issue(Issue.INVALID_COORDINATES)] == ["Main ID 2023.MMP00107"]
    assert [e.key for e in report.for_issue(Issue.OUTSIDE_REGION)] == ["Main ID 2023.MMP00106"]
    assert [e.key for e in report.for_issue(Issue.TOTAL_MISMATCH)] == ["Main ID 2023.MMP00110"]


def test_quoted_newline_and_placeholders(mmp_csv: Path) -> None:
    frame, report = read_missing_migrants_csv(mmp_csv)
    rows = by_id(frame)
    assert rows.loc["2023.MMP00109", "location_description"] == 'Cañas Blancas, "El Tapón",\nDarién'
    flagged = {e.key for e in report.for_issue(Issue.PLACEHOLDER_COORDINATES)}
    assert flagged == {"Main ID 2023.MMP00108", "Main ID 2023.MMP00109"}
    assert rows["coordinates_placeholder"].sum() == 2
    assert rows.loc["2023.MMP00108"].geometry is not None  # kept, only flagged


def test_latin1_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "latin1.csv", ROWS[:1], encoding="latin-1")
    frame, report = read_missing_migrants_csv(path)
    assert frame["location_description"].iloc[0] == "Río Tuquesa, near Bajo Chiquito"
    assert frame["country_of_origin"].iloc[0].startswith("Venezuela")
    (entry,) = report.for_issue(Issue.ENCODING_FALLBACK)
    assert "cp1252" in entry.detail and report.rows_fixed == 0


def test_utf8_bom_is_ignored(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bom.csv", ROWS[:1], encoding="utf-8-sig")
    frame, report = read_missing_migrants_csv(path)
    assert frame["mmp_id"].iloc[0] == "2023.MMP00101" and not report.entries


def test_missing_column_is_named(tmp_path: Path) -> None:
    header = tuple(h for h in CSV_HEADER if h != "Coordinates")
    path = write_csv(tmp_path / "short.csv", ROWS[:1], header=header)
    with pytest.raises(MissingColumnError) as info:
        read_missing_migrants_csv(path)
    assert info.value.column == "Coordinates"


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(SourceFormatError):
        read_missing_migrants_csv(path)


# -- website JSON ---------------------------------------------------------------------------


def json_row(web_id: str, coords: str, location: str, **extra: Any) -> dict[str, Any]:
    row = {
        "web_id": web_id, "region": "Central America", "reported_date": "2023-06-02",
        "number_dead": "2", "number_missing": "", "total_dead_and_missing": "2",
        "number_of_survivors": "", "number_of_female": "1", "number_of_male": "1",
        "number_of_children": "", "cause_death": "Violence",
        "country_of_incident": "Panama", "location_description": location,
        "unsd_geographic_grouping": "Central America", "location_coodinates": coords,
        "migration_route": "Darien", "information_source": "Médicos Sin Fronteras",
        "url": "https://example.org/msf", "source_quality": "3",
    }
    row.update(extra)
    return row


JSON_ROWS = [
    json_row("2023.MMP00201", "8.457, -77.679",
             "Bajo Chiquito, Dari&eacute;n (&#039;Las Tres Bocas&#039;)\n"),
    json_row("2023.MMP00202", "8.5, -77.5", "Metetí\n"),
    json_row("2023.MMP00203", "8.5, -77.5", "Canaan Membrillo"),
    json_row("2023.MMP00204", "-77.967, 8.5", "San Vicente reception station",
             number_dead="", total_dead_and_missing=""),
    json_row("2023.MMP00205", "", "Darién jungle", number_dead="1,300",
             total_dead_and_missing="1,300"),
]


def write_json(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def mmp_json(tmp_path: Path) -> Path:
    return write_json(tmp_path / "missing_migrants_2023.json", JSON_ROWS)


def test_json_keys_in_the_documented_order(mmp_json: Path) -> None:
    data = json.loads(mmp_json.read_text(encoding="utf-8"))
    assert list(data[0]) == list(JSON_KEYS)
    assert "location_coodinates" in data[0]
    assert all(isinstance(v, str) for row in data for v in row.values())


def test_json_tidy_frame(mmp_json: Path) -> None:
    frame, report = read_missing_migrants_json(mmp_json)
    assert report.rows_read == len(frame) == 5
    rows = by_id(frame)
    first = rows.loc["2023.MMP00201"]
    assert first["location_description"] == "Bajo Chiquito, Darién ('Las Tres Bocas')"
    assert first["number_dead"] == 2 and pd.isna(first["number_missing"])
    assert first["date"] == pd.Timestamp("2023-06-02")
    assert first["year"] == 2023 and first["month"] == 6
    assert first["migration_route"] == "Darien"
    assert pd.isna(first["incident_type"])  # a CSV-only column
    assert rows.loc["2023.MMP00205", "number_dead"] == 1300
    assert frame.attrs["variant"] == "json"


def test_json_text_fixes_are_reported(mmp_json: Path) -> None:
    _, report = read_missing_migrants_json(mmp_json)
    assert {e.key for e in report.for_issue(Issue.HTML_ENTITIES)} == {"web_id 2023.MMP00201"}
    assert {e.key for e in report.for_issue(Issue.WHITESPACE)} == {
        "web_id 2023.MMP00201", "web_id 2023.MMP00202"}


def test_json_placeholder_coordinates(mmp_json: Path) -> None:
    frame, report = read_missing_migrants_json(mmp_json)
    flagged = {e.key for e in report.for_issue(Issue.PLACEHOLDER_COORDINATES)}
    assert flagged == {"web_id 2023.MMP00202", "web_id 2023.MMP00203"}
    assert by_id(frame).loc["2023.MMP00203", "coordinates_placeholder"]
    assert not by_id(frame).loc["2023.MMP00201", "coordinates_placeholder"]
    _, strict = read_missing_migrants_json(mmp_json, placeholder_min_places=3)
    assert not strict.for_issue(Issue.PLACEHOLDER_COORDINATES)


def test_json_swapped_coordinates(mmp_json: Path) -> None:
    frame, report = read_missing_migrants_json(mmp_json)
    row = by_id(frame).loc["2023.MMP00204"]
    assert (row["lat"], row["lon"]) == (8.5, -77.967)
    assert [e.key for e in report.for_issue(Issue.LATLON_SWAPPED)] == ["web_id 2023.MMP00204"]


def test_json_same_schema_as_csv(mmp_json: Path, mmp_csv: Path) -> None:
    from_json, _ = read_missing_migrants_json(mmp_json)
    from_csv, _ = read_missing_migrants_csv(mmp_csv)
    assert list(from_json.columns) == list(from_csv.columns)
    assert (from_json.dtypes == from_csv.dtypes).all()


def test_json_non_string_value_and_correct_spelling(tmp_path: Path) -> None:
    row = json_row("2023.MMP00301", "8.4, -77.8", "Lajas Blancas", number_dead=4,
                   total_dead_and_missing="4")
    row["location_coordinates"] = row.pop("location_coodinates")
    frame, report = read_missing_migrants_json(write_json(tmp_path / "y.json", [row]))
    assert frame["number_dead"].iloc[0] == 4 and frame["lat"].iloc[0] == 8.4
    assert report.for_issue(Issue.UNEXPECTED_TYPE)
    assert report.for_issue(Issue.RENAMED_KEY)
    assert report.for_issue(Issue.KEY_ORDER)  # the renamed key sits at the end


def test_json_missing_key_is_named(tmp_path: Path) -> None:
    row = json_row("2023.MMP00301", "8.4, -77.8", "x")
    del row["location_coodinates"]
    with pytest.raises(MissingColumnError) as info:
        read_missing_migrants_json(write_json(tmp_path / "y.json", [row]))
    assert info.value.column == "location_coodinates"


def test_json_not_an_array(tmp_path: Path) -> None:
    path = tmp_path / "y.json"
    path.write_text('{"web_id": "1"}', encoding="utf-8")
    with pytest.raises(SourceFormatError, match="array"):
        read_missing_migrants_json(path)
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="not JSON"):
        read_missing_migrants_json(path)


def test_dispatch_by_content(mmp_json: Path, mmp_csv: Path) -> None:
    assert read_missing_migrants(mmp_json).data.attrs["variant"] == "json"
    assert read_missing_migrants(mmp_csv).data.attrs["variant"] == "csv"
