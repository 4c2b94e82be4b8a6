"""Property tests of the parsers of client input: bbox, datetime, rescale, GeoJSON areas.

Whatever text comes in, a parser returns a valid value or raises its one named error naming
the parameter — never anything else.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from data_catalog.problems import InvalidParameter
from geo_service.features.errors import AreaRejected, InvalidQuery
from geo_service.features.query import parse_bbox, parse_datetime
from geo_service.features.zonal import AnalysisLimits, parse_area
from geo_service.routers.tiles import parse_rescale

lon = st.floats(min_value=-180, max_value=180, allow_nan=False)
lat = st.floats(min_value=-90, max_value=90, allow_nan=False)
junk = st.text(max_size=80) | st.lists(
    st.one_of(st.floats(), st.integers(), st.text(max_size=5)), max_size=8).map(
    lambda xs: ",".join(map(str, xs)))


@settings(max_examples=500, deadline=None)
@given(junk)
def test_bbox_accepts_or_names_bbox(text: str) -> None:
    try:
        box = parse_bbox(text)
    except InvalidQuery as exc:
        assert exc.parameter == "bbox"
        return
    assert -90 <= box.south <= box.north <= 90
    assert -180 <= box.west <= 180 and -180 <= box.east <= 180


@settings(max_examples=300, deadline=None)
@given(lon, lat, lon, lat)
def test_valid_bboxes_round_trip(west: float, a: float, east: float, b: float) -> None:
    south, north = min(a, b), max(a, b)
    box = parse_bbox(f"{west!r},{south!r},{east!r},{north!r}")
    assert (box.west, box.south, box.east, box.north) == (west, south, east, north)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60) | st.datetimes().map(lambda d: d.isoformat() + "Z"))
def test_datetime_accepts_or_names_datetime(text: str) -> None:
    try:
        interval = parse_datetime(text)
    except InvalidQuery as exc:
        assert exc.parameter == "datetime"
        return
    if interval.start is not None and interval.end is not None:
        assert interval.start <= interval.end


@settings(max_examples=200, deadline=None)
@given(st.datetimes(), st.datetimes())
def test_datetime_intervals_order(a: Any, b: Any) -> None:
    start, end = sorted([a, b])
    interval = parse_datetime(f"{start.isoformat()}Z/{end.isoformat()}Z")
    assert interval.start is not None and interval.end is not None
    assert interval.start <= interval.end
    assert parse_datetime(f"../{end.isoformat()}Z").start is None


@settings(max_examples=500, deadline=None)
@given(junk)
def test_rescale_accepts_or_names_rescale(text: str) -> None:
    try:
        low, high = parse_rescale(text)
    except InvalidParameter as exc:
        assert exc.parameter == "rescale"
        return
    assert math.isfinite(low) and math.isfinite(high) and low < high


position = st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=3)
geojson = st.recursive(
    st.none() | st.booleans() | st.floats() | st.text(max_size=10) | position,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(
        st.sampled_from(["type", "coordinates", "geometry", "x"]), children, max_size=3),
    max_leaves=30,
) | st.builds(lambda t, c: {"type": t, "coordinates": c},
              st.sampled_from(["Polygon", "MultiPolygon", "Point", "Feature"]),
              st.lists(st.lists(position, max_size=6), max_size=3))


@settings(max_examples=500, deadline=None)
@given(geojson)
def test_geojson_area_accepts_or_names_geometry(obj: Any) -> None:
    try:
        area = parse_area(obj, AnalysisLimits())
    except (InvalidQuery, AreaRejected) as exc:
        assert exc.parameter == "geometry"
        return
    assert area.area_km2 > 0 and area.geometry.is_valid


@settings(max_examples=200, deadline=None)
@given(lon.filter(lambda v: -179 < v < 179), lat.filter(lambda v: -89 < v < 89),
       st.floats(min_value=0.001, max_value=0.9))
def test_squares_have_their_area(west: float, south: float, size: float) -> None:
    ring = [[west, south], [west + size, south], [west + size, south + size],
            [west, south + size], [west, south]]
    area = parse_area({"type": "Polygon", "coordinates": [ring]}, AnalysisLimits())
    expected = (size * 111.32) ** 2 * math.cos(math.radians(south + size / 2))
    assert math.isclose(area.area_km2, expected, rel_tol=0.02)
