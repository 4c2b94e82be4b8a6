"""Flow counts reader: the published template and JSON Schema, the one vocabulary, and a report
that names every bad field by its line."""

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
    SCHEMA_PATH,
    flow_counts_schema,
    read_flow_counts,
)
from data_catalog.readers.report import Action, Issue
from data_catalog.vocabulary import AGE_GROUPS, COLUMNS, DIRECTIONS, SEXES

TEMPLATE = SCHEMA_PATH.parent / "flow_counts_template.csv"
HEADER = "point_id,month,direction,nationality,sex,age_group,count"


def test_published_schema_matches_the_model() -> None:
    published = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert published == flow_counts_schema()
    jsonschema.Draft202012Validator.check_schema(published)


def test_template_schema_and_vocabulary_agree() -> None:
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    assert lines[0] == HEADER and len(lines) == 4
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    props = schema["properties"]
    assert props["direction"]["enum"] == list(DIRECTIONS)
    assert props["sex"]["enum"] == [*SEXES, "_T"]
    assert props["age_group"]["enum"] == [*AGE_GROUPS, "_T"]
    with TEMPLATE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            jsonschema.validate({**row, "count": int(row["count"])}, schema)
    frame, report = read_flow_counts(TEMPLATE, known_points={"PA-BCH", "CO-NEC"})
    assert len(frame) == 3 and not report.entries


def test_schema_rejects_what_the_reader_rejects() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    good = {"point_id": "PA-BCH", "month": "2024-01", "direction": "northbound",
            "nationality": "VEN", "sex": "F", "age_group": "0-4", "count": 4}
    jsonschema.validate(good, schema)
    for bad in ({"count": -1}, {"month": "2024-13"}, {"sex": "female"}, {"nationality": "ven"},
                {"age_group": "0-17"}, {"direction": "east"}, {"point_id": "lajas-blancas"},
                {"extra": 1}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**good, **bad}, schema)


ROWS = [
    "PA-BCH,2024-01,northbound,VEN,F,18-59,1520",           # line 2
    "PA-BCH,2024-01,northbound,VEN,M,0-4,3",                # line 3
    "pa-can,2024-1,North-bound,ecu,f,60 +,12",              # line 4: normalised
    "PA-CAN,2024-01,northbound,ECU,F,60+,7",                # line 5: duplicate of line 4
    "PA-CAN,2024-01,northbound,HTI,F,5-11,-2",              # line 6: negative
    "PA-CAN,2024-13,southbound,HTI,M,5-11,2",               # line 7: no month 13
    "PA-CAN,2024-02,southbound,HTI,M,5-11,2.5",             # line 8: not whole
    "CO-NEC,2024-02,southbound,ZZZ,U,U,0",                  # line 9
    "CO-NEC,2024-02,southbound,XYZ,U,U,1",                  # line 10: no such country
    "PA-XYZ,2024-02,southbound,COL,U,U,1",                  # line 11: unknown point
    "CO-NEC,2024-03,southbound,COL,F,0-4,4",                # line 12
    "CO-NEC,2024-03,southbound,COL,M,0-4,5",                # line 13
    "CO-NEC,2024-03,southbound,COL,_T,0-4,10",              # line 14: 4 + 5 ≠ 10
    "CO-NEC,2024-03,southbound,_T,_T,_T,9",                 # line 15: the total, right
]
POINTS = {"PA-BCH", "PA-CAN", "CO-NEC"}


@pytest.fixture
def counts(tmp_path: Path) -> Path:
    path = tmp_path / "flows_2024.csv"
    path.write_text(HEADER + "\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def test_tidy_frame_and_normalised_values(counts: Path) -> None:
    frame, report = read_flow_counts(counts, known_points=POINTS)
    assert list(frame.columns) == list(COLUMNS)
    # 14 rows: 7 rejected, the right total (line 15) checked and left out, 6 detail rows kept.
    assert report.rows_read == 14 and report.rows_rejected == 7 and len(frame) == 6
    assert frame["count"].tolist() == [1520, 3, 12, 0, 4, 5]
    assert frame["count"].dtype == "Int64" and frame["month"].dtype == "datetime64[ns]"
    assert frame.attrs["access"] == "restricted"
    normalised = frame.iloc[2]
    assert tuple(normalised[c] for c in ("point_id", "direction", "nationality", "sex",
                                         "age_group")) == ("PA-CAN", "northbound", "ECU", "F",
                                                           "60+")
    (fix,) = report.for_issue(Issue.VALUE_NORMALISED)
    assert fix.line == 4 and "'North-bound' → 'northbound'" in fix.detail


def test_every_bad_field_has_its_own_line(counts: Path) -> None:
    _, report = read_flow_counts(counts, known_points=POINTS)
    found = {(e.line, e.column, e.issue) for e in report.rejected()}
    assert found == {
        (5, "point_id, month, direction, nationality, sex, age_group", "duplicate_key"),
        (6, "count", "out_of_range"),
        (7, "month", "out_of_range"),
        (8, "count", "invalid_number"),
        (10, "nationality", "unknown_code"),
        (11, "point_id", "unknown_code"),
        (14, "count", "total_mismatch"),
    }
    assert all(e.action is Action.REJECTED and e.allowed for e in report.rejected())
    mismatch = report.for_issue(Issue.TOTAL_MISMATCH)[0]
    assert "lines 12-13" in mismatch.detail and "add up to 9" in mismatch.detail
    duplicate = report.for_issue(Issue.DUPLICATE_KEY)[0]
    assert duplicate.detail == "the same key as line 4"


def test_old_template_values_get_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_text(HEADER + "\nPA-BCH,2024-01,northbound,UNK,female,0-17,4\n")
    _, report = read_flow_counts(path)
    hints = {e.column: e.detail for e in report.rejected()}
    assert "write F" in hints["sex"] and "write ZZZ" in hints["nationality"]
    assert "0-4, 5-11 and 12-17" in hints["age_group"]


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("point_id,month,direction,nationality,sex,count\nPA-BCH,2024-01,northbound,"
                    "VEN,M,1\n", encoding="utf-8")
    with pytest.raises(MissingColumnError) as info:
        read_flow_counts(path)
    assert info.value.column == "age_group"


def test_latin1_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = HEADER + ",nota\nPA-BCH,2024-01,northbound,VEN,F,18-59,5,Darién\n"
    path.write_bytes(text.encode("latin-1"))
    frame, report = read_flow_counts(path)
    assert len(frame) == 1
    assert report.for_issue(Issue.ENCODING_FALLBACK)
    assert any("nota" in e.detail for e in report.for_issue(Issue.UNKNOWN_COLUMN))


def test_semicolon_spreadsheet_export(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(HEADER.replace(",", ";") + "\r\nPA-BCH;2024-01;northbound;VEN;M;"
                    "12-17;9\r\n", encoding="utf-8")
    frame, report = read_flow_counts(path)
    assert frame["count"].tolist() == [9]
    assert report.for_issue(Issue.DELIMITER)


def test_points_attach_geometry(counts: Path) -> None:
    points = gpd.GeoDataFrame({"point_id": ["PA-BCH", "PA-CAN"]},
                              geometry=[Point(-77.679, 8.457), Point(-77.55, 8.35)],
                              crs="EPSG:4326")
    frame, report = read_flow_counts(counts, points=points, known_points=POINTS)
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame.geometry.iloc[0] == Point(-77.679, 8.457)
    assert frame.geometry.iloc[3] is None  # CO-NEC has no location here
    (unknown,) = report.for_issue(Issue.UNKNOWN_POINT)
    assert unknown.key == "CO-NEC" and unknown.count == 3
    assert pd.Timestamp("2024-03-01") in set(frame["month"])
