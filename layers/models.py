"""What a layer is: the typed model behind `/layers`, tiles, features and maps."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Access = Literal["public", "restricted"]
"""Who may see a layer: everyone, or callers with a token scoped to it."""


class LegendClass(BaseModel):
    """One legend entry: values in [min, max) drawn in `color` (hex)."""

    model_config = ConfigDict(frozen=True)

    min: float
    max: float
    label: str
    label_es: str
    color: str


class Legend(BaseModel):
    """A layer's legend; the same object feeds tiles, maps and JSON."""

    model_config = ConfigDict(frozen=True)

    units: str
    classes: list[LegendClass]


class Style(BaseModel):
    """How a raster layer is drawn.

    `classes` draws each interval in its colour (scores, classes); otherwise `colormap` (a
    rio-tiler colormap name) stretches `rescale` (min, max in layer units) over 256 colours.
    """

    model_config = ConfigDict(frozen=True)

    colormap: str | None = None
    rescale: tuple[float, float] | None = None
    classes: list[LegendClass] = Field(default_factory=list)
    color: str | None = None
    """Stroke/fill colour of a vector layer."""


class Layer(BaseModel):
    """One layer of the registry: a run output or a user layer."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    title_es: str | None = None
    description: str = ""
    kind: Literal["raster", "vector"]
    value_type: Literal["continuous", "class", "count"]
    units: str = ""
    synthetic: bool = False
    access: Access = "public"
    run_id: str | None = None
    """None for user layers."""
    attribution: str = ""
    bbox: tuple[float, float, float, float] | None = None
    """(west, south, east, north), degrees."""
    style: Style = Style()
    legend: Legend
    version: str
    """Changes whenever the data changes (run id or file checksum): part of cache keys."""
    asset: Path = Field(exclude=True)
    """The file behind the layer; never serialised, never shown to clients."""
    provenance: list[dict[str, object]] = Field(default_factory=list)
