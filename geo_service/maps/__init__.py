"""The planning map: one package.

- `builder`: the page (`risk_map`), layers placed by their map role;
- `cards`: score cards, tooltips, names of places;
- `search`: the search index and accent-free matching (also `/areas?q=`);
- `widgets`: the Folium elements that call `static/cmrisk-map.js`;
- `embed`: the single-file map (`cmrisk map --embed`);
- `extract`: a map drawn by the service itself (PNG export, area briefs);
- `static/`: the map's JavaScript and CSS (package files, linted).
"""

from geo_service.maps.builder import (
    EmbeddedTiles,
    NothingToMap,
    map_extent,
    native_zooms,
    page_html,
    region_title,
    risk_map,
)

__all__ = ["EmbeddedTiles", "NothingToMap", "map_extent", "native_zooms", "page_html",
           "region_title", "risk_map"]
