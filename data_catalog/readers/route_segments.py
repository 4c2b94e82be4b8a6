"""Reader for route segments: the lines people on the move follow, each with its share of a
flow and the station it ends at (cmrisk's own template; GeoJSON, GeoPackage or shapefile).

Template (`data_catalog/sources/route_segments_template.geojson`): one LineString per segment
with the properties of `RouteSegment` (the JSON Schema of the properties,
`data_catalog/sources/route_segments.schema.json`, is generated from it; a test keeps the two
equal):

| property | values |
|---|---|
| `segment_id` | the segment's id, unique in the file (`N3`) |
| `name`, `from_place`, `to_place` | text |
| `to_station_id` | the `station_id` of the reception station the segment ends at, or empty |
| `mode` | how people travel it (`foot`, `boat`, `road`, …) |
| `direction` | `northbound` or `southbound` |
| `share` | the share (0–1] of the flow the segment carries |
| `order` | its stage along the route, from 1 (branches of one stage share it) |
| `flow_points` | optional: the crossing points whose counts it carries, separated by spaces |

The pipeline joins a segment to its station by `to_station_id` (not by place name), and fails a
run that leaves a reception station with a capacity unmatched (`pipelines.mobility`). Every bad
field is rejected with its feature number, the value and what is allowed, including a
`to_station_id` that is not one of `known_stations` and a `flow_points` id that is not one of
`known_points` when they are given.

Output: a GeoDataFrame (EPSG:4326) with the template's properties, in its order.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry.base import BaseGeometry

from data_catalog.readers._common import PathLike, as_paths, new_report, provenance
from data_catalog.readers._vector import vector_rows
from data_catalog.readers.report import Issue, ReadResult
from data_catalog.vocabulary import (
    FLOW_POINTS_PATTERN,
    ROUTE_SEGMENT_FIELDS,
    STATION_ID_PATTERN,
)

SOURCE_ID = "route_segments"
READER = "data_catalog.readers.route_segments:read_route_segments"
SCHEMA_PATH = (Path(__file__).resolve().parent.parent / "sources"
               / "route_segments.schema.json")
"""Where the published JSON Schema of a segment's properties lives."""
REQUIRED = ("segment_id", "name", "from_place", "to_place", "mode", "direction", "share",
            "order")
OPTIONAL = ("to_station_id", "flow_points")


class RouteSegment(BaseModel):
    """The properties of one route segment.

    Attributes:
        segment_id: The segment's id, unique in the file.
        name: What it is called.
        from_place: Where it starts.
        to_place: Where it ends.
        to_station_id: The `station_id` of the reception station it ends at, or None.
        mode: How people travel it.
        direction: Direction of travel.
        share: The share (0–1] of the flow of its direction (or of its points) it carries.
        order: Its stage along the route, from 1.
        flow_points: The crossing points whose counts it carries, separated by spaces.
    """

    model_config = ConfigDict(
        extra="ignore",
        title="cmrisk route segment",
        json_schema_extra={
            "description": "The properties of one segment of a migration route (a LineString "
            "feature): the share of a flow it carries and the reception station it ends at, "
            "by the station's id (to_station_id).",
        },
    )

    segment_id: str = Field(min_length=1, max_length=32, description="segment id, unique")
    name: str = Field(min_length=1, description="name of the segment")
    from_place: str = Field(min_length=1, description="place where it starts")
    to_place: str = Field(min_length=1, description="place where it ends")
    to_station_id: str | None = Field(
        default=None, pattern=STATION_ID_PATTERN,
        description="station_id of the reception station it ends at (e.g. ERM-BCH), or null")
    mode: str = Field(min_length=1, description="how people travel it: foot, boat, road, …")
    direction: Literal["northbound", "southbound"] = Field(description="direction of travel")
    share: float = Field(gt=0, le=1, description="share (0-1] of the flow it carries")
    order: int = Field(ge=1, description="its stage along the route, from 1")
    flow_points: str | None = Field(
        default=None, pattern=FLOW_POINTS_PATTERN,
        description="crossing point ids whose counts it carries, separated by spaces "
        "(default: every point of its direction)")


def route_segments_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a segment's properties, from `RouteSegment`."""
    schema = RouteSegment.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write `route_segments_schema()` to `path` (the published schema file)."""
    path.write_text(json.dumps(route_segments_schema(), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def _text(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value


def read_route_segments(
    path: PathLike,
    *,
    known_stations: Collection[str] | None = None,
    known_points: Collection[str] | None = None,
    source_id: str = SOURCE_ID,
) -> ReadResult[gpd.GeoDataFrame]:
    """Read route segments, validating every property of every feature (see module doc).

    Args:
        path: The vector file (GeoJSON, GeoPackage, shapefile or a zip of one).
        known_stations: The station ids a segment may end at (the stations of the data dir);
            None: any well-formed id.
        known_points: The crossing point ids `flow_points` may name; None: any well-formed id.
        source_id: Source id written into the provenance.

    Returns:
        The good segments and the ingest report.
    """
    files = as_paths(path)
    report = new_report(source_id, READER, files, unit="feature")
    report.positions = "feature"
    stations = set(known_stations) if known_stations is not None else None
    points = set(known_points) if known_points is not None else None
    rows: list[dict[str, Any]] = []
    geoms: list[BaseGeometry] = []
    seen: dict[str, int] = {}
    for row, (raw, geom) in enumerate(vector_rows(files, report, REQUIRED, OPTIONAL)):
        line = row + 1
        key = str(raw.get("segment_id"))

        def reject(issue: Issue, column: str, detail: str, allowed: str,
                   row: int = row, line: int = line, key: str = key,
                   raw: dict[str, Any] = raw) -> None:
            report.reject(issue, detail, row=row, line=line, column=column,
                          value=str(raw.get(column, "")), allowed=allowed, key=key)

        try:
            segment = RouteSegment.model_validate({k: _text(v) for k, v in raw.items()})
        except ValidationError as exc:
            for error in exc.errors():
                column = str(error["loc"][0]) if error["loc"] else "?"
                spec = RouteSegment.model_fields.get(column)
                missing = error["type"] == "missing" or raw.get(column) is None
                reject(Issue.MISSING_VALUE if missing else Issue.SCHEMA_VIOLATION, column,
                       str(error["msg"]), spec.description or "" if spec else "")
            continue
        bad = False
        if geom is None or geom.is_empty or geom.geom_type not in ("LineString",
                                                                   "MultiLineString"):
            reject(Issue.EMPTY_GEOMETRY, "geometry", "not a line", "a LineString")
            bad = True
        if segment.segment_id in seen:
            reject(Issue.DUPLICATE_KEY, "segment_id",
                   f"the same segment_id as feature {seen[segment.segment_id]}",
                   "each segment_id once")
            bad = True
        if stations is not None and segment.to_station_id is not None \
                and segment.to_station_id not in stations:
            reject(Issue.UNKNOWN_CODE, "to_station_id", "not a station of the data dir",
                   ", ".join(sorted(stations)) or "no station is known")
            bad = True
        if points is not None and segment.flow_points is not None:
            unknown = [p for p in segment.flow_points.split() if p not in points]
            if unknown:
                reject(Issue.UNKNOWN_CODE, "flow_points",
                       f"not crossing points of the data dir: {' '.join(unknown)}",
                       ", ".join(sorted(points)) or "no crossing point is known")
                bad = True
        if bad:
            continue
        seen[segment.segment_id] = line
        rows.append(segment.model_dump())
        geoms.append(geom)
    table = pd.DataFrame(rows, columns=list(ROUTE_SEGMENT_FIELDS))
    text = [c for c in ROUTE_SEGMENT_FIELDS if c not in ("share", "order")]
    table = table.astype({**dict.fromkeys(text, "string"), "share": "float64",
                          "order": "Int64"})
    frame = gpd.GeoDataFrame(table, geometry=geoms, crs="EPSG:4326")
    frame.attrs.update(provenance(report))
    return ReadResult(frame, report)
