"""What a layer is: the typed model behind `/layers`, tiles, features and maps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from data_catalog.i18n import Language

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
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels in other languages (`pt`, …), beside `label` (English) and `label_es`."""

    def label_in(self, lang: Language) -> str:
        """The label in `lang` (falling back as `Language.text` does)."""
        return lang.text({"en": self.label, "es": self.label_es, **self.labels}, self.label)


class Legend(BaseModel):
    """A layer's legend; the same object feeds tiles, maps and JSON."""

    model_config = ConfigDict(frozen=True)

    units: str
    classes: list[LegendClass]


class ColorBy(BaseModel):
    """Colour each feature of a vector layer by the value of one property."""

    model_config = ConfigDict(frozen=True)

    property: str
    colors: dict[str, str]
    labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Value → its legend text per language."""


class Style(BaseModel):
    """How a layer is drawn.

    `classes` draws each interval in its colour (scores, classes); otherwise `colormap` (a
    rio-tiler colormap name) stretches `rescale` (min, max in layer units) over 256 colours.
    A vector layer has a `color`, or one per value of a property (`color_by`).
    """

    model_config = ConfigDict(frozen=True)

    colormap: str | None = None
    rescale: tuple[float, float] | None = None
    classes: list[LegendClass] = Field(default_factory=list)
    color: str | None = None
    """Stroke/fill colour of a vector layer."""
    color_by: ColorBy | None = None
    weight: float | None = None
    """Line width of a vector layer's outlines on the planning map, CSS pixels (None: the
    map role's own)."""
    not_exposed: bool = False
    """The layer is 0 where no one on the move is exposed: its tiles draw those cells grey
    (from the run's class raster) and its legend names them "Not exposed"."""


class TooltipField(BaseModel):
    """One field of a map tooltip: a property, and its label per language (none: value only)."""

    model_config = ConfigDict(frozen=True)

    property: str
    label: dict[str, str] | None = None
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Coded value → how it reads, per language."""


class MapPlacement(BaseModel):
    """A layer's place on the planning map, as its region file gives it.

    Roles: `overlay` (raster tiles with a legend, also analysed with every scored area),
    `basemap`, `scored_areas` (score cards), `scored_outlines` (score cards, outlines only, off
    until turned on), `area_classes`, `lines`, `points`,
    `clustered_points`, `time_series`.
    """

    model_config = ConfigDict(frozen=True)

    role: str
    shown: bool = False
    draw: bool = False
    tooltip: list[TooltipField] = Field(default_factory=list)
    label: dict[str, str] | None = None
    """A short name on the map, per language (the title when None)."""
    key: str | None = None
    """The property identifying each place of a time series."""
    split: TooltipField | None = None
    """The property whose values a time series sums apart (e.g. `direction`), and how each
    value reads."""


class Layer(BaseModel):
    """One layer of the registry: a run output or a user layer."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    title_es: str | None = None
    description: str = ""
    description_es: str | None = None
    titles: dict[str, str] = Field(default_factory=dict)
    """The title in every language the region file gives (`title`, `title_es` are two)."""
    descriptions: dict[str, str] = Field(default_factory=dict)
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
    source: str | None = None
    """What a run layer is made from: a score (`risk`, `H`, …), an indicator, an input or an
    area set (`source_kind` says which); None for user layers."""
    source_kind: str | None = None
    count_property: str | None = None
    """The property summed when an area is analysed (count vector layers)."""
    time_property: str | None = None
    map: MapPlacement | None = None
    order: int = 0
    """Position among the run's layers, as its region file lists them."""

    def title_in(self, lang: Language) -> str:
        """The title in `lang` (falling back as `Language.text` does)."""
        return lang.text({**self.titles, "en": self.title,
                          **({"es": self.title_es} if self.title_es else {})}, self.title)

    def description_in(self, lang: Language) -> str:
        """The description in `lang` (falling back as `Language.text` does)."""
        return lang.text({**self.descriptions, "en": self.description,
                          **({"es": self.description_es} if self.description_es else {})},
                         self.description)

    def name_in(self, lang: Language) -> str:
        """The layer's name on a map: its short map label, else its title, in `lang`."""
        label = self.map.label if self.map else None
        return lang.text(label, "") or self.title_in(lang)
