"""Route segments reader and ingest: the template and its JSON Schema, segments naming their
station by id, and every bad property named by its feature."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import jsonschema
import pytest

from data_catalog.ingest import IngestRefused, ingest
from data_catalog.ingest.dispatch import IngestOptions
from data_catalog.paths import DataDir
from data_catalog.readers.report import Issue
from data_catalog.readers.route_segments import (
    SCHEMA_PATH,
    read_route_segments,
    route_segments_schema,
)
from data_catalog.vocabulary import ROUTE_SEGMENT_FIELDS

TEMPLATE = SCHEMA_PATH.parent / "route_segments_template.geojson"
DEMO_ROUTES = (Path(__file__).resolve().parents[2] / "data_catalog" / "demo" / "regions"
               / "darien" / "routes.geojson")


def test_published_schema_matches_the_model() -> None:
    published = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert published == route_segments_schema()
    jsonschema.Draft202012Validator.check_schema(published)
    assert published["properties"]["to_station_id"]["anyOf"][0]["pattern"]


def test_the_template_and_the_demo_routes_fit_the_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    for path in (TEMPLATE, DEMO_ROUTES):
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            jsonschema.validate(feature["properties"], schema)
    frame, report = read_route_segments(TEMPLATE, known_stations={"ERM-BCH"},
                                        known_points={"CO-NEC"})
    assert not report.entries and list(frame.columns) == [*ROUTE_SEGMENT_FIELDS, "geometry"]
    demo, _ = read_route_segments(DEMO_ROUTES)
    ends = demo.set_index("segment_id")["to_station_id"]
    assert ends.dropna().to_dict() == {"N3": "ERM-BCH", "N4": "ERM-LB", "N5": "ERM-SV"}
    assert len(ends) == 9


def _file(tmp_path: Path, changes: list[dict[str, object]]) -> Path:
    collection = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    for feature, change in zip(collection["features"], changes, strict=False):
        feature["properties"].update(change)
    path = tmp_path / "routes.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path


def test_every_bad_property_is_named_by_its_feature(tmp_path: Path) -> None:
    path = _file(tmp_path, [{"to_station_id": "ERM-XX", "share": 1.5},
                            {"direction": "east", "flow_points": "CO-NEC PA-ZZZ"}])
    frame, report = read_route_segments(path, known_stations={"ERM-BCH", "ERM-LB"},
                                        known_points={"CO-NEC"})
    assert frame.empty
    found = {(e.line, e.column, e.issue) for e in report.rejected()}
    assert (1, "share", Issue.SCHEMA_VIOLATION) in found
    assert (2, "direction", Issue.SCHEMA_VIOLATION) in found
    # The schema passes a well-formed id; the data dir knows which stations there are.
    path = _file(tmp_path, [{"to_station_id": "ERM-XX"}, {"flow_points": "CO-NEC PA-ZZZ"}])
    frame, report = read_route_segments(path, known_stations={"ERM-BCH", "ERM-LB"},
                                        known_points={"CO-NEC"})
    assert frame.empty
    [station, points] = report.rejected()
    assert (station.line, station.column, station.value) == (1, "to_station_id", "ERM-XX")
    assert station.allowed == "ERM-BCH, ERM-LB"
    assert (points.line, points.column) == (2, "flow_points") and "PA-ZZZ" in points.detail


def test_ingest_stores_segments_the_run_reads_and_refuses_an_unknown_station(
        demo_inputs: Path, copy_data_dir, tmp_path: Path) -> None:
    data = DataDir(copy_data_dir(demo_inputs))
    bad = _file(tmp_path, [{"to_station_id": "ERM-XX"}])
    with pytest.raises(IngestRefused, match="ERM-XX"):
        ingest(data, "route_segments", bad, IngestOptions())
    stored = data.inputs / "routes" / "route_segments.parquet"
    assert not stored.exists()
    outcome = ingest(data, "route_segments", DEMO_ROUTES, IngestOptions())
    assert outcome.input == "route_segments" and stored.is_file()
    segments = gpd.read_parquet(stored)
    assert list(segments["to_station_id"].dropna()) == ["ERM-BCH", "ERM-LB", "ERM-SV"]
    assert not segments["synthetic"].any()
