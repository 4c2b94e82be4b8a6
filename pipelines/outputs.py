"""What a run publishes: the region file's `outputs`, plus one layer per indicator.

Each `OutputLayer` becomes a STAC item whose fields (titles and descriptions per language,
units, style, count property, map role) are all the service knows about the layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pipelines.area_record import EXPOSED_SCORES
from pipelines.config import CLASS_RASTER, DEFAULT_LANGUAGE, RegionConfig

SourceKind = Literal["score", "classes", "indicator", "input", "areas"]
INDICATOR_UNITS = "score 0-10"


@dataclass(frozen=True)
class OutputLayer:
    """One published layer of a run.

    Attributes:
        id: layer id (file stem, item id, URL segment).
        kind: raster or vector.
        source_kind: what it is made from: a score, the class raster, an indicator, an input
            (republished) or a scored area set.
        source: the name of that score, indicator, input or area set.
        titles: title by language code.
        descriptions: description by language code.
        value_type: continuous, class or count.
        units: units of the values.
        style: the style as the region file gives it (`kind` and its fields).
        count_property: the property summed over an area (count vector layers).
        time_property: the property holding each feature's time, if any.
        map: the layer's place on the planning map (`pipelines.config.MapSpec`), or None.
        order: its position among the run's layers (the region file's order).
    """

    id: str
    kind: Literal["raster", "vector"]
    source_kind: SourceKind
    source: str
    titles: dict[str, str]
    descriptions: dict[str, str]
    value_type: Literal["continuous", "class", "count"]
    units: str
    style: dict[str, Any]
    count_property: str | None = None
    time_property: str | None = None
    map: dict[str, Any] | None = field(default=None)
    order: int = 0

    @property
    def title(self) -> str:
        """The title in the default language."""
        return self.titles[DEFAULT_LANGUAGE]

    def fields(self) -> dict[str, Any]:
        """The layer's metadata as STAC item fields (without prefix)."""
        return {
            "title": self.title, "title_es": self.titles.get("es", self.title),
            "description": self.descriptions[DEFAULT_LANGUAGE],
            "description_es": self.descriptions.get("es"),
            "titles": self.titles, "descriptions": self.descriptions,
            "kind": self.kind, "value_type": self.value_type, "units": self.units,
            "source": self.source, "source_kind": self.source_kind, "style": self.style,
            "count_property": self.count_property, "time_property": self.time_property,
            "map": self.map, "order": self.order,
            "not_exposed": self.source_kind == "score" and self.source in EXPOSED_SCORES,
        }


def indicator_layer(name: str, config: RegionConfig) -> OutputLayer:
    """The published layer of one 0–10 indicator."""
    spec = config.indicators[name]
    titles = spec.title or {"en": name.replace("_", " ").capitalize()}
    descriptions = spec.description or {
        "en": f"Indicator {name}, normalised to 0–10.",
        "es": f"Indicador {name}, normalizado a 0–10."}
    return OutputLayer(name, "raster", "indicator", name, dict(titles), dict(descriptions),
                       "continuous", INDICATOR_UNITS, {"kind": "classes"})


def published_layers(config: RegionConfig) -> list[OutputLayer]:
    """Every layer a run of the region publishes: its outputs, then its indicators."""
    layers = []
    for spec in config.outputs:
        if spec.kind == "raster":
            source_kind: SourceKind = "classes" if spec.source == CLASS_RASTER else "score"
            source = str(spec.source)
        elif spec.areas is not None:
            source_kind, source = "areas", spec.areas
        else:
            source_kind, source = "input", str(spec.source)
        layers.append(OutputLayer(
            spec.id, spec.kind, source_kind, source, dict(spec.title), dict(spec.description),
            spec.value_type, spec.units, spec.style.model_dump(mode="json"),
            spec.count_property, spec.time_property,
            spec.map.model_dump(mode="json") if spec.map is not None else None))
    layers += [indicator_layer(name, config) for name in config.indicators]
    return [replace(layer, order=index) for index, layer in enumerate(layers)]
