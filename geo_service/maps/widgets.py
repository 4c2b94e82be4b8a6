"""How the planning map's own JavaScript (`static/cmrisk-map.js`, a file a linter reads) is
called from the page: Folium elements that load it (`MapAssets`) and call its functions with
the page's data (`Call`, `BoundLayers`), the inlined tile layer of the single-file map, and
the monthly series the time slider shows.

The data each widget needs is inlined in the page at render time, so the same page works when
served by the service and when saved as a single file (`geo_service.maps.embed`).
"""

from __future__ import annotations

import json
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template


def script_json(value: Any) -> str:
    """`value` as JSON that is safe inside an HTML `<script>` (no `</` closes it early)."""
    return json.dumps(value).replace("</", "<\\/")


def month_range(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` (`YYYY-MM`, inclusive), in order."""
    periods = pd.period_range(first, last, freq="M")
    return [str(p) for p in periods]


def monthly_series(frame: gpd.GeoDataFrame, *, key: str, time: str, count: str, label: str,
                   first: str | None = None, last: str | None = None,
                   split: str | None = None) -> dict[str, Any]:
    """Monthly counts per place, as the slider reads them.

    Args:
        frame: one row per place and month (point geometries), e.g. a run's flow counts,
            already disclosure-protected by the pipeline.
        key: the property identifying each place.
        time: the property holding the month (`YYYY-MM`).
        count: the property counted (a missing value is withheld or not reported).
        label: the property naming each place.
        first: first month shown (default: the earliest in the data).
        last: last month shown (default: the latest in the data).
        split: the property whose values are summed apart (e.g. `direction`: people going
            north are never added to people coming back south).

    Returns:
        `{"months": [...], "points": [{"id", "name", "lat", "lon", "totals": [...],
        "group"}], "groups": [{"id", "monthly": [...], "yearly": {year: n}}]}`, where
        `totals[i]` is the count of `months[i]`, or None when withheld or not reported; a
        group's `monthly[i]` sums its places' published counts of `months[i]` (None when none
        is published) and `yearly` the published counts of each year. Without `split`, every
        row is one group `""`. A place whose rows fall in two groups is one point per group.
    """
    if frame.empty:
        return {"months": [], "points": [], "groups": []}
    reported = frame[time].astype(str)
    months = month_range(first or reported.min(), last or reported.max())
    index = {month: i for i, month in enumerate(months)}
    points: dict[tuple[str, str], dict[str, Any]] = {}
    for _, row in frame.iterrows():
        group = str(row[split]) if split is not None and not pd.isna(row.get(split)) else ""
        point_id = str(row[key])
        point = points.get((point_id, group))
        if point is None:
            point = points[(point_id, group)] = {
                "id": point_id, "name": str(row.get(label) or point_id),
                "lat": round(float(row.geometry.y), 6), "lon": round(float(row.geometry.x), 6),
                "totals": [None] * len(months), "group": group}
        slot = index.get(str(row[time]))
        total = row.get(count)
        if slot is not None and total is not None and not pd.isna(total):
            point["totals"][slot] = (point["totals"][slot] or 0) + int(total)
    ordered = [points[k] for k in sorted(points)]
    groups = []
    for group in sorted({p["group"] for p in ordered}):
        members = [p for p in ordered if p["group"] == group]
        monthly: list[int | None] = []
        yearly: dict[str, int] = {}
        for i, month in enumerate(months):
            published = [p["totals"][i] for p in members if p["totals"][i] is not None]
            monthly.append(sum(published) if published else None)
            if published:
                yearly[month[:4]] = yearly.get(month[:4], 0) + sum(published)
        groups.append({"id": group, "monthly": monthly, "yearly": yearly})
    return {"months": months, "points": ordered, "groups": groups}


ASSETS = {"cmrisk_map_js": "cmrisk-map.js", "cmrisk_map_css": "cmrisk-map.css"}
"""Our map's own JS and CSS (`geo_service/maps/static/`), by the asset names Folium knows."""


class MapAssets(JSCSSMixin, MacroElement):
    """Loads the map's own JavaScript and stylesheet (served from `/static/cmrisk/`)."""

    def __init__(self) -> None:
        super().__init__()
        self._name = "MapAssets"
        self.default_js = [("cmrisk_map_js", "cmrisk-map.js")]
        self.default_css = [("cmrisk_map_css", "cmrisk-map.css")]


class Call(MacroElement):
    """One call of a function of `cmrisk-map.js` on the map: `cmrisk.<function>(map,
    <arguments>)`, each argument a Folium element (its JS name) or a value (as JSON)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "cmrisk.{{ this.function }}({{ this._parent.get_name() }}"
        "{% for arg in this.arguments %}, {{ arg }}{% endfor %});\n"
        "{% endmacro %}")

    def __init__(self, function: str, *arguments: Any) -> None:
        """Args:
            function: the name of the function in `cmrisk-map.js`.
            *arguments: Folium elements (passed by their JS name) or JSON-able values.
        """
        super().__init__()
        self._name = "Call"
        self.function = function
        self.arguments = [a.get_name() if isinstance(a, MacroElement) else script_json(a)
                          for a in arguments]


class BoundLayers(MacroElement):
    """A call `cmrisk.<function>(map, {key: layer, …}|[[key, layer], …], …)` whose first
    argument maps keys to Folium layers (legend blocks to overlays, area ids to outlines)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "cmrisk.{{ this.function }}({{ this._parent.get_name() }}, "
        "{% if this.as_object %}{{ '{' }}{% for key, layer in this.bound %}"
        "{{ key|tojson }}: {{ layer.get_name() }}{{ ', ' if not loop.last }}{% endfor %}"
        "{{ '}' }}{% else %}[{% for key, layer in this.bound %}"
        "[{{ key|tojson }}, {{ layer.get_name() }}]{{ ', ' if not loop.last }}{% endfor %}]"
        "{% endif %}{% for arg in this.arguments %}, {{ arg }}{% endfor %});\n"
        "{% endmacro %}")

    def __init__(self, function: str, bound: list[tuple[str, MacroElement]], *arguments: Any,
                 as_object: bool = False) -> None:
        """Args:
            function: the name of the function in `cmrisk-map.js`.
            bound: (key, Folium layer) pairs.
            *arguments: further JSON-able arguments (after the bound layers).
            as_object: pass the pairs as an object `{key: layer}` rather than a list.
        """
        super().__init__()
        self._name = "BoundLayers"
        self.function = function
        self.bound = bound
        self.as_object = as_object
        self.arguments = [script_json(a) for a in arguments]


class LayerPanel(MacroElement):
    """`cmrisk.layout(map, <Leaflet's layer control>, options)`: folds the layer panel on
    small screens."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "cmrisk.layout({{ this._parent.get_name() }}, {{ this.control.get_name() }}, "
        "{{ this.options }});\n{% endmacro %}")

    def __init__(self, control: MacroElement, options: dict[str, Any]) -> None:
        """Args:
            control: the map's `folium.LayerControl`.
            options: `{"text": {...}}` (the panel's name).
        """
        super().__init__()
        self._name = "LayerPanel"
        self.control = control
        self.options = script_json(options)


class InlineTileLayer(folium.TileLayer):
    """A tile layer whose PNG tiles are inlined in the page as data: URIs (`"z/x/y"` → URI);
    tiles not in the table are `empty` (a transparent PNG)."""

    _template = Template(
        "{% macro script(this, kwargs) %}\n"
        "var {{ this.get_name() }} = new (L.TileLayer.extend({\n"
        "  cmriskTiles: {{ this.tiles_json }},\n"
        "  getTileUrl: function (c) {\n"
        "    return this.cmriskTiles[c.z + '/' + c.x + '/' + c.y] || {{ this.empty|tojson }};\n"
        "  }\n"
        "}))('', {{ this.options|tojavascript }});\n"
        "{% endmacro %}")

    def __init__(self, tiles: dict[str, str], empty: str, **kwargs: Any) -> None:
        """Args:
            tiles: `"z/x/y"` → data: URI of the tile.
            empty: data: URI drawn where the table has no tile.
            **kwargs: `folium.TileLayer` options (name, opacity, native zooms, bounds…).
        """
        super().__init__(tiles="cmrisk-inline", **kwargs)
        self.tiles_json = script_json(tiles)
        self.empty = empty
