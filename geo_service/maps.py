"""Folium planning maps (used by `/maps/risk` and by `cmrisk map`)."""

from __future__ import annotations

import json
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
    CrossingsSlider,
    DrawAnalysis,
    InlineTileLayer,
    OverlayLegends,
    crossings_series,
)
from geo_service.static_assets import localize
from layers.labels import SCORE_CARD_LABELS
from layers.models import Layer
from layers.registry import Registry

Lang = Literal["en", "es"]
RASTER_OVERLAYS = ("risk", "hazard", "vulnerability", "coping", "environment",
                   "environmental_pressure")
"""Raster layers put on the planning map, the first shown by default."""
MAX_ZOOM = 14
"""Deepest zoom the map allows; raster tiles past a layer's native zoom are scaled up."""

TEXT: dict[str, dict[Lang, str]] = {
    "synthetic": {"en": "Demonstration data: hazard and climate layers are synthetic.",
                  "es": "Datos de demostración: las capas de amenaza y clima son sintéticas."},
    "legend": {"en": "Climate-mobility risk", "es": "Riesgo clima-movilidad"},
    "fullscreen": {"en": "Full screen", "es": "Pantalla completa"},
    "measure": {"en": "Measure a distance (click points; click here again to stop)",
                "es": "Medir una distancia (haga clic en puntos; otra vez aquí para terminar)"},
    "coords": {"en": "Move the mouse over the map", "es": "Mueva el ratón sobre el mapa"},
    "countries": {"en": "Countries (Natural Earth)", "es": "Países (Natural Earth)"},
    "crossings": {"en": "Monthly crossings", "es": "Cruces mensuales"},
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
    "dead": {"en": "dead", "es": "muertos"},
    "missing": {"en": "missing", "es": "desaparecidos"},
}


def _t(key: str, lang: Lang) -> str:
    return TEXT[key][lang]


def _title(layer: Layer, lang: Lang) -> str:
    return (layer.title_es or layer.title) if lang == "es" else layer.title


def _legend_block(block_id: str, title: str, rows: list[tuple[str, str]]) -> str:
    items = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{color};'
        f'border:1px solid #555;margin-right:6px"></span>{escape(label)}</div>'
        for color, label in rows)
    return (f'<div class="cmrisk-legend-layer" data-layer="{escape(block_id)}" '
            f'style="margin-bottom:4px"><strong>{escape(title)}</strong>{items}</div>')


def _legend_html(layer: Layer, lang: Lang) -> str:
    """The legend block of a raster layer, from its legend (the one `/layers/{id}` gives)."""
    return _legend_block(layer.id, _title(layer, lang), [
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


DIMENSION_LAYERS = {"H": "hazard", "V": "vulnerability", "C": "coping", "E": "environment"}
"""Score-card dimension → the raster layer whose title names it."""


def run_classes(registry: Registry) -> list[dict[str, Any]]:
    """The risk classes of the current run (name, labels, bounds, colour), as the API gives."""
    manifest = registry.run_manifest() or {}
    return list(manifest.get("config", {}).get("classes", []))


def _num(value: Any, digits: int = 2) -> str:
    return "–" if value is None or value != value else f"{float(value):.{digits}f}"


def _class_color(value: Any, classes: list[dict[str, Any]]) -> str:
    if value is None or value != value:
        return "#adb5bd"
    for klass in classes:
        if float(klass["min"]) <= float(value) <= float(klass["max"]):
            return str(klass["color"])
    return "#adb5bd"


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
    label = label or card.get("risk_class") or "–"
    bars = []
    for dim, value in (card.get("dimensions") or {}).items():
        layer = layers.get(DIMENSION_LAYERS.get(dim, ""))
        name = _title(layer, lang) if layer else dim
        width = 0.0 if value is None else max(0.0, min(10.0, float(value))) * 10
        bars.append(
            f'<div class="cmrisk-dim" data-dim="{escape(dim)}" style="font:11px sans-serif;'
            f'display:flex;align-items:center;gap:4px"><span style="width:150px">'
            f"{escape(name)}</span><span style='display:inline-block;height:9px;"
            f'width:{width:.0f}px;background:{_class_color(value, classes)};'
            f"border:1px solid #868e96'></span><span>{_num(value)}</span></div>")
    top = str(card.get("top_indicator") or "")
    top_layer = layers.get(top)
    top_name = _title(top_layer, lang) if top_layer else top
    top_value = (card.get("indicators") or {}).get(top)
    weights = "".join(
        f"<div><b>{escape(group)}</b>: "
        + ", ".join(f"{escape(k)} {float(v):g}" for k, v in values.items()) + "</div>"
        for group, values in (card.get("weights") or {}).items() if isinstance(values, dict))
    return (
        f"<div class='cmrisk-scorecard' style='font:12px sans-serif;min-width:260px'>"
        f"<strong>{escape(str(card.get('name')))}</strong><br>"
        f"{field('risk')}: <b>{_num(card.get('risk'))}</b> / 10 "
        f"<span class='cmrisk-class'>({escape(str(label))})</span><br>"
        f"{field('rank')}: {_num(card.get('rank'), 0)} · {field('rank_interval')}: "
        f"{_num(card.get('rank_p05'), 0)}–{_num(card.get('rank_p95'), 0)}<br>"
        f"<div style='margin:4px 0'>{''.join(bars)}</div>"
        f"{field('top_indicator')}: <span class='cmrisk-top'>{escape(top_name)}</span> "
        f"({_num(top_value)})<br>"
        f"{field('area_km2')}: {_num(card.get('area_km2'), 0)}<br>"
        f"<small>{field('as_of')}: {escape(str(card.get('as_of') or '')[:10])}</small>"
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


def risk_map(registry: Registry, base_url: str, lang: Lang = "en",
             online_basemaps: bool = False, principal: Principal = ANONYMOUS,
             embedded_tiles: Mapping[str, EmbeddedTiles] | None = None) -> folium.Map:
    """The planning map: risk and dimension tiles, protected areas with score cards, route,
    stations, deaths and disappearances (clustered), planning units by score class, monthly
    crossings with a time slider, a polygon tool that calls `POST /analysis`, a legend per
    overlay and a banner while any layer is synthetic.

    Every JS/CSS asset is served by the service itself (`geo_service.static_assets`) and the
    base map is the Natural Earth `countries` layer, so the page works offline.

    Args:
        registry: the layer registry of the current run.
        base_url: the service's URL, without a trailing slash.
        lang: language of titles, legend and score cards.
        online_basemaps: also offer OpenStreetMap in the layer control (off by default, and
            the only thing on the page that names another host).
        principal: who asks; restricted layers appear only for tokens scoped to them.
        embedded_tiles: for a page that works without the service (`geo_service.map_embed`):
            the raster layers to show, with their tiles inlined; drawing an area is then
            disabled with a notice. None (the default) loads tiles from `base_url`.
    """
    layers = visible_layers(registry, principal)
    risk = layers.get("risk")
    bbox = risk.bbox if risk and risk.bbox else (-79.5, 6.8, -76.5, 9.8)
    fmap = folium.Map(location=[(bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2], zoom_start=8,
                      tiles=None, control_scale=True, max_zoom=MAX_ZOOM)
    # No favicon request (browsers ask for /favicon.ico otherwise, a 404 here).
    fmap.get_root().header.add_child(  # type: ignore[attr-defined]
        folium.Element('<link rel="icon" href="data:,">'), name="favicon")
    folium.map.CustomPane("basemap", z_index=150).add_to(fmap)
    countries = layers.get("countries")
    if countries is not None:
        folium.GeoJson(
            json.loads(gpd.read_parquet(countries.asset).to_json()),
            name=_t("countries", lang), pane="basemap",
            style_function=lambda _: {"color": "#868e96", "weight": 1, "fillColor": "#f1f3f5",
                                      "fillOpacity": 1},
        ).add_to(fmap)
    if online_basemaps:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", overlay=True,
                         show=False).add_to(fmap)
    legends: list[str] = []
    bound: list[tuple[str, MacroElement]] = []
    for index, layer_id in enumerate(RASTER_OVERLAYS):
        layer = layers.get(layer_id)
        if layer is None or (embedded_tiles is not None and layer_id not in embedded_tiles):
            continue
        extent = layer.bbox or bbox
        options: dict[str, Any] = {
            "name": _title(layer, lang), "attr": escape(layer.attribution or "cmrisk"),
            "overlay": True, "show": index == 0, "opacity": 0.75, "max_zoom": MAX_ZOOM,
            "bounds": [[extent[1], extent[0]], [extent[3], extent[2]]]}
        tile_layer: folium.TileLayer
        if embedded_tiles is not None:
            tiles = embedded_tiles[layer_id]
            zooms = [int(key.split("/", 1)[0]) for key in tiles.tiles]
            tile_layer = InlineTileLayer(
                dict(tiles.tiles), tiles.empty, max_native_zoom=max(zooms, default=0),
                min_native_zoom=min(zooms, default=0), **options)
        else:
            min_native, max_native = native_zooms(layer.asset)
            tile_layer = folium.TileLayer(
                tiles=f"{base_url}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.png",
                max_native_zoom=max_native, min_native_zoom=min_native, **options)
        tile_layer.add_to(fmap)
        legends.append(_legend_html(layer, lang))
        bound.append((layer.id, tile_layer))
    classes = run_classes(registry)
    units = _add_planning_units(fmap, layers.get("planning_units"), classes, lang)
    if units is not None:
        legends.append(_legend_block(
            "planning_units", _title(layers["planning_units"], lang),
            [(str(c["color"]), str(c.get("label_es" if lang == "es" else "label") or c["name"]))
             for c in classes]))
        bound.append(("planning_units", units))
    _add_areas(fmap, registry, layers.get("protected_areas"), lang)
    _add_lines(fmap, layers.get("route_segments"), lang)
    _add_points(fmap, layers.get("stations"), lang)
    _add_incidents(fmap, layers.get("incidents"), lang)
    _add_crossings(fmap, layers.get("crossings"), lang)
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
    analysed = [{"id": layer_id, "title": _title(layers[layer_id], lang)}
                for layer_id in RASTER_OVERLAYS[:4] if layer_id in layers]
    DrawAnalysis(
        None if embedded_tiles is not None else f"{base_url}/analysis", analysed,
        {str(c["name"]): str(c["color"]) for c in classes}, lang,
        {key: _t(key, lang) for key in ("draw", "finish", "result", "mean", "max",
                                        "busy", "failed", "close")}
        | {"disabled": _t("draw_disabled", lang),
           "area": SCORE_CARD_LABELS["area_km2"][lang]},
    ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]])
    localize(fmap, base_url)
    return fmap


def _add_areas(fmap: folium.Map, registry: Registry, layer: Layer | None, lang: Lang) -> None:
    if layer is None:
        return
    frame = gpd.read_parquet(layer.asset)
    store = AreasStore(registry)
    cards = store.frame()
    classes = run_classes(registry)
    layers = registry.layers()
    group = folium.FeatureGroup(name=_title(layer, lang))
    for _, row in frame.iterrows():
        area_id = row["id"]
        card = store.as_json(cards.loc[area_id], classes) if area_id in cards.index else {
            "name": row["name"]}
        fill = _class_color(card.get("risk"), classes)
        folium.GeoJson(
            row.geometry.__geo_interface__,
            style_function=lambda _, fill=fill: {"color": "#2b8a3e", "weight": 2,
                                                 "fillColor": fill, "fillOpacity": 0.25},
            tooltip=str(row["name"]),
            popup=folium.Popup(score_card_html(card, layers, classes, lang),  # type: ignore[arg-type]
                               max_width=340),
        ).add_to(group)
    group.add_to(fmap)


def _add_lines(fmap: folium.Map, layer: Layer | None, lang: Lang) -> None:
    if layer is None:
        return
    frame = gpd.read_parquet(layer.asset)
    colors = {"northbound": "#c92a2a", "southbound": "#1971c2"}
    folium.GeoJson(
        json.loads(frame.to_json()), name=_title(layer, lang),
        style_function=lambda f: {"color": colors.get(f["properties"].get("direction"), "#000"),
                                  "weight": 3},
        tooltip=folium.GeoJsonTooltip(fields=["name", "mode", "direction"]),
    ).add_to(fmap)


def _add_points(fmap: folium.Map, layer: Layer | None, lang: Lang) -> None:
    if layer is None:
        return
    frame = gpd.read_parquet(layer.asset)
    group = folium.FeatureGroup(name=_title(layer, lang))
    for _, row in frame.iterrows():
        folium.CircleMarker([row.geometry.y, row.geometry.x], radius=6, color="#1864ab",
                            fill=True, tooltip=f"{row['name']} ({row.get('kind', '')})",
                            ).add_to(group)
    group.add_to(fmap)


def _add_planning_units(fmap: folium.Map, layer: Layer | None, classes: list[dict[str, Any]],
                        lang: Lang) -> folium.GeoJson | None:
    """Planning units coloured by their risk class (off by default in the layer control)."""
    if layer is None:
        return None
    frame = gpd.read_parquet(layer.asset)
    colors = {str(c["name"]): str(c["color"]) for c in classes}
    labels = {str(c["name"]): str(c.get("label_es" if lang == "es" else "label") or c["name"])
              for c in classes}
    frame = frame.assign(
        risk_class=frame["risk_class"].astype("string").fillna(""),
        label=[f"{SCORE_CARD_LABELS['risk'][lang]} {_num(risk)} ({labels.get(str(klass), '–')})"
               for risk, klass in zip(frame["risk"], frame["risk_class"], strict=True)],
    )[["name", "risk_class", "label", "geometry"]]
    frame["geometry"] = frame.geometry.set_precision(1e-5)
    units = folium.GeoJson(
        json.loads(frame.to_json()), name=_title(layer, lang), show=False,
        style_function=lambda f: {
            "color": "#495057", "weight": 0.5, "fillOpacity": 0.6,
            "fillColor": colors.get(f["properties"].get("risk_class"), "#adb5bd")},
        tooltip=folium.GeoJsonTooltip(fields=["name", "label"], labels=False),
    )
    units.add_to(fmap)
    return units


def _add_incidents(fmap: folium.Map, layer: Layer | None, lang: Lang) -> None:
    """Deaths and disappearances as points in a marker cluster (pure-CSS icons, no images)."""
    if layer is None:
        return
    frame = gpd.read_parquet(layer.asset)
    cluster = MarkerCluster(name=_title(layer, lang))
    for _, row in frame.iterrows():
        if row.geometry is None or row.geometry.is_empty:
            continue
        date, cause = row.get("date"), row.get("cause")
        text = (f"{'' if pd.isna(date) else str(date)[:10]} · "
                f"{_t('dead', lang)} {_num(row.get('dead'), 0)}, "
                f"{_t('missing', lang)} {_num(row.get('missing'), 0)}"
                f" · {'' if pd.isna(cause) else str(cause)}")
        folium.Marker(
            [row.geometry.y, row.geometry.x], tooltip=escape(text),
            icon=folium.DivIcon(
                html='<div style="width:10px;height:10px;border-radius:50%;'
                     'background:#c92a2a;border:1px solid #212529"></div>',
                icon_size=(12, 12), icon_anchor=(6, 6), class_name="cmrisk-incident"),
        ).add_to(cluster)
    cluster.add_to(fmap)


def _add_crossings(fmap: folium.Map, layer: Layer | None, lang: Lang) -> None:
    """Monthly crossings per crossing point (2021–2024) with a time slider."""
    if layer is None:
        return
    series = crossings_series(gpd.read_parquet(layer.asset))
    if not series["points"]:
        return
    group = folium.FeatureGroup(name=_t("crossings", lang))
    group.add_to(fmap)
    CrossingsSlider(group, series, {
        "title": _t("crossings", lang), "people": _t("people", lang),
        "withheld": _t("withheld", lang), "locale": "es-PA" if lang == "es" else "en-US",
    }).add_to(fmap)
