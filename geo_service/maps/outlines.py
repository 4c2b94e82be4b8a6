"""Area outlines as the planning map embeds them: no finer than a screen pixel at the zoom an
analyst reads them at, so a region's admin units stay within the map's vertex budget
(`geo_service.maps.budget`) whatever the boundary file they were ingested from."""

from __future__ import annotations

import math

import geopandas as gpd

OUTLINE_ZOOM = 11
"""Deepest zoom outlines are drawn for (a district fills the screen around zoom 10): a vertex
that moves an outline by less than one pixel there is dropped."""
EARTH_CIRCUMFERENCE_M = 40_075_016.686
"""Equatorial circumference of the WGS 84 ellipsoid, metres (Web Mercator's scale)."""
TILE_PIXELS = 256
"""Pixels across a Web Mercator tile."""
COORDINATE_GRID = 1e-5
"""Degrees the simplified coordinates are rounded to (about 1 m)."""


def metres_per_pixel(zoom: float, lat: float) -> float:
    """Ground size of one screen pixel of a Web Mercator map at `zoom` and latitude `lat`
    (degrees), metres: the equator's circumference × cos(lat) / (256 × 2^zoom)."""
    return EARTH_CIRCUMFERENCE_M * math.cos(math.radians(lat)) / (TILE_PIXELS * 2 ** zoom)


def outline_tolerance_m(frame: gpd.GeoDataFrame, zoom: float = OUTLINE_ZOOM) -> float:
    """The simplification tolerance of a layer's outlines, metres: one pixel at `zoom` at the
    latitude of the layer's centre (a pixel's ground size shrinks towards the poles)."""
    south, north = frame.to_crs("EPSG:4326").total_bounds[[1, 3]]
    return metres_per_pixel(zoom, (south + north) / 2)


def map_outlines(frame: gpd.GeoDataFrame, zoom: float = OUTLINE_ZOOM) -> gpd.GeoDataFrame:
    """The frame with its polygons simplified for the map, in EPSG:4326.

    Douglas–Peucker with `outline_tolerance_m` in the UTM zone of the frame's centre, topology
    preserved (no outline crosses itself or loses a part), then coordinates rounded to
    `COORDINATE_GRID`. Each outline is simplified on its own: an edge two units share may part
    by at most the tolerance (under a pixel at `zoom`).
    """
    if frame.empty:
        return frame.to_crs("EPSG:4326")
    metric = frame.to_crs(frame.to_crs("EPSG:4326").estimate_utm_crs())
    tolerance = outline_tolerance_m(frame, zoom)
    simple = metric.geometry.simplify(tolerance, preserve_topology=True)
    out = frame.to_crs("EPSG:4326").copy()
    out["geometry"] = simple.to_crs("EPSG:4326").set_precision(COORDINATE_GRID).values
    return out
