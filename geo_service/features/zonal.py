"""Zonal statistics of any area over the run's layers (`POST /analysis`, `GET /areas/{id}`).

Raster layers are read from their COGs in the window that covers the area only, and reduced
with the pipeline's own functions (`pipelines.areas`: exact cell coverage from exactextract,
coverage-weighted mean, quantile, maximum and class shares), so an area drawn by a user is
scored exactly as the stored areas are. Vector layers count the features the area intersects
and, for count layers, sum their people or events (the property each layer's metadata names;
for flow counts that is the disclosure-protected total).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.enums import Resampling
from rasterio.windows import Window, from_bounds

from geo_service.features.errors import AreaRejected, InvalidQuery
from geo_service.features.model import FeatureStore, Interval
from layers.models import Layer
from pipelines.areas import (
    CoverageTable,
    class_shares,
    coverage_table,
    geodesic_area_km2,
    weighted_max,
    weighted_quantile,
)
from pipelines.grid import Grid

GENERIC_COUNT_PROPERTIES = ("count", "total", "people", "value")
"""Properties summed for a count layer whose metadata names none (user layers), in order."""
SCORE_UNITS = "score 0-10"


@dataclass(frozen=True)
class AnalysisLimits:
    """What `/analysis` accepts, and how much of a raster one analysis reads.

    Attributes:
        max_area_km2: largest area, km² (geodesic).
        max_vertices: most vertices in the area's rings.
        max_body_bytes: largest request body, bytes.
        max_layers: most layers in one request.
        max_repair_vertices: most vertices of an invalid (e.g. self-intersecting) polygon
            that is repaired; a larger invalid one is refused (repair can be quadratic or worse
            in the vertex count).
        max_cells: most raster cells read per layer; a larger area is read from the raster's
            overviews (each level halves the resolution) so that the cost follows this
            number, not the area.
    """

    max_area_km2: float = 1_000_000.0
    max_vertices: int = 100_000
    max_body_bytes: int = 5 * 1024 * 1024
    max_layers: int = 40
    max_repair_vertices: int = 200
    max_cells: int = 1_000_000


@dataclass(frozen=True)
class Area:
    """A checked area: the geometry (CRS84), its geodesic area (km²) and vertex count."""

    geometry: shapely.Geometry
    area_km2: float
    vertices: int
    repaired: bool


INLINE_VALIDITY_VERTICES = 5_000
"""Up to this many vertices a polygon's validity is checked before the limited work: a
self-intersecting star of 5,000 vertices, the worst case seen, takes GEOS about 40 ms (one of
10^5 vertices takes seconds, so larger polygons are validated inside the limited work)."""


@dataclass(frozen=True)
class DrawnArea:
    """A polygon as drawn by a client, checked only by what costs little: parsing, vertex
    count, coordinate ranges, and validity up to `INLINE_VALIDITY_VERTICES` vertices. What
    `checked_area` then validates (when `valid` is None), repairs and measures."""

    geometry: shapely.Geometry
    vertices: int
    valid: bool | None = None


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def drawn_area(obj: Any, limits: AnalysisLimits, *, parameter: str = "geometry") -> DrawnArea:
    """A GeoJSON Polygon or MultiPolygon (or a Feature holding one), checked cheaply: every
    step here costs linear time in the vertex count, whatever the shape, but validity, which
    is checked only up to `INLINE_VALIDITY_VERTICES` vertices (GEOS takes seconds to
    validate some self-intersecting polygons of 10^5 vertices: `checked_area` does those
    inside the limited work).

    Raises:
        InvalidQuery: not such GeoJSON, coordinates outside lon/lat ranges, or empty.
        AreaRejected: over `limits.max_vertices` vertices, or invalid (checked here) and
            over `limits.max_repair_vertices`, or valid (checked here) and over
            `limits.max_area_km2`.
    """
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or obj.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidQuery("geometry must be a GeoJSON Polygon or MultiPolygon, or a Feature "
                           "with one", parameter=parameter)
    if not _rings_ok(obj["type"], obj.get("coordinates")):
        raise InvalidQuery("geometry coordinates must be closed linear rings of at least 4 "
                           "[longitude, latitude] positions (RFC 7946)", parameter=parameter)
    try:
        geometry = shapely.geometry.shape(obj)
    except Exception:  # shapely raises several types for malformed coordinates
        raise InvalidQuery("geometry coordinates are not a valid GeoJSON polygon",
                           parameter=parameter) from None
    if geometry.is_empty:
        raise InvalidQuery("geometry is empty", parameter=parameter)
    vertices = int(shapely.get_num_coordinates(geometry))
    if vertices > limits.max_vertices:
        raise AreaRejected(f"geometry has {vertices} vertices; the limit is "
                           f"{limits.max_vertices}", parameter=parameter)
    xy = shapely.get_coordinates(geometry)
    if not np.isfinite(xy).all() or (np.abs(xy[:, 0]) > 180).any() \
            or (np.abs(xy[:, 1]) > 90).any():
        raise InvalidQuery("geometry coordinates must be longitude, latitude in degrees "
                           "(CRS84)", parameter=parameter)
    if vertices <= INLINE_VALIDITY_VERTICES:
        valid: bool | None = bool(geometry.is_valid)
    else:
        valid = False if crossing_found(geometry) else None
    if valid is False:
        _refuse_unrepairable(vertices, limits, parameter)
    if valid is True:
        _measured(geometry, limits, parameter)  # refuse what is too large or empty now
    return DrawnArea(geometry, vertices, valid)


CROSSING_SAMPLES = 64
"""Edges of a large polygon tested for crossings before the work pool."""
CROSSING_TESTS = 200_000
"""Most edge pairs tested exactly in that search (its cost stays well under a second)."""


def crossing_found(geometry: shapely.Geometry, samples: int = CROSSING_SAMPLES,
                   tests: int = CROSSING_TESTS) -> bool:
    """Whether some of the polygon's edges provably cross another edge (so it is invalid),
    found by testing `samples` edges spread along its rings against the others, at most
    `tests` exact tests in all. False proves nothing: the full validity check follows, in
    the limited work. A polygon with many crossings, the kind GEOS takes seconds to
    validate, is found at its first sampled edge."""
    edges = []
    for ring in shapely.get_rings(shapely.get_parts(geometry)):
        xy = shapely.get_coordinates(ring)
        edges.append(np.stack([xy[:-1], xy[1:]], axis=1))
    lines = shapely.linestrings(np.concatenate(edges))
    tree = shapely.STRtree(lines)
    for edge in np.unique(np.linspace(0, len(lines) - 1, samples).astype("int64")):
        candidates = tree.query(lines[edge])
        for start in range(0, len(candidates), 256):
            if tests <= 0:
                return False
            chunk = candidates[start:start + 256]
            tests -= len(chunk)
            if shapely.crosses(lines[chunk], lines[edge]).any():
                return True
    return False


def _refuse_unrepairable(vertices: int, limits: AnalysisLimits, parameter: str) -> None:
    if vertices > limits.max_repair_vertices:
        raise AreaRejected(f"geometry is not a valid polygon (its rings cross or touch) and "
                           f"has {vertices} vertices; invalid polygons are repaired up "
                           f"to {limits.max_repair_vertices} vertices: send a valid one",
                           parameter=parameter)


def checked_area(drawn: DrawnArea, limits: AnalysisLimits, *,
                 parameter: str = "geometry") -> Area:
    """The drawn polygon validated, repaired when invalid (e.g. a bow tie; flagged), measured
    and held to the area limit. Validation and repair can take long (repair is quadratic or
    worse in the vertex count for a star polygon): run this inside the time- and
    memory-limited work (`geo_service.workpool`).

    Raises:
        AreaRejected: invalid (its rings cross or touch) and over
            `limits.max_repair_vertices` vertices, refused without repair; or over
            `limits.max_area_km2`.
        InvalidQuery: the polygon encloses no area.
    """
    geometry = drawn.geometry
    valid = bool(geometry.is_valid) if drawn.valid is None else drawn.valid
    if not valid:
        _refuse_unrepairable(drawn.vertices, limits, parameter)
        geometry = shapely.make_valid(geometry, method="structure", keep_collapsed=False)
    return Area(geometry, _measured(geometry, limits, parameter), drawn.vertices, not valid)


def _measured(geometry: shapely.Geometry, limits: AnalysisLimits, parameter: str) -> float:
    """The geodesic area of a valid geometry, km², held to the area limit."""
    area = float(geodesic_area_km2(gpd.GeoSeries([geometry], crs="EPSG:4326"))[0])
    if not area > 0:
        raise InvalidQuery("geometry encloses no area", parameter=parameter)
    if area > limits.max_area_km2:
        raise AreaRejected(f"the area is {area:,.0f} km²; the limit is "
                           f"{limits.max_area_km2:,.0f} km²", parameter=parameter)
    return area


def parse_area(obj: Any, limits: AnalysisLimits, *, parameter: str = "geometry") -> Area:
    """`drawn_area` then `checked_area` in one call (for callers without a time limit)."""
    return checked_area(drawn_area(obj, limits, parameter=parameter), limits,
                        parameter=parameter)


def stored_area(geometry: shapely.Geometry) -> Area:
    """An area the service itself stores (a scored area): no limits applied."""
    area = float(geodesic_area_km2(gpd.GeoSeries([geometry], crs="EPSG:4326"))[0])
    return Area(geometry, area, int(shapely.get_num_coordinates(geometry)), False)


def _rings_ok(kind: str, coordinates: Any) -> bool:
    """Whether GeoJSON Polygon/MultiPolygon coordinates are closed rings of ≥ 4 positions."""
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        return False
    for rings in polygons:
        if not isinstance(rings, list) or not rings:
            return False
        for ring in rings:
            if not isinstance(ring, list) or len(ring) < 4:
                return False
            for position in ring:
                if not isinstance(position, list) or len(position) not in (2, 3) or not all(
                        isinstance(v, int | float) and not isinstance(v, bool)
                        for v in position):
                    return False
            if ring[0][:2] != ring[-1][:2]:
                return False
    return True


@dataclass
class _Window:
    values: np.ndarray
    table: CoverageTable
    resolution: dict[str, Any]
    quiet: np.ndarray | None = None
    """Where no one on the move is exposed (bool per cell), for a run's class raster and the
    scores that are 0 there (their tag `not_exposed_mask` names the class raster)."""


def overview_factor(cells: int, max_cells: int) -> int:
    """The power of two by which to divide each side of a window of `cells` cells so that
    it holds at most `max_cells` (1: read at full resolution)."""
    factor = 1
    while cells > max_cells * factor * factor:
        factor *= 2
    return factor


def _read_window(layer: Layer, area: Area, cache: dict[tuple[Any, ...], CoverageTable],
                 max_cells: int) -> _Window | None:
    """The layer's values in the window around the area, and the area's cell coverage.

    A window of more than `max_cells` cells is read at a coarser resolution (GDAL takes the
    COG's overview of that level), so the cost follows `max_cells`, not the area.
    """
    with rasterio.open(layer.asset) as src:
        projected = gpd.GeoSeries([area.geometry], crs="EPSG:4326").to_crs(src.crs)
        west, south, east, north = projected.total_bounds
        window = from_bounds(west, south, east, north, src.transform)
        col0, row0 = math.floor(window.col_off) - 1, math.floor(window.row_off) - 1
        col1 = math.ceil(window.col_off + window.width) + 1
        row1 = math.ceil(window.row_off + window.height) + 1
        col0, row0 = max(col0, 0), max(row0, 0)
        col1, row1 = min(col1, src.width), min(row1, src.height)
        if col1 <= col0 or row1 <= row0:
            return None
        width, height = col1 - col0, row1 - row0
        factor = overview_factor(width * height, max_cells)
        out_width, out_height = math.ceil(width / factor), math.ceil(height / factor)
        band = src.read(1, window=Window(col0, row0, width, height), masked=True,
                        out_shape=(out_height, out_width), resampling=Resampling.nearest)
        values = band.astype("float64").filled(np.nan).ravel()
        tags = src.tags()
        quiet = None
        if "not_exposed_value" in tags:
            quiet = values == float(tags["not_exposed_value"])
        elif "not_exposed_mask" in tags and (layer.asset.parent / tags["not_exposed_mask"]
                                             ).is_file():
            with rasterio.open(layer.asset.parent / tags["not_exposed_mask"]) as mask:
                marked = mask.read(1, window=Window(col0, row0, width, height),
                                   out_shape=(out_height, out_width),
                                   resampling=Resampling.nearest)
                quiet = (marked == int(mask.tags().get("not_exposed_value", -1))).ravel()
        t = src.transform
        transform = Affine(t.a, t.b, t.c + t.a * col0 + t.b * row0,
                           t.d, t.e, t.f + t.d * col0 + t.e * row0) \
            @ Affine.scale(width / out_width, height / out_height)
        key = (src.crs.to_wkt(), tuple(transform), out_height, out_width)
        table = cache.get(key)
        if table is None:
            grid = Grid(src.crs, transform, out_height, out_width)
            table = coverage_table(
                gpd.GeoDataFrame(geometry=[area.geometry], crs="EPSG:4326"), grid)
            cache[key] = table
        units = "degree" if src.crs.is_geographic else (src.crs.linear_units or "unknown")
        resolution = {"x": _round(abs(transform.a), 9), "y": _round(abs(transform.e), 9),
                      "units": "metre" if units in ("metre", "meter", "m") else units,
                      "overview_factor": factor}
    return _Window(values, table, resolution, quiet)


def raster_stats(layer: Layer, area: Area, classes: Sequence[Mapping[str, Any]],
                 cache: dict[tuple[Any, ...], CoverageTable] | None = None,
                 max_cells: int = AnalysisLimits.max_cells) -> dict[str, Any]:
    """Coverage-weighted statistics of one raster layer over the area.

    Returns:
        `mean`, `min`, `max`, `p50`, `p90` (layer units), `data_share` (0–1 of the area's
        coverage on cells with data), `cells` (cells touched), `class_shares` (share of the
        scored surface per risk class, for scores and the class layer) and, for count
        layers, `total` (sum of value × covered fraction of each cell, layer units), and
        `resolution`: the cell size the statistics used (`x`, `y` in `units` of the layer's
        CRS) and its `overview_factor` (1 = full resolution; 2^k when the area was read
        from an overview to stay within `max_cells`).
    """
    window = _read_window(layer, area, {} if cache is None else cache, max_cells)
    empty: dict[str, Any] = {"mean": None, "min": None, "max": None, "p50": None,
                             "p90": None, "data_share": 0.0, "cells": 0}
    if window is None:
        return empty
    values, table = window.values, window.table
    touched = table.coverage > 0
    valid = touched & ~np.isnan(values[table.cell])
    covered = float(table.coverage[touched].sum())
    quiet = window.quiet
    if quiet is not None and layer.value_type == "class":
        values = np.where(quiet, np.nan, values)  # "not exposed" is no class value
    stats: dict[str, Any] = {
        "mean": _round(float(table.mean(values)[0])),
        "min": _round(-float(weighted_max(table, -values)[0])),
        "max": _round(float(weighted_max(table, values)[0])),
        "p50": _round(float(weighted_quantile(table, values, 0.5)[0])),
        "p90": _round(float(weighted_quantile(table, values, 0.9)[0])),
        "data_share": _round(float(table.coverage[valid].sum()) / covered if covered else 0.0),
        "cells": int(touched.sum()),
        "resolution": window.resolution,
    }
    if quiet is not None:
        # Cells where no one on the move is exposed: in no class (as the stored areas count).
        scored = float(table.coverage[valid].sum())
        stats["not_exposed_share"] = _round(
            float(table.coverage[valid & quiet[table.cell]].sum()) / scored if scored else 0.0)
    names = [str(c["name"]) for c in classes]
    breaks: list[float] | None = None
    if layer.value_type == "class" and names:
        breaks = [k + 0.5 for k in range(len(names) - 1)]
    elif layer.units == SCORE_UNITS and names:
        breaks = [float(c["min"]) for c in classes[1:]]
    if breaks is not None:
        exposed = None if quiet is None else ~quiet
        shares = class_shares(table, window.values, breaks, len(names), exposed)[0]
        stats["class_shares"] = {n: _round(float(s)) for n, s in zip(names, shares, strict=True)}
    if layer.value_type == "count":
        stats["total"] = _round(float(np.sum(values[table.cell][valid] * table.coverage[valid])),
                                2)
    return stats


def vector_stats(store: FeatureStore, layer_id: str, area: Area, value_type: str,
                 interval: Interval | None = None,
                 count_property: str | None = None) -> dict[str, Any]:
    """Features of a collection that intersect the area, and totals for count layers.

    Args:
        count_property: the property to sum (the layer's metadata); without one, the first
            of `GENERIC_COUNT_PROPERTIES` the features have.

    Returns:
        `features` (how many intersect), `datetime_applied` (when an interval is given: False
        for a collection without time, which is then not filtered) and, for count layers,
        `total` (sum of the count property, people or events), `property` (its name) and
        `withheld` (features whose count is missing: for flow counts, records withheld by
        disclosure control).
    """
    timed = interval is not None and store.collection(layer_id).time_property is not None
    batch = store.intersecting(layer_id, area.geometry, interval if timed else None)
    stats: dict[str, Any] = {"features": len(batch)}
    if interval is not None:
        stats["datetime_applied"] = timed
    if value_type != "count":
        return stats
    prop = count_property or next(
        (p for p in GENERIC_COUNT_PROPERTIES if p in batch.properties), None)
    if prop is None or prop not in batch.properties:
        return stats
    values = [v for v in batch.properties[prop] if isinstance(v, int | float)
              and not isinstance(v, bool) and math.isfinite(v)]
    stats.update(total=_round(float(sum(values)), 2), property=prop,
                 withheld=len(batch) - len(values))
    return stats


def analyse(area: Area, layers: Sequence[Layer], store: FeatureStore,
            classes: Sequence[Mapping[str, Any]], *,
            collections: Mapping[str, str] | None = None,
            interval: Interval | None = None,
            max_cells: int = AnalysisLimits.max_cells) -> dict[str, Any]:
    """Statistics of each layer over the area, by layer id.

    Args:
        area: the checked area.
        layers: raster or vector layers of the registry.
        store: the feature store (for vector layers).
        classes: the run's risk classes (`name`, `min`), for class shares.
        collections: extra collections to analyse that are no layer, id -> value type.
        interval: restricts time-enabled vector collections.
        max_cells: most cells read per raster layer (larger areas read from overviews).
    """
    cache: dict[tuple[Any, ...], CoverageTable] = {}
    result: dict[str, Any] = {}
    for layer in layers:
        head = {"title": layer.title, "kind": layer.kind, "value_type": layer.value_type,
                "units": layer.units}
        if layer.kind == "raster":
            result[layer.id] = {**head, **raster_stats(layer, area, classes, cache,
                                                            max_cells)}
        else:
            result[layer.id] = {**head, **vector_stats(store, layer.id, area, layer.value_type,
                                                       interval, layer.count_property)}
    for collection_id, value_type in (collections or {}).items():
        info = store.collection(collection_id)
        head = {"title": info.title, "kind": "vector", "value_type": value_type,
                "units": info.units}
        result[collection_id] = {**head, **vector_stats(store, collection_id, area, value_type,
                                                        interval)}
    return result
