"""Flow counts reader: the published template and JSON Schema, row validation, normalisation."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import jsonschema
import pandas as pd
import pytest
from shapely.geometry import Point

from data_catalog.errors import MissingColumnError
from data_catalog.readers.flow_counts import (
    COLUMNS,
    SCHEMA_PATH,
    flow_counts_schema,
    read_flow_counts,
)
from data_catalog.readers.report import Action, Issue

TEMPLATE = SCHEMA_PATH.parent / "flow_counts_template.csv"
HEADER = "point_id,month,direction,nationality,sex,age_group,count"


def test_published_schema_matches_the_model() -> None:
    published = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert published == flow_counts_schema()
    jsonschema.Draft202012Validator.check_schema(published)


def test_template_has_header_and_three_valid_rows() -> None:
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    assert lines[0] == HEADER and len(lines) == 4
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    with TEMPLATE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            jsonschema.validate({**row, "count": int(row["count"])}, schema)
    frame, report = read_flow_counts(TEMPLATE)
    assert len(frame) == 3 and not report.entries


def test_schema_rejects_what_the_reader_rejects() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    good = {"point_id": "lajas-blancas", "month": "2024-01", "direction": "northbound",
            "nationality": "VEN", "sex": "female", "age_group": "0-4", "count": 4}
    jsonschema.validate(good, schema)
    for bad in ({"count": -1}, {"month": "2024-13"}, {"sex": "F"}, {"nationality": "ven"},
                {"age_group": "0-17"}, {"direction": "east"}, {"extra": 1}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**good, **bad}, schema)


ROWS = [
    "lajas-blancas,2024-01,northbound,VEN,female,18-59,1520",
    "lajas-blancas,2024-01,northbound,VEN,male,0-4,3",
    "San-Vicente,2024-1,North-bound,ecu,Female,60 +,12",  # normalised
    "san-vicente,2024-01,northbound,ECU,female,60+,7",  # duplicate key after normalisation
    "san-vicente,2024-01,northbound,HTI,female,5-11,-2",  # negative
    "san-vicente,2024-13,southbound,HTI,male,5-11,2",  # bad month
    "san-vicente,2024-02,southbound,HTI,male,5-11,2.5",  # not an integer
    "bajo-chiquito,2024-02,southbound,UNK,unknown,unknown,0",
]


@pytest.fixture
def counts(tmp_path: Path) -> Path:
    path = tmp_path / "flows_2024.csv"
    path.write_text(HEADER + "\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def test_tidy_frame_and_report(counts: Path) -> None:
    frame, report = read_flow_counts(counts)
    assert list(frame.columns) == list(COLUMNS)
    assert report.rows_read == 8 and len(frame) == report.rows_kept == 4
    assert frame["count"].dtype == "Int64" and frame["month"].dtype == "datetime64[ns]"
    assert frame["month"].iloc[0] == pd.Timestamp("2024-01-01")
    assert frame.attrs["access"] == "restricted"
    assert frame.attrs["units"]["count"] == "persons"
    normalised = frame.iloc[2]
    assert (normalised["point_id"], normalised["direction"], normalised["nationality"],
            normalised["sex"], normalised["age_group"]) == (
        "san-vicente", "northbound", "ECU", "female", "60+")
    (fix,) = report.for_issue(Issue.VALUE_NORMALISED)
    assert fix.row == 2 and "'North-bound' → 'northbound'" in fix.detail


def test_invalid_rows_dropped_with_reason(counts: Path) -> None:
    _, report = read_flow_counts(counts)
    violations = {e.row: e.detail for e in report.for_issue(Issue.SCHEMA_VIOLATION)}
    assert set(violations) == {4, 5, 6}
    assert "count" in violations[4] and "greater than or equal to 0" in violations[4]
    assert "month" in violations[5]
    assert "count" in violations[6]
    (dup,) = report.for_issue(Issue.DUPLICATE_KEY)
    assert dup.row == 3 and dup.action is Action.DROPPED and "row 2" in dup.detail
    assert report.rows_dropped == 4


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("point_id,month,direction,nationality,sex,count\nx,2024-01,northbound,VEN,"
                    "male,1\n", encoding="utf-8")
    with pytest.raises(MissingColumnError) as info:
        read_flow_counts(path)
    assert info.value.column == "age_group"


def test_latin1_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = HEADER + ",nota\nlajas-blancas,2024-01,northbound,VEN,female,18-59,5,Darién\n"
    path.write_bytes(text.encode("latin-1"))
    frame, report = read_flow_counts(path)
    assert len(frame) == 1
    assert report.for_issue(Issue.ENCODING_FALLBACK)
    assert any("nota" in e.detail for e in report.for_issue(Issue.UNKNOWN_COLUMN))


def test_semicolon_spreadsheet_export(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(HEADER.replace(",", ";") + "\r\nlajas-blancas;2024-01;northbound;VEN;male;"
                    "12-17;9\r\n", encoding="utf-8")
    frame, report = read_flow_counts(path)
    assert frame["count"].tolist() == [9]
    assert report.for_issue(Issue.DELIMITER)


def test_points_attach_geometry(counts: Path) -> None:
    points = gpd.GeoDataFrame({"point_id": ["lajas-blancas", "san-vicente"]},
                              geometry=[Point(-77.814, 8.403), Point(-77.967, 8.5)],
                              crs="EPSG:4326")
    frame, report = read_flow_counts(counts, points=points)
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame.geometry.iloc[0] == Point(-77.814, 8.403)
    assert frame.geometry.iloc[3] is None  # bajo-chiquito has no location
    (unknown,) = report.for_issue(Issue.UNKNOWN_POINT)
    assert unknown.key == "bajo-chiquito" and unknown.count == 1
    frame2, _ = read_flow_counts(counts, points={"lajas-blancas": (-77.814, 8.403)})
    assert frame2.geometry.notna().sum() == 2
