"""Interactive parts of the planning map, in our own small JS (no plugin from a CDN):

- `MonthlySlider`: monthly counts per place (e.g. people crossing at each counting point) as
  circles sized by the month's count, with a range-input time slider;
- `DrawAnalysis`: a click-to-add-vertices polygon tool that posts the polygon to
  `POST /analysis` and shows mean, max and class shares in a panel (or, in a file opened
  without the service, a disabled button with a notice);
- `OverlayLegends`: one legend per overlay, shown while its layer is on the map.

The data each widget needs is inlined in the page at render time, so the same page works when
served by the service and when saved as a single file (`geo_service.map_embed`).
"""

from __future__ import annotations

import json
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.template import Template


def script_json(value: Any) -> str:
    """`value` as JSON that is safe inside an HTML `<script>` (no `</` closes it early)."""
    return json.dumps(value).replace("</", "<\\/")


def month_range(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` (`YYYY-MM`, inclusive), in order."""
    periods = pd.period_range(first, last, freq="M")
    return [str(p) for p in periods]


def monthly_series(frame: gpd.GeoDataFrame, *, key: str, time: str, count: str, label: str,
                   first: str | None = None, last: str | None = None) -> dict[str, Any]:
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

    Returns:
        `{"months": [...], "points": [{"id", "name", "lat", "lon", "totals": [...]}]}`, where
        `totals[i]` is the count of `months[i]`, or None when withheld or not reported.
    """
    if frame.empty:
        return {"months": [], "points": []}
    reported = frame[time].astype(str)
    months = month_range(first or reported.min(), last or reported.max())
    index = {month: i for i, month in enumerate(months)}
    points: dict[str, dict[str, Any]] = {}
    for _, row in frame.iterrows():
        point_id = str(row[key])
        point = points.get(point_id)
        if point is None:
            point = points[point_id] = {
                "id": point_id, "name": str(row.get(label) or point_id),
                "lat": round(float(row.geometry.y), 6), "lon": round(float(row.geometry.x), 6),
                "totals": [None] * len(months)}
        slot = index.get(str(row[time]))
        total = row.get(count)
        if slot is not None and total is not None and not pd.isna(total):
            point["totals"][slot] = int(total)
    return {"months": months, "points": [points[k] for k in sorted(points)]}


MONTHLY_JS = """
(function (map, group, data, text) {
  var max = 1;
  function esc(value) {
    var span = document.createElement('span');
    span.textContent = String(value);
    return span.innerHTML;
  }
  data.points.forEach(function (p) { p.name = esc(p.name); });
  data.points.forEach(function (p) {
    p.totals.forEach(function (v) { if (v !== null && v > max) { max = v; } });
  });
  var markers = data.points.map(function (p) {
    var marker = L.circleMarker([p.lat, p.lon], {
      radius: 3, color: '#5f3dc4', weight: 1, fillColor: '#7950f2', fillOpacity: 0.6,
      className: 'cmrisk-crossing'});
    marker.bindTooltip(p.name);
    group.addLayer(marker);
    return marker;
  });
  var box = null, label = null, sum = null, input = null;
  function show(i) {
    var month = data.months[i], total = 0;
    markers.forEach(function (marker, k) {
      var p = data.points[k], value = p.totals[i];
      if (value === null) {
        marker.setRadius(3);
        marker.setStyle({fillOpacity: 0.1, dashArray: '2 2'});
        marker.setTooltipContent(p.name + ' · ' + month + ': ' + text.withheld);
      } else {
        marker.setRadius(3 + 25 * Math.sqrt(value / max));
        marker.setStyle({fillOpacity: 0.6, dashArray: null});
        marker.setTooltipContent(p.name + ' · ' + month + ': ' +
                                 value.toLocaleString(text.locale) + ' ' + text.people);
        total += value;
      }
    });
    label.textContent = month;
    sum.textContent = total.toLocaleString(text.locale) + ' ' + text.people;
  }
  var Slider = L.Control.extend({
    options: {position: 'bottomleft'},
    onAdd: function () {
      box = L.DomUtil.create('div', 'leaflet-control cmrisk-slider');
      box.style.cssText = 'background:rgba(255,255,255,.9);padding:4px 8px;' +
        'font:12px sans-serif;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.4)';
      var title = L.DomUtil.create('div', '', box);
      title.textContent = text.title + ' ';
      label = L.DomUtil.create('b', 'cmrisk-month', title);
      input = L.DomUtil.create('input', 'cmrisk-month-slider', box);
      input.type = 'range'; input.min = 0; input.max = data.months.length - 1; input.step = 1;
      input.value = data.months.length - 1; input.style.width = '240px';
      input.setAttribute('aria-label', text.title);
      sum = L.DomUtil.create('div', 'cmrisk-month-total', box);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      L.DomEvent.on(input, 'input change', function () { show(parseInt(input.value, 10)); });
      return box;
    }
  });
  new Slider().addTo(map);
  show(data.months.length - 1);
})"""
"""Circles sized by the month's count, and the slider that picks the month."""


class MonthlySlider(MacroElement):
    """Monthly counts (`monthly_series`) in a feature group, with a time slider."""

    _template = Template(
        "{% macro script(this, kwargs) %}" + MONTHLY_JS
        + "({{ this._parent.get_name() }}, {{ this.group.get_name() }}, {{ this.data }}, "
          "{{ this.text }});\n{% endmacro %}")

    def __init__(self, group: MacroElement, series: dict[str, Any],
                 text: dict[str, str]) -> None:
        """Args:
            group: the (empty) feature group the circles go into; it is in the layer control.
            series: `monthly_series` output.
            text: labels `title`, `people`, `withheld`, `locale`.
        """
        super().__init__()
        self._name = "MonthlySlider"
        self.group = group
        self.data = script_json(series)
        self.text = script_json(text)


DRAW_JS = """
(function (map, opts) {
  var text = opts.text;
  var panel = L.DomUtil.create('div', 'cmrisk-analysis', map.getContainer().parentNode);
  panel.id = 'cmrisk-analysis';
  panel.style.cssText = 'position:fixed;top:90px;left:60px;z-index:1000;background:#fff;' +
    'padding:8px 10px;border-radius:4px;font:12px sans-serif;max-width:340px;display:none;' +
    'box-shadow:0 1px 4px rgba(0,0,0,.4)';
  function esc(value) {
    var span = document.createElement('span');
    span.textContent = String(value);
    return span.innerHTML;
  }
  function fmt(value) { return value === null || value === undefined ? '–' : value.toFixed(2); }
  function showPanel(html) {
    panel.innerHTML = '<a href="#" class="cmrisk-analysis-close" style="float:right;' +
      'text-decoration:none" title="' + esc(text.close) + '">\u00d7</a>' + html;
    panel.style.display = '';
    panel.querySelector('.cmrisk-analysis-close').onclick = function (e) {
      e.preventDefault(); panel.style.display = 'none';
    };
  }
  function render(body) {
    var labels = {};
    (body.classes || []).forEach(function (c) {
      labels[c.name] = opts.lang === 'es' ? (c.label_es || c.label) : c.label;
    });
    var rows = opts.layers.map(function (layer) {
      var stats = (body.layers || {})[layer.id];
      if (!stats) { return ''; }
      var bar = '', shares = [];
      Object.keys(stats.class_shares || {}).forEach(function (name) {
        var share = stats.class_shares[name];
        bar += '<span style="display:inline-block;height:8px;width:' +
          (share * 200).toFixed(1) + 'px;background:' + (opts.colors[name] || '#adb5bd') +
          '"></span>';
        if (share > 0) {
          shares.push(esc(labels[name] || name) + ' ' +
                      (share < 0.005 ? '<1' : Math.round(share * 100)) + '%');
        }
      });
      return '<div class="cmrisk-analysis-layer" data-layer="' + esc(layer.id) +
        '" style="margin-top:6px"><b>' + esc(layer.title) + '</b><br>' + esc(text.mean) + ': ' +
        '<span class="cmrisk-mean">' + fmt(stats.mean) + '</span> · ' + esc(text.max) + ': ' +
        '<span class="cmrisk-max">' + fmt(stats.max) + '</span><div>' + bar + '</div>' +
        '<div class="cmrisk-shares" style="font-size:11px">' + shares.join(' · ') + '</div></div>';
    }).join('');
    showPanel('<strong>' + esc(text.result) + '</strong><br>' + esc(text.area) + ': ' +
              '<span class="cmrisk-area">' + body.area_km2.toFixed(1) + '</span>' + rows);
  }
  function analyse(latlngs) {
    var ring = latlngs.map(function (p) { return [p.lng, p.lat]; });
    ring.push(ring[0]);
    showPanel('<em class="cmrisk-analysis-busy">' + esc(text.busy) + '</em>');
    fetch(opts.url, {
      method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({geometry: {type: 'Polygon', coordinates: [ring]},
                            layers: opts.layers.map(function (l) { return l.id; })})
    }).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    }).then(function (answer) {
      if (answer.ok) { render(answer.body); return; }
      showPanel('<span class="cmrisk-analysis-error">' +
                esc(answer.body.detail || answer.body.title || text.failed) + '</span>');
    }).catch(function () {
      showPanel('<span class="cmrisk-analysis-error">' + esc(text.failed) + '</span>');
    });
  }
  var Draw = L.Control.extend({
    options: {position: 'topleft'},
    onAdd: function () {
      var bar = L.DomUtil.create('div', 'leaflet-bar leaflet-control');
      var link = L.DomUtil.create('a', 'cmrisk-draw', bar);
      link.href = '#'; link.setAttribute('role', 'button'); link.textContent = '\u2b20';
      L.DomEvent.disableClickPropagation(bar);
      if (!opts.enabled) {
        link.title = text.disabled; link.style.color = '#adb5bd';
        L.DomEvent.on(link, 'click', function (e) {
          L.DomEvent.preventDefault(e);
          showPanel('<span class="cmrisk-draw-disabled">' + esc(text.disabled) + '</span>');
        });
        var notice = L.DomUtil.create('div', 'cmrisk-draw-disabled', bar);
        notice.textContent = text.disabled;
        notice.style.cssText = 'background:#fff;padding:2px 4px;font:11px sans-serif;' +
          'max-width:180px';
        return bar;
      }
      link.title = text.draw;
      var shape = null, box = map.getContainer();
      // Corners are taken in the capture phase, so clicks on areas (whose popups would
      // swallow the map's click) add corners too and open no popup while drawing.
      function add(e) {
        if (e.target.closest && e.target.closest('.leaflet-control')) { return; }
        if (map.dragging && map.dragging.moved()) { return; }
        e.stopPropagation();
        shape.addLatLng(map.mouseEventToLatLng(e));
      }
      function stop() {
        box.removeEventListener('click', add, true); map.doubleClickZoom.enable();
        map.getContainer().style.cursor = ''; L.DomUtil.removeClass(link, 'cmrisk-active');
        link.textContent = '\u2b20'; link.title = text.draw;
      }
      L.DomEvent.on(link, 'click', function (e) {
        L.DomEvent.preventDefault(e);
        if (shape && L.DomUtil.hasClass(link, 'cmrisk-active')) {
          var points = shape.getLatLngs()[0];
          stop();
          if (points.length >= 3) {
            shape.setStyle({dashArray: null});
            analyse(points);
          } else {
            map.removeLayer(shape); shape = null;
          }
          return;
        }
        if (shape) { map.removeLayer(shape); }
        shape = L.polygon([], {color: '#5f3dc4', weight: 2, dashArray: '4 4',
                               interactive: false}).addTo(map);
        map.closePopup();
        box.addEventListener('click', add, true); map.doubleClickZoom.disable();
        map.getContainer().style.cursor = 'crosshair'; L.DomUtil.addClass(link, 'cmrisk-active');
        link.textContent = '\u2713'; link.title = text.finish;
      });
      return bar;
    }
  });
  new Draw().addTo(map);
})"""
"""The polygon tool: click the button, click the corners, click the button again to analyse."""


class DrawAnalysis(MacroElement):
    """A polygon tool posting to `POST /analysis`, and the panel showing its answer."""

    _template = Template(
        "{% macro script(this, kwargs) %}" + DRAW_JS
        + "({{ this._parent.get_name() }}, {{ this.options }});\n{% endmacro %}")

    def __init__(self, url: str | None, layers: list[dict[str, str]], colors: dict[str, str],
                 lang: str, text: dict[str, str]) -> None:
        """Args:
            url: the `/analysis` URL, or None where there is no service (drawing disabled).
            layers: `{"id", "title"}` of the layers analysed, in panel order.
            colors: risk class name → colour (the class-share bars).
            lang: `en` or `es` (class labels of the answer).
            text: labels `draw`, `finish`, `disabled`, `result`, `area`, `mean`, `max`,
                `busy`, `failed`, `close`.
        """
        super().__init__()
        self._name = "DrawAnalysis"
        self.options = script_json({"url": url, "enabled": url is not None, "layers": layers,
                                   "colors": colors, "lang": lang, "text": text})


LEGENDS_JS = """
(function (map, bound) {
  var box = document.getElementById('cmrisk-legend');
  function sync() {
    var shown = 0;
    bound.forEach(function (pair) {
      var on = map.hasLayer(pair[1]);
      var block = box.querySelector('[data-layer="' + pair[0] + '"]');
      if (block) { block.style.display = on ? '' : 'none'; }
      if (on) { shown += 1; }
    });
    box.style.display = shown ? '' : 'none';
  }
  map.on('overlayadd overlayremove layeradd layerremove', sync);
  sync();
})"""
"""Shows each legend block of `#cmrisk-legend` while its layer is on the map."""


class OverlayLegends(MacroElement):
    """Binds the legend blocks (`data-layer` ids) to the map layers they explain."""

    _template = Template(
        "{% macro script(this, kwargs) %}" + LEGENDS_JS
        + "({{ this._parent.get_name() }}, [{% for id, layer in this.bound %}"
          "[{{ id|tojson }}, {{ layer.get_name() }}]{{ ', ' if not loop.last }}"
          "{% endfor %}]);\n{% endmacro %}")

    def __init__(self, bound: list[tuple[str, MacroElement]]) -> None:
        """Args:
            bound: (legend block id, folium layer) pairs.
        """
        super().__init__()
        self._name = "OverlayLegends"
        self.bound = bound


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
