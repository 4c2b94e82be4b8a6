"""Region configs: everything the scoring method needs that is not code (see METHOD.md).

A region is one YAML file in `pipelines/regions/`; a new region is a new file, not new code.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.errors import ConfigError, UnknownRegion

REGIONS_DIR = Path(__file__).parent / "regions"
WEIGHT_TOLERANCE = 1e-6
DIMENSIONS = ("H_nat", "exposure", "V", "C", "E")
"""Groups that combine indicators by weight; H, risk and environmental pressure derive from them."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class GridSpec(_Strict):
    """The analysis grid: CRS, cell size (m) and extent (lon/lat degrees)."""

    crs: str
    resolution_m: float = Field(gt=0)
    bounds_lonlat: tuple[float, float, float, float]
    chunk_cells: int = Field(default=512, gt=0)

    @field_validator("bounds_lonlat")
    @classmethod
    def _ordered(cls, value: tuple[float, float, float, float]) -> tuple[float, ...]:
        west, south, east, north = value
        if not (west < east and south < north and south >= -90 and north <= 90):
            raise ValueError(f"bounds_lonlat must be west<east, south<north: {value}")
        return value


class InputSpec(_Strict):
    """One pipeline input, relative to the data dir's `inputs/`."""

    path: str
    kind: Literal["raster", "vector", "table"]
    units: str | None = None
    resampling: Literal["bilinear", "nearest", "average", "mode"] = "bilinear"


class FloodLevels(_Strict):
    """ThinkHazard!-style flood levels: a cell scores at the most frequent return period (years)
    whose depth reaches `threshold_m`."""

    threshold_m: float = Field(gt=0)
    scores: dict[int, float]


class IndicatorSpec(_Strict):
    """How one input or surface becomes a 0–10 indicator."""

    source: str = Field(alias="from")
    dimension: str
    min: float | None = None
    max: float | None = None
    log: bool = False
    invert: bool = False
    levels: FloodLevels | None = None

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
    min: float
    max: float
    color: str


class AreaSetSpec(_Strict):
    """A set of areas to score."""

    kind: str
    id_prefix: str | None = None
    id_field: str | None = None
    name_field: str | None = None
    h3_resolution: int | None = None


class SensitivitySpec(_Strict):
    """Dirichlet weight draws for rank intervals."""

    draws: int = Field(ge=1)
    alpha: float = Field(gt=0)
    seed: int


class Aggregation(_Strict):
    """How dimensions combine."""

    hazard: Literal["geometric_complement", "arithmetic"] = "geometric_complement"
    hazard_floor: float = Field(default=0.1, gt=0)
    risk: Literal["geometric", "arithmetic"] = "geometric"


class RegionConfig(_Strict):
    """One region: grid, inputs, indicator bounds, weights, classes, areas, sensitivity."""

    id: str
    title: str
    title_es: str | None = None
    attribution: str = ""
    grid: GridSpec
    inputs: dict[str, InputSpec]
    surfaces: dict[str, dict[str, float | int | list[int]]] = Field(default_factory=dict)
    indicators: dict[str, IndicatorSpec]
    weights: dict[str, dict[str, float]]
    aggregation: Aggregation = Aggregation()
    iucn_scores: dict[str, float]
    classes: list[ClassSpec]
    areas: dict[str, AreaSetSpec]
    sensitivity: SensitivitySpec
    runs_kept: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _weights_consistent(self) -> RegionConfig:
        for dimension in DIMENSIONS:
            if dimension not in self.weights:
                raise ValueError(f"weights: dimension {dimension!r} has no weights")
        for dimension, weights in self.weights.items():
            if dimension not in DIMENSIONS:
                raise ValueError(f"weights: unknown dimension {dimension!r}")
            total = sum(weights.values())
            if not math.isclose(total, 1.0, abs_tol=WEIGHT_TOLERANCE):
                raise ValueError(
                    f"weights of dimension {dimension!r} sum to {total:.6g}, not 1"
                )
            for name, weight in weights.items():
                spec = self.indicators.get(name)
                if spec is None:
                    raise ValueError(f"weights of {dimension!r}: unknown indicator {name!r}")
                if spec.dimension != dimension:
                    raise ValueError(
                        f"weights of {dimension!r}: indicator {name!r} is in {spec.dimension!r}"
                    )
                if weight < 0:
                    raise ValueError(f"weights of {dimension!r}: {name!r} is negative")
        edges = [(c.min, c.max) for c in self.classes]
        for (_, upper), (lower, _) in itertools.pairwise(edges):
            if upper != lower:
                raise ValueError("classes must be contiguous")
        return self

    def indicators_of(self, dimension: str) -> dict[str, float]:
        """Weights of the indicators of one dimension, by indicator name."""
        return dict(self.weights[dimension])

    def class_breaks(self) -> list[float]:
        """Inner class boundaries on 0–10, ascending (e.g. [2.0, 3.5, 5.0, 6.5])."""
        return [c.min for c in self.classes[1:]]


def known_regions() -> list[str]:
    """Ids of the regions with a config file, sorted."""
    return sorted(p.stem for p in REGIONS_DIR.glob("*.yaml"))


def parse_region(data: dict[str, object]) -> RegionConfig:
    """Validate a region config given as data; errors name the offending part."""
    try:
        return RegionConfig.model_validate(data)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise ConfigError(f"invalid region config {data.get('id', '?')!r}: {exc}") from exc


def load_region(region: str | Path) -> RegionConfig:
    """Load a region by id (from `pipelines/regions/`) or from a YAML path."""
    path = Path(region)
    if path.suffix not in (".yaml", ".yml"):
        path = REGIONS_DIR / f"{region}.yaml"
        if not path.is_file():
            raise UnknownRegion(str(region), known_regions())
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return parse_region(data)
