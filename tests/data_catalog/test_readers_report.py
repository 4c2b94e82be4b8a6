"""IngestReport counting and serialisation; the shared parsing helpers the readers rely on."""

from __future__ import annotations

import json
from datetime import date

import pytest

from data_catalog.errors import MissingColumnError
from data_catalog.readers._common import (
    clean_text,
    is_hxl_row,
    locate,
    parse_date,
    parse_int,
    parse_lat_lon,
    resolve_columns,
)
from data_catalog.readers.report import Action, IngestReport, Issue, ReadResult


def sample_report() -> IngestReport:
    report = IngestReport(source_id="x", reader="m:f", source_files=["a.csv"], sha256=["00"],
                          rows_read=10)
    report.add(Issue.INVALID_NUMBER, Action.FIXED, "n", row=1, key="id 1")
    report.add(Issue.WHITESPACE, Action.FIXED, "w", row=1, key="id 1")
    report.add(Issue.SCHEMA_VIOLATION, Action.DROPPED, "bad", row=2)
    report.add(Issue.INVALID_NUMBER, Action.FIXED, "then dropped", row=2)
    report.add(Issue.OUTSIDE_REGION, Action.FLAGGED, "far", row=3)
    report.add(Issue.HXL_ROW, Action.SKIPPED, "hxl")
    report.add(Issue.NODATA_MASKED, Action.MASKED, "cells", count=7)
    report.add(Issue.ENCODING_FALLBACK, Action.FIXED, "latin-1", count=0)
    return report


def test_counts_are_by_distinct_row() -> None:
    report = sample_report()
    assert report.rows_dropped == 1
    assert report.rows_kept == 9
    assert report.rows_fixed == 1  # row 1 once; row 2 was dropped; the file-level fix counts 0
    assert report.rows_flagged == 1
    assert report.lines_skipped == 1 and report.cells_masked == 7
    assert report.issues()["invalid_number"] == 2
    assert "10 rows read" in report.summary() and "invalid_number×2" in report.summary()


def test_json_round_trip() -> None:
    report = sample_report()
    data = json.loads(report.to_json())
    assert data["rows_kept"] == 9 and data["entries"][0] == {
        "issue": "invalid_number", "action": "fixed", "detail": "n", "row": 1, "key": "id 1",
        "count": 1, "line": None, "column": None, "value": None, "allowed": None}
    again = IngestReport.from_dict(data)
    assert again.to_dict() == report.to_dict()


def test_read_result_unpacks() -> None:
    result = ReadResult([1, 2], sample_report())
    data, report = result
    assert data == [1, 2] and result.report is report


@pytest.mark.parametrize(
    ("text", "value"),
    [("", None), (None, None), ("  ", None), ("12", 12), (" 7 ", 7), ("1,022", 1022),
     ("1,234,567", 1234567), ("3.0", 3), (4, 4), (5.0, 5), (float("nan"), None), ("-2", -2)],
)
def test_parse_int(text: object, value: int | None) -> None:
    assert parse_int(text) == value


@pytest.mark.parametrize("text", ["3.5", "n/a", "1,02", True])
def test_parse_int_refuses(text: object) -> None:
    with pytest.raises(ValueError):
        parse_int(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("2024-01-06", date(2024, 1, 6)), ("Sat, 01/06/2024 - 12:00", date(2024, 1, 6)),
     ("01/06/2024", date(2024, 1, 6)), ("January 6, 2024", date(2024, 1, 6)),
     ("2024-01-06T10:00:00Z", date(2024, 1, 6)), ("", None)],
)
def test_parse_date(text: str, value: date | None) -> None:
    assert parse_date(text) == value


def test_parse_lat_lon_forms() -> None:
    assert parse_lat_lon("8.457, -77.679") == (8.457, -77.679)
    assert parse_lat_lon("8.457,-77.679") == (8.457, -77.679)
    assert parse_lat_lon("POINT (-77.679 8.457)") == (8.457, -77.679)
    with pytest.raises(ValueError):
        parse_lat_lon("8.457")


def test_locate_rules() -> None:
    report = IngestReport(source_id="x", reader="m:f")
    box = (-79.5, 6.8, -76.5, 9.8)
    kw = dict(region_bbox=box, region_name="Darién", report=report)
    assert (locate("8.4, -77.8", row=0, key="a", **kw).lat) == 8.4
    swapped = locate("-77.8, 8.4", row=1, key="b", **kw)
    assert (swapped.lat, swapped.lon) == (8.4, -77.8)
    far = locate("40.0, 10.0", row=2, key="c", **kw)
    assert (far.lat, far.lon) == (40.0, 10.0)
    bad = locate("200, 300", row=3, key="d", **kw)
    assert bad.lat is None
    no_region = locate("-95.0, 20.0", row=4, key="e", region_bbox=None, region_name="",
                       report=report)
    assert (no_region.lat, no_region.lon) == (20.0, -95.0)  # |lat| > 90 is always a swap
    assert [e.issue for e in report.entries] == [
        "latlon_swapped", "outside_region", "invalid_coordinates", "latlon_swapped"]


def test_clean_text() -> None:
    assert clean_text("Dari&eacute;n &#039;x&#039;\n") == ("Darién 'x'", ["html_entities",
                                                                           "whitespace"])
    assert clean_text("  ") == (None, ["whitespace"])
    assert clean_text("ok") == ("ok", [])


def test_hxl_row_detection() -> None:
    assert is_hxl_row(["#country+code", "#country+name", "", "#affected+idps"])
    assert not is_hxl_row(["PAN", "#tag"])
    assert not is_hxl_row(["", ""])


def test_resolve_columns_case_blind() -> None:
    cols = resolve_columns(["wdpaid", "Name ", "IUCN_CAT"], ["WDPAID", "NAME"], ["IUCN_CAT",
                                                                              "GIS_AREA"])
    assert cols == {"WDPAID": "wdpaid", "NAME": "Name ", "IUCN_CAT": "IUCN_CAT"}
    with pytest.raises(MissingColumnError, match="'ISO3'"):
        resolve_columns(["WDPAID"], ["WDPAID", "ISO3"])


def test_rejected_fields_are_counted_by_row_and_described() -> None:
    report = IngestReport(source_id="x", reader="m:f", rows_read=4)
    report.reject(Issue.OUT_OF_RANGE, "a count cannot be negative", row=0, line=2,
                  column="count", value="-3", allowed="0 or more")
    report.reject(Issue.UNKNOWN_CODE, "not a direction", row=3, line=5, column="direction",
                  value="north", allowed="northbound, southbound")
    report.reject(Issue.UNKNOWN_CODE, "not a sex code", row=3, line=5, column="sex",
                  value="female", allowed="F, M, U")
    assert report.rows_rejected == 2 and report.rows_kept == 2
    assert report.rejected_rows() == {0, 3} and report.is_rejected(3)
    assert [e.describe() for e in report.rejected()] == [
        "line 2, count '-3': a count cannot be negative (allowed: 0 or more)",
        "line 5, direction 'north': not a direction (allowed: northbound, southbound)",
        "line 5, sex 'female': not a sex code (allowed: F, M, U)",
    ]
    again = IngestReport.from_dict(json.loads(report.to_json()))
    assert again.rows_rejected == 2 and again.rejected()[1].value == "north"
