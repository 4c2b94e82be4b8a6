"""Environmental pressure of areas from published figures (METHOD.md, "Environmental pressure
of areas").

For each area:

- people crossing (people/year) = the people of the route segments inside it, by the rule of
  `pipelines.area_series`: segments of one stage of the route (`order`) are branches, so their
  people add up; consecutive stages carry the same people, so the area counts its largest
  stage; directions (and segments following their own `flow_points`) add up. A segment's
  people are `pipelines.mobility.segment_people` (its share of the year's flow);
- capacity ratio = (people crossing / days in the year) ÷ carrying capacity (people/day), for
  areas with a published capacity (region file `pressure.capacities`), else missing;
- waste load (t/year) = people crossing × kg left per person / 1000.

Both become 0–10 area indicators between the region file's bounds, and the area's
environmental pressure is the weighted mean of the cells' pressure statistic and these
indicators, over those that exist (a missing capacity drops out with its weight).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipelines import area_record as col
from pipelines.config import AreaIndicatorSpec, IndicatorSpec, PressureSpec, RegionConfig
from pipelines.indicators import normalise
from pipelines.mobility import segment_people

STAGE = "order"
"""The property numbering the stages of a route (as in `pipelines.area_series`)."""
KG_PER_TONNE = 1000.0


def people_crossing(areas: gpd.GeoSeries, segments: gpd.GeoDataFrame,
                    people: np.ndarray) -> np.ndarray:
    """People per year crossing each area (people/year), from the people of each segment.

    Args:
        areas: the areas' outlines (any CRS; segments are brought to it).
        segments: route segments with `direction` and optionally `order` and `flow_points`.
        people: people per year along each segment (`segment_people`), in segment order.
    """
    lines = segments.to_crs(areas.crs).reset_index(drop=True)
    stage = lines[STAGE] if STAGE in lines.columns else pd.Series(range(len(lines)))
    points = (lines["flow_points"].fillna("").astype(str) if "flow_points" in lines.columns
              else pd.Series("", index=lines.index))
    table = pd.DataFrame({"direction": lines["direction"].astype(str), "flow": points,
                          "stage": stage.to_numpy(), "people": people})
    area_index, line_index = lines.sindex.query(areas.values, predicate="intersects")
    # A line that only runs along or touches the outline does not cross the area: the
    # interiors must meet (DE-9IM T********).
    inside = shapely.relate_pattern(areas.values[area_index], lines.geometry.values[line_index],
                                    "T********")
    pairs = table.iloc[line_index[inside]].assign(area=area_index[inside])
    per_stage = pairs.groupby(["area", "direction", "flow", "stage"])["people"].sum()
    crossing = per_stage.groupby(level=["area", "direction", "flow"]).max() \
        .groupby(level="area").sum()
    result = np.zeros(len(areas))
    result[crossing.index.to_numpy(dtype=int)] = crossing.to_numpy(dtype="float64")
    return result


def capacity_ratio(people_per_year: np.ndarray, capacity_per_day: np.ndarray,
                   year: int) -> np.ndarray:
    """People per day crossing ÷ carrying capacity (people/day); NaN where no capacity."""
    days = 366 if calendar.isleap(year) else 365
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(capacity_per_day > 0, people_per_year / days / capacity_per_day, np.nan)


def waste_load_t(people_per_year: np.ndarray, kg_per_person: float) -> np.ndarray:
    """Waste left per year (t/year): people crossing × kg per person / 1000."""
    return people_per_year * kg_per_person / KG_PER_TONNE


def area_indicator(values: np.ndarray, spec: AreaIndicatorSpec, name: str) -> np.ndarray:
    """An area value made 0–10 between the spec's bounds (`pipelines.indicators.normalise`)."""
    bounds = IndicatorSpec.model_validate({"from": name, "dimension": "E", "min": spec.min,
                                           "max": spec.max, "log": spec.log})
    return normalise(np.asarray(values, dtype="float64"), bounds).astype("float64")


def combined_pressure(parts: Mapping[str, tuple[np.ndarray, float]]) -> np.ndarray:
    """Weighted mean of 0–10 parts (values, weight) over the parts present in each area.

    The parts broadcast against each other: one value per area, or (draws, areas) for a part
    the sensitivity audit varies.
    """
    total = np.zeros(np.broadcast_shapes(*(np.shape(v) for v, _ in parts.values())))
    weights = np.zeros_like(total)
    for values, weight in parts.values():
        present = ~np.isnan(values)
        total += np.where(present, values * weight, 0.0)
        weights += np.where(present, weight, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weights > 0, total / weights, np.nan)


def apply_pressure(scored: gpd.GeoDataFrame, vectors: Mapping[str, gpd.GeoDataFrame],
                   config: RegionConfig) -> gpd.GeoDataFrame:
    """The scored areas with people crossing, carrying capacity, capacity ratio, waste load,
    their 0–10 indicators and the area's environmental pressure (`area_record` names them).

    The cells' pressure statistic the areas were scored with is kept as
    `environmental_pressure_cells`. Areas of kinds outside `pressure.kinds` keep it as their
    pressure (the other columns missing). Without `pressure` in the region file, nothing
    changes.
    """
    spec: PressureSpec | None = config.pressure
    if spec is None:
        return scored
    if spec.kinds is not None:
        chosen = scored[col.KIND].isin(spec.kinds).to_numpy()
        picked = apply_pressure(scored[chosen], vectors, config.model_copy(
            update={"pressure": spec.model_copy(update={"kinds": None})}))
        rest = scored[~chosen].copy()
        rest[col.PRESSURE_CELLS] = rest[col.PRESSURE]
        merged = pd.concat([picked, rest]).loc[scored.index]
        return gpd.GeoDataFrame(merged, geometry=scored.geometry.name, crs=scored.crs)
    out = scored.copy()
    segments = vectors[spec.segments]
    people = segment_people(segments, vectors[spec.flows], spec.year)
    if spec.modes is not None:
        walked = segments["mode"].isin(spec.modes).to_numpy()
        segments, people = segments[walked], people[walked]
    people_year = people_crossing(out.geometry, segments, people)
    capacity = np.array([spec.capacities[i].people_per_day if i in spec.capacities else np.nan
                         for i in out[col.ID]], dtype="float64")
    ratio = capacity_ratio(people_year, capacity, spec.year)
    waste = waste_load_t(people_year, spec.waste_kg_per_person)
    out[col.PEOPLE_CROSSING] = people_year
    out[col.CARRYING_CAPACITY] = capacity
    out[col.CAPACITY_RATIO] = ratio
    out[col.WASTE_LOAD] = waste
    out[col.IND_CAPACITY_RATIO] = area_indicator(ratio, spec.capacity_ratio, "capacity_ratio")
    out[col.IND_WASTE_LOAD] = area_indicator(waste, spec.waste_load, "waste_load")
    cells = out[col.PRESSURE].to_numpy(dtype="float64")
    out[col.PRESSURE_CELLS] = cells
    out[col.PRESSURE] = combined_pressure({
        "cells": (cells, spec.cells_weight),
        "capacity_ratio": (out[col.IND_CAPACITY_RATIO].to_numpy(), spec.capacity_ratio.weight),
        "waste_load": (out[col.IND_WASTE_LOAD].to_numpy(), spec.waste_load.weight),
    })
    return out


def pressure_combiner(scored: pd.DataFrame, config: RegionConfig
                      ) -> Callable[[np.ndarray], np.ndarray] | None:
    """How the run turns the cells' pressure of areas into their environmental pressure, for
    the sensitivity audit: a function of the cells' pressure statistic (draws, areas) that adds
    each area's capacity-ratio and waste-load indicators with their weights, as `apply_pressure`
    does (areas without them keep the cells' pressure). None without `pressure` in the region
    file.
    """
    spec = config.pressure
    if spec is None or col.IND_CAPACITY_RATIO not in scored.columns:
        return None
    ratio = scored[col.IND_CAPACITY_RATIO].to_numpy(dtype="float64")
    waste = scored[col.IND_WASTE_LOAD].to_numpy(dtype="float64")

    def combine(cells: np.ndarray) -> np.ndarray:
        return combined_pressure({"cells": (cells, spec.cells_weight),
                                  "capacity_ratio": (ratio, spec.capacity_ratio.weight),
                                  "waste_load": (waste, spec.waste_load.weight)})
    return combine
