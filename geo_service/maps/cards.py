"""What the map says about a feature: score cards of areas, tooltips, and the names of the
places planning units lie in — every word in the reader's language, every number in the
reader's locale.

A score card shows what the area's record (`/areas/{id}`) holds: score, class, rank and
interval, dimensions, top indicator and drivers (each indicator's drop, largest first), and,
when a run provides them, hazard levels, the share of sensitivity draws that change the class
and any other field `layers/fields.yaml` describes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

import geopandas as gpd
import pandas as pd
import pycountry
import shapely

from data_catalog.i18n import N_, Language
from layers.fields import FieldTexts, class_label, field_spec
from layers.labels import (
    NOT_EXPOSED_COLOR,
    NOT_EXPOSED_LABEL,
    area_name,
    field_label,
    ranking_statistic_label,
)
from layers.models import Layer, TooltipField
from layers.registry import Registry, by_role
from pipelines import area_record as col

NO_CLASS_COLOR = "#adb5bd"
SHOWN = {col.ID, col.KIND, col.NAME, col.OFFICIAL_NAME, col.AREA_KM2, col.RISK,
         col.RISK_CLASS, col.RANK, col.RANK_MEDIAN, col.RANK_P05, col.RANK_P95,
         col.TOP_INDICATOR, col.RUN_ID, col.AS_OF, "dimensions", "indicators", "drops",
         "weights",
         "labels", "class_shares", "stats", "links", "hazard_levels", "class_change_share",
         "pressure_audit",
         "risk_class_label", "risk_class_label_es", "risk_class_labels",
         col.RANKING_STATISTIC, "ranking_statistic_labels", col.RANKING_VALUE, col.EXPOSED_SHARE,
         col.RISK_P90, col.RISK_MAX, col.RISK_MEAN_EXPOSED,
         "flood_shares", col.PRESSURE_CELLS, col.PEOPLE_CROSSING, col.IND_CAPACITY_RATIO,
         col.IND_WASTE_LOAD}
"""Fields of an area record the card shows in their own places (or never: the parts of the
environmental pressure and the flooded shares stay in `/areas` and downloads)."""
HAZARD_LEVEL_NAMES = (N_("High"), N_("Medium"), N_("Low"), N_("Very low"))
"""ThinkHazard!'s levels, as a record's `hazard_levels` name them (`high`, `very_low`, …)."""
DRIVERS_SHOWN = 4
"""Drivers a score card and a brief list at most (the largest drops)."""
DROP_TEXT = N_("−{value} points")
"""How a drop reads: the points (0–10) the score loses when the indicator is neutralised."""
NO_DRIVER = N_("No indicator lowers the score")
"""What a card says of a ranked area none of whose indicators lowers its score."""


@dataclass(frozen=True)
class Driver:
    """One indicator of an area's drivers (`drivers`).

    Attributes:
        indicator: its name in the region file.
        name: its layer's title in the reader's language.
        drop: how much neutralising it lowers the area's score, points on 0–10 (> 0).
        text: the drop as the reader reads it ("−1,23 puntos").
    """

    indicator: str
    name: str
    drop: float
    text: str


def area_color(card: Mapping[str, Any], classes: list[dict[str, Any]]) -> str:
    """The colour of an area: its class's, the `not_exposed` grey, or the no-class grey."""
    klass = card.get(col.RISK_CLASS)
    if klass == col.NOT_EXPOSED:
        return NOT_EXPOSED_COLOR
    for entry in classes:
        if entry.get("name") == klass:
            return str(entry["color"])
    return class_color(area_score(card), classes)


def class_color(value: Any, classes: list[dict[str, Any]]) -> str:
    """The colour of the class a 0–10 score falls in (grey when there is none)."""
    if value is None or value != value:
        return NO_CLASS_COLOR
    for klass in classes:
        if float(klass["min"]) <= float(value) <= float(klass["max"]):
            return str(klass["color"])
    return NO_CLASS_COLOR


def score_layers(layers: Mapping[str, Layer]) -> dict[str, Layer]:
    """The run's score layers by the score they show (`H`, `V`, `C`, `E`, …): their titles
    name the dimensions of a score card."""
    return {str(layer.source): layer for layer in layers.values()
            if layer.source_kind == "score" and layer.source}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def value_text(value: Any, lang: Language, digits: int = 2) -> str:
    """A value as the reader reads it: numbers in the locale, whole numbers without decimals."""
    if _missing(value):
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        number = float(value)
        return lang.integer(number) if number.is_integer() else lang.number(number, digits)
    return str(value)


def tooltip_text(row: Mapping[str, Any], fields: list[TooltipField], lang: Language) -> str:
    """A feature's tooltip: each field's label (if any) and value (coded values as the region
    file names them in `lang`), joined by ` · `."""
    parts = []
    for field in fields:
        label = lang.text(field.label, "") if field.label else ""
        value = row.get(field.property)
        named = field.values.get(str(value)) if not _missing(value) else None
        text = lang.text(named, str(value)) if named else value_text(value, lang)
        parts.append(f"{label} {text}" if label else text)
    return " · ".join(parts)


def rank_text(card: Mapping[str, Any], lang: Language) -> str:
    """"3 (2–5)": the rank and its 5–95 % interval."""
    rank = card.get(col.RANK)
    low, high = card.get(col.RANK_P05), card.get(col.RANK_P95)
    if _missing(rank):
        return "–"
    interval = f" ({value_text(low, lang, 1)}–{value_text(high, lang, 1)})" if not (
        _missing(low) or _missing(high)) else ""
    return f"{value_text(rank, lang, 1)}{interval}"  # ties share an average rank: 2.5


def class_text(card: Mapping[str, Any], classes: list[dict[str, Any]], lang: Language) -> str:
    """The area's class in `lang` (the region's class labels), "–" when it has none."""
    klass = card.get(col.RISK_CLASS)
    if klass == col.NOT_EXPOSED:
        return lang.gettext(NOT_EXPOSED_LABEL)
    for entry in classes:
        if entry.get("name") == klass:
            return class_label(entry, lang)
    labels = card.get("risk_class_labels")
    if isinstance(labels, dict):
        return lang.text(labels, str(klass or "–"))
    return str(klass) if klass else "–"


UNITLESS = ("1", "score 0-10")
"""Units of `layers/fields.yaml` a card leaves unsaid (a share, a 0–10 score)."""


def hazard_levels(card: Mapping[str, Any], layers: Mapping[str, Layer],
                  lang: Language) -> list[tuple[str, str]]:
    """(hazard, level) pairs of a record that carries hazard levels (`hazard_levels`: a
    mapping of hazard → level, or of hazard → {level, label…}), named in `lang`."""
    levels = card.get("hazard_levels")
    if not isinstance(levels, Mapping):
        return []
    rows = []
    for hazard, level in levels.items():
        layer = layers.get(str(hazard))
        name = layer.title_in(lang) if layer else str(hazard)
        if isinstance(level, Mapping):
            text = lang.text(level.get("labels") if isinstance(level.get("labels"), Mapping)
                             else None, str(level.get("level", "–")))
        else:
            text = lang.gettext(str(level).replace("_", " ").capitalize()) if level else "–"
        rows.append((name, text))
    return rows


def drop_text(drop: float, lang: Language) -> str:
    """A drop as the reader reads it: "−1.23 points" (two decimals; four below 0.005, so a
    small drop does not read as none)."""
    return lang.gettext(DROP_TEXT).format(value=lang.number(drop, 2 if drop >= 0.005 else 4))


def drivers(card: Mapping[str, Any], layers: Mapping[str, Layer], lang: Language,
            limit: int = DRIVERS_SHOWN) -> list[Driver] | None:
    """The indicators whose neutralisation lowers an area's score (`drops` of its record),
    largest drop first and the record's top indicator first, so the list and the top
    indicator agree; at most `limit`.

    Returns:
        None when the record has no drop (an area not ranked, a run without drops); an empty
        list when no drop is above 0.
    """
    drops = card.get("drops")
    if not isinstance(drops, Mapping) or all(_missing(v) for v in drops.values()):
        return None
    top = card.get(col.TOP_INDICATOR)
    positive = [(str(k), float(v)) for k, v in drops.items() if not _missing(v) and v > 0]
    # Stable: ties keep the record's order (the region file's, as the top indicator's ties).
    positive.sort(key=lambda kv: (kv[0] != top, -kv[1]))
    return [Driver(k, layers[k].title_in(lang) if k in layers else k, v, drop_text(v, lang))
            for k, v in positive[:limit]]


def ranking_facts(card: Mapping[str, Any], lang: Language) -> list[tuple[str, str, str]]:
    """(css name, label, value) of what an area's score is made of: the ranking statistic's
    name, the exposed share, the 90th percentile and the maximum of the risk."""
    rows = []
    statistic = card.get(col.RANKING_STATISTIC)
    if isinstance(statistic, str) and statistic:
        rows.append(("statistic", field_label(col.RANKING_STATISTIC, lang),
                     ranking_statistic_label(statistic, lang)))
    share = card.get(col.EXPOSED_SHARE)
    if isinstance(share, int | float) and not _missing(share):
        rows.append(("exposed", field_label(col.EXPOSED_SHARE, lang),
                     lang.percent(float(share))))
    for key, css in ((col.RISK_P90, "p90"), (col.RISK_MAX, "max")):
        if not _missing(card.get(key)):
            rows.append((css, field_label(key, lang), value_text(card.get(key), lang)))
    return rows


def area_score(card: Mapping[str, Any]) -> Any:
    """The score an area is classed and ranked by: its ranking statistic's value (the mean
    risk in records without one)."""
    return card.get(col.RANKING_VALUE) if card.get(col.RANKING_STATISTIC) else card.get(col.RISK)


def extra_facts(card: Mapping[str, Any], layers: Mapping[str, Layer],
                classes: list[dict[str, Any]], lang: Language) -> list[tuple[str, str]]:
    """(label, value) of the record's other scalar fields that `layers/fields.yaml` describes
    (fields a run adds, such as an exposed share or a capacity ratio)."""
    texts = FieldTexts(layers, classes, [lang])
    rows = []
    for key, value in card.items():
        if key in SHOWN or not isinstance(value, int | float) or isinstance(value, bool) \
                or _missing(value):
            continue
        spec, _ = field_spec(key)
        if spec.name == "*":
            continue
        text = texts.text(key)
        units = (f" {lang.gettext(spec.units)}" if spec.units and spec.units not in UNITLESS
                 else "")
        rows.append((text.title[lang.code], f"{value_text(value, lang)}{units}"))
    return rows


def score_card_html(card: dict[str, Any], layers: dict[str, Layer],
                    classes: list[dict[str, Any]], lang: Language) -> str:
    """An area's score card (the `/areas/{id}` shape) as popup HTML.

    Args:
        card: the area in the API shape (`AreasStore.as_json`).
        layers: the registry's layers (their titles name dimensions and indicators).
        classes: the run's risk classes.
        lang: language and locale of every word and number.
    """
    dimensions = score_layers(layers)
    bars = []
    for dim, value in (card.get("dimensions") or {}).items():
        layer = dimensions.get(dim)
        name = layer.title_in(lang) if layer else dim
        width = 0.0 if _missing(value) else max(0.0, min(10.0, float(value))) * 10
        bars.append(
            f'<div class="cmrisk-dim" data-dim="{escape(dim)}"><span class="cmrisk-dim-name">'
            f'{escape(name)}</span><span class="cmrisk-bar" style="width:{width:.0f}px;'
            f'background:{class_color(value, classes)}"></span>'
            f"<span>{lang.number(value)}</span></div>")
    top = str(card.get(col.TOP_INDICATOR) or "")
    top_layer = layers.get(top)
    top_name = top_layer.title_in(lang) if top_layer else (top or "–")
    # One list: the drivers by drop, the top indicator first (`drivers`). The top indicator,
    # with its drop, is the list's summary: it folds, as the weights do, to keep the card short.
    listed = drivers(card, layers, lang)
    top_line = (f"{escape(field_label(col.TOP_INDICATOR, lang))}: <span class='cmrisk-top'>"
                f"{escape(top_name)}</span>")
    if listed:
        top_drop = (f" (<span class='cmrisk-drop'>{escape(listed[0].text)}</span>)"
                    if listed[0].indicator == top else "")
        items = "".join(f"<li data-indicator='{escape(d.indicator)}'>{escape(d.name)} "
                        f"<span class='cmrisk-drop'>{escape(d.text)}</span></li>"
                        for d in listed)
        top_block = (f"<details class='cmrisk-drivers'><summary>{top_line}{top_drop}</summary>"
                     f"{escape(field_label('drops', lang))}<ol>{items}</ol></details>")
    elif listed is not None:
        top_block = f"{top_line} ({escape(lang.gettext(NO_DRIVER))})<br>"
    else:
        top_block = f"{top_line}<br>"
    weights = "".join(
        f"<div><b>{escape(_group_name(group, dimensions, lang))}</b>: "
        + ", ".join(f"{escape(layers[k].title_in(lang) if k in layers else k)} "
                    f"{lang.number(float(v), 2)}" for k, v in values.items()) + "</div>"
        for group, values in (card.get("weights") or {}).items() if isinstance(values, dict))
    name = area_name(card, lang)
    official = card.get(col.OFFICIAL_NAME)
    also = (f"<br><small>{escape(str(card.get(col.NAME)))}</small>"
            if official and name != card.get(col.NAME) else "")
    rows = [f"{escape(field_label(col.RISK, lang))}: <b>{value_text(area_score(card), lang)}</b>"
            f" / {lang.integer(10)} <span class='cmrisk-class'>"
            f"({escape(class_text(card, classes, lang))})</span>"]
    rows += [f"{escape(label)}: <span class='cmrisk-{css}'>{escape(value)}</span>"
             for css, label, value in ranking_facts(card, lang)]
    rows.append(f"{escape(field_label(col.RANK, lang))} · "
                f"{escape(field_label('rank_interval', lang))}: {rank_text(card, lang)}")
    change = card.get("class_change_share")
    if isinstance(change, int | float) and not _missing(change):
        rows.append(f"{escape(field_label('class_change_share', lang))}: "
                    f"<span class='cmrisk-class-change'>{lang.percent(float(change))}</span>")
    pressure = card.get("pressure_audit")
    if isinstance(pressure, dict) and not _missing(pressure.get(col.RANK_MEDIAN)):
        ranks = rank_text({col.RANK: pressure.get(col.RANK_MEDIAN),
                           col.RANK_P05: pressure.get(col.RANK_P05),
                           col.RANK_P95: pressure.get(col.RANK_P95)}, lang)
        share = pressure.get(col.CLASS_CHANGE_SHARE)
        shown = f"{ranks}, {lang.percent(float(share))}" if isinstance(share, int | float) \
            else ranks
        rows.append(f"{escape(field_label('pressure_audit', lang))}: "
                    f"<span class='cmrisk-pressure-audit'>{escape(shown)}</span>")
    levels = hazard_levels(card, layers, lang)
    hazards = ("<div class='cmrisk-hazard-levels'><b>"
               + escape(field_label("hazard_levels", lang)) + "</b>: "
               + ", ".join(f"{escape(h)} {escape(v)}" for h, v in levels) + "</div>"
               if levels else "")
    facts = "".join(f"<div>{escape(label)}: {escape(value)}</div>"
                    for label, value in extra_facts(card, layers, classes, lang))
    return (
        f"<div class='cmrisk-scorecard' lang='{escape(lang.tag)}'>"
        f"<strong>{escape(name)}</strong>{also}<br>" + "<br>".join(rows)
        + f"<div class='cmrisk-dims'>{''.join(bars)}</div>{hazards}"
        f"{top_block}"
        f"{escape(field_label(col.AREA_KM2, lang))}: {lang.integer(card.get(col.AREA_KM2))}"
        f"{facts}<small>{escape(field_label(col.AS_OF, lang))}: "
        f"{escape(lang.date(card.get(col.AS_OF)) if card.get(col.AS_OF) else '–')}</small>"
        f"<details><summary>{escape(field_label('weights', lang))}</summary>"
        f"<div class='cmrisk-weights'>{weights}</div></details></div>")


def _group_name(group: str, dimensions: Mapping[str, Layer], lang: Language) -> str:
    layer = dimensions.get(group)
    return layer.title_in(lang) if layer else group


def country_name(iso3: str, lang: Language, default: str = "") -> str:
    """A country's name in `lang` (CLDR), from its ISO 3166-1 alpha-3 code."""
    country = pycountry.countries.get(alpha_3=str(iso3).upper())
    if country is None:
        return default
    return str(lang.locale.territories.get(country.alpha_2, default or country.name))


def place_names(registry: Registry, layers: Mapping[str, Layer],
                lang: Language) -> gpd.GeoDataFrame:
    """Named polygons a planning unit can be placed in, smallest first: every scored area
    that is not a planning unit (protected areas, admin units when a run has them) and the
    countries of the basemap. Columns `label`, `size` (degrees², for ordering), geometry."""
    frames = []
    skip = {layer.id for layer in by_role(layers, "area_classes")}
    for layer in layers.values():
        if layer.source_kind != "areas" or layer.id in skip or layer.kind != "vector":
            continue
        frame = gpd.read_parquet(layer.asset)
        if col.NAME not in frame.columns:
            continue
        frames.append(gpd.GeoDataFrame(
            {"label": [area_name(dict(row), lang) for _, row in frame.drop(
                columns="geometry").iterrows()]}, geometry=frame.geometry.values,
            crs=frame.crs))
    for layer in by_role(layers, "basemap"):
        frame = gpd.read_parquet(layer.asset)
        names = [country_name(str(code), lang, str(name)) if "iso3" in frame.columns else
                 str(name) for code, name in zip(
                     frame.get("iso3", frame.get(col.NAME)), frame.get(col.NAME), strict=True)]
        frames.append(gpd.GeoDataFrame({"label": names}, geometry=frame.geometry.values,
                                       crs=frame.crs))
    if not frames:
        return gpd.GeoDataFrame({"label": [], "size": []}, geometry=[], crs="EPSG:4326")
    places = gpd.GeoDataFrame(pd.concat([f.to_crs("EPSG:4326") for f in frames],
                                        ignore_index=True), crs="EPSG:4326")
    places["size"] = shapely.area(places.geometry.values)
    return places
