"""Vector layers of a region's demo, as GeoJSON (RFC 7946, CRS84 = EPSG:4326 lon/lat), from the
region's demo data (:mod:`data_catalog.demo.spec`).

Every feature carries ``synthetic`` (bool): True when its geometry or any attribute was made up
or drawn for the demo (everything here but the Natural Earth countries), and a ``geometry_note``
saying what the geometry is. Files are written byte-for-byte deterministically: fixed property
order, coordinates rounded to 6 decimals, one feature per line.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from data_catalog.demo.spec import RegionDemo, Stream

Feature = dict[str, Any]
"""A GeoJSON Feature as a dict."""

NE_PATH: Final[Path] = Path(__file__).parent / "data" / "ne_admin0_americas.geojson"
"""Committed Natural Earth extract (see ``data/ATTRIBUTION.md``)."""

PA_NOTE: Final[str] = (
    "approximate outline drawn for cmrisk demo, not from WDPA; WDPAID {wdpaid} is a demo id "
    "(900001+), not a WDPA id"
)
TERRITORY_NOTE: Final[str] = "approximate outline drawn for cmrisk demo, not an official boundary"
ROUTE_NOTE: Final[str] = "approximate path through real waypoints, drawn for cmrisk demo"
ROAD_NOTE: Final[str] = "approximate alignment drawn for cmrisk demo"
PLACE_NOTE: Final[str] = "real place, approximate location"
STATION_NOTE: Final[str] = "real place, approximate location; capacity is illustrative"
EVENT_NOTE: Final[str] = "synthetic event placed near a real town"
INCIDENT_NOTE: Final[str] = "synthetic incident placed along the demo route"

_GEOD: Final[Geod] = Geod(ellps="WGS84")


# --- Writing -------------------------------------------------------------------------------------


def _round_coords(coords: Any, ndigits: int) -> Any:
    """Round nested coordinate sequences."""
    if isinstance(coords, (int, float)):
        return round(float(coords), ndigits)
    return [_round_coords(c, ndigits) for c in coords]


def feature(properties: dict[str, Any], geometry: BaseGeometry, ndigits: int = 6) -> Feature:
    """Build a GeoJSON Feature.

    Args:
        properties: Properties, in the order they are to be written.
        geometry: Geometry in EPSG:4326 lon/lat.
        ndigits: Decimals kept in the coordinates.

    Returns:
        The Feature dict.
    """
    geo = mapping(geometry)
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {
            "type": geo["type"],
            "coordinates": _round_coords(geo["coordinates"], ndigits),
        },
    }


def write_geojson(path: Path, features: Sequence[Feature]) -> None:
    """Write a FeatureCollection, one feature per line, deterministically.

    Args:
        path: Destination file (parents are created).
        features: Features to write, in order.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ",\n".join(
        json.dumps(f, ensure_ascii=False, separators=(",", ":"), allow_nan=False) for f in features
    )
    text = '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n"
    path.write_text(text, encoding="utf-8")


def geodesic_area_km2(geom: BaseGeometry) -> float:
    """Geodesic area on the WGS 84 ellipsoid, km²."""
    return abs(_GEOD.geometry_area_perimeter(geom)[0]) / 1e6


# --- Natural Earth -------------------------------------------------------------------------------


def load_countries(
    bounds: tuple[float, float, float, float],
) -> list[tuple[str, str, BaseGeometry]]:
    """Read the committed Natural Earth extract, clipped to ``bounds``.

    Args:
        bounds: West, south, east, north, degrees.

    Returns:
        ``(name, iso3, geometry)`` per country that intersects ``bounds``, sorted by ISO3; the
        geometries are valid, snapped to 1e-4 degree and oriented counter-clockwise.
    """
    clip = box(*bounds)
    data = json.loads(NE_PATH.read_text(encoding="utf-8"))
    out = []
    for feat in data["features"]:
        geom = shape(feat["geometry"])
        if not geom.intersects(clip):
            continue
        geom = shapely.set_precision(geom.intersection(clip), 1e-4)
        polys = [orient(p, 1.0) for p in getattr(geom, "geoms", [geom]) if p.geom_type == "Polygon"]
        if polys:
            merged = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
            out.append((feat["properties"]["name"], feat["properties"]["iso3"], merged))
    return sorted(out, key=lambda c: c[1])


def country_features(countries: Iterable[tuple[str, str, BaseGeometry]]) -> list[Feature]:
    """Features of ``natural_earth/countries.geojson`` (real data: ``synthetic`` is False)."""
    return [
        feature({"name": name, "iso3": iso3, "synthetic": False}, geom, ndigits=4)
        for name, iso3, geom in countries
    ]


# --- Protected areas, territories ----------------------------------------------------------------


def protected_area_features(region: RegionDemo, land: BaseGeometry) -> list[Feature]:
    """WDPA-style protected areas with approximate outlines and demo WDPAIDs.

    Args:
        region: The region's demo data.
        land: Union of the land polygons, to measure the marine part (``GIS_M_AREA``).

    Returns:
        One Polygon feature per protected area of the region.
    """
    out = []
    for pa in region.protected_areas:
        poly = orient(Polygon(pa["outline"]), 1.0)
        marine = pa["REP_M_AREA"] > 0
        gis_m_area = geodesic_area_km2(poly.difference(land)) if marine else 0.0
        props = {
            "WDPAID": pa["WDPAID"],
            "WDPA_PID": str(pa["WDPAID"]),
            "PA_DEF": "1",
            "NAME": pa["NAME"],
            "ORIG_NAME": pa["ORIG_NAME"],
            "DESIG": pa["DESIG"],
            "DESIG_ENG": pa["DESIG_ENG"],
            "DESIG_TYPE": pa["DESIG_TYPE"],
            "IUCN_CAT": pa["IUCN_CAT"],
            "REP_M_AREA": pa["REP_M_AREA"],
            "GIS_M_AREA": round(gis_m_area, 3),
            "REP_AREA": pa["REP_AREA"],
            "GIS_AREA": round(geodesic_area_km2(poly), 3),
            "NO_TAKE": "Not Reported" if marine else "Not Applicable",
            "STATUS": "Designated",
            "STATUS_YR": pa["STATUS_YR"],
            "GOV_TYPE": pa["GOV_TYPE"],
            "ISO3": pa["ISO3"],
            "synthetic": True,
            "geometry_note": PA_NOTE.format(wdpaid=pa["WDPAID"]),
        }
        out.append(feature(props, poly))
    return out


def territory_features(region: RegionDemo) -> list[Feature]:
    """Indigenous territories (comarcas) with approximate outlines."""
    return [
        feature(
            {
                "name": t["name"],
                "people": t["people"],
                "iso3": t["iso3"],
                "synthetic_geometry": True,
                "synthetic": True,
                "geometry_note": TERRITORY_NOTE,
            },
            orient(Polygon(t["outline"]), 1.0),
        )
        for t in region.territories
    ]


# --- Lines ---------------------------------------------------------------------------------------


def route_features(region: RegionDemo) -> list[Feature]:
    """Route segments (LineStrings) with their attributes (direction, share of the flow, ...)."""
    out = []
    for attributes, path in region.routes:
        props = dict(attributes) | {"synthetic": True, "geometry_note": ROUTE_NOTE}
        out.append(feature(props, LineString(path)))
    return out


def road_features(region: RegionDemo) -> list[Feature]:
    """Roads clipped to the region's bounds (a road leaving and re-entering becomes two)."""
    clip = box(*region.bounds)
    out = []
    for name, (surface, line) in region.roads.items():
        clipped = LineString(line).intersection(clip)
        for part in getattr(clipped, "geoms", [clipped]):
            if part.geom_type == "LineString" and not part.is_empty:
                props = {
                    "name": name,
                    "surface": surface,
                    "synthetic": True,
                    "geometry_note": ROAD_NOTE,
                }
                out.append(feature(props, part))
    return out


# --- Points --------------------------------------------------------------------------------------


def station_features(region: RegionDemo) -> list[Feature]:
    """Reception stations and health posts."""
    out = []
    for station in region.stations:
        p = region.places[station["place"]]
        props = {
            "station_id": station["station_id"],
            "name": station["name"],
            "kind": station["kind"],
            "capacity": station["capacity"],
            "country": station["country"],
            "synthetic": True,
            "geometry_note": STATION_NOTE,
        }
        out.append(feature(props, Point(p.lon, p.lat)))
    return out


def crossing_point_features(region: RegionDemo) -> list[Feature]:
    """Points where the crossings table counts people."""
    out = []
    for point_id, place, country, direction in region.crossing_points:
        p = region.places[place]
        props = {
            "point_id": point_id,
            "name": place,
            "country": country,
            "direction_default": direction,
            "synthetic": True,
            "geometry_note": PLACE_NOTE,
        }
        out.append(feature(props, Point(p.lon, p.lat)))
    return out


_HAZARDS: Final[tuple[tuple[str, float, float], ...]] = (
    # hazard_type, probability, median new displacements (people)
    ("Flood", 0.6, 500.0),
    ("Landslide", 0.2, 60.0),
    ("Storm", 0.2, 300.0),
)

_RAINY_MONTHS: Final[np.ndarray] = np.array([1, 1, 1, 2, 4, 4, 4, 4, 4, 5, 5, 3]) / 38.0
"""Relative frequency of disaster events by month (January..December)."""


def _on_land(
    rng: np.random.Generator, lon: float, lat: float, sigma: float, land: BaseGeometry
) -> Point:
    """Jitter a point by ``sigma`` degrees, retrying until it falls on land."""
    for _ in range(50):
        p = Point(lon + rng.normal(0.0, sigma), lat + rng.normal(0.0, sigma))
        if land.contains(p):
            return p
    return Point(lon, lat)


def displacement_features(region: RegionDemo, seed: int, land: BaseGeometry) -> list[Feature]:
    """Synthetic disaster displacement events, IDMC-style, near the region's event sites.

    Args:
        region: The region's demo data (sites, years, number of events).
        seed: Generator seed.
        land: Union of the land polygons (events are placed on land).

    Returns:
        Point features sorted by start date.
    """
    spec = region.spec.events
    sites = spec.sites
    first, last = spec.years
    rng = np.random.default_rng([seed, 0x1D3C])
    probs = np.array([h[1] for h in _HAZARDS])
    events = []
    for _ in range(spec.count):
        place, admin1 = sites[int(rng.integers(len(sites)))]
        p = region.places[place]
        hazard, _, median = _HAZARDS[int(rng.choice(len(_HAZARDS), p=probs))]
        year = int(rng.integers(first, last + 1))
        # Rainy season (May-November) mostly.
        month = int(rng.choice(np.arange(1, 13), p=_RAINY_MONTHS))
        start = dt.date(year, month, int(rng.integers(1, 29)))
        end = start + dt.timedelta(days=int(rng.integers(2, 30)))
        people = int(np.clip(round(median * rng.lognormal(0.0, 1.0)), 5, 20_000))
        point = _on_land(rng, p.lon, p.lat, 0.015, land)
        events.append((start, place, admin1, hazard, end, people, p.iso3, point))
    events.sort(key=lambda e: (e[0], e[1]))
    out = []
    for i, (start, place, admin1, hazard, end, people, iso3, point) in enumerate(events, 1):
        props = {
            "event_id": f"DEMO-IDMC-{i:03d}",
            "event_name": (
                f"{spec.country_names[iso3]}: {hazard} - {admin1} ({place}) - {start:%d/%m/%Y}"
            ),
            "hazard_type": hazard,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "new_displacement": people,
            "iso3": iso3,
            "synthetic": True,
            "geometry_note": EVENT_NOTE,
        }
        out.append(feature(props, point))
    return out


_FOOT_CAUSES: Final[tuple[tuple[str, float], ...]] = (
    ("Drowning", 0.30),
    ("Violence", 0.15),
    ("Sickness / lack of access to adequate healthcare", 0.25),
    ("Harsh environmental conditions / lack of adequate shelter, food, water", 0.20),
    ("Accidental death", 0.05),
    ("Mixed or unknown", 0.05),
)
"""Causes of death on foot, IOM Missing Migrants categories, with demo probabilities."""


def incident_features(region: RegionDemo, seed: int) -> list[Feature]:
    """Synthetic deaths and disappearances along the route, Missing Migrants-style, in the
    years of the region's first stream of crossings and in proportion to its totals.

    Args:
        region: The region's demo data (segments and their shares, number of incidents).
        seed: Generator seed.

    Returns:
        Point features sorted by date.
    """
    spec = region.spec.incidents
    stream = region.flows.streams[0]
    totals = stream.yearly_totals or {y: sum(m) for y, m in (stream.monthly_totals or {}).items()}
    rng = np.random.default_rng([seed, 0x33])
    segments = {attributes["segment_id"]: (attributes, path) for attributes, path in region.routes}
    seg_ids = list(spec.segments)
    seg_p = np.array([spec.segments[s] for s in seg_ids])
    years = np.array(stream.years())
    year_p = np.array([totals[y] for y in stream.years()], dtype=float)
    year_p /= year_p.sum()
    causes = [c for c, _ in _FOOT_CAUSES]
    cause_p = np.array([p for _, p in _FOOT_CAUSES])
    rows = []
    for _ in range(spec.count):
        seg, path = segments[seg_ids[int(rng.choice(len(seg_ids), p=seg_p))]]
        line = LineString(path)
        point = line.interpolate(float(rng.uniform(0.02, 0.98)), normalized=True)
        year = int(years[int(rng.choice(len(years), p=year_p))])
        shape_ = np.array(_monthly_weights(stream, year))
        month = int(rng.choice(12, p=shape_ / shape_.sum())) + 1
        date = dt.date(year, month, int(rng.integers(1, 29)))
        if seg["mode"] == "foot":
            point = Point(point.x + rng.normal(0, 0.004), point.y + rng.normal(0, 0.004))
            cause = causes[int(rng.choice(len(causes), p=cause_p))]
            dead, missing = 1 + int(rng.poisson(0.3)), int(rng.poisson(0.4))
        else:
            cause = "Drowning"
            dead, missing = int(rng.poisson(1.5)), int(rng.poisson(1.5))
            if dead + missing == 0:
                missing = 1
        total = dead + missing
        children = int(rng.binomial(total, 0.2))
        rows.append((date, dead, missing, total, children, cause, point))
    rows.sort(key=lambda r: (r[0], r[6].x, r[6].y))
    out = []
    for i, (date, dead, missing, total, children, cause, point) in enumerate(rows, 1):
        props = {
            "incident_id": f"DEMO-MMP-{i:04d}",
            "date": date.isoformat(),
            "dead": dead,
            "missing": missing,
            "total_dead_missing": total,
            "children": children,
            "cause": cause,
            "migration_route": spec.migration_route,
            "synthetic": True,
            "geometry_note": INCIDENT_NOTE,
        }
        out.append(feature(props, point))
    return out


def _monthly_weights(stream: Stream, year: int) -> list[float]:
    """The monthly weights of a stream's year: its shape, or its monthly totals."""
    if stream.monthly_shape is not None:
        return list(stream.monthly_shape[year])
    return [float(v) for v in (stream.monthly_totals or {})[year]]
