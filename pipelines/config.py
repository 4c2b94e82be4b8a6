"""Region files: everything a region is, as typed data (see METHOD.md and ARCHITECTURE.md).

A region is one YAML file in `pipelines/regions/`; a new region is a new file, not new code.
It holds the grid, the inputs, the surfaces rasterised from vector inputs (a function from the
registry of `pipelines.surfaces` with its inputs and parameters), the indicators and their
bounds, the weights, the classes, the areas to score and the layers a run publishes (`outputs`:
titles and descriptions per language, units, style, the count property of count layers and the
role of each layer on the planning map). The service learns every layer from these fields, as
the run writes them into its STAC items; it knows no layer by name.

A file may extend another (`extends: corridor`): its keys are merged into the other's, mapping
by mapping, so that a test can run a region at another resolution with a three-line file.

Every error names the key it is about, e.g. `surfaces.transit_pressure.function: unknown
surface function 'teleport'`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from data_catalog.stac import COLORMAPS
from pipelines.errors import ConfigError, UnknownRegion
from pipelines.surfaces import SURFACES

REGIONS_DIR = Path(__file__).parent / "regions"
WEIGHT_TOLERANCE = 1e-6
DIMENSIONS = ("H_nat", "exposure", "V", "C", "E")
"""Groups that combine indicators by weight; H, risk and environmental pressure derive from them."""
SCORES = ("H_nat", "exposure", "H", "V", "C", "E", "risk", "environmental_pressure")
"""The score arrays a run computes (METHOD.md §3–4), all 0–10: what raster outputs are made of."""
CLASS_RASTER = "risk_class"
"""The class raster a run computes from the composite risk (METHOD.md §5)."""
DEFAULT_LANGUAGE = "en"
LAYER_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
"""What an output id may look like (it is also a file name and a URL segment)."""
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _with_default_language(value: dict[str, str]) -> dict[str, str]:
    if DEFAULT_LANGUAGE not in value:
        raise ValueError(f"needs a text in {DEFAULT_LANGUAGE!r} (the default language)")
    return value


Text = Annotated[dict[str, str], AfterValidator(_with_default_language)]
"""A text per language code, e.g. {en: "Risk", es: "Riesgo"}; `en` is required."""


def _hex_color(value: str) -> str:
    if not HEX_COLOR.fullmatch(value):
        raise ValueError(f"{value!r} is not a colour #rrggbb")
    return value


Color = Annotated[str, AfterValidator(_hex_color)]


class GridSpec(_Strict):
    """The analysis grid: CRS, cell size (m) and extent (lon/lat degrees).

    `land_from` names the raster input whose cells with data are land (the sea is left out of
    every indicator); the first raster input when not given.
    """

    crs: str
    resolution_m: float = Field(gt=0)
    bounds_lonlat: tuple[float, float, float, float]
    chunk_cells: int = Field(default=512, gt=0)
    land_from: str | None = None

    @field_validator("bounds_lonlat")
    @classmethod
    def _ordered(cls, value: tuple[float, float, float, float]) -> tuple[float, ...]:
        west, south, east, north = value
        if not (west < east and south < north and south >= -90 and north <= 90):
            raise ValueError(f"bounds_lonlat must be west<east, south<north: {value}")
        return value

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(value)
        except CRSError as exc:
            raise ValueError(f"not a CRS PROJ knows: {value!r}") from exc
        if not crs.is_projected:
            raise ValueError(f"{value!r} is not projected: cells are metres")
        return value


InputKind = Literal["raster", "vector", "table", "flow_counts"]


class InputSpec(_Strict):
    """One pipeline input, relative to the region's inputs folder.

    `flow_counts` is a table of people counted per crossing point and month: the pipeline uses
    it only after disclosure control (`pipelines.disclosure`), joined to the points of the
    vector input named by `points`; the protected result is what surfaces and outputs see.
    """

    path: str
    kind: InputKind
    units: str | None = None
    resampling: Literal["bilinear", "nearest", "average", "mode"] = "bilinear"
    points: str | None = None


class SurfaceSpec(_Strict):
    """A surface rasterised from inputs: a function of `pipelines.surfaces.SURFACES`, the input
    bound to each of its roles, and its parameters (checked against the function's own model).
    """

    function: str
    inputs: dict[str, str]
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("function")
    @classmethod
    def _known_function(cls, value: str) -> str:
        if value not in SURFACES:
            raise ValueError(f"unknown surface function {value!r}; known: "
                             f"{', '.join(sorted(SURFACES))}")
        return value

    @model_validator(mode="after")
    def _parameters(self) -> SurfaceSpec:
        function = SURFACES[self.function]
        roles = set(function.roles)
        if set(self.inputs) != roles:
            missing, extra = sorted(roles - set(self.inputs)), sorted(set(self.inputs) - roles)
            raise ValueError(f"inputs: {self.function} takes the inputs {sorted(roles)}"
                             + (f"; missing {missing}" if missing else "")
                             + (f"; unknown {extra}" if extra else ""))
        try:
            function.parameters.model_validate(self.parameters)
        except ValidationError as exc:
            raise ValueError(_describe(exc, "parameters")) from None
        return self


class FloodLevels(_Strict):
    """ThinkHazard!-style flood levels: a cell scores at the most frequent return period (years)
    whose depth (the raster input named in `inputs`) reaches `threshold_m`."""

    threshold_m: float = Field(gt=0)
    scores: dict[int, float]
    inputs: dict[int, str]

    @model_validator(mode="after")
    def _same_periods(self) -> FloodLevels:
        if set(self.scores) != set(self.inputs):
            raise ValueError("levels: scores and inputs must name the same return periods")
        return self


class IndicatorSpec(_Strict):
    """How one input or surface becomes a 0–10 indicator, and the title of its layer."""

    source: str = Field(alias="from")
    dimension: str
    title: Text | None = None
    """The title of the indicator's layer (its name, capitalised, when not given)."""
    description: Text | None = None
    min: float | None = None
    max: float | None = None
    log: bool = False
    invert: bool = False
    levels: FloodLevels | None = None
    constant_ok: bool = False
    """The indicator may hold one value wherever it exists (e.g. a share known only per
    corridor); without this, such an indicator fails the run (`pipelines.indicators`)."""

    @model_validator(mode="after")
    def _bounds(self) -> IndicatorSpec:
        if self.levels is None:
            if self.min is None or self.max is None or not self.min < self.max:
                raise ValueError(f"indicator from {self.source!r} needs min < max")
            if self.log and self.min <= 0:
                raise ValueError(f"log indicator from {self.source!r} needs min > 0")
        return self


class ClassSpec(_Strict):
    """One risk class: [min, max) on 0–10, with labels and a colour."""

    name: str
    label: str
    label_es: str
    labels: dict[str, str] = Field(default_factory=dict)
    """The label in other languages (`pt`, …)."""
    min: float
    max: float
    color: Color


class AreaSetSpec(_Strict):
    """A set of areas to score: the polygons of a vector input (`from`), or H3 cells of
    `h3_resolution` over the region whose centre lies on the land of the `land` input."""

    kind: str
    source: str | None = Field(default=None, alias="from")
    id_prefix: str | None = None
    id_field: str | None = None
    name_field: str | None = None
    official_name_field: str | None = None
    """The field holding the official name in the country's language (WDPA `ORIG_NAME`)."""
    h3_resolution: int | None = Field(default=None, ge=0, le=15)
    land: str | None = None
    roll_up_from: str | None = None
    """An area set of smaller units (ADM2) whose hazard levels roll up into these (ADM1):
    each area takes the highest level of the units inside it (`pipelines.admin_units`)."""

    @model_validator(mode="after")
    def _one_source(self) -> AreaSetSpec:
        if (self.source is None) == (self.h3_resolution is None):
            raise ValueError("an area set takes either `from` (a vector input) or "
                             "`h3_resolution` (with `land`)")
        if self.h3_resolution is not None and self.land is None:
            raise ValueError("an H3 area set needs `land`: the vector input of the land")
        return self


RankingStatistic = Literal["mean_exposed", "p90", "max", "mean"]
"""How an area's cells make its score (`pipelines.areas.area_statistic`): the coverage-weighted
mean of the risk over its exposed cells (`mean_exposed`), its 90th percentile (`p90`) or
maximum (`max`) over all its scored cells, or the mean over all of them (`mean`)."""


class SensitivitySpec(_Strict):
    """The uncertainty audit of ranks and classes (JRC-style, `pipelines.sensitivity`).

    Each of `draws` seeded draws varies every factor whose range is set: the weights
    (Dirichlet of concentration `alpha` around the configured ones; none without `alpha`),
    each indicator's normalisation bounds (each end moved by up to ± `bounds_share` of the
    span, in log10 for log indicators), the kernel width of the surfaces named in `kernels_km`
    (one of the listed widths, km), the flow year of every surface with a `year` (one of
    `years`), the risk aggregation (one of `aggregations`) and the ranking statistic (one of
    `statistics`). An empty range keeps the configured value; `vary: false` sets every range
    to zero (every draw is the configured run: zero-width intervals).
    """

    draws: int = Field(ge=1)
    seed: int
    vary: bool = True
    alpha: float | None = Field(default=None, gt=0)
    bounds_share: float = Field(default=0.0, ge=0, lt=0.5)
    kernels_km: dict[str, list[Annotated[float, Field(gt=0)]]] = Field(default_factory=dict)
    years: list[int] = Field(default_factory=list)
    aggregations: list[Literal["geometric", "arithmetic"]] = Field(default_factory=list)
    statistics: list[RankingStatistic] = Field(default_factory=list)
    cells_per_area: int = Field(default=16, ge=1)
    """Representative cells per area and stratum (exposed / not exposed) the draws rescore."""


class RankingSpec(_Strict):
    """The statistic that classes and ranks areas (METHOD.md, "Ranking areas")."""

    statistic: RankingStatistic = "mean_exposed"


class Aggregation(_Strict):
    """How dimensions combine; `pressure_from` is the indicator of people's transit that,
    with E, makes the environmental pressure."""

    hazard: Literal["geometric_complement", "arithmetic"] = "geometric_complement"
    hazard_floor: float = Field(default=0.1, gt=0)
    risk: Literal["geometric", "arithmetic"] = "geometric"
    pressure_from: str


class AreaIndicatorSpec(_Strict):
    """An area indicator: a per-area value made 0–10 by min–max (optionally log10) between
    bounds, with its weight in the area's environmental pressure (`pipelines.pressure`)."""

    min: float
    max: float
    log: bool = False
    weight: float = Field(ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> AreaIndicatorSpec:
        if not self.min < self.max:
            raise ValueError("needs min < max")
        if self.log and self.min <= 0:
            raise ValueError("a log indicator needs min > 0")
        return self


class CarryingCapacity(_Strict):
    """The published carrying capacity of one area (people per day) and where it is from."""

    people_per_day: float = Field(gt=0)
    source: str


class PressureSpec(_Strict):
    """Environmental pressure of areas from published figures (METHOD.md, "Environmental
    pressure of areas"): people per day crossing an area over its carrying capacity, and the
    waste they leave (people crossing × kg per person).

    Attributes:
        segments: the vector input of the route segments.
        flows: the flow-count input the segments carry (`pipelines.mobility.segment_people`).
        year: the year of flows used (people/year).
        modes: the segment modes that count as crossing an area (all when None).
        waste_kg_per_person: kg of waste left per person crossing.
        waste_source: where that figure is from.
        capacities: carrying capacity by area id (`wdpa:900001`).
        cells_weight: weight of the cells' environmental pressure (the area's statistic of
            sqrt(transit · E)) beside the area indicators.
        capacity_ratio: bounds and weight of the capacity ratio (people/day ÷ people/day).
        waste_load: bounds and weight of the waste load (t/year).
    """

    segments: str
    flows: str
    year: int
    kinds: list[str] | None = None
    """The area kinds that get these figures (all when not given); the others keep the
    cells' pressure (a 36 km² planning unit is not where a walker leaves 9 kg)."""
    modes: list[str] | None = None
    """Only segments of these `mode`s cross areas (e.g. `[foot]`: people in a boat offshore
    leave no waste in a park); all segments when not given."""
    waste_kg_per_person: float = Field(ge=0)
    waste_source: str = ""
    capacities: dict[str, CarryingCapacity] = Field(default_factory=dict)
    cells_weight: float = Field(default=0.0, ge=0)
    capacity_ratio: AreaIndicatorSpec
    waste_load: AreaIndicatorSpec


HazardLevelName = Literal["high", "medium", "low"]


class HazardLevelSpec(_Strict):
    """How one hazard's ThinkHazard!-style level of an area is found (`pipelines.hazard_levels`),
    from raster inputs read at their native resolution.

    `flood_share`: the area is at level L when at least `min_share` of it (0–1) has a depth
    ≥ `threshold` in the input of `inputs[L]` (high: the most frequent return period, …).
    `threshold`: `statistic` of the input over the area (`mean`, `max` or `p90`) is compared
    with `thresholds[L]` (the area is at the highest level whose threshold it reaches).
    Otherwise the level is `very_low`.
    """

    method: Literal["flood_share", "threshold"]
    threshold: float | None = None
    min_share: float = Field(default=0.01, gt=0, le=1)
    inputs: dict[HazardLevelName, str] = Field(default_factory=dict)
    input: str | None = None
    statistic: Literal["mean", "max", "p90"] = "max"
    thresholds: dict[HazardLevelName, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> HazardLevelSpec:
        if self.method == "flood_share" and (self.threshold is None or not self.inputs):
            raise ValueError("flood_share needs `threshold` (m) and `inputs` by level")
        if self.method == "threshold" and (self.input is None or not self.thresholds):
            raise ValueError("threshold needs `input` and `thresholds` by level")
        return self


class ClassesStyle(_Strict):
    """A 0–10 score drawn in the colours of the region's classes."""

    kind: Literal["classes"]


class ClassIndexStyle(_Strict):
    """The class raster (0 … n−1) drawn in the colours of the region's classes."""

    kind: Literal["class_index"]


class StretchStyle(_Strict):
    """A continuous raster stretched over a named rio-tiler colormap between `rescale`."""

    kind: Literal["stretch"]
    colormap: str
    rescale: tuple[float, float]

    @field_validator("colormap")
    @classmethod
    def _known_colormap(cls, value: str) -> str:
        if value not in COLORMAPS:  # the names the service renders and lets clients ask for
            raise ValueError(f"unknown colormap {value!r}; known: {', '.join(sorted(COLORMAPS))}")
        return value


class ColorBy(_Strict):
    """Colour each feature by the value of one property."""

    property: str
    colors: dict[str, Color]
    labels: dict[str, Text] = Field(default_factory=dict)
    """How each value reads in the legend, per language (the value itself when absent)."""


class VectorStyle(_Strict):
    """Stroke and fill colour of a vector layer, optionally by a property's value."""

    kind: Literal["vector"]
    color: Color
    color_by: ColorBy | None = None
    weight: float | None = Field(default=None, gt=0, le=10)
    """Line width of its outlines on the planning map, CSS pixels (the role's own when None)."""


OutputStyle = Annotated[ClassesStyle | ClassIndexStyle | StretchStyle | VectorStyle,
                        Field(discriminator="kind")]
"""The styles a layer can have; the legend follows from the style (`layers.styles`)."""

MapRole = Literal["overlay", "basemap", "scored_areas", "scored_outlines", "area_classes",
                  "lines", "points", "clustered_points", "time_series"]
"""How the planning map shows a layer: `overlay` (raster tiles with a legend; their
statistics also go with every scored area), `basemap` (the land under everything),
`scored_areas` (outlines coloured by class, with score cards), `scored_outlines` (scored areas
as bare outlines of the style's colour and `weight`, off until turned on, with the same score
cards: admin units), `area_classes` (areas filled by class), `lines` and `points` (with a
tooltip), `clustered_points`, `time_series` (a circle per point sized by its count, with a
slider over `time_property`)."""


class TooltipField(_Strict):
    """One field of a tooltip: the property, and a label per language (none: value only)."""

    property: str
    label: Text | None = None
    values: dict[str, Text] = Field(default_factory=dict)
    """How coded values read, per language (`reception_station` → "Estación de recepción")."""


class MapSpec(_Strict):
    """A layer's place on the planning map."""

    role: MapRole
    shown: bool = False
    """Visible when the map opens; the one shown overlay is also the layer an analysis, an
    offline map and the landing page start from."""
    draw: bool = False
    """Offered among the layers of the draw-an-area analysis."""
    tooltip: list[TooltipField] = Field(default_factory=list)
    label: Text | None = None
    """A short name on the map (layer control, slider), when the title is too long."""
    key: str | None = None
    """The property that identifies each place of a time series."""
    split: TooltipField | None = None
    """The property whose values a time series sums apart (e.g. `direction`: people going
    north are never added to people coming back), and how each value reads per language."""

    @model_validator(mode="after")
    def _time_series_key(self) -> MapSpec:
        if self.role == "time_series" and self.key is None:
            raise ValueError("key: a time series needs the property identifying its places")
        return self


class OutputSpec(_Strict):
    """One layer a run publishes.

    A raster is made `from` a score (`SCORES`) or the class raster (`CLASS_RASTER`); a vector
    is an input republished (`from`, after disclosure control for flow counts) or a scored area
    set (`areas`).
    """

    id: str
    kind: Literal["raster", "vector"]
    source: str | None = Field(default=None, alias="from")
    areas: str | None = None
    title: Text
    description: Text
    value_type: Literal["continuous", "class", "count"]
    units: str = ""
    style: OutputStyle
    count_property: str | None = None
    """The property summed when an area is analysed (people, events); count layers only."""
    time_property: str | None = None
    map: MapSpec | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not LAYER_ID.fullmatch(value):
            raise ValueError(f"{value!r} is not a layer id (a-z, 0-9, _ and -)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> OutputSpec:
        raster = self.kind == "raster"
        if raster and (self.source not in (*SCORES, CLASS_RASTER) or self.areas is not None):
            raise ValueError(f"from: a raster output is made from one of "
                             f"{[*SCORES, CLASS_RASTER]}, not {self.source!r}")
        if not raster and (self.source is None) == (self.areas is None):
            raise ValueError("a vector output takes either `from` (an input) or `areas`")
        if raster == (self.style.kind == "vector"):
            raise ValueError(f"style: {self.style.kind!r} does not draw a {self.kind} layer")
        if self.map is not None and raster != (self.map.role == "overlay"):
            raise ValueError(f"map.role: {self.map.role!r} does not show a {self.kind} layer")
        if self.map is not None and self.map.role == "scored_outlines" and self.areas is None:
            raise ValueError("map.role: scored_outlines shows a scored area set (`areas`)")
        if self.count_property is not None and self.value_type != "count":
            raise ValueError("count_property: only count layers have one")
        if self.map is not None and self.map.role == "time_series" and (
                self.time_property is None or self.count_property is None):
            raise ValueError("map.role: a time series needs time_property and count_property")
        return self


class RegionConfig(_Strict):
    """One region: grid, inputs, surfaces, indicators, weights, classes, areas, outputs."""

    id: str
    title: Text
    attribution: str = ""
    grid: GridSpec
    inputs: dict[str, InputSpec]
    surfaces: dict[str, SurfaceSpec] = Field(default_factory=dict)
    indicators: dict[str, IndicatorSpec]
    weights: dict[str, dict[str, float]]
    aggregation: Aggregation
    classes: list[ClassSpec]
    areas: dict[str, AreaSetSpec]
    outputs: list[OutputSpec] = Field(default_factory=list)
    sensitivity: SensitivitySpec
    ranking: RankingSpec = Field(default_factory=RankingSpec)
    runs_kept: int = Field(default=5, ge=1)
    pressure: PressureSpec | None = None
    """Environmental pressure of areas from published figures (`pipelines.pressure`)."""
    hazard_levels: dict[str, HazardLevelSpec] = Field(default_factory=dict)
    """ThinkHazard!-style levels per area, by hazard (`pipelines.hazard_levels`)."""

    @model_validator(mode="after")
    def _references(self) -> RegionConfig:
        problems = [*self._input_problems(), *self._indicator_problems(),
                    *self._weight_problems(), *self._output_problems(),
                    *self._sensitivity_problems(), *self._area_figure_problems()]
        edges = [(c.min, c.max) for c in self.classes]
        if any(upper != lower for (_, upper), (lower, _) in itertools.pairwise(edges)):
            problems.append("classes: must be contiguous")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _kind_of(self, name: str) -> str | None:
        spec = self.inputs.get(name)
        return spec.kind if spec is not None else None

    def _input_problems(self) -> list[str]:
        problems = []
        rasters = [n for n, s in self.inputs.items() if s.kind == "raster"]
        land = self.grid.land_from
        if land is not None and land not in rasters:
            problems.append(f"grid.land_from: no raster input {land!r}")
        for name, spec in self.inputs.items():
            if spec.kind == "flow_counts" and self._kind_of(spec.points or "") != "vector":
                problems.append(f"inputs.{name}.points: flow counts need a vector input of "
                                f"their crossing points, not {spec.points!r}")
        for name, surface in self.surfaces.items():
            function = SURFACES[surface.function]
            for role, input_name in surface.inputs.items():
                kind = self._kind_of(input_name)
                if kind is None:
                    problems.append(f"surfaces.{name}.inputs.{role}: no input {input_name!r} "
                                    f"(inputs: {', '.join(self.inputs)})")
                elif kind not in function.roles[role]:
                    problems.append(f"surfaces.{name}.inputs.{role}: {input_name!r} is a "
                                    f"{kind} input; {surface.function} needs "
                                    f"{' or '.join(function.roles[role])}")
        for name, area in self.areas.items():
            for key, value in (("from", area.source), ("land", area.land)):
                if value is not None and self._kind_of(value) != "vector":
                    problems.append(f"areas.{name}.{key}: no vector input {value!r}")
        return problems

    def _indicator_problems(self) -> list[str]:
        problems = []
        rasters = {n for n, s in self.inputs.items() if s.kind == "raster"}
        for name, spec in self.indicators.items():
            if spec.dimension not in DIMENSIONS:
                problems.append(f"indicators.{name}.dimension: {spec.dimension!r} is not one of "
                                f"{list(DIMENSIONS)}")
            if spec.levels is not None:
                problems += [f"indicators.{name}.levels.inputs.{rp}: no raster input {src!r}"
                             for rp, src in spec.levels.inputs.items() if src not in rasters]
            elif spec.source not in rasters and spec.source not in self.surfaces:
                problems.append(f"indicators.{name}.from: {spec.source!r} is neither a raster "
                                "input nor a surface")
        if self.aggregation.pressure_from not in self.indicators:
            problems.append(f"aggregation.pressure_from: no indicator "
                            f"{self.aggregation.pressure_from!r}")
        return problems

    def _sensitivity_problems(self) -> list[str]:
        problems = []
        for name in self.sensitivity.kernels_km:
            surface = self.surfaces.get(name)
            if surface is None or "kernel_km" not in surface.parameters:
                problems.append(f"sensitivity.kernels_km.{name}: no surface {name!r} with a "
                                "kernel_km parameter")
        if self.sensitivity.years and not any("year" in s.parameters
                                              for s in self.surfaces.values()):
            problems.append("sensitivity.years: no surface has a year parameter")
        return problems

    def _weight_problems(self) -> list[str]:
        problems = [f"weights.{d}: dimension has no weights" for d in DIMENSIONS
                    if d not in self.weights]
        for dimension, weights in self.weights.items():
            if dimension not in DIMENSIONS:
                problems.append(f"weights.{dimension}: unknown dimension {dimension!r}")
                continue
            total = sum(weights.values())
            if not math.isclose(total, 1.0, abs_tol=WEIGHT_TOLERANCE):
                problems.append(f"weights.{dimension}: weights of dimension {dimension!r} sum "
                                f"to {total:.6g}, not 1")
            for name, weight in weights.items():
                spec = self.indicators.get(name)
                if spec is None:
                    problems.append(f"weights.{dimension}.{name}: unknown indicator {name!r}")
                elif spec.dimension != dimension:
                    problems.append(f"weights.{dimension}.{name}: indicator {name!r} is in "
                                    f"{spec.dimension!r}")
                if weight < 0:
                    problems.append(f"weights.{dimension}.{name}: is negative")
        return problems

    def _output_problems(self) -> list[str]:
        problems = []
        seen = set(self.indicators)  # every indicator is published under its own name
        shown = [o.id for o in self.outputs if o.map is not None and o.map.shown]
        if len(shown) > 1:
            problems.append(f"outputs: only one layer may be shown first, not {shown}")
        for index, output in enumerate(self.outputs):
            key = f"outputs[{index}] ({output.id})"
            if output.id in seen:
                problems.append(f"{key}.id: {output.id!r} is already a layer (an indicator or "
                                "an earlier output)")
            seen.add(output.id)
            if output.kind == "vector" and output.source is not None \
                    and self._kind_of(output.source) not in ("vector", "flow_counts"):
                problems.append(f"{key}.from: no vector or flow-count input {output.source!r}")
            if output.areas is not None and output.areas not in self.areas:
                problems.append(f"{key}.areas: no area set {output.areas!r}")
        return problems

    def _area_figure_problems(self) -> list[str]:
        """References of `pressure`, `hazard_levels` and admin roll-ups to inputs and sets."""
        problems = []
        rasters = {n for n, s in self.inputs.items() if s.kind == "raster"}
        if self.pressure is not None:
            if self._kind_of(self.pressure.segments) != "vector":
                problems.append(f"pressure.segments: no vector input {self.pressure.segments!r}")
            if self._kind_of(self.pressure.flows) != "flow_counts":
                problems.append(f"pressure.flows: no flow-count input {self.pressure.flows!r}")
        for hazard, spec in self.hazard_levels.items():
            named = [*spec.inputs.values(), *([spec.input] if spec.input else [])]
            problems += [f"hazard_levels.{hazard}: no raster input {name!r}"
                         for name in named if name not in rasters]
        for name, area in self.areas.items():
            if area.roll_up_from is not None and area.roll_up_from not in self.areas:
                problems.append(f"areas.{name}.roll_up_from: no area set {area.roll_up_from!r}")
        return problems

    def indicators_of(self, dimension: str) -> dict[str, float]:
        """Weights of the indicators of one dimension, by indicator name."""
        return dict(self.weights[dimension])

    def class_breaks(self) -> list[float]:
        """Inner class boundaries on 0–10, ascending (e.g. [2.0, 3.5, 5.0, 6.5])."""
        return [c.min for c in self.classes[1:]]

    def land_input(self) -> str:
        """The raster input whose cells with data are land."""
        return self.grid.land_from or next(
            n for n, s in self.inputs.items() if s.kind == "raster")


def _describe(exc: ValidationError, prefix: str = "") -> str:
    """Pydantic's errors as `key.path: message`, one per error, joined by `; `."""
    parts = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        location = ".".join(str(part) for part in (prefix, *error.get("loc", ())) if part != "")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def known_regions() -> list[str]:
    """Ids of the regions with a file in `pipelines/regions/`, sorted."""
    return sorted(p.stem for p in REGIONS_DIR.glob("*.yaml"))


def parse_region(data: Mapping[str, Any]) -> RegionConfig:
    """Validate a region given as data; every error names the key it is about."""
    try:
        return RegionConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid region {data.get('id', '?')!r}: {_describe(exc)}") from None


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` merged in: mappings key by key, anything else replaced."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def region_data(region: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The raw data of a region file (by id or path), with any `extends:` chain merged in."""
    path = Path(region)
    if path.suffix not in (".yaml", ".yml"):
        path = REGIONS_DIR / f"{region}.yaml"
        if not path.is_file():
            raise UnknownRegion(str(region), known_regions())
    path = path.resolve()
    if path in _seen:
        raise ConfigError(f"extends: {path.name} extends itself")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"region file {path.name} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"region file {path.name} is not a mapping")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path.name}: extends: must name one region or file")
    base_ref: str | Path = parent
    if parent.endswith((".yaml", ".yml")):
        base_ref = path.parent / parent
    return merge(region_data(base_ref, (*_seen, path)), data)


def load_region(region: str | Path) -> RegionConfig:
    """Load a region by id (from `pipelines/regions/`) or from a YAML path."""
    return parse_region(region_data(region))
