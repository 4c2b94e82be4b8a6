"""Folium planning maps (used by `/maps/risk` and by `cmrisk map`).

Every layer on the map, its name, legend, colours and tooltips come from the layer's metadata
in the registry (its region file's `outputs`): the map knows roles (`overlay`, `basemap`,
`scored_areas`, …), never a layer by name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Literal

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from jinja2 import Template
from rio_tiler.io import Reader

from geo_service.areas_store import AreasStore
from geo_service.auth import ANONYMOUS, Principal, visible_layers
from geo_service.map_widgets import (
    DrawAnalysis,
    InlineTileLayer,
    MonthlySlider,
    OverlayLegends,
    monthly_series,
)
from geo_service.static_assets import localize
from layers.labels import SCORE_CARD_LABELS
from layers.models import Layer, TooltipField
from layers.registry import Registry, by_role
from pipelines import area_record as col

Lang = Literal["en", "es"]
MAX_ZOOM = 14
"""Deepest zoom the map allows; raster tiles past a layer's native zoom are scaled up."""
BASEMAP_STYLE = {"color": "#868e96", "weight": 1, "fillColor": "#f1f3f5", "fillOpacity": 1}
"""How the land of a `basemap` layer is drawn under everything."""
NO_CLASS_COLOR = "#adb5bd"

TEXT: dict[str, dict[Lang, str]] = {
    "synthetic": {"en": "Demonstration data: hazard and climate layers are synthetic.",
                  "es": "Datos de demostración: las capas de amenaza y clima son sintéticas."},
    "fullscreen": {"en": "Full screen", "es": "Pantalla completa"},
    "measure": {"en": "Measure a distance (click points; click here again to stop)",
                "es": "Medir una distancia (haga clic en puntos; otra vez aquí para terminar)"},
    "coords": {"en": "Move the mouse over the map", "es": "Mueva el ratón sobre el mapa"},
    "people": {"en": "people", "es": "personas"},
    "withheld": {"en": "withheld or not reported", "es": "reservado o sin datos"},
    "draw": {"en": "Draw an area to analyse (click the corners, then click here again)",
             "es": "Dibujar un área para analizar (haga clic en las esquinas y otra vez aquí)"},
    "finish": {"en": "Finish the area and analyse it", "es": "Terminar el área y analizarla"},
    "draw_disabled": {
        "en": "Drawing an area needs the cmrisk service: not available in this offline file.",
        "es": "Dibujar un área requiere el servicio cmrisk: no disponible en este archivo "
              "sin conexión."},
    "result": {"en": "Analysis of the drawn area", "es": "Análisis del área dibujada"},
    "mean": {"en": "Mean", "es": "Media"},
    "max": {"en": "Max", "es": "Máximo"},
    "busy": {"en": "Analysing…", "es": "Analizando…"},
    "failed": {"en": "The analysis failed.", "es": "El análisis falló."},
    "close": {"en": "Close", "es": "Cerrar"},
}
"""The map's own words (its layers' names come with the layers)."""


class NothingToMap(LookupError):
    """The region has no run and no layer with an extent: there is nothing to centre on."""


def _t(key: str, lang: Lang) -> str:
    return TEXT[key][lang]


def _in(texts: Mapping[str, str] | None, lang: Lang) -> str | None:
    """A text in `lang`, else in English, else None."""
    if not texts:
        return None
    return texts.get(lang) or texts.get("en")


def _title(layer: Layer, lang: Lang) -> str:
    return (layer.title_es or layer.title) if lang == "es" else layer.title


def _name(layer: Layer, lang: Lang) -> str:
    """The layer's name on the map: its short map label, else its title."""
    return _in(layer.map.label if layer.map else None, lang) or _title(layer, lang)


def _color(layer: Layer) -> str:
    return layer.style.color or layer.legend.classes[0].color


def _value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "–"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}"
    return str(value)


def tooltip_text(row: Mapping[str, Any], fields: list[TooltipField], lang: Lang) -> str:
    """A feature's tooltip: each field's label (if any) and value, joined by ` · `."""
    parts = []
    for field in fields:
        label = _in(field.label, lang)
        text = _value(row.get(field.property))
        parts.append(f"{label} {text}" if label else text)
    return " · ".join(parts)


def _legend_block(block_id: str, title: str, rows: list[tuple[str, str]]) -> str:
    items = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{color};'
        f'border:1px solid #555;margin-right:6px"></span>{escape(label)}</div>'
        for color, label in rows)
    return (f'<div class="cmrisk-legend-layer" data-layer="{escape(block_id)}" '
            f'style="margin-bottom:4px"><strong>{escape(title)}</strong>{items}</div>')


def _legend_html(layer: Layer, lang: Lang) -> str:
    """The legend block of a layer, from its legend (the one `/layers/{id}` gives)."""
    return _legend_block(layer.id, _name(layer, lang), [
        (c.color, c.label_es if lang == "es" else c.label) for c in layer.legend.classes])


def _legends_box(blocks: list[str]) -> str:
    return ('<div id="cmrisk-legend" class="cmrisk-legend" style="position:fixed;bottom:64px;'
            "right:12px;z-index:1000;background:white;padding:8px 10px;border-radius:4px;"
            "font:12px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.4);max-height:60vh;"
            f'overflow-y:auto">{"".join(blocks)}</div>')


CONTROLS_JS = """
(function (map, text) {
  var Coords = L.Control.extend({
    options: {position: 'bottomleft'},
    onAdd: function () {
      var box = L.DomUtil.create('div', 'leaflet-control cmrisk-coords');
      box.style.cssText = 'background:rgba(255,255,255,.85);padding:1px 6px;font:11px monospace';
      box.textContent = text.coords;
      map.on('mousemove', function (e) {
        box.textContent = e.latlng.lat.toFixed(4) + ', ' + e.latlng.lng.toFixed(4);
      });
      return box;
    }
  });
  function button(cls, title, label, onClick) {
    var bar = L.DomUtil.create('div', 'leaflet-bar leaflet-control');
    var link = L.DomUtil.create('a', cls, bar);
    link.href = '#'; link.title = title; link.setAttribute('role', 'button');
    link.textContent = label;
    L.DomEvent.disableClickPropagation(bar);
    L.DomEvent.on(link, 'click', function (e) { L.DomEvent.preventDefault(e); onClick(link); });
    return bar;
  }
  var Fullscreen = L.Control.extend({
    options: {position: 'topleft'},
    onAdd: function () {
      return button('cmrisk-fullscreen', text.fullscreen, '\u2922', function () {
        var box = map.getContainer();
        if (document.fullscreenElement) { document.exitFullscreen(); }
        else if (box.requestFullscreen) { box.requestFullscreen(); }
      });
    }
  });
  document.addEventListener('fullscreenchange', function () { map.invalidateSize(); });
  var Measure = L.Control.extend({
    options: {position: 'topleft'},
    onAdd: function () {
      var line = null, output = L.DomUtil.create('div', 'cmrisk-measure-result');
      output.style.cssText = 'background:#fff;padding:1px 4px;font:11px sans-serif';
      function add(e) {
        line.addLatLng(e.latlng);
        var points = line.getLatLngs(), metres = 0;
        for (var i = 1; i < points.length; i++) {
          metres += map.distance(points[i - 1], points[i]);
        }
        output.textContent = (metres / 1000).toFixed(2) + ' km';
      }
      var bar = button('cmrisk-measure', text.measure, '\u2194', function (link) {
        if (line) {
          map.off('click', add); map.removeLayer(line); line = null;
          output.textContent = ''; L.DomUtil.removeClass(link, 'cmrisk-active');
          map.getContainer().style.cursor = '';
        } else {
          line = L.polyline([], {color: '#e8590c', dashArray: '4 4', interactive: false});
          line.addTo(map);
          map.on('click', add); L.DomUtil.addClass(link, 'cmrisk-active');
          output.textContent = '0.00 km'; map.getContainer().style.cursor = 'crosshair';
        }
      });
      bar.appendChild(output);
      return bar;
    }
  });
  new Fullscreen().addTo(map);
  new Measure().addTo(map);
  new Coords().addTo(map);
})"""
"""Our own small Leaflet controls: full screen, distance measuring, mouse coordinates (the
scale bar is Leaflet's own), so no plugin has to come from a CDN."""


class PlanningControls(MacroElement):
    """Full screen, measure and mouse-coordinate controls (`CONTROLS_JS`) on a map."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        + CONTROLS_JS
        + "({{ this._parent.get_name() }}, {{ this.text }});\n{% endmacro %}")

    def __init__(self, lang: Lang) -> None:
        super().__init__()
        self._name = "PlanningControls"
        self.text = json.dumps({key: _t(key, lang) for key in ("fullscreen", "measure",
                                                                 "coords")})


def score_layers(layers: Mapping[str, Layer]) -> dict[str, Layer]:
    """The run's score layers by the score they show (`H`, `V`, `C`, `E`, …): their titles
    name the dimensions of a score card."""
    return {str(layer.source): layer for layer in layers.values()
            if layer.source_kind == "score" and layer.source}


def _num(value: Any, digits: int = 2) -> str:
    return "–" if value is None or value != value else f"{float(value):.{digits}f}"


def _class_color(value: Any, classes: list[dict[str, Any]]) -> str:
    if value is None or value != value:
        return NO_CLASS_COLOR
    for klass in classes:
        if float(klass["min"]) <= float(value) <= float(klass["max"]):
            return str(klass["color"])
    return NO_CLASS_COLOR


def score_card_html(card: dict[str, Any], layers: dict[str, Layer],
                    classes: list[dict[str, Any]], lang: Lang) -> str:
    """An area's score card (the `/areas/{id}` shape) as popup HTML.

    Args:
        card: the area in the API shape (`AreasStore.as_json`).
        layers: the registry's layers (their titles name dimensions and indicators).
        classes: the run's risk classes.
        lang: language of the labels.
    """
    names = card.get("labels") or SCORE_CARD_LABELS  # the API's labels, in either language

    def field(key: str) -> str:
        return escape(names[key][lang])

    label = card.get("risk_class_label_es" if lang == "es" else "risk_class_label")
    label = label or card.get(col.RISK_CLASS) or "–"
    dimensions = score_layers(layers)
    bars = []
    for dim, value in (card.get("dimensions") or {}).items():
        layer = dimensions.get(dim)
        name = _title(layer, lang) if layer else dim
        width = 0.0 if value is None else max(0.0, min(10.0, float(value))) * 10
        bars.append(
            f'<div class="cmrisk-dim" data-dim="{escape(dim)}" style="font:11px sans-serif;'
            f'display:flex;align-items:center;gap:4px"><span style="width:150px">'
            f"{escape(name)}</span><span style='display:inline-block;height:9px;"
            f'width:{width:.0f}px;background:{_class_color(value, classes)};'
            f"border:1px solid #868e96'></span><span>{_num(value)}</span></div>")
    top = str(card.get(col.TOP_INDICATOR) or "")
    top_layer = layers.get(top)
    top_name = _title(top_layer, lang) if top_layer else top
    top_value = (card.get("indicators") or {}).get(top)
    weights = "".join(
        f"<div><b>{escape(group)}</b>: "
        + ", ".join(f"{escape(k)} {float(v):g}" for k, v in values.items()) + "</div>"
        for group, values in (card.get("weights") or {}).items() if isinstance(values, dict))
    return (
        f"<div class='cmrisk-scorecard' style='font:12px sans-serif;min-width:260px'>"
        f"<strong>{escape(str(card.get(col.NAME)))}</strong><br>"
        f"{field(col.RISK)}: <b>{_num(card.get(col.RISK))}</b> / 10 "
        f"<span class='cmrisk-class'>({escape(str(label))})</span><br>"
        f"{field(col.RANK)}: {_num(card.get(col.RANK), 0)} · {field('rank_interval')}: "
        f"{_num(card.get(col.RANK_P05), 0)}–{_num(card.get(col.RANK_P95), 0)}<br>"
        f"<div style='margin:4px 0'>{''.join(bars)}</div>"
        f"{field(col.TOP_INDICATOR)}: <span class='cmrisk-top'>{escape(top_name)}</span> "
        f"({_num(top_value)})<br>"
        f"{field(col.AREA_KM2)}: {_num(card.get(col.AREA_KM2), 0)}<br>"
        f"<small>{field(col.AS_OF)}: {escape(str(card.get(col.AS_OF) or '')[:10])}</small>"
        f"<details><summary>{field('weights')}</summary>"
        f"<div style='font-size:11px'>{weights}</div></details></div>")


def native_zooms(asset: Path) -> tuple[int, int]:
    """The min and max zoom a raster layer is rendered at natively (as in its TileJSON)."""
    with Reader(str(asset)) as reader:
        return int(reader.minzoom), int(reader.maxzoom)


@dataclass(frozen=True)
class EmbeddedTiles:
    """A raster layer's tiles inlined in the page (for a map that works without the service).

    Attributes:
        tiles: `"z/x/y"` → the tile as a `data:image/png;base64,…` URI.
        empty: the URI drawn where `tiles` has none (a transparent PNG).
    """

    tiles: Mapping[str, str]
    empty: str


def map_extent(registry: Registry, layers: Mapping[str, Layer]
               ) -> tuple[float, float, float, float]:
    """What the map opens on: the run's extent, else the union of the layers' extents.

    Raises:
        NothingToMap: neither exists.
    """
    bbox = registry.bbox()
    if bbox is not None:
        return bbox
    boxes = [layer.bbox for layer in layers.values() if layer.bbox]
    if not boxes:
        raise NothingToMap(f"region {registry.region} has no run and no layer to map")
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes))


def risk_map(registry: Registry, base_url: str, lang: Lang = "en",
             online_basemaps: bool = False, principal: Principal = ANONYMOUS,
             embedded_tiles: Mapping[str, EmbeddedTiles] | None = None,
             static_url: str | None = None) -> folium.Map:
    """The planning map of a region: its layers placed by their map role.

    Raster `overlay`s as tiles with a legend each (the `shown` one visible), the `basemap`
    under everything, `scored_areas` with score cards, `area_classes` filled by class,
    `lines`, `points` and `clustered_points` with tooltips, `time_series` with a slider, a
    polygon tool that calls `POST /analysis` over the `draw` overlays, and a banner while any
    layer is synthetic.

    Every JS/CSS asset is served by the service itself (`geo_service.static_assets`), so the
    page works offline.

    Args:
        registry: the layer registry of the region.
        base_url: the URL the region's tiles and analysis are under, without a trailing slash.
        lang: language of titles, legend and score cards.
        online_basemaps: also offer OpenStreetMap (off by default, and the only thing on the
            page that names another host).
        principal: who asks; restricted layers appear only for tokens scoped to them.
        embedded_tiles: for a page that works without the service (`geo_service.map_embed`):
            the raster layers to show, with their tiles inlined; drawing an area is then
            disabled with a notice. None (the default) loads tiles from `base_url`.
        static_url: the URL the JS/CSS assets are under (`/static/…`), when it is not
            `base_url` (a region's pages take them from the service's root).

    Raises:
        NothingToMap: the region has nothing with an extent.
    """
    layers = visible_layers(registry, principal)
    bbox = map_extent(registry, layers)
    fmap = folium.Map(location=[(bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2], zoom_start=8,
                      tiles=None, control_scale=True, max_zoom=MAX_ZOOM)
    # No favicon request (browsers ask for /favicon.ico otherwise, a 404 here).
    fmap.get_root().header.add_child(  # type: ignore[attr-defined]
        folium.Element('<link rel="icon" href="data:,">'), name="favicon")
    folium.map.CustomPane("basemap", z_index=150).add_to(fmap)
    for layer in by_role(layers, "basemap"):
        folium.GeoJson(json.loads(gpd.read_parquet(layer.asset).to_json()),
                       name=_name(layer, lang), pane="basemap",
                       style_function=lambda _: BASEMAP_STYLE).add_to(fmap)
    if online_basemaps:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", overlay=True,
                         show=False).add_to(fmap)
    legends: list[str] = []
    bound: list[tuple[str, MacroElement]] = []
    for layer in by_role(layers, "overlay"):
        if embedded_tiles is not None and layer.id not in embedded_tiles:
            continue
        tile_layer = _overlay(layer, bbox, base_url, lang, embedded_tiles)
        tile_layer.add_to(fmap)
        legends.append(_legend_html(layer, lang))
        bound.append((layer.id, tile_layer))
    classes = registry.classes()
    for layer in by_role(layers, "area_classes"):
        units = _add_area_classes(fmap, layer, classes, lang)
        legends.append(_legend_block(layer.id, _name(layer, lang), [
            (str(c["color"]), str(c.get("label_es" if lang == "es" else "label") or c["name"]))
            for c in classes]))
        bound.append((layer.id, units))
    store = AreasStore(registry)
    for layer in by_role(layers, "scored_areas"):
        _add_scored_areas(fmap, store, layer, layers, classes, lang)
    for layer in by_role(layers, "lines"):
        _add_lines(fmap, layer, lang)
    for layer in by_role(layers, "points"):
        _add_points(fmap, layer, lang)
    for layer in by_role(layers, "clustered_points"):
        _add_clustered_points(fmap, layer, lang)
    for layer in by_role(layers, "time_series"):
        _add_time_series(fmap, layer, lang)
    if legends:
        fmap.get_root().html.add_child(  # type: ignore[attr-defined]
            folium.Element(_legends_box(legends)))
        OverlayLegends(bound).add_to(fmap)
    if any(layer.synthetic for layer in layers.values()):
        fmap.get_root().html.add_child(folium.Element(  # type: ignore[attr-defined]
            f'<div id="cmrisk-synthetic" style="position:fixed;top:10px;left:50%;'
            f"transform:translateX(-50%);z-index:1000;background:#fff3bf;padding:4px 10px;"
            f'border:1px solid #e67700;font:13px sans-serif">{_t("synthetic", lang)}</div>'))
    PlanningControls(lang).add_to(fmap)
    analysed = [{"id": layer.id, "title": _title(layer, lang)}
                for layer in by_role(layers, "overlay") if layer.map and layer.map.draw]
    DrawAnalysis(
        None if embedded_tiles is not None else f"{base_url}/analysis", analysed,
        {str(c["name"]): str(c["color"]) for c in classes}, lang,
        {key: _t(key, lang) for key in ("draw", "finish", "result", "mean", "max",
                                        "busy", "failed", "close")}
        | {"disabled": _t("draw_disabled", lang),
           "area": SCORE_CARD_LABELS[col.AREA_KM2][lang]},
    ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]])
    localize(fmap, static_url or base_url)
    return fmap


def _overlay(layer: Layer, bbox: tuple[float, float, float, float], base_url: str, lang: Lang,
             embedded_tiles: Mapping[str, EmbeddedTiles] | None) -> folium.TileLayer:
    """A raster overlay's tile layer: tiles of the service, or inlined ones."""
    extent = layer.bbox or bbox
    options: dict[str, Any] = {
        "name": _name(layer, lang), "attr": escape(layer.attribution or "cmrisk"),
        "overlay": True, "show": bool(layer.map and layer.map.shown), "opacity": 0.75,
        "max_zoom": MAX_ZOOM, "bounds": [[extent[1], extent[0]], [extent[3], extent[2]]]}
    if embedded_tiles is not None:
        tiles = embedded_tiles[layer.id]
        zooms = [int(key.split("/", 1)[0]) for key in tiles.tiles]
        return InlineTileLayer(dict(tiles.tiles), tiles.empty,
                               max_native_zoom=max(zooms, default=0),
                               min_native_zoom=min(zooms, default=0), **options)
    min_native, max_native = native_zooms(layer.asset)
    return folium.TileLayer(tiles=f"{base_url}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.png",
                            max_native_zoom=max_native, min_native_zoom=min_native, **options)


def _tooltip(layer: Layer) -> list[TooltipField]:
    return list(layer.map.tooltip) if layer.map else []


def _add_scored_areas(fmap: folium.Map, store: AreasStore, layer: Layer,
                      layers: Mapping[str, Layer], classes: list[dict[str, Any]],
                      lang: Lang) -> None:
    """Areas outlined in the layer's colour, filled by class, with their score cards."""
    frame = gpd.read_parquet(layer.asset)
    cards = store.frame()
    outline = _color(layer)
    group = folium.FeatureGroup(name=_name(layer, lang))
    for _, row in frame.iterrows():
        area_id = row[col.ID]
        card = store.as_json(cards.loc[area_id], classes) if area_id in cards.index else {
            col.NAME: row[col.NAME]}
        fill = _class_color(card.get(col.RISK), classes)
        folium.GeoJson(
            row.geometry.__geo_interface__,
            style_function=lambda _, fill=fill: {"color": outline, "weight": 2,
                                                 "fillColor": fill, "fillOpacity": 0.25},
            tooltip=str(row[col.NAME]),
            popup=folium.Popup(score_card_html(card, dict(layers), classes, lang),  # type: ignore[arg-type]
                               max_width=340),
        ).add_to(group)
    group.add_to(fmap)


def _add_lines(fmap: folium.Map, layer: Layer, lang: Lang) -> None:
    """Lines in the layer's colour, or coloured by a property (`color_by`)."""
    frame = gpd.read_parquet(layer.asset)
    by = layer.style.color_by
    default = _color(layer)
    fields = [f for f in _tooltip(layer) if f.property in frame.columns]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        colour = by.colors.get(str(feature["properties"].get(by.property)), default) \
            if by is not None else default
        return {"color": colour, "weight": 3}

    folium.GeoJson(
        json.loads(frame.to_json()), name=_name(layer, lang), style_function=style,
        tooltip=folium.GeoJsonTooltip(
            fields=[f.property for f in fields],
            aliases=[_in(f.label, lang) or "" for f in fields]) if fields else None,
    ).add_to(fmap)


def _add_points(fmap: folium.Map, layer: Layer, lang: Lang) -> None:
    """Points as circles in the layer's colour, with their tooltips."""
    frame = gpd.read_parquet(layer.asset)
    colour = _color(layer)
    group = folium.FeatureGroup(name=_name(layer, lang))
    for _, row in frame.iterrows():
        if row.geometry is None or row.geometry.is_empty:
            continue
        folium.CircleMarker([row.geometry.y, row.geometry.x], radius=6, color=colour,
                            fill=True, tooltip=tooltip_text(row, _tooltip(layer), lang),
                            ).add_to(group)
    group.add_to(fmap)


def _add_area_classes(fmap: folium.Map, layer: Layer, classes: list[dict[str, Any]],
                      lang: Lang) -> folium.GeoJson:
    """Areas filled by their risk class (off by default in the layer control)."""
    frame = gpd.read_parquet(layer.asset)
    colors = {str(c["name"]): str(c["color"]) for c in classes}
    labels = {str(c["name"]): str(c.get("label_es" if lang == "es" else "label") or c["name"])
              for c in classes}
    risk_word = SCORE_CARD_LABELS[col.RISK][lang]
    frame = frame.assign(**{
        col.RISK_CLASS: frame[col.RISK_CLASS].astype("string").fillna(""),
        "label": [f"{risk_word} {_num(risk)} ({labels.get(str(klass), '–')})"
                  for risk, klass in zip(frame[col.RISK], frame[col.RISK_CLASS], strict=True)],
    })[[col.NAME, col.RISK_CLASS, "label", "geometry"]]
    frame["geometry"] = frame.geometry.set_precision(1e-5)
    outline = _color(layer)
    units = folium.GeoJson(
        json.loads(frame.to_json()), name=_name(layer, lang), show=False,
        style_function=lambda f: {
            "color": outline, "weight": 0.5, "fillOpacity": 0.6,
            "fillColor": colors.get(f["properties"].get(col.RISK_CLASS), NO_CLASS_COLOR)},
        tooltip=folium.GeoJsonTooltip(fields=[col.NAME, "label"], labels=False),
    )
    units.add_to(fmap)
    return units


def _add_clustered_points(fmap: folium.Map, layer: Layer, lang: Lang) -> None:
    """Points in a marker cluster (pure-CSS icons, no images), with their tooltips."""
    frame = gpd.read_parquet(layer.asset)
    colour = _color(layer)
    cluster = MarkerCluster(name=_name(layer, lang))
    for _, row in frame.iterrows():
        if row.geometry is None or row.geometry.is_empty:
            continue
        folium.Marker(
            [row.geometry.y, row.geometry.x],
            tooltip=escape(tooltip_text(row, _tooltip(layer), lang)),
            icon=folium.DivIcon(
                html=f'<div style="width:10px;height:10px;border-radius:50%;'
                     f'background:{colour};border:1px solid #212529"></div>',
                icon_size=(12, 12), icon_anchor=(6, 6), class_name="cmrisk-incident"),
        ).add_to(cluster)
    cluster.add_to(fmap)


def _add_time_series(fmap: folium.Map, layer: Layer, lang: Lang) -> None:
    """Counts per place and month with a time slider (the layer's count and time properties,
    places by its map key, named by its first tooltip field)."""
    placement = layer.map
    if placement is None or placement.key is None or layer.count_property is None \
            or layer.time_property is None:
        return
    fields = _tooltip(layer)
    series = monthly_series(gpd.read_parquet(layer.asset), key=placement.key,
                              time=layer.time_property, count=layer.count_property,
                              label=fields[0].property if fields else placement.key)
    if not series["points"]:
        return
    group = folium.FeatureGroup(name=_name(layer, lang))
    group.add_to(fmap)
    MonthlySlider(group, series, {
        "title": _name(layer, lang), "people": _t("people", lang),
        "withheld": _t("withheld", lang), "locale": "es-PA" if lang == "es" else "en-US",
    }).add_to(fmap)
