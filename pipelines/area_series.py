"""What crosses an area over time, from a run's published layers: people on the move by month
(the route segments inside the area × the monthly flows of the protected crossings table) and
counted events by year (deaths and disappearances, disaster displacement).

Used by the area brief. People crossing follow the transit surface's own rule
(`pipelines.mobility.segment_people`): a segment carries `share` of the flow of its direction
(or of its `flow_points`). Segments of one stage of the route (`order`) are alternative
branches, so their people add up; consecutive stages carry the same people, so an area
crossed by several stages counts the largest stage, not their sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

TRANSIT_FUNCTION = "transit_pressure"
"""The surface function whose inputs are the route segments and the flows they carry."""
STAGE = "order"
"""The property numbering the stages of a route (segments of one stage are branches)."""


def transit_inputs(config: Mapping[str, Any]) -> tuple[str, str] | None:
    """(route segments input, flow counts input) of a region's transit surface, from the
    region config a run recorded (`run.json` → `config`), or None when it has none."""
    for surface in (config.get("surfaces") or {}).values():
        if isinstance(surface, Mapping) and surface.get("function") == TRANSIT_FUNCTION:
            inputs = surface.get("inputs") or {}
            if inputs.get("segments") and inputs.get("flows"):
                return str(inputs["segments"]), str(inputs["flows"])
    return None


def monthly_crossing(segments: gpd.GeoDataFrame, crossings: pd.DataFrame,
                     area: shapely.Geometry) -> pd.Series:
    """People crossing `area` in each month of the table (people/month; index `YYYY-MM`).

    The flow a segment carries in a month follows `pipelines.mobility.segment_people` (the
    month's total of its direction, or of its `flow_points`, times its `share`; withheld or
    missing totals count as 0), computed for all months at once.

    Args:
        segments: the published route segments (EPSG:4326), with `direction`, `share`,
            optionally `order` and `flow_points`.
        crossings: the protected crossings table (`month`, `total`, `direction`, `point_id`).
        area: the area (EPSG:4326).
    """
    months = sorted(str(m) for m in crossings["month"].dropna().unique())
    index = pd.Index(months, name="month")
    inside = segments[segments.geometry.intersects(area)].reset_index(drop=True)
    if inside.empty or not months:
        return pd.Series(0.0, index=index, name="people")
    totals = pd.to_numeric(crossings["total"], errors="coerce")
    by_direction = totals.groupby([crossings["month"], crossings["direction"]]).sum(
        min_count=1).unstack().reindex(index).fillna(0.0)
    by_point = totals.groupby([crossings["month"], crossings["point_id"]]).sum(
        min_count=1).unstack().reindex(index).fillna(0.0)
    stage = inside[STAGE] if STAGE in inside.columns else pd.Series(range(len(inside)))
    listed = inside["flow_points"] if "flow_points" in inside.columns else None
    people, keys = {}, []
    for i, segment in inside.iterrows():
        points = listed.iloc[i] if listed is not None else None
        if isinstance(points, str) and points.strip():
            flow = sum((by_point[p] for p in points.split() if p in by_point.columns),
                       pd.Series(0.0, index=index))
        else:
            direction = str(segment["direction"])
            flow = by_direction[direction] if direction in by_direction.columns else \
                pd.Series(0.0, index=index)
        people[i] = flow * float(segment["share"])
        keys.append((str(segment["direction"]), str(points or ""), stage.iloc[i]))
    table = pd.DataFrame(people)
    table.columns = pd.MultiIndex.from_tuples(keys, names=["direction", "flow", "stage"])
    per_stage = table.T.groupby(level=["direction", "flow", "stage"]).sum()
    crossing = per_stage.groupby(level=["direction", "flow"]).max().sum()
    return crossing.astype(float).rename("people")


def yearly_counts(points: gpd.GeoDataFrame, count: str, time: str,
                  area: shapely.Geometry) -> pd.Series:
    """The sum of `count` over the points inside `area`, by calendar year of `time`."""
    inside = points[points.geometry.within(area)]
    years = pd.to_datetime(inside[time], errors="coerce", utc=True).dt.year
    totals = pd.to_numeric(inside[count], errors="coerce").groupby(years).sum(min_count=1)
    return totals.dropna().astype(float).rename_axis("year")
