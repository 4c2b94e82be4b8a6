"""The planning map of a region (used by `/maps/risk` and by `cmrisk map`).

Every layer on the map, its name, legend, colours and tooltips come from the layer's metadata
in the registry (its region file's `outputs`): the map knows roles (`overlay`, `basemap`,
`scored_areas`, …), never a layer by name. Every word comes through `data_catalog.i18n`
(messages of the code and texts of the data, in the reader's language and locale); the
behaviour lives in `static/cmrisk-map.js` and the look in `static/cmrisk-map.css`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import folium
import geopandas as gpd
import shapely
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from rio_tiler.io import Reader

from data_catalog.exchange.store import crossings_currency
from data_catalog.i18n import N_, Language, language
from data_catalog.provenance import (
    NOTE,
    part_labels,
    record_note,
    synthetic_banner,
    synthetic_parts,
)
from geo_service.areas_store import AreasStore
from geo_service.auth import ANONYMOUS, Principal, visible_layers
from geo_service.maps.cards import (
    area_color,
    area_score,
    class_text,
    place_names,
    score_card_html,
    tooltip_text,
    value_text,
)
from geo_service.maps.outlines import map_outlines
from geo_service.maps.search import search_index
from geo_service.maps.widgets import (
    BoundLayers,
    Call,
    InlineTileLayer,
    LayerPanel,
    MapAssets,
    monthly_series,
)
from geo_service.static_assets import localize
from layers.fields import class_label
from layers.labels import area_name, field_label, not_exposed_class
from layers.models import Layer, TooltipField
from layers.registry import Registry, by_role
from pipelines import area_record as col

MAX_ZOOM = 14
"""Deepest zoom the map allows; raster tiles past a layer's native zoom are scaled up."""
BASEMAP_STYLE = {"color": "#868e96", "weight": 1, "fillColor": "#f1f3f5", "fillOpacity": 1}
"""How the land of a `basemap` layer is drawn under everything."""
OUTSIDE_STYLE = {"color": "#343a40", "weight": 1.5, "dashArray": "6 4", "fillColor": "#868e96",
                 "fillOpacity": 0.55, "interactive": False}
"""How the world outside the analysed region is masked (with its edge dashed)."""
LABEL_MIN_PIXELS = 70
"""An area's name is written on the map once the area is this wide on screen (pixels)."""
OUTLINE_WEIGHT = 2.0
"""Line width of a `scored_outlines` layer whose style gives none, CSS pixels."""
OUTLINES_PANE = ("outlines", 390)
"""Pane of `scored_outlines` (name, z-index): over the rasters, under the overlay pane of
`scored_areas` and planning units, so a park's card still opens inside a district."""

TEXT: dict[str, str] = {
    "map": N_("Climate-mobility risk: planning map"),
    "year_total": N_("Year {year}"),
    "stale": N_("Exchange data out of date: {countries}"),
    "fullscreen": N_("Full screen"),
    "measure": N_("Measure a distance (click points; click here again to stop)"),
    "coords": N_("Move the mouse over the map"),
    "people": N_("people"),
    "withheld": N_("withheld or not reported"),
    "draw": N_("Draw an area to analyse (click the corners, then click here again)"),
    "finish": N_("Finish the area and analyse it"),
    "disabled": N_("Drawing an area needs the cmrisk service: not available in this offline "
                   "file."),
    "result": N_("Analysis of the drawn area"),
    "mean": N_("Mean"),
    "max": N_("Max"),
    "busy": N_("Analysing…"),
    "failed": N_("The analysis failed."),
    "close": N_("Close"),
    "layers": N_("Layers"),
    "legend": N_("Legend"),
    "search": N_("Search areas and places"),
    "search_placeholder": N_("Search a park, district or place…"),
    "none": N_("Nothing found"),
    "png": N_("Save the current view as a PNG image"),
    "png_disabled": N_("Saving an image needs the cmrisk service: use the browser's print "
                       "instead."),
    "print": N_("Print the map"),
    "outside": N_("Outside the analysed region"),
    "outline_class": N_("Outline colour: risk class of the unit"),
    "zoom_in": N_("Zoom in"),
    "zoom_out": N_("Zoom out"),
    "attribution": N_("Scores: cmrisk · countries: Natural Earth"),
    "place": N_("Place"),
    "brief": N_("Area brief"),
    "roll_up": N_("Hazard levels: the highest of its units in “{units}” (ThinkHazard!)."),
}
"""The map's own words (its layers' names come with the layers)."""


class NothingToMap(LookupError):
    """The region has no run and no layer with an extent: there is nothing to centre on."""


def _t(key: str, lang: Language) -> str:
    return lang.gettext(TEXT[key])


def _color(layer: Layer) -> str:
    return layer.style.color or layer.legend.classes[0].color


def _legend_block(block_id: str, title: str, rows: list[tuple[str, str]],
                  swatch: str = "", style: str = "") -> str:
    heading = f"<strong>{escape(title)}</strong>" if title else ""
    items = "".join(
        f'<div><span class="cmrisk-swatch {swatch}" style="'
        f'{"border-color" if swatch else "background"}:{color}{style}"></span>'
        f"{escape(label)}</div>" for color, label in rows)
    return (f'<div class="cmrisk-legend-layer" data-layer="{escape(block_id)}">'
            f"{heading}{items}</div>")


def _legend_html(layer: Layer, lang: Language) -> str:
    """The legend block of a layer, from its legend (the one `/layers/{id}` gives)."""
    return _legend_block(layer.id, layer.name_in(lang), [
        (c.color, c.label_in(lang)) for c in layer.legend.classes])


def _legends_box(blocks: list[str], lang: Language) -> str:
    return (f'<div id="cmrisk-legend" class="cmrisk-legend" role="region" '
            f'aria-label="{escape(_t("legend", lang))}"><details open><summary>'
            f'{escape(_t("legend", lang))}</summary>{"".join(blocks)}</details></div>')


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


def region_title(registry: Registry, lang: Language) -> str:
    """The region's title in `lang` (its region file's `title`), else its id."""
    manifest = registry.run_manifest() or {}
    return lang.text((manifest.get("config") or {}).get("title"), registry.region)


def page_html(fmap: folium.Map, lang: Language) -> str:
    """The map as the HTML page sent: with the reader's language on `<html lang>`."""
    html = fmap.get_root().render()
    return html.replace("<html>", f'<html lang="{escape(lang.tag)}">', 1)


def run_provenance(layers: Mapping[str, Layer]) -> list[dict[str, Any]]:
    """The provenance records of the inputs behind the layers (each input once, in order)."""
    records: dict[str, dict[str, Any]] = {}
    for layer in layers.values():
        for record in layer.provenance:
            records.setdefault(str(record.get("name")), dict(record))
    return list(records.values())


def layer_provenance_note(layer: Layer, lang: Language) -> str:
    """What is synthetic (and what real) in the input a vector layer republishes, as its
    popups say it ("synthetic: deaths and disappearances"); empty for real inputs."""
    return record_note(next((r for r in layer.provenance if r.get("name") == layer.source),
                            None), lang)


def _area_input(layer: Layer, registry: Registry) -> dict[str, Any] | None:
    """The provenance record of the input a scored area set is drawn from (None for sets of
    H3 cells)."""
    config = (registry.run_manifest() or {}).get("config") or {}
    spec = (config.get("areas") or {}).get(str(layer.source)) or {}
    source = spec.get("from") if isinstance(spec, dict) else None
    return next((dict(r) for r in layer.provenance if r.get("name") == source), None) \
        if source else None


def area_provenance_note(layer: Layer, registry: Registry, lang: Language) -> str:
    """What is synthetic (and what real) in the input a scored area set is drawn from (its
    outlines, its names), as `layer_provenance_note` says it; empty for real inputs and for
    sets of H3 cells."""
    return record_note(_area_input(layer, registry), lang)


def area_synthetic_note(layer: Layer, registry: Registry, lang: Language) -> str:
    """Only what is synthetic in that input ("synthetic: admin-unit outlines"): the short
    form a legend row has room for; empty for real inputs."""
    record = _area_input(layer, registry)
    if record is None or not record.get("synthetic"):
        return ""
    return lang.gettext(NOTE).format(parts=", ".join(part_labels(synthetic_parts([record]),
                                                                  lang)))


def roll_up_note(layer: Layer, layers: Mapping[str, Layer], registry: Registry,
                 lang: Language) -> str:
    """For a set whose hazard levels are rolled up from another (`roll_up_from`: ADM1 from
    ADM2), the sentence saying so, naming that set's layer; empty otherwise."""
    config = (registry.run_manifest() or {}).get("config") or {}
    spec = (config.get("areas") or {}).get(str(layer.source)) or {}
    source = spec.get("roll_up_from") if isinstance(spec, dict) else None
    if not source:
        return ""
    named = next((other for other in layers.values()
                  if other.source_kind == "areas" and other.source == source), None)
    return _t("roll_up", lang).format(units=named.name_in(lang) if named else source)


def area_card_html(card: dict[str, Any], layers: Mapping[str, Layer],
                   classes: list[dict[str, Any]], lang: Language, notes: tuple[str, ...] = (),
                   brief_url: str | None = None) -> str:
    """An area's score card on the map: the card of `score_card_html`, then its `notes` (what
    is synthetic in the area's outline, how its hazard levels are rolled up) and a link to the
    area's one-page brief (`brief_url`; none in an offline file)."""
    html = score_card_html(card, dict(layers), classes, lang)
    extra = "".join(f"<div class='cmrisk-card-note'><small>{escape(note)}</small></div>"
                    for note in notes if note)
    if brief_url:
        extra += (f"<a class='cmrisk-brief-link' href=\"{escape(brief_url)}\" target='_blank' "
                  f"rel='noopener'>{escape(_t('brief', lang))}</a>")
    if html.endswith("</div>"):
        return html.removesuffix("</div>") + extra + "</div>"
    return html + extra


def brief_url(base_url: str, area_id: str, lang: Language) -> str:
    """Where the service serves an area's one-page brief in the reader's language."""
    return f"{base_url}/areas/{quote(area_id, safe=':')}/brief?lang={quote(lang.tag)}"


def _with_note(text: str, note: str) -> str:
    return f"{text} · {note}" if note and text else (note or text)


def _header(title: str, subtitle: str, banner: str, lang: Language,
            stale: list[dict[str, Any]] | None = None) -> str:
    badge = (f' <span id="cmrisk-synthetic" class="cmrisk-synthetic">'
             f"{escape(banner)}</span>" if banner else "")
    if stale:
        countries = ", ".join(f"{c['country']} ({lang.month(c['last_month'])})"
                              if c.get("last_month") else str(c["country"]) for c in stale)
        badge += (f' <span id="cmrisk-stale" class="cmrisk-synthetic">'
                  f"{escape(_t('stale', lang).format(countries=countries))}</span>")
    return (
        f'<header class="cmrisk-header"><h1>{escape(title)}<small>{escape(subtitle)}{badge}'
        f'</small></h1><form id="cmrisk-search" role="search" autocomplete="off">'
        f'<label class="cmrisk-visually-hidden" for="cmrisk-search-input">'
        f'{escape(_t("search", lang))}</label><input id="cmrisk-search-input" type="search" '
        f'role="combobox" aria-autocomplete="list" aria-expanded="false" '
        f'aria-controls="cmrisk-search-results" '
        f'placeholder="{escape(_t("search_placeholder", lang))}">'
        f'<ul id="cmrisk-search-results" role="listbox" hidden></ul></form></header>')


def _outside_mask(bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    """The world outside the analysed region, as a polygon with the region as its hole."""
    west, south, east, north = bbox
    world = [[-180, -85], [180, -85], [180, 85], [-180, 85], [-180, -85]]
    hole = [[west, south], [west, north], [east, north], [east, south], [west, south]]
    return {"type": "Feature", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [world, hole]}}


def risk_map(registry: Registry, base_url: str, lang: Language | None = None,
             online_basemaps: bool = False, principal: Principal = ANONYMOUS,
             embedded_tiles: Mapping[str, EmbeddedTiles] | None = None,
             static_url: str | None = None) -> folium.Map:
    """The planning map of a region: its layers placed by their map role.

    Raster `overlay`s as tiles with a legend each (the `shown` one visible), the `basemap`
    under everything with the world outside the analysed region masked, `scored_areas` with
    score cards and names, `scored_outlines` (admin units) as outlines off until turned on,
    with the same cards, `area_classes` outlined by class, `lines`, `points` and
    `clustered_points` with tooltips, `time_series` with a slider, a search over areas and
    places, a polygon tool that calls `POST /analysis` over the `draw` overlays, a PNG export
    of the view and a print view, and a banner while any layer is synthetic.

    Every JS/CSS asset is served by the service itself (`geo_service.static_assets`), so the
    page works offline.

    Args:
        registry: the layer registry of the region.
        base_url: the URL the region's tiles and analysis are under, without a trailing slash.
        lang: language and locale of every word and number (English when None).
        online_basemaps: also offer OpenStreetMap (off by default, and the only thing on the
            page that names another host).
        principal: who asks; restricted layers appear only for tokens scoped to them.
        embedded_tiles: for a page that works without the service (`geo_service.maps.embed`):
            the raster layers to show, with their tiles inlined; drawing an area and the PNG
            export are then disabled with a notice. None (the default) loads tiles from
            `base_url`.
        static_url: the URL the JS/CSS assets are under (`/static/…`), when it is not
            `base_url` (a region's pages take them from the service's root).

    Raises:
        NothingToMap: the region has nothing with an extent.
    """
    lang = lang or language("en")
    layers = visible_layers(registry, principal)
    bbox = map_extent(registry, layers)
    fmap = folium.Map(location=[(bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2], zoom_start=8,
                      tiles=None, control_scale=False, max_zoom=MAX_ZOOM, zoom_control=False)
    root = fmap.get_root()
    root.title = escape(f"{region_title(registry, lang)} · {_t('map', lang)}")  # type: ignore[attr-defined]
    # No favicon request (browsers ask for /favicon.ico otherwise, a 404 here).
    root.header.add_child(  # type: ignore[attr-defined]
        folium.Element('<link rel="icon" href="data:,">'), name="favicon")
    root.header.add_child(  # type: ignore[attr-defined]
        folium.Element('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        name="viewport")
    MapAssets().add_to(fmap)
    banner = synthetic_banner(run_provenance(layers), lang) if any(
        layer.synthetic for layer in layers.values()) else ""
    stale = [c for c in crossings_currency(registry.data) if c["stale"]]
    root.html.add_child(folium.Element(  # type: ignore[attr-defined]
        _header(region_title(registry, lang), _t("map", lang), banner, lang, stale)))
    folium.map.CustomPane("basemap", z_index=150).add_to(fmap)
    folium.map.CustomPane("outside", z_index=350, pointer_events=False).add_to(fmap)
    for layer in by_role(layers, "basemap"):
        folium.GeoJson(json.loads(gpd.read_parquet(layer.asset).to_json()),
                       name=layer.name_in(lang), pane="basemap",
                       style_function=lambda _: BASEMAP_STYLE).add_to(fmap)
    outside = folium.GeoJson(_outside_mask(bbox), name=_t("outside", lang), pane="outside",
                             style_function=lambda _: OUTSIDE_STYLE,
                             control=False)
    outside.add_to(fmap)
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
    store = AreasStore(registry)
    places = place_names(registry, layers, lang)
    for layer in by_role(layers, "area_classes"):
        units = _add_area_classes(fmap, layer, classes, places, lang)
        legends.append(_legend_block(layer.id, f"{layer.name_in(lang)}: "
                                     f"{_t('outline_class', lang)}",
                                     [(str(c["color"]), class_label(c, lang)) for c in classes],
                                     swatch="cmrisk-swatch-outline"))
        bound.append((layer.id, units))
    area_index: list[tuple[str, MacroElement]] = []
    briefs = None if embedded_tiles is not None else base_url
    outlined = by_role(layers, "scored_outlines")
    if outlined:
        folium.map.CustomPane(OUTLINES_PANE[0], z_index=OUTLINES_PANE[1]).add_to(fmap)
    written: dict[tuple[float, ...], dict[str, Any]] = {}
    for layer in outlined:
        note = area_provenance_note(layer, registry, lang)
        group, shapes = _add_scored_outlines(
            fmap, store, layer, layers, classes, lang,
            (roll_up_note(layer, layers, registry, lang), note), briefs, written)
        area_index += shapes
        legends.append(_legend_block(
            layer.id, layer.name_in(lang),
            [(_color(layer), area_synthetic_note(layer, registry, lang)
              or layer.title_in(lang))],
            swatch="cmrisk-swatch-outline",
            style=f";border-width:{_weight(layer):g}px"))
        bound.append((layer.id, group))
    for layer in by_role(layers, "scored_areas"):
        area_index += _add_scored_areas(fmap, store, layer, layers, classes, lang,
                                        (area_provenance_note(layer, registry, lang),), briefs)
    for layer in by_role(layers, "lines"):
        _add_lines(fmap, layer, lang)
    for layer in by_role(layers, "points"):
        _add_points(fmap, layer, lang)
    for layer in by_role(layers, "clustered_points"):
        _add_clustered_points(fmap, layer, lang)
    for layer in by_role(layers, "time_series"):
        _add_time_series(fmap, layer, lang)
    legends.append(_legend_block("outside", "", [("#868e96", _t("outside", lang))],
                                 swatch="cmrisk-swatch-outside"))
    bound.append(("outside", outside))
    root.html.add_child(folium.Element(_legends_box(legends, lang)))  # type: ignore[attr-defined]
    texts = {key: _t(key, lang) for key in TEXT}
    symbols = lang.symbols()
    Call("zoom", {"text": texts}).add_to(fmap)
    Call("controls", {"text": texts, "symbols": symbols}).add_to(fmap)
    analysed = [{"id": layer.id, "title": layer.title_in(lang)}
                for layer in by_role(layers, "overlay") if layer.map and layer.map.draw]
    offline = embedded_tiles is not None
    Call("draw", {
        "url": None if offline else f"{base_url}/analysis", "layers": analysed,
        "colors": {str(c["name"]): str(c["color"]) for c in classes},
        "labels": {str(c["name"]): class_label(c, lang) for c in classes},
        "symbols": symbols,
        "text": texts | {"area": field_label(col.AREA_KM2, lang)}}).add_to(fmap)
    Call("exporter", {
        "url": None if offline else f"{base_url}/maps/risk.png", "lang": lang.tag,
        "filename": f"cmrisk-{registry.region}.png", "text": texts}).add_to(fmap)
    BoundLayers("legends", bound).add_to(fmap)
    BoundLayers("search", area_index,
                search_index(registry, layers, store, places, lang), texts,
                as_object=True).add_to(fmap)
    control = folium.LayerControl(collapsed=True)
    control.add_to(fmap)
    LayerPanel(control, {"text": texts}).add_to(fmap)
    fmap.fit_bounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]])
    localize(fmap, static_url or base_url)
    return fmap


def _overlay(layer: Layer, bbox: tuple[float, float, float, float], base_url: str,
             lang: Language, embedded_tiles: Mapping[str, EmbeddedTiles] | None
             ) -> folium.TileLayer:
    """A raster overlay's tile layer: tiles of the service, or inlined ones."""
    extent = layer.bbox or bbox
    options: dict[str, Any] = {
        "name": layer.name_in(lang), "attr": escape(_t("attribution", lang)),
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


def _weight(layer: Layer) -> float:
    return layer.style.weight or OUTLINE_WEIGHT


def _area_label(name: str, geometry: Any) -> dict[str, Any]:
    """Where an area's name is written (`cmrisk.labels`): a point inside it, and its bounds."""
    west, south, east, north = geometry.bounds
    inside = geometry.representative_point()
    return {"name": name, "lat": round(inside.y, 5), "lon": round(inside.x, 5),
            "bounds": [round(south, 5), round(west, 5), round(north, 5), round(east, 5)]}


def _add_scored_outlines(fmap: folium.Map, store: AreasStore, layer: Layer,
                         layers: Mapping[str, Layer], classes: list[dict[str, Any]],
                         lang: Language, notes: tuple[str, ...], briefs: str | None,
                         written: dict[tuple[float, ...], dict[str, Any]]
                         ) -> tuple[folium.FeatureGroup, list[tuple[str, MacroElement]]]:
    """Scored areas (admin units) as bare outlines in the layer's colour and line width, off
    until turned on in the layer control: the same score cards as `scored_areas` (with what
    is synthetic in the outline and a link to the brief), a tooltip naming the unit, its score
    and class, and names written once large enough on screen (a unit of the extent of one of an
    earlier outline layer whose name holds its own, or is held in it, such as the district
    Guna Yala of the Comarca Guna Yala, is written with that unit's name, so both levels on
    write it once). The outlines are simplified to
    a pixel at `outlines.OUTLINE_ZOOM`. Returns the group and (area id, outline) pairs."""
    frame = map_outlines(gpd.read_parquet(layer.asset))
    cards = store.frame()
    colour, weight = _color(layer), _weight(layer)
    risk_word = field_label(col.RISK, lang)
    group = folium.FeatureGroup(name=layer.name_in(lang), show=False)
    index: list[tuple[str, MacroElement]] = []
    labels = []
    for _, row in frame.iterrows():
        if row.geometry is None or row.geometry.is_empty:
            continue
        area_id = str(row[col.ID])
        card = store.as_json(cards.loc[area_id], classes) if area_id in cards.index else {
            col.NAME: row[col.NAME]}
        name = area_name(card, lang)
        klass = class_text(card, classes, lang)
        tip = (f"{name} · {klass}" if card.get(col.RISK_CLASS) == col.NOT_EXPOSED else
               f"{name} · {risk_word} {value_text(area_score(card), lang)} ({klass})")
        shape = folium.GeoJson(
            row.geometry.__geo_interface__, pane=OUTLINES_PANE[0],
            style_function=lambda _: {"color": colour, "weight": weight, "opacity": 0.9,
                                      "fill": True, "fillColor": colour, "fillOpacity": 0},
            highlight_function=lambda _: {"weight": weight + 2, "fillOpacity": 0.08},
            tooltip=escape(tip),
            popup=folium.Popup(area_card_html(  # type: ignore[arg-type]
                card, layers, classes, lang, notes,
                brief_url(briefs, area_id, lang) if briefs is not None else None),
                max_width=340),
        )
        shape.add_to(group)
        index.append((area_id, shape))
        label = _area_label(name, row.geometry)
        extent = tuple(round(v, 2) for v in label["bounds"])
        same = written.get(extent)
        if same is not None and (name in same["name"] or same["name"] in name):
            label = same  # "Guna Yala" in "Comarca Guna Yala": written once, at one point
        written.setdefault(extent, label)
        labels.append(label)
    group.add_to(fmap)
    Call("labels", group, labels, LABEL_MIN_PIXELS).add_to(fmap)
    return group, index


def _add_scored_areas(fmap: folium.Map, store: AreasStore, layer: Layer,
                      layers: Mapping[str, Layer], classes: list[dict[str, Any]],
                      lang: Language, notes: tuple[str, ...] = (), briefs: str | None = None
                      ) -> list[tuple[str, MacroElement]]:
    """Areas outlined in the layer's colour, filled by class, with their score cards (what is
    synthetic in the outline, a link to the brief) and their names written once they are
    large enough on screen. Returns (area id, outline) pairs."""
    frame = gpd.read_parquet(layer.asset)
    cards = store.frame()
    outline = _color(layer)
    group = folium.FeatureGroup(name=layer.name_in(lang))
    index: list[tuple[str, MacroElement]] = []
    labels = []
    for _, row in frame.iterrows():
        area_id = row[col.ID]
        card = store.as_json(cards.loc[area_id], classes) if area_id in cards.index else {
            col.NAME: row[col.NAME]}
        name = area_name(card, lang)
        fill = area_color(card, classes)
        shape = folium.GeoJson(
            row.geometry.__geo_interface__,
            style_function=lambda _, fill=fill: {"color": outline, "weight": 2,
                                                 "fillColor": fill, "fillOpacity": 0.25},
            tooltip=escape(name),
            popup=folium.Popup(area_card_html(  # type: ignore[arg-type]
                card, layers, classes, lang, notes,
                brief_url(briefs, str(area_id), lang) if briefs is not None else None),
                max_width=340),
        )
        shape.add_to(group)
        index.append((str(area_id), shape))
        labels.append(_area_label(name, row.geometry))
    group.add_to(fmap)
    Call("labels", group, labels, LABEL_MIN_PIXELS).add_to(fmap)
    return index


def _add_lines(fmap: folium.Map, layer: Layer, lang: Language) -> None:
    """Lines in the layer's colour, or coloured by a property (`color_by`), with tooltips in
    the reader's language (coded values read as the region file names them)."""
    frame = gpd.read_parquet(layer.asset)
    by = layer.style.color_by
    default = _color(layer)
    fields = [f for f in _tooltip(layer) if f.property in frame.columns]
    note = layer_provenance_note(layer, lang)
    shown = frame.assign(cmrisk_tooltip=[_with_note(tooltip_text(row, fields, lang), note)
                                         for _, row in frame.iterrows()])
    keep = ["cmrisk_tooltip", "geometry"] + ([by.property] if by is not None else [])

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        colour = by.colors.get(str(feature["properties"].get(by.property)), default) \
            if by is not None else default
        return {"color": colour, "weight": 3}

    folium.GeoJson(
        json.loads(shown[keep].to_json()), name=layer.name_in(lang), style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=["cmrisk_tooltip"], labels=False),
    ).add_to(fmap)


def _add_points(fmap: folium.Map, layer: Layer, lang: Language) -> None:
    """Points as circles in the layer's colour, with their tooltips."""
    frame = gpd.read_parquet(layer.asset)
    colour = _color(layer)
    note = layer_provenance_note(layer, lang)
    group = folium.FeatureGroup(name=layer.name_in(lang))
    for _, row in frame.iterrows():
        if row.geometry is None or row.geometry.is_empty:
            continue
        folium.CircleMarker([row.geometry.y, row.geometry.x], radius=6, color=colour,
                            fill=True,
                            tooltip=escape(_with_note(tooltip_text(row, _tooltip(layer), lang),
                                                      note)),
                            ).add_to(group)
    group.add_to(fmap)


def _add_area_classes(fmap: folium.Map, layer: Layer, classes: list[dict[str, Any]],
                      places: gpd.GeoDataFrame, lang: Language) -> folium.GeoJson:
    """Areas outlined in the colour of their risk class (off by default in the layer
    control), so the raster below stays visible; each tooltip names where the unit is (the
    smallest named area or country around it) and its class, not its cell id."""
    frame = gpd.read_parquet(layer.asset)
    shown = [*classes, not_exposed_class()]
    colors = {str(c["name"]): str(c["color"]) for c in shown}
    labels = {str(c["name"]): class_label(c, lang) for c in shown}
    risk_word = field_label(col.RISK, lang)
    where = _place_of(frame, places)
    score = frame[col.RANKING_VALUE] if col.RANKING_VALUE in frame.columns else frame[col.RISK]
    frame = frame.assign(**{
        col.RISK_CLASS: frame[col.RISK_CLASS].astype("string").fillna(""),
        "label": [f"{place} · {risk_word} {lang.number(risk)} ({labels.get(str(klass), '–')})"
                  if klass != col.NOT_EXPOSED else f"{place} · {labels[col.NOT_EXPOSED]}"
                  for place, risk, klass in zip(where, score, frame[col.RISK_CLASS],
                                                strict=True)],
    })[[col.RISK_CLASS, "label", "geometry"]]
    frame["geometry"] = frame.geometry.set_precision(1e-5)
    units = folium.GeoJson(
        json.loads(frame.to_json()), name=layer.name_in(lang), show=False,
        style_function=lambda f: {
            "color": colors.get(f["properties"].get(col.RISK_CLASS), "#868e96"),
            "weight": 1.5, "fillOpacity": 0.04, "fillColor": "#ffffff"},
        highlight_function=lambda _: {"weight": 3},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    )
    units.add_to(fmap)
    return units


def _place_of(frame: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> list[str]:
    """The name of the smallest place polygon holding each feature's centre ("" if none)."""
    if places.empty:
        return [""] * len(frame)
    centres = gpd.GeoDataFrame(geometry=shapely.centroid(frame.geometry.values),
                               crs=frame.crs, index=frame.index)
    joined = gpd.sjoin(centres, places[["label", "size", "geometry"]], predicate="within",
                       how="left")
    joined = joined.sort_values("size").groupby(level=0).first()
    return [str(v) if isinstance(v, str) else "" for v in joined["label"].reindex(
        frame.index)]


def _add_clustered_points(fmap: folium.Map, layer: Layer, lang: Language) -> None:
    """Points in a marker cluster (pure-CSS icons, no images), with their tooltips."""
    frame = gpd.read_parquet(layer.asset)
    colour = _color(layer)
    cluster = MarkerCluster(name=layer.name_in(lang))
    note = layer_provenance_note(layer, lang)
    for _, row in frame.iterrows():
        if row.geometry is None or row.geometry.is_empty:
            continue
        folium.Marker(
            [row.geometry.y, row.geometry.x],
            tooltip=escape(_with_note(tooltip_text(row, _tooltip(layer), lang), note)),
            icon=folium.DivIcon(
                html=f'<div style="width:10px;height:10px;border-radius:50%;'
                     f'background:{colour};border:1px solid #212529"></div>',
                icon_size=(12, 12), icon_anchor=(6, 6), class_name="cmrisk-incident"),
        ).add_to(cluster)
    cluster.add_to(fmap)


def _add_time_series(fmap: folium.Map, layer: Layer, lang: Language) -> None:
    """Counts per place and month with a time slider (the layer's count and time properties,
    places by its map key, named by its first tooltip field)."""
    placement = layer.map
    if placement is None or placement.key is None or layer.count_property is None \
            or layer.time_property is None:
        return
    fields = _tooltip(layer)
    split = placement.split
    series = monthly_series(gpd.read_parquet(layer.asset), key=placement.key,
                            time=layer.time_property, count=layer.count_property,
                            label=fields[0].property if fields else placement.key,
                            split=split.property if split is not None else None)
    if not series["points"]:
        return
    series["labels"] = [lang.month(month) for month in series["months"]]
    for entry in series["groups"]:
        named = split.values.get(entry["id"]) if split is not None else None
        entry["label"] = lang.text(named, entry["id"]) if named else entry["id"]
    group = folium.FeatureGroup(name=layer.name_in(lang))
    group.add_to(fmap)
    Call("slider", group, series, {
        "title": layer.name_in(lang), "people": _t("people", lang),
        "withheld": _t("withheld", lang), "symbols": lang.symbols(),
        "year": _t("year_total", lang), "note": layer_provenance_note(layer, lang),
    }).add_to(fmap)
