"""What a one-page area brief says, gathered from the run: the area's record, its map
extract, its series, what is synthetic, sources. Data-driven: every section comes from the
area's record (`/areas/{id}`), the layers' metadata and the region file; sections whose data a
run does not provide (hazard levels, the class-change share of the sensitivity audit, admin
units) are left out.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd
import shapely

from data_catalog.i18n import N_, Language
from data_catalog.provenance import part_labels, real_parts, synthetic_parts
from geo_service.areas_store import AreasStore
from geo_service.auth import ANONYMOUS, Principal, visible_layers
from geo_service.maps.builder import region_title
from geo_service.maps.cards import (
    NO_DRIVER,
    Driver,
    area_color,
    area_score,
    class_text,
    drivers,
    extra_facts,
    hazard_levels,
    rank_text,
    ranking_facts,
    score_layers,
    value_text,
)
from geo_service.maps.extract import View, png_bytes, read_frame, render_extract
from layers.fields import field_spec
from layers.labels import area_name, field_label
from layers.models import Layer
from layers.registry import Registry, by_role, default_overlay
from pipelines import area_record as col
from pipelines.area_series import monthly_crossing, transit_inputs, yearly_counts

MAP_SIZE = (760, 540)
"""Pixels of the map extract (drawn at twice the size it is printed)."""
FIRST_YEAR, LAST_YEAR = 2021, 2024
"""The months the crossing chart shows."""
TEXT = {
    "title": N_("Area brief"),
    "unknown_area": N_("no area {area}"),
}


class AreaNotFound(LookupError):
    """No scored area with this id (or the reader may not see it)."""


@dataclass
class Series:
    """A chart: labels along the x axis, values, a title, the unit of the values."""

    title: str
    labels: list[str]
    values: list[float | None]
    unit: str
    keys: list[str] = field(default_factory=list)
    """Machine keys of the bars (months `YYYY-MM`, years)."""
    note: str = ""


@dataclass
class Brief:
    """Everything the brief's template shows, already in the reader's language and locale."""

    lang: Language
    area_id: str
    name: str
    other_names: list[str]
    kind: str
    region: str
    record: dict[str, Any]
    map_png: bytes
    map_alt: str
    overlay: Layer | None
    legend: list[tuple[str, str]]
    risk: str
    risk_class: str
    risk_color: str
    rank: str
    rank_of: int
    class_change: str | None
    dimensions: list[tuple[str, str, float]]
    drivers: list[Driver] | None
    """The indicators whose neutralisation lowers the score, largest drop first, the top
    indicator first (`geo_service.maps.cards.drivers`); None for an area not ranked."""
    no_driver: str
    top_indicator: str
    hazards: list[tuple[str, str]]
    facts: list[tuple[str, str]]
    crossing: Series | None
    events: list[Series]
    synthetic: list[str]
    real: list[str]
    run_id: str
    run_date: str
    method: str
    area_km2: str

    @property
    def map_data_uri(self) -> str:
        """The map extract as a data: URI (the page and the PDF need no other file)."""
        return "data:image/png;base64," + base64.b64encode(self.map_png).decode("ascii")


def method_version(manifest: dict[str, Any]) -> str:
    """The method's version: the run's own record of it, else cmrisk's version."""
    recorded = manifest.get("method_version")
    if recorded:
        return str(recorded)
    try:
        return f"cmrisk {version('cmrisk')}"
    except PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "cmrisk"


def _area_shape(registry: Registry, layers: dict[str, Layer], area_id: str
                ) -> tuple[shapely.Geometry, Layer] | None:
    for layer in layers.values():
        if layer.source_kind != "areas" or layer.kind != "vector":
            continue
        frame = read_frame(layer)
        found = frame[frame[col.ID] == area_id]
        if not found.empty:
            return found.geometry.iloc[0], layer
    return None


def _input_names(name: str, config: dict[str, Any]) -> set[str]:
    """The inputs an indicator, a surface or an input is made from (region config of a run)."""
    inputs = config.get("inputs") or {}
    if name in inputs:
        return {name}
    surface = (config.get("surfaces") or {}).get(name)
    if isinstance(surface, dict):
        return {str(v) for v in (surface.get("inputs") or {}).values()}
    indicator = (config.get("indicators") or {}).get(name)
    if isinstance(indicator, dict):
        levels = (indicator.get("levels") or {}).get("inputs") or {}
        if levels:
            return {str(v) for v in levels.values()}
        return _input_names(str(indicator.get("from")), config)
    return set()


def is_synthetic(layer: Layer, manifest: dict[str, Any]) -> bool:
    """Whether a layer shows synthetic data: for an input or an indicator, whether any input
    it is made from is synthetic (`run.json` → `inputs`); otherwise its own flag."""
    flags = {str(i.get("name")): bool(i.get("synthetic")) for i in manifest.get("inputs") or []
             if isinstance(i, dict)}
    if layer.source_kind in ("input", "indicator") and layer.source:
        names = _input_names(layer.source, manifest.get("config") or {})
        if names and names <= set(flags):
            return any(flags[name] for name in names)
    return layer.synthetic


def _date_column(frame: pd.DataFrame) -> str | None:
    """The first column `layers/fields.yaml` publishes as a date or date-time."""
    for name in frame.columns:
        spec, _ = field_spec(str(name))
        if spec.type in ("date", "datetime") and name != col.AS_OF:
            return str(name)
    return None


def crossing_series(registry: Registry, layers: dict[str, Layer], area: shapely.Geometry,
                    lang: Language) -> Series | None:
    """People crossing the area by month, 2021–2024, from the route segments and the protected
    crossings table the run published (the layers made from its transit surface's inputs)."""
    manifest = registry.run_manifest() or {}
    inputs = transit_inputs(manifest.get("config") or {})
    if inputs is None:
        return None
    by_input = {layer.source: layer for layer in layers.values()
                if layer.source_kind == "input" and layer.kind == "vector"}
    segments, flows = by_input.get(inputs[0]), by_input.get(inputs[1])
    if segments is None or flows is None:
        return None
    table = pd.DataFrame(read_frame(flows).drop(columns="geometry"))
    table = table[(table["month"] >= f"{FIRST_YEAR}-01") & (table["month"] <= f"{LAST_YEAR}-12")]
    monthly = monthly_crossing(read_frame(segments), table, area)
    return Series(title=lang.gettext(N_("People crossing the area, by month")),
                  labels=[lang.month(m) for m in monthly.index], keys=list(monthly.index),
                  values=[float(v) for v in monthly.to_numpy()],
                  unit=lang.gettext(N_("people")),
                  note=lang.gettext(N_("Route segments inside the area × monthly flows of the "
                                       "protected crossings table (withheld months count as "
                                       "not reported).")))


def event_series(layers: dict[str, Layer], area: shapely.Geometry,
                 lang: Language) -> list[Series]:
    """For every point layer with a count and a date (deaths and disappearances, disaster
    displacement, …): its count inside the area by year."""
    found = []
    for layer in layers.values():
        if layer.kind != "vector" or layer.count_property is None or layer.source_kind != \
                "input" or (layer.map is not None and layer.map.role == "time_series"):
            continue
        frame = read_frame(layer)
        if frame.empty or not (frame.geometry.geom_type == "Point").all():
            continue
        when = layer.time_property or _date_column(frame)
        if when is None or layer.count_property not in frame.columns:
            continue
        counts = yearly_counts(frame, layer.count_property, when, area)
        years = list(range(FIRST_YEAR, LAST_YEAR + 1))
        found.append(Series(
            title=lang.gettext(N_("{layer}, by year")).format(layer=layer.title_in(lang)),
            labels=[str(year) for year in years], keys=[str(year) for year in years],
            values=[float(counts.get(year, 0.0)) for year in years],
            unit=lang.gettext(N_("people"))))
    return found


def gather(registry: Registry, store: AreasStore, area_id: str, lang: Language,
           principal: Principal = ANONYMOUS) -> Brief:
    """The brief of one area of the region's current run.

    Raises:
        AreaNotFound: no such area, or one the reader may not see.
    """
    frame = store.visible_frame(principal)
    if frame.empty or area_id not in frame.index:
        raise AreaNotFound(area_id)
    classes = registry.classes()
    record = store.as_json(frame.loc[area_id], classes)
    layers = visible_layers(registry, principal)
    shape = _area_shape(registry, layers, area_id)
    if shape is None:
        raise AreaNotFound(area_id)
    area, area_layer = shape
    manifest = registry.run_manifest() or {}
    view = View.around(area.bounds, *MAP_SIZE)
    image = render_extract(layers, registry.bbox(), view, lang, focus=area, legend=False,
                           text_scale=1.6)
    overlay = default_overlay(layers)
    name = area_name(record, lang)
    others = [n for n in (record.get(col.OFFICIAL_NAME), record.get(col.NAME))
              if isinstance(n, str) and n and n != name]
    dims = score_layers(layers)
    dimensions = [(dims[d].title_in(lang) if d in dims else d, lang.number(v), float(v or 0))
                  for d, v in (record.get("dimensions") or {}).items()]
    top = str(record.get(col.TOP_INDICATOR) or "")
    # What is synthetic: the inputs (vector layers republished, and the indicators made from
    # raster inputs), not every score derived from them.
    used = [layer for layer in layers.values() if layer.source_kind in ("input", "indicator")
            or layer.id == area_layer.id]
    synthetic = sorted({layer.title_in(lang) for layer in used if is_synthetic(layer, manifest)})
    real = sorted({layer.title_in(lang) for layer in used
                   if not is_synthetic(layer, manifest)})
    records = manifest.get("inputs") or []
    if any(r.get("synthetic_parts") or r.get("real_parts") for r in records):
        # The inputs' provenance names what in them is made up and what is real (crossings:
        # synthetic monthly breakdowns, real yearly totals): say exactly that.
        made_up = synthetic_parts(records)
        synthetic = part_labels(made_up, lang)
        real = part_labels([p for p in real_parts(records) if p not in made_up], lang)
    change = record.get("class_change_share")
    kinds = [layer for layer in by_role(layers, "scored_areas") if layer.id == area_layer.id]
    return Brief(
        lang=lang, area_id=area_id, name=name, other_names=others,
        kind=(kinds[0] if kinds else area_layer).name_in(lang),
        region=region_title(registry, lang), record=record,
        map_png=png_bytes(image),
        map_alt=lang.gettext(N_("Map of {area} and its surroundings: {layer} by class, the "
                                "area outlined in black, route segments and stations."))
        .format(area=name, layer=overlay.title_in(lang) if overlay else ""),
        overlay=overlay,
        legend=[(c.color, c.label_in(lang)) for c in overlay.legend.classes] if overlay else [],
        risk=value_text(area_score(record), lang), risk_class=class_text(record, classes, lang),
        risk_color=area_color(record, classes),
        rank=rank_text(record, lang),
        rank_of=int((frame[col.KIND] == record.get(col.KIND)).sum()),
        class_change=lang.percent(float(change)) if isinstance(change, int | float) else None,
        dimensions=dimensions, drivers=drivers(record, layers, lang),
        no_driver=lang.gettext(NO_DRIVER),
        top_indicator=layers[top].title_in(lang) if top in layers else (top or "–"),
        hazards=hazard_levels(record, layers, lang),
        facts=[(label, value) for _, label, value in ranking_facts(record, lang)]
        + extra_facts(record, layers, classes, lang),
        crossing=crossing_series(registry, layers, area, lang),
        events=event_series(layers, area, lang),
        synthetic=synthetic, real=real,
        run_id=str(manifest.get("run_id") or record.get(col.RUN_ID) or ""),
        run_date=lang.date(manifest.get("created") or record.get(col.AS_OF)),
        method=method_version(manifest), area_km2=lang.integer(record.get(col.AREA_KM2)))


def labels(lang: Language) -> dict[str, str]:
    """The field labels the brief uses (from the one catalogue of score-card labels)."""
    return {key: field_label(key, lang) for key in (
        col.RISK, col.RISK_CLASS, col.RANK, "rank_interval", "dimensions", col.TOP_INDICATOR,
        "drops", col.AREA_KM2, "class_change_share", "hazard_levels", col.AS_OF)}
