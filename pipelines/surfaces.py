"""The registry of surface functions: what a region file's `surfaces:` may name.

Each function rasterises vector inputs onto the analysis grid (`pipelines.mobility`). It
declares the roles of its inputs (with the input kinds each role accepts) and the model of its
parameters, so a region file is checked before anything runs: an unknown function, a missing
or extra input, an input of the wrong kind or a bad parameter is a config error naming its key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines import mobility
from pipelines.grid import Grid

Frames = Mapping[str, gpd.GeoDataFrame]
"""The input frames of one surface by role, in the grid's CRS."""


class _Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParameters(_Parameters):
    """A surface without parameters."""


class TransitParameters(_Parameters):
    """People crossing in `year`, spread across the corridor by a Gaussian of `kernel_km`."""

    kernel_km: float = Field(gt=0)
    year: int


class FlowYearParameters(_Parameters):
    """The year of crossings that drives the surface."""

    year: int


class ChildrenParameters(_Parameters):
    """The year of crossings, and the width (km) of the corridor each direction's share fills."""

    year: int
    width_km: float = Field(gt=0)


class DensityParameters(_Parameters):
    """Kernel density of `weight` (a column of the points), per km² per year.

    With `years` [first, last], only points whose `date_field` falls in those years count and
    the yearly rate divides by their number; without, every point counts and the rate divides
    by the span of years of the points' dates.
    """

    weight: str
    kernel_km: float = Field(gt=0)
    date_field: str
    years: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DensityParameters:
        if self.years is not None and self.years[0] > self.years[1]:
            raise ValueError("years: first must not be after last")
        return self


class CategoryParameters(_Parameters):
    """A score per value of `field` (e.g. the IUCN category), 0 for any other value."""

    field: str
    scores: dict[str, float]


@dataclass(frozen=True)
class SurfaceFunction:
    """One entry of the registry.

    Attributes:
        roles: input role → the input kinds it accepts.
        parameters: the pydantic model of the parameters.
        compute: (grid, frames by role, parameters) → a float array of the grid's shape.
        units: units of the surface.
        compute_at: (grid, frames, parameters, cells) → the surface at those cells only, for
            the functions that can do it without the whole grid (see `compute_surface`).
        halo_m: (parameters) → how far (m) a cell's value reaches beyond it: a window of the
            grid is computed on the window grown by this much, then cropped (`pipelines.chunks`).
    """

    roles: Mapping[str, tuple[str, ...]]
    parameters: type[BaseModel]
    compute: Callable[[Grid, Frames, Any], np.ndarray]
    units: str
    compute_at: Callable[[Grid, Frames, Any, mobility.Cells], np.ndarray] | None = None
    halo_m: Callable[[Any], float] = lambda parameters: 0.0


def _transit(grid: Grid, frames: Frames, p: TransitParameters,
             at: mobility.Cells | None = None) -> np.ndarray:
    mobility.check_points_carried(frames["segments"], frames["flows"])
    people = mobility.segment_people(frames["segments"], frames["flows"], p.year)
    return mobility.transit_pressure(grid, frames["segments"], people, p.kernel_km, at)


def _station_load(grid: Grid, frames: Frames, p: FlowYearParameters,
                  at: mobility.Cells | None = None) -> np.ndarray:
    mobility.check_points_carried(frames["segments"], frames["flows"])
    people = mobility.segment_people(frames["segments"], frames["flows"], p.year)
    return mobility.station_load(grid, frames["stations"], frames["segments"], people, at)


def _children(grid: Grid, frames: Frames, p: ChildrenParameters) -> np.ndarray:
    return mobility.children_share(grid, frames["flows"], frames["segments"], p.year,
                                   p.width_km)


def _density(grid: Grid, frames: Frames, p: DensityParameters,
             at: mobility.Cells | None = None) -> np.ndarray:
    points = frames["points"]
    years = pd.to_datetime(points[p.date_field], errors="coerce").dt.year
    if p.years is not None:
        first, last = p.years
        return mobility.kernel_density(grid, points[(years >= first) & (years <= last)],
                                       p.weight, p.kernel_km, per_years=last - first + 1, at=at)
    span = max(1, int(years.max() - years.min() + 1)) if len(points) else 1
    return mobility.kernel_density(grid, points, p.weight, p.kernel_km, per_years=span, at=at)


def _points_distance(grid: Grid, frames: Frames, p: NoParameters) -> np.ndarray:
    return mobility.distance_to_points_km(grid, frames["points"])


def _lines_distance(grid: Grid, frames: Frames, p: NoParameters) -> np.ndarray:
    return mobility.distance_to_lines_km(grid, frames["lines"])


def _category(grid: Grid, frames: Frames, p: CategoryParameters) -> np.ndarray:
    polygons = frames["polygons"]
    scores = polygons[p.field].map(p.scores).astype("float64").fillna(0.0)
    return mobility.polygon_scores(grid, polygons, scores)


def _presence(grid: Grid, frames: Frames, p: NoParameters) -> np.ndarray:
    polygons = frames["polygons"]
    return mobility.polygon_scores(grid, polygons, pd.Series(np.ones(len(polygons))))


FLOWS = ("flow_counts",)
VECTOR = ("vector",)

SURFACES: dict[str, SurfaceFunction] = {
    "transit_pressure": SurfaceFunction(
        {"segments": VECTOR, "flows": FLOWS}, TransitParameters, _transit,
        "people/km²/year", compute_at=_transit, halo_m=lambda p: 3 * p.kernel_km * 1000.0),
    "station_load": SurfaceFunction(
        {"stations": VECTOR, "segments": VECTOR, "flows": FLOWS}, FlowYearParameters,
        _station_load, "arrivals/day per place", compute_at=_station_load),
    "children_share": SurfaceFunction(
        {"flows": FLOWS, "segments": VECTOR}, ChildrenParameters, _children, "0-1"),
    "kernel_density": SurfaceFunction(
        {"points": VECTOR}, DensityParameters, _density, "units/km²/year",
        compute_at=_density, halo_m=lambda p: 3 * p.kernel_km * 1000.0),
    "distance_to_points": SurfaceFunction(
        {"points": VECTOR}, NoParameters, _points_distance, "km"),
    "distance_to_lines": SurfaceFunction(
        {"lines": VECTOR}, NoParameters, _lines_distance, "km"),
    "polygon_category_score": SurfaceFunction(
        {"polygons": VECTOR}, CategoryParameters, _category, "score"),
    "polygon_presence": SurfaceFunction(
        {"polygons": VECTOR}, NoParameters, _presence, "0-1"),
}
"""Surface functions by the name a region file gives in `surfaces.<name>.function`."""


def compute_surface(name: str, grid: Grid, frames: Frames, parameters: Mapping[str, Any],
                    at: mobility.Cells | None = None) -> np.ndarray:
    """Run the registered function `name` on its input frames with its parameters.

    With `at` (rows, cols), the surface at those cells only (1-D): computed there alone by the
    functions that can (`compute_at`), read from the whole grid otherwise.
    """
    function = SURFACES[name]
    checked = function.parameters.model_validate(parameters)
    if at is None:
        return function.compute(grid, frames, checked)
    if function.compute_at is not None:
        return function.compute_at(grid, frames, checked, at)
    return function.compute(grid, frames, checked)[at]


def surface_halo_m(name: str, parameters: Mapping[str, Any]) -> float:
    """How far (m) the registered function `name` reaches beyond a cell with these parameters."""
    function = SURFACES[name]
    return function.halo_m(function.parameters.model_validate(parameters))
