"""Colormaps, value ranges and legends: one legend feeds tiles, maps and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rio_tiler.colormap import cmap as colormaps

from data_catalog.i18n import N_, texts
from data_catalog.stac import COLORMAPS
from layers.labels import not_exposed_class
from layers.models import ColorBy, Legend, LegendClass, Style
from pipelines.area_record import NOT_EXPOSED_VALUE

ALLOWED_COLORMAPS: frozenset[str] = COLORMAPS
"""Colormap names a client may ask for (all known to rio-tiler; `data_catalog.stac.COLORMAPS`,
which user layers are checked against when ingested)."""

DEFAULT_VECTOR_COLOR = "#3b5bdb"
"""Colour of a vector layer whose metadata names none (user layers)."""
LEGEND_BINS = 5


def hex_color(rgba: Sequence[int]) -> str:
    """`#rrggbb` of an (r, g, b[, a]) tuple."""
    return "#{:02x}{:02x}{:02x}".format(*rgba[:3])


def rgba(color: str, alpha: int = 255) -> tuple[int, int, int, int]:
    """(r, g, b, a) of a `#rrggbb` colour."""
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), alpha


def style_of(spec: dict[str, Any], classes: Sequence[LegendClass]) -> Style:
    """The style a run layer's metadata names (`pipelines.config.OutputStyle`): `classes`,
    `class_index`, `stretch` or `vector`, drawn with the region's `classes` where needed.

    Raises:
        ValueError: a style kind this service does not draw.
    """
    kind = spec.get("kind")
    if kind == "classes":
        return score_style(classes)
    if kind == "class_index":
        return class_style(classes, not_exposed=True)
    if kind == "stretch":
        low, high = spec["rescale"]
        return Style(colormap=str(spec["colormap"]), rescale=(float(low), float(high)))
    if kind == "vector":
        by = spec.get("color_by")
        weight = spec.get("weight")
        return Style(color=spec.get("color"), color_by=ColorBy(**by) if by else None,
                     weight=float(weight) if weight is not None else None)
    raise ValueError(f"unknown style kind {kind!r}")


def score_style(classes: Sequence[LegendClass]) -> Style:
    """A 0–10 score drawn in the INFORM class colours."""
    return Style(classes=list(classes))


def class_style(classes: Sequence[LegendClass], not_exposed: bool = False) -> Style:
    """A class raster (0 … n−1) drawn in the class colours; with `not_exposed` (a run's class
    raster), its `NOT_EXPOSED_VALUE` cells are drawn grey and named apart in the legend."""
    indexed = [LegendClass(min=i, max=i + 1, label=c.label, label_es=c.label_es, color=c.color,
                           labels=dict(c.labels))
               for i, c in enumerate(classes)]
    if not_exposed and classes:
        indexed.append(not_exposed_entry(NOT_EXPOSED_VALUE, NOT_EXPOSED_VALUE + 1))
    return Style(classes=indexed)


def not_exposed_entry(low: float, high: float) -> LegendClass:
    """The legend entry of "not exposed" (grey) for the values [low, high)."""
    entry = not_exposed_class()
    return LegendClass(min=low, max=high, label=entry["label"],
                       label_es=entry["label_es"] or entry["label"], color=entry["color"],
                       labels=entry["labels"])


def stretch_style(colormap: str, rescale: tuple[float, float]) -> Style:
    """A continuous layer stretched over a named colormap between rescale min and max."""
    if colormap not in ALLOWED_COLORMAPS:
        raise ValueError(f"unknown colormap {colormap!r}")
    return Style(colormap=colormap, rescale=rescale)


def stretch_legend(colormap: str, rescale: tuple[float, float], units: str) -> Legend:
    """`LEGEND_BINS` equal bins of a stretched colormap, coloured at their centres."""
    lower, upper = rescale
    table = colormaps.get(colormap)
    step = (upper - lower) / LEGEND_BINS
    classes = []
    for index in range(LEGEND_BINS):
        low, high = lower + index * step, lower + (index + 1) * step
        entry = table[min(255, int((index + 0.5) * 256 / LEGEND_BINS))]
        colour = hex_color(entry)  # type: ignore[arg-type]  # named colormaps are dicts of RGBA
        label = f"{low:g}–{high:g} {units}".strip()
        classes.append(LegendClass(min=low, max=high, label=label, label_es=label, color=colour))
    return Legend(units=units, classes=classes)


def legend_of(style: Style, units: str) -> Legend:
    """The legend a style draws."""
    if style.classes:
        quiet = [not_exposed_entry(0, 0)] if style.not_exposed else []
        return Legend(units=units, classes=[*style.classes, *quiet])
    if style.colormap and style.rescale:
        return stretch_legend(style.colormap, style.rescale, units)
    if style.color_by is not None:
        named = style.color_by.labels
        return Legend(units=units, classes=[
            _entry(named.get(value) or {"en": value}, colour)
            for value, colour in style.color_by.colors.items()])
    color = style.color or DEFAULT_VECTOR_COLOR
    return Legend(units=units, classes=[_entry(texts(N_("feature")), color)])


def _entry(label: dict[str, str], color: str) -> LegendClass:
    """A legend entry of a vector layer (no value range) labelled per language."""
    english = label.get("en") or next(iter(label.values()))
    return LegendClass(min=0, max=0, label=english, label_es=label.get("es") or english,
                       labels={k: v for k, v in label.items() if k not in ("en", "es")},
                       color=color)


def interval_colormap(classes: Sequence[LegendClass]
                      ) -> list[tuple[tuple[float, float], tuple[int, int, int, int]]]:
    """rio-tiler interval colormap of the classes (the top class includes its max)."""
    intervals = []
    for index, klass in enumerate(classes):
        upper = klass.max + (1e-6 if index == len(classes) - 1 else 0.0)
        intervals.append(((klass.min, upper), rgba(klass.color)))
    return intervals
