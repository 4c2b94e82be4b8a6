"""Folium planning maps (used by `/maps/risk` and by `cmrisk map`)."""

from __future__ import annotations

import json
from html import escape
from typing import Any, Literal

import folium
import geopandas as gpd

from layers.models import Layer
from layers.registry import Registry

Lang = Literal["en", "es"]
RASTER_OVERLAYS = ("risk", "hazard", "vulnerability", "coping", "environment",
                   "environmental_pressure")
"""Raster layers put on the planning map, the first shown by default."""
SCORE_CARD_FIELDS = ("risk", "risk_class", "rank", "rank_p05", "rank_p95", "dim_H", "dim_V",
                     "dim_C", "dim_E", "top_indicator", "area_km2")

TEXT: dict[str, dict[Lang, str]] = {
    "synthetic": {"en": "Demonstration data: hazard and climate layers are synthetic.",
                  "es": "Datos de demostración: las capas de amenaza y clima son sintéticas."},
    "risk": {"en": "Risk", "es": "Riesgo"},
    "class": {"en": "Class", "es": "Clase"},
    "rank": {"en": "Rank", "es": "Posición"},
    "interval": {"en": "5–95% rank interval", "es": "Intervalo de posición 5–95%"},
    "top": {"en": "Top indicator", "es": "Indicador principal"},
    "area": {"en": "Area (km²)", "es": "Superficie (km²)"},
    "legend": {"en": "Climate-mobility risk", "es": "Riesgo clima-movilidad"},
}


def _t(key: str, lang: Lang) -> str:
    return TEXT[key][lang]


def _title(layer: Layer, lang: Lang) -> str:
    return (layer.title_es or layer.title) if lang == "es" else layer.title


def _legend_html(layer: Layer, lang: Lang) -> str:
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{c.color};'
        f'border:1px solid #555;margin-right:6px"></span>'
        f"{escape(c.label_es if lang == 'es' else c.label)}</div>"
        for c in layer.legend.classes)
    return (f'<div id="cmrisk-legend" class="cmrisk-legend" style="position:fixed;bottom:24px;'
            f"right:12px;z-index:1000;background:white;padding:8px 10px;border-radius:4px;"
            f'font:12px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.4)">'
            f"<strong>{escape(_title(layer, lang))}</strong>{rows}</div>")


def _score_card(row: dict[str, Any], lang: Lang) -> str:
    def num(key: str, digits: int = 2) -> str:
        value = row.get(key)
        return "–" if value is None or value != value else f"{float(value):.{digits}f}"

    bars = "".join(
        f'<div style="font:11px sans-serif">{d} <span style="display:inline-block;height:8px;'
        f'width:{max(0.0, float(row.get(f"dim_{d}") or 0)) * 12:.0f}px;background:#555"></span> '
        f"{num(f'dim_{d}')}</div>" for d in ("H", "V", "C", "E"))
    return (f"<div class='cmrisk-scorecard'><strong>{escape(str(row.get('name')))}</strong><br>"
            f"{_t('risk', lang)}: <b>{num('risk')}</b> ({escape(str(row.get('risk_class')))})<br>"
            f"{_t('rank', lang)}: {num('rank', 0)} · {_t('interval', lang)}: "
            f"{num('rank_p05', 0)}–{num('rank_p95', 0)}<br>{bars}"
            f"{_t('top', lang)}: {escape(str(row.get('top_indicator')))}<br>"
            f"{_t('area', lang)}: {num('area_km2', 0)}<br>"
            f"<small>{escape(str(row.get('as_of', ''))[:10])}</small></div>")


def risk_map(registry: Registry, base_url: str, lang: Lang = "en") -> folium.Map:
    """The planning map: risk and dimension tiles, protected areas with score cards, route,
    stations, a legend and a banner while any layer is synthetic."""
    layers = registry.layers()
    risk = layers.get("risk")
    bbox = risk.bbox if risk and risk.bbox else (-79.5, 6.8, -76.5, 9.8)
    fmap = folium.Map(location=[(bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2], zoom_start=8,
                      tiles=None, control_scale=True)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=False).add_to(fmap)
    countries = layers.get("countries")
    if countries is not None:
        folium.GeoJson(
            json.loads(gpd.read_parquet(countries.asset).to_json()), name="Countries",
            style_function=lambda _: {"color": "#666", "weight": 1, "fillColor": "#f1f3f5",
                                      "fillOpacity": 1},
        ).add_to(fmap)
    for index, layer_id in enumerate(RASTER_OVERLAYS):
        layer = layers.get(layer_id)
        if layer is None:
            continue
        folium.TileLayer(
            tiles=f"{base_url}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.png", name=_title(layer, lang),
            attr=escape(layer.attribution or "cmrisk"), overlay=True, show=index == 0,
            opacity=0.75, max_native_zoom=12, max_zoom=16,
        ).add_to(fmap)
    _add_areas(fmap, layers.get("protected_areas"), lang)
    _add_lines(fmap, layers.get("route_segments"))
    _add_points(fmap, layers.get("stations"))
    if risk is not None:
        fmap.get_root().html.add_child(  # type: ignore[attr-defined]
            folium.Element(_legend_html(risk, lang)))
    if any(layer.synthetic for layer in layers.values()):
        fmap.get_root().html.add_child(folium.Element(  # type: ignore[attr-defined]
            f'<div id="cmrisk-synthetic" style="position:fixed;top:10px;left:50%;'
            f"transform:translateX(-50%);z-index:1000;background:#fff3bf;padding:4px 10px;"
            f'border:1px solid #e67700;font:13px sans-serif">{_t("synthetic", lang)}</div>'))
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]])
    return fmap


def _add_areas(fmap: folium.Map, layer: Layer | None, lang: Lang) -> None:
    if layer is None:
        return
    frame = gpd.read_parquet(layer.asset)
    group = folium.FeatureGroup(name=_title(layer, lang))
    colors = {c.label: c.color for c in layer.legend.classes}
    for _, row in frame.iterrows():
        data = {k: (row.get(k, None)) for k in (*SCORE_CARD_FIELDS, "name", "as_of")}
        fill = next((c for label, c in colors.items()
                     if label.lower().replace(" ", "_") == row.get("risk_class")), "#2b8a3e")
        folium.GeoJson(
            row.geometry.__geo_interface__,
            style_function=lambda _, fill=fill: {"color": "#2b8a3e", "weight": 2,
                                                 "fillColor": fill, "fillOpacity": 0.25},
            tooltip=str(row["name"]),
            popup=folium.Popup(_score_card(data, lang), max_width=320),  # type: ignore[arg-type]
        ).add_to(group)
    group.add_to(fmap)


def _add_lines(fmap: folium.Map, layer: Layer | None) -> None:
    if layer is None:
        return
    frame = gpd.read_parquet(layer.asset)
    colors = {"north-bound": "#c92a2a", "south-bound": "#1971c2"}
    folium.GeoJson(
        json.loads(frame.to_json()), name=layer.title,
        style_function=lambda f: {"color": colors.get(f["properties"].get("direction"), "#000"),
                                  "weight": 3},
        tooltip=folium.GeoJsonTooltip(fields=["name", "mode", "direction"]),
    ).add_to(fmap)


def _add_points(fmap: folium.Map, layer: Layer | None) -> None:
    if layer is None:
        return
    frame = gpd.read_parquet(layer.asset)
    group = folium.FeatureGroup(name=layer.title)
    for _, row in frame.iterrows():
        folium.CircleMarker([row.geometry.y, row.geometry.x], radius=6, color="#1864ab",
                            fill=True, tooltip=f"{row['name']} ({row.get('kind', '')})",
                            ).add_to(group)
    group.add_to(fmap)
