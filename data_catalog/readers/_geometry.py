"""Geometry helpers for the vector readers: geodesic circles, the antimeridian, equal areas."""

from __future__ import annotations

import math

import numpy as np
import shapely
from pyproj import Geod
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

WGS84 = Geod(ellps="WGS84")

EQUAL_AREA_CRS = "EPSG:6933"
"""World Cylindrical Equal Area (metres): used for overlap ratios between polygons."""


def geodesic_circle(lon: float, lat: float, area_km2: float, *, segments: int = 64) -> BaseGeometry:
    """A geodesic circle around (lon, lat) whose area is about `area_km2`.

    The radius is sqrt(area / π) km, measured along the ellipsoid (WGS 84) in `segments`
    directions. A circle that crosses the antimeridian is split into two parts at ±180°; one
    near a pole is clipped at ±90° latitude.

    Args:
        lon: Centre longitude in degrees east.
        lat: Centre latitude in degrees north.
        area_km2: Area in km² (> 0).
        segments: Number of vertices on the ring.

    Returns:
        A Polygon, or a MultiPolygon when split at the antimeridian.
    """
    # The ring is an inscribed polygon: widen the radius so the polygon, not the circle,
    # has the requested area.
    inscribed = (segments / 2.0) * math.sin(2.0 * math.pi / segments) / math.pi
    radius_m = math.sqrt(area_km2 / math.pi / inscribed) * 1000.0
    azimuths = np.linspace(0.0, 360.0, segments, endpoint=False)
    lons, lats, _ = WGS84.fwd(
        np.full(segments, lon), np.full(segments, lat), azimuths, np.full(segments, radius_m)
    )
    # Unwrap longitudes relative to the centre so the ring stays continuous across ±180°.
    lons = lon + (np.asarray(lons) - lon + 180.0) % 360.0 - 180.0
    lats = np.clip(np.asarray(lats), -90.0, 90.0)
    ring = Polygon(zip(lons, lats, strict=True))
    return wrap_longitudes(ring)


def wrap_longitudes(geom: BaseGeometry) -> BaseGeometry:
    """Cut a geometry drawn with continuous longitudes (beyond ±180°) back into [-180, 180].

    Parts east of 180° are moved 360° west and parts west of -180° 360° east.
    """
    minx, _, maxx, _ = geom.bounds
    if minx >= -180.0 and maxx <= 180.0:
        return geom
    pieces: list[BaseGeometry] = []
    for shift in (-360.0, 0.0, 360.0):
        window = box(-180.0 - shift, -90.0, 180.0 - shift, 90.0)
        part = geom.intersection(window)
        if not part.is_empty:
            pieces.append(affinity.translate(part, xoff=shift))
    return _as_polygonal(shapely.union_all(pieces))


def crosses_antimeridian(poly: Polygon) -> bool:
    """True when a ring of `poly` jumps by more than 180° of longitude between two vertices.

    That is how a polygon drawn across the antimeridian without being split looks in
    lon/lat: read as is it would wrap the other way round the world.
    """
    rings = [poly.exterior, *poly.interiors]
    for ring in rings:
        xy = np.asarray(ring.coords)
        if len(xy) < 2:
            continue
        x0, x1 = xy[:-1, 0], xy[1:, 0]
        y0, y1 = xy[:-1, 1], xy[1:, 1]
        jump = np.abs(x1 - x0) > 180.0
        # Edges along the ±180° seam or along a pole (Antarctica's outline) are not crossings.
        seam = (np.abs(x0) == 180.0) & (np.abs(x1) == 180.0)
        polar = (np.abs(y0) >= 89.99) & (np.abs(y1) >= 89.99)
        if np.any(jump & ~seam & ~polar):
            return True
    return False


def _unwrap_ring(coords: np.ndarray, reference: float | None = None) -> np.ndarray:
    xs = coords[:, 0].copy()
    xs = np.concatenate([[xs[0]], xs[0] + np.cumsum((np.diff(xs) + 180.0) % 360.0 - 180.0)])
    if reference is not None:
        # Move a hole next to its shell: by whole turns towards the reference longitude.
        xs += 360.0 * np.round((reference - xs.mean()) / 360.0)
    out = coords.copy()
    out[:, 0] = xs
    return out


def split_antimeridian(poly: Polygon) -> BaseGeometry:
    """Split a polygon that crosses the antimeridian into parts east and west of it.

    The rings are unwrapped (longitudes made continuous), then cut at ±180° by
    `wrap_longitudes`.
    """
    shell = _unwrap_ring(np.asarray(poly.exterior.coords))
    ref = float(shell[:, 0].mean())
    holes = [_unwrap_ring(np.asarray(r.coords), ref) for r in poly.interiors]
    unwrapped = Polygon(shell, holes)
    if not unwrapped.is_valid:
        unwrapped = _as_polygonal(shapely.make_valid(unwrapped))
    return wrap_longitudes(unwrapped)


def _as_polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygonal parts of a geometry (make_valid may add lines or points)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    polys: list[Polygon] = []
    for p in parts:
        polys.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
    if not polys:
        return Polygon()
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """A Polygon or MultiPolygon as a MultiPolygon (one geometry type per column)."""
    geom = _as_polygonal(geom)
    if isinstance(geom, MultiPolygon):
        return geom
    return MultiPolygon([geom]) if not geom.is_empty else MultiPolygon()


def make_valid_polygonal(geom: BaseGeometry) -> BaseGeometry:
    """`shapely.make_valid`, keeping only the polygonal parts."""
    return _as_polygonal(shapely.make_valid(geom))


def point_parts(geom: BaseGeometry) -> list[Point]:
    """The points of a Point or MultiPoint geometry."""
    if isinstance(geom, Point):
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, Point)]
