/*
 * cmrisk planning map: our own small Leaflet controls and widgets (no plugin from a CDN).
 *
 * Loaded from /static/cmrisk/cmrisk-map.js (or inlined in the single-file map). The page calls
 * these functions with its data; every word a person reads comes from the page (`text`), in
 * the reader's language, and numbers come formatted or with the locale's separators.
 */
(function (global) {
  'use strict';

  var cmrisk = {};
  var ICONS = {
    png: '<svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">' +
      '<path d="M10 2v10m-4-4 4 4 4-4M3 15v3h14v-3" fill="none" stroke="currentColor" ' +
      'stroke-width="2"/></svg>',
    print: '<svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">' +
      '<path d="M5 8V2h10v6M5 15H2V8h16v7h-3M5 12h10v6H5z" fill="none" ' +
      'stroke="currentColor" stroke-width="1.6"/></svg>'
  };

  /** `value` as HTML text (no markup survives). */
  function esc(value) {
    var span = document.createElement('span');
    span.textContent = String(value);
    return span.innerHTML;
  }
  cmrisk.esc = esc;

  /** A number with `digits` decimals and the locale's separators ({decimal, group}). */
  function formatNumber(value, digits, symbols) {
    if (value === null || value === undefined || isNaN(value)) { return '\u2013'; }
    var fixed = Math.abs(value).toFixed(digits).split('.');
    var whole = fixed[0].replace(/\B(?=(\d{3})+(?!\d))/g, symbols.group);
    return (value < 0 ? '-' : '') + whole + (fixed.length > 1 ? symbols.decimal + fixed[1] : '');
  }
  cmrisk.formatNumber = formatNumber;

  /** Text without accents, in lower case: what search compares ("Darién" finds "darien"). */
  function fold(text) {
    return String(text).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  }
  cmrisk.fold = fold;

  function button(cls, title, label, onClick) {
    var bar = L.DomUtil.create('div', 'leaflet-bar leaflet-control');
    var link = L.DomUtil.create('a', cls, bar);
    link.href = '#';
    link.title = title;
    link.setAttribute('role', 'button');
    link.setAttribute('aria-label', title);
    link.textContent = label;
    L.DomEvent.disableClickPropagation(bar);
    L.DomEvent.on(link, 'click', function (e) { L.DomEvent.preventDefault(e); onClick(link); });
    return bar;
  }

  /**
   * Leaflet's zoom buttons with titles in the reader's language, a metric scale bar, and no
   * "Leaflet" prefix in the attribution.
   */
  cmrisk.zoom = function (map, opts) {
    L.control.zoom({position: 'topleft', zoomInTitle: opts.text.zoom_in,
                    zoomOutTitle: opts.text.zoom_out}).addTo(map);
    L.control.scale({position: 'bottomleft', imperial: false}).addTo(map);
    if (map.attributionControl) { map.attributionControl.setPrefix(false); }
  };

  /**
   * Full screen, distance measuring, mouse coordinates, Escape to close popups and panels,
   * and the layer panel collapsed where the screen is small.
   */
  cmrisk.controls = function (map, opts) {
    var text = opts.text;
    // The map starts below the header, whatever height its wrapped lines take.
    var header = document.querySelector('.cmrisk-header');
    function place() {
      if (header) {
        document.documentElement.style.setProperty('--cmrisk-header',
                                                   header.offsetHeight + 'px');
      }
      map.invalidateSize();
    }
    place();
    window.addEventListener('resize', place);
    var Coords = L.Control.extend({
      options: {position: 'bottomleft'},
      onAdd: function () {
        var box = L.DomUtil.create('div', 'leaflet-control cmrisk-coords');
        box.textContent = text.coords;
        map.on('mousemove', function (e) {
          box.textContent = formatNumber(e.latlng.lat, 4, opts.symbols) + ' ; ' +
            formatNumber(e.latlng.lng, 4, opts.symbols);
        });
        return box;
      }
    });
    var Fullscreen = L.Control.extend({
      options: {position: 'topleft'},
      onAdd: function () {
        return button('cmrisk-fullscreen', text.fullscreen, '\u2922', function () {
          var box = document.documentElement;
          if (document.fullscreenElement) { document.exitFullscreen(); }
          else if (box.requestFullscreen) { box.requestFullscreen(); }
        });
      }
    });
    document.addEventListener('fullscreenchange', function () { map.invalidateSize(); });
    var Measure = L.Control.extend({
      options: {position: 'topleft'},
      onAdd: function () {
        var line = null;
        var output = L.DomUtil.create('div', 'cmrisk-measure-result');
        function add(e) {
          line.addLatLng(e.latlng);
          var points = line.getLatLngs(), metres = 0;
          for (var i = 1; i < points.length; i++) {
            metres += map.distance(points[i - 1], points[i]);
          }
          output.textContent = formatNumber(metres / 1000, 2, opts.symbols) + ' km';
        }
        var bar = button('cmrisk-measure', text.measure, '\u2194', function (link) {
          if (line) {
            map.off('click', add);
            map.removeLayer(line);
            line = null;
            output.textContent = '';
            L.DomUtil.removeClass(link, 'cmrisk-active');
            map.getContainer().style.cursor = '';
          } else {
            line = L.polyline([], {color: '#e8590c', dashArray: '4 4', interactive: false});
            line.addTo(map);
            map.on('click', add);
            L.DomUtil.addClass(link, 'cmrisk-active');
            output.textContent = formatNumber(0, 2, opts.symbols) + ' km';
            map.getContainer().style.cursor = 'crosshair';
          }
        });
        bar.appendChild(output);
        return bar;
      }
    });
    new Fullscreen().addTo(map);
    new Measure().addTo(map);
    new Coords().addTo(map);
    document.addEventListener('keydown', function (e) {
      if (e.key !== 'Escape') { return; }
      map.closePopup();
      var panels = document.querySelectorAll('.cmrisk-closable');
      Array.prototype.forEach.call(panels, function (box) { box.hidden = true; });
    });
    map.on('popupopen', function (e) {
      // A card is no taller than the room between the buttons above and the controls below
      // (it scrolls inside), and the map pans so that no control covers it; on a phone it is
      // also as wide as the screen beside the buttons allows.
      if (!e.popup.cmriskFitted) {
        e.popup.cmriskFitted = true;
        // Beside a phone's full-width card every bottom control counts; elsewhere only those
        // under the card (a card between the slider and the legend keeps its full height).
        var card = e.popup.getElement().getBoundingClientRect();
        var below = bottomControlsHeight(map, window.innerWidth < 600 ? null
          : [card.left, card.right]);
        if (window.innerWidth < 600) {
          e.popup.options.maxWidth = window.innerWidth - 110;
          e.popup.options.minWidth = 0;
        }
        e.popup.options.maxHeight = Math.max(120, map.getSize().y - 62 - below - 40);
        e.popup.options.autoPanPaddingTopLeft = L.point(56, 62);
        e.popup.options.autoPanPaddingBottomRight = L.point(10, below + 10);
        e.popup.update();
      }
      // A popup's close button is its first focus stop, so Escape and Tab work at once.
      var close = e.popup.getElement().querySelector('.leaflet-popup-close-button');
      if (close) {
        close.setAttribute('aria-label', text.close);
        close.title = text.close;
      }
    });
  };

  /**
   * How far the controls in the map's bottom corners reach up from its bottom edge (px):
   * all of them, or those within the horizontal `span` [left, right] (page px).
   */
  function bottomControlsHeight(map, span) {
    var bottom = map.getContainer().getBoundingClientRect().bottom;
    var reach = 0;
    var corners = map.getContainer().querySelectorAll('.leaflet-bottom .leaflet-control');
    Array.prototype.forEach.call(corners, function (control) {
      var box = control.getBoundingClientRect();
      var under = !span || (box.left < span[1] && box.right > span[0]);
      if (box.height > 0 && under) { reach = Math.max(reach, bottom - box.top); }
    });
    return reach;
  }

  /**
   * Fold the layer panel on small screens (it opens on a click) and keep it within the map.
   */
  cmrisk.layout = function (map, layerControl, opts) {
    var container = layerControl.getContainer();
    container.setAttribute('aria-label', opts.text.layers);
    var toggle = container.querySelector('.leaflet-control-layers-toggle');
    if (toggle) {
      toggle.title = opts.text.layers;
      toggle.setAttribute('aria-label', opts.text.layers);
      toggle.setAttribute('role', 'button');
    }
    function fit() {
      var wide = window.innerWidth >= 1200 && window.innerHeight >= 700;
      if (wide) { layerControl.expand(); } else { layerControl.collapse(); }
      var list = container.querySelector('.leaflet-control-layers-list');
      if (list) { list.style.maxHeight = Math.max(120, map.getSize().y - 180) + 'px'; }
    }
    fit();
    window.addEventListener('resize', fit);
    // Leaflet expands the panel on hover or focus; a click outside folds it on small screens.
    map.on('click', function () {
      if (window.innerWidth < 1200 || window.innerHeight < 700) { layerControl.collapse(); }
    });
  };

  /** Each legend block of `#cmrisk-legend` is shown while its layer is on the map. */
  cmrisk.legends = function (map, bound) {
    var box = document.getElementById('cmrisk-legend');
    var details = box.querySelector('details');
    // In the bottom-right corner, above the attribution: Leaflet stacks a corner's controls,
    // so legend, attribution and scale never cover each other.
    var Legend = L.Control.extend({
      options: {position: 'bottomright'},
      onAdd: function () {
        L.DomUtil.addClass(box, 'leaflet-control');
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    new Legend().addTo(map);
    if (details && (window.innerWidth < 700 || window.innerHeight < 560)) {
      details.open = false;
    }
    global.addEventListener('beforeprint', function () { if (details) { details.open = true; } });
    // The legend grows upwards from its corner: it stops (and scrolls) short of the layer
    // panel above it when that panel is open beside it.
    function belowPanel() {
      box.style.maxHeight = '';
      var layers = map.getContainer().querySelector('.leaflet-control-layers-expanded');
      if (!layers) { return; }
      var top = layers.getBoundingClientRect(), own = box.getBoundingClientRect();
      if (top.left >= own.right || own.left >= top.right) { return; }
      var room = own.bottom - top.bottom - 10;
      if (own.top < top.bottom + 10) { box.style.maxHeight = Math.max(60, room) + 'px'; }
    }
    function sync() {
      var shown = 0;
      bound.forEach(function (pair) {
        var on = map.hasLayer(pair[1]);
        var block = box.querySelector('[data-layer="' + pair[0] + '"]');
        if (block) { block.style.display = on ? '' : 'none'; }
        if (on) { shown += 1; }
      });
      box.style.display = shown ? '' : 'none';
      belowPanel();
    }
    map.on('overlayadd overlayremove layeradd layerremove resize', sync);
    if (details) { details.addEventListener('toggle', belowPanel); }
    sync();
  };

  /**
   * Monthly counts per place: circles sized by the month's count, and a slider over months.
   * data: {months: [...], labels: [...], points: [{id, name, lat, lon, totals, group}],
   *        groups: [{id, label, monthly, yearly}]}: each group (e.g. a direction) is summed
   * apart, for the month shown and for its year, never added to another.
   */
  cmrisk.slider = function (map, group, data, text) {
    var max = 1;
    data.points.forEach(function (p) {
      p.totals.forEach(function (v) { if (v !== null && v > max) { max = v; } });
    });
    var note = text.note ? ' \u00b7 ' + text.note : '';
    var markers = data.points.map(function (p) {
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: 3, color: '#5f3dc4', weight: 1, fillColor: '#7950f2', fillOpacity: 0.6,
        className: 'cmrisk-crossing'});
      marker.bindTooltip(esc(p.name + note));
      group.addLayer(marker);
      return marker;
    });
    var label = null, sum = null, year = null, input = null;
    function people(value) {
      return formatNumber(value, 0, text.symbols) + ' ' + text.people;
    }
    function sums(values) {
      // "Northbound: 1,234 people · Southbound (return): 56 people" (a group per line part).
      return data.groups.map(function (g, k) {
        var value = values[k] === null || values[k] === undefined ? text.withheld
          : people(values[k]);
        return (g.label ? g.label + ': ' : '') + value;
      }).join(' \u00b7 ');
    }
    function show(i) {
      var month = data.labels[i], calendar = data.months[i].slice(0, 4);
      markers.forEach(function (marker, k) {
        var p = data.points[k], value = p.totals[i];
        var place = p.name + (p.group && data.groups.length > 1 ? ' (' + groupLabel(p.group) + ')'
          : '');
        if (value === null) {
          marker.setRadius(3);
          marker.setStyle({fillOpacity: 0.1, dashArray: '2 2'});
          marker.setTooltipContent(esc(place + ' \u00b7 ' + month + ': ' + text.withheld + note));
        } else {
          marker.setRadius(3 + 25 * Math.sqrt(value / max));
          marker.setStyle({fillOpacity: 0.6, dashArray: null});
          marker.setTooltipContent(esc(place + ' \u00b7 ' + month + ': ' + people(value) + note));
        }
      });
      label.textContent = month;
      label.setAttribute('data-month', data.months[i]);
      sum.textContent = sums(data.groups.map(function (g) { return g.monthly[i]; }));
      year.textContent = text.year.replace('{year}', calendar) + ': ' + sums(
        data.groups.map(function (g) { return g.yearly[calendar]; }));
      year.setAttribute('data-year', calendar);
      data.groups.forEach(function (g) {
        year.setAttribute('data-' + (g.id || 'all'), String(g.yearly[calendar] || 0));
      });
      input.setAttribute('aria-valuetext', month);
    }
    function groupLabel(id) {
      var found = data.groups.filter(function (g) { return g.id === id; })[0];
      return found ? found.label : id;
    }
    var Slider = L.Control.extend({
      options: {position: 'bottomleft'},
      onAdd: function () {
        var box = L.DomUtil.create('div', 'leaflet-control cmrisk-slider');
        var title = L.DomUtil.create('div', '', box);
        title.textContent = text.title + ' ';
        label = L.DomUtil.create('b', 'cmrisk-month', title);
        input = L.DomUtil.create('input', 'cmrisk-month-slider', box);
        input.type = 'range';
        input.min = 0;
        input.max = data.months.length - 1;
        input.step = 1;
        input.value = data.months.length - 1;
        input.setAttribute('aria-label', text.title);
        sum = L.DomUtil.create('div', 'cmrisk-month-total', box);
        year = L.DomUtil.create('div', 'cmrisk-year-total', box);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        L.DomEvent.on(input, 'input change', function () { show(parseInt(input.value, 10)); });
        return box;
      }
    });
    new Slider().addTo(map);
    show(data.months.length - 1);
  };

  /** The analysis panel: one box over the map, closed by its button or Escape. */
  function panel(map) {
    var box = document.getElementById('cmrisk-analysis');
    if (!box) {
      box = L.DomUtil.create('div', 'cmrisk-analysis cmrisk-closable',
                             map.getContainer().parentNode);
      box.id = 'cmrisk-analysis';
      box.setAttribute('role', 'dialog');
      box.hidden = true;
    }
    return box;
  }

  function showPanel(box, html, closeText) {
    box.innerHTML = '<button type="button" class="cmrisk-analysis-close" title="' +
      esc(closeText) + '" aria-label="' + esc(closeText) + '">\u00d7</button>' + html;
    box.hidden = false;
    box.querySelector('.cmrisk-analysis-close').onclick = function () { box.hidden = true; };
  }

  /**
   * The polygon tool: click the button, click the corners, click the button again; the
   * polygon goes to POST /analysis and the panel shows mean, max and class shares. Without a
   * service (opts.url null) the button only explains why it is off.
   */
  cmrisk.draw = function (map, opts) {
    var text = opts.text;
    var box = panel(map);
    function fmt(value) { return formatNumber(value, 2, opts.symbols); }
    function render(body) {
      var rows = opts.layers.map(function (layer) {
        var stats = (body.layers || {})[layer.id];
        if (!stats) { return ''; }
        var bar = '', shares = [];
        Object.keys(stats.class_shares || {}).forEach(function (name) {
          var share = stats.class_shares[name];
          bar += '<span class="cmrisk-share" style="width:' + (share * 200).toFixed(1) +
            'px;background:' + (opts.colors[name] || '#adb5bd') + '"></span>';
          if (share > 0) {
            shares.push(esc(opts.labels[name] || name) + ' ' +
                        (share < 0.005 ? '<1' : Math.round(share * 100)) + '%');
          }
        });
        return '<div class="cmrisk-analysis-layer" data-layer="' + esc(layer.id) + '"><b>' +
          esc(layer.title) + '</b><br>' + esc(text.mean) + ': <span class="cmrisk-mean">' +
          fmt(stats.mean) + '</span> \u00b7 ' + esc(text.max) + ': <span class="cmrisk-max">' +
          fmt(stats.max) + '</span><div>' + bar + '</div><div class="cmrisk-shares">' +
          shares.join(' \u00b7 ') + '</div></div>';
      }).join('');
      showPanel(box, '<strong>' + esc(text.result) + '</strong><br>' + esc(text.area) + ': ' +
                '<span class="cmrisk-area">' + formatNumber(body.area_km2, 1, opts.symbols) +
                '</span>' + rows, text.close);
    }
    function analyse(latlngs) {
      var ring = latlngs.map(function (p) { return [p.lng, p.lat]; });
      ring.push(ring[0]);
      showPanel(box, '<em class="cmrisk-analysis-busy">' + esc(text.busy) + '</em>',
                text.close);
      fetch(opts.url, {
        method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({geometry: {type: 'Polygon', coordinates: [ring]},
                              layers: opts.layers.map(function (l) { return l.id; })})
      }).then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      }).then(function (answer) {
        if (answer.ok) { render(answer.body); return; }
        showPanel(box, '<span class="cmrisk-analysis-error">' + esc(text.failed) + '</span>',
                  text.close);
      }).catch(function () {
        showPanel(box, '<span class="cmrisk-analysis-error">' + esc(text.failed) + '</span>',
                  text.close);
      });
    }
    var Draw = L.Control.extend({
      options: {position: 'topleft'},
      onAdd: function () {
        var bar = L.DomUtil.create('div', 'leaflet-bar leaflet-control');
        var link = L.DomUtil.create('a', 'cmrisk-draw', bar);
        link.href = '#';
        link.setAttribute('role', 'button');
        link.textContent = '\u2b20';
        L.DomEvent.disableClickPropagation(bar);
        if (!opts.url) {
          link.title = text.disabled;
          link.setAttribute('aria-label', text.disabled);
          L.DomUtil.addClass(link, 'cmrisk-disabled');
          L.DomEvent.on(link, 'click', function (e) {
            L.DomEvent.preventDefault(e);
            showPanel(box, '<span class="cmrisk-draw-disabled">' + esc(text.disabled) +
                      '</span>', text.close);
          });
          return bar;
        }
        link.title = text.draw;
        link.setAttribute('aria-label', text.draw);
        var shape = null, container = map.getContainer();
        // Corners are taken in the capture phase, so clicks on areas (whose popups would
        // swallow the map's click) add corners too and open no popup while drawing.
        function add(e) {
          if (e.target.closest && e.target.closest('.leaflet-control')) { return; }
          if (map.dragging && map.dragging.moved()) { return; }
          e.stopPropagation();
          shape.addLatLng(map.mouseEventToLatLng(e));
        }
        function stop() {
          container.removeEventListener('click', add, true);
          map.doubleClickZoom.enable();
          container.style.cursor = '';
          L.DomUtil.removeClass(link, 'cmrisk-active');
          link.textContent = '\u2b20';
          link.title = text.draw;
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
              map.removeLayer(shape);
              shape = null;
            }
            return;
          }
          if (shape) { map.removeLayer(shape); }
          shape = L.polygon([], {color: '#5f3dc4', weight: 2, dashArray: '4 4',
                                 interactive: false}).addTo(map);
          map.closePopup();
          container.addEventListener('click', add, true);
          map.doubleClickZoom.disable();
          container.style.cursor = 'crosshair';
          L.DomUtil.addClass(link, 'cmrisk-active');
          link.textContent = '\u2713';
          link.title = text.finish;
        });
        return bar;
      }
    });
    new Draw().addTo(map);
  };

  /**
   * Export the current view as a PNG (drawn by the service from the run's own layers), or
   * print it (the page's print style shows title, legend, scale and attribution).
   */
  cmrisk.exporter = function (map, opts) {
    var text = opts.text;
    var box = panel(map);
    var Export = L.Control.extend({
      options: {position: 'topleft'},
      onAdd: function () {
        var bar = L.DomUtil.create('div', 'leaflet-bar leaflet-control');
        var png = L.DomUtil.create('a', 'cmrisk-export', bar);
        png.setAttribute('role', 'button');
        png.innerHTML = ICONS.png;
        if (opts.url) {
          png.title = text.png;
          png.setAttribute('aria-label', text.png);
          png.setAttribute('download', opts.filename);
          L.DomEvent.on(png, 'click', function () {
            var b = map.getBounds(), size = map.getSize();
            png.href = opts.url + '?bbox=' + [b.getWest(), b.getSouth(), b.getEast(),
                                             b.getNorth()].map(function (v) {
              return v.toFixed(5);
            }).join(',') + '&width=' + size.x + '&height=' + size.y + '&lang=' + opts.lang;
          });
        } else {
          png.href = '#';
          png.title = text.png_disabled;
          png.setAttribute('aria-label', text.png_disabled);
          L.DomUtil.addClass(png, 'cmrisk-disabled');
          L.DomEvent.on(png, 'click', function (e) {
            L.DomEvent.preventDefault(e);
            showPanel(box, '<span>' + esc(text.png_disabled) + '</span>', text.close);
          });
        }
        var print = L.DomUtil.create('a', 'cmrisk-print', bar);
        print.href = '#';
        print.setAttribute('role', 'button');
        print.title = text.print;
        print.setAttribute('aria-label', text.print);
        print.innerHTML = ICONS.print;
        L.DomEvent.on(print, 'click', function (e) {
          L.DomEvent.preventDefault(e);
          global.print();
        });
        L.DomEvent.disableClickPropagation(bar);
        return bar;
      }
    });
    new Export().addTo(map);
  };

  /**
   * Search over the names of areas, admin units and places, without regard to accents or
   * case. areas: area id → its outline layer (whose card opens); index: [{name, kind,
   * keys, bounds: [s, w, n, e] | point: [lat, lon], area}].
   */
  cmrisk.search = function (map, areas, index, text) {
    var form = document.getElementById('cmrisk-search');
    if (!form) { return; }
    var input = form.querySelector('input');
    var list = form.querySelector('ul');
    var chosen = -1, found = [];
    function go(item) {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.value = item.name;
      // Without animation: the card opens on the view it belongs to, at once.
      if (item.bounds) {
        map.fitBounds([[item.bounds[0], item.bounds[1]], [item.bounds[2], item.bounds[3]]],
                      {maxZoom: 12, animate: false});
      } else {
        map.setView(item.point, Math.max(map.getZoom(), 11), {animate: false});
      }
      var layer = item.area ? areas[item.area] : null;
      if (layer) {
        var target = item.bounds ? L.latLng(item.anchor[0], item.anchor[1]) : null;
        if (!map.hasLayer(layer)) { map.addLayer(layer); }
        layer.openPopup(target);
      }
    }
    function render() {
      list.innerHTML = '';
      found.forEach(function (item, i) {
        var li = document.createElement('li');
        li.id = 'cmrisk-search-' + i;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', i === chosen ? 'true' : 'false');
        li.className = 'cmrisk-search-result' + (i === chosen ? ' cmrisk-chosen' : '');
        var name = document.createElement('span');
        name.textContent = item.name;
        var kind = document.createElement('small');
        kind.textContent = ' ' + item.kind;
        li.appendChild(name);
        li.appendChild(kind);
        li.addEventListener('mousedown', function (e) { e.preventDefault(); go(item); });
        list.appendChild(li);
      });
      if (!found.length && input.value.trim()) {
        var none = document.createElement('li');
        none.className = 'cmrisk-search-none';
        none.textContent = text.none;
        list.appendChild(none);
      }
      list.hidden = !input.value.trim();
      input.setAttribute('aria-expanded', list.hidden ? 'false' : 'true');
      if (chosen >= 0) { input.setAttribute('aria-activedescendant', 'cmrisk-search-' + chosen); }
    }
    input.addEventListener('input', function () {
      var query = fold(input.value.trim());
      chosen = -1;
      found = !query ? [] : index.filter(function (item) {
        return item.keys.indexOf(query) >= 0;
      }).slice(0, 8);
      render();
    });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowDown' && found.length) {
        chosen = (chosen + 1) % found.length;
        render();
        e.preventDefault();
      } else if (e.key === 'ArrowUp' && found.length) {
        chosen = (chosen + found.length - 1) % found.length;
        render();
        e.preventDefault();
      } else if (e.key === 'Escape') {
        list.hidden = true;
        input.setAttribute('aria-expanded', 'false');
      }
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (found.length) { go(found[Math.max(chosen, 0)]); }
    });
    input.addEventListener('blur', function () { list.hidden = true; });
  };

  /**
   * Names of areas on the map once an area is large enough on screen to carry one.
   * labels: [{name, lat, lon, bounds: [s, w, n, e]}]; minPixels: the width it needs.
   */
  cmrisk.labels = function (map, group, labels, minPixels) {
    var markers = labels.map(function (item) {
      var marker = L.marker([item.lat, item.lon], {
        interactive: false, keyboard: false,
        icon: L.divIcon({className: 'cmrisk-area-label', html: esc(item.name),
                         iconSize: null})});
      return {item: item, marker: marker};
    });
    function update() {
      markers.forEach(function (entry) {
        var b = entry.item.bounds;
        var west = map.latLngToContainerPoint([b[0], b[1]]);
        var east = map.latLngToContainerPoint([b[2], b[3]]);
        var wide = Math.abs(east.x - west.x) >= minPixels;
        if (wide && !group.hasLayer(entry.marker)) { group.addLayer(entry.marker); }
        if (!wide && group.hasLayer(entry.marker)) { group.removeLayer(entry.marker); }
      });
    }
    map.on('zoomend', update);
    update();
  };

  global.cmrisk = cmrisk;
}(window));
