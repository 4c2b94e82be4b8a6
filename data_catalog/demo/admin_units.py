"""Approximate admin units of a region's demo: ADM2 (districts, municipios) and ADM1 (provinces,
comarcas, departments), as GeoJSON features with geoBoundaries-style properties.

No open boundary file small enough could be brought here (geoBoundaries keeps its files in Git
LFS; Natural Earth's admin-1 is over the size limit and has no ADM2), so the demo draws them:
each ADM2 unit is the union of the Voronoi cells of the real places of it listed in the
region's ``admin_seats.csv`` (seats and towns, approximate positions), computed within each
country and clipped to its Natural Earth outline; each ADM1 unit is the union of its ADM2 units.
The names and the nesting are real; the outlines are approximate (``synthetic`` True and a
``geometry_note`` on every feature). Real boundaries come in with
``cmrisk ingest admin_units PATH --level 1|2``.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import shapely
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from data_catalog.demo.spec import REGIONS_DIR, RegionDemo
from data_catalog.demo.vectors import Feature, feature

SEATS_FILE: Final[str] = "admin_seats.csv"
ADMIN_NOTE: Final[str] = ("approximate outline drawn for cmrisk demo (Voronoi cells of real "
                          "places of the unit, clipped to Natural Earth countries), not an "
                          "official boundary; the name and the parent unit are real")


def slug(name: str) -> str:
    """An id-safe form of a unit's name: ASCII letters and digits, `-` between words."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_name).split())


def _seats(region: RegionDemo) -> list[dict[str, str]]:
    path = REGIONS_DIR / region.spec.region / SEATS_FILE
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _oriented(geometry: BaseGeometry) -> BaseGeometry:
    polygons = [orient(p, 1.0) for p in getattr(geometry, "geoms", [geometry])
                if p.geom_type == "Polygon" and not p.is_empty]
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def adm2_outlines(region: RegionDemo, countries: Sequence[tuple[str, str, BaseGeometry]]
                  ) -> list[tuple[dict[str, str], BaseGeometry]]:
    """(attributes, outline) of each ADM2 unit: `adm2`, `adm1`, `iso3`, sorted by country
    and name."""
    bounds = shapely.box(*region.bounds)
    seats = _seats(region)
    units: list[tuple[dict[str, str], BaseGeometry]] = []
    for _, iso3, outline in countries:
        mine = [s for s in seats if s["iso3"] == iso3]
        if not mine:
            continue
        land = shapely.intersection(outline, bounds)
        points = shapely.MultiPoint([(float(s["lon"]), float(s["lat"])) for s in mine])
        cells = shapely.voronoi_polygons(points, extend_to=shapely.box(*land.bounds).buffer(1))
        by_unit: dict[tuple[str, str], list[BaseGeometry]] = {}
        for cell in cells.geoms:
            seat = next(s for s in mine
                        if cell.contains(shapely.Point(float(s["lon"]), float(s["lat"]))))
            by_unit.setdefault((seat["adm2"], seat["adm1"]), []).append(cell)
        for (adm2, adm1), parts in sorted(by_unit.items()):
            shape = shapely.set_precision(shapely.intersection(shapely.union_all(parts), land),
                                          1e-4)
            if not shape.is_empty:
                units.append(({"adm2": adm2, "adm1": adm1, "iso3": iso3}, _oriented(shape)))
    return units


def admin_features(region: RegionDemo, countries: Sequence[tuple[str, str, BaseGeometry]],
                   level: int) -> list[Feature]:
    """The demo's admin units of `level` (1 or 2) with geoBoundaries-style properties:
    `shapeID` (`PAN-ADM2-Chepigana`), `shapeName`, `shapeGroup` (ISO3), `shapeType`,
    `parentName` (ADM2 only), `synthetic`, `geometry_note`."""
    adm2 = adm2_outlines(region, countries)
    if level == 2:
        return [feature({"shapeID": f"{a['iso3']}-ADM2-{slug(a['adm2'])}", "shapeName": a["adm2"],
                         "shapeGroup": a["iso3"], "shapeType": "ADM2", "parentName": a["adm1"],
                         "synthetic": True, "geometry_note": ADMIN_NOTE}, geometry, ndigits=4)
                for a, geometry in adm2]
    groups: dict[tuple[str, str], list[BaseGeometry]] = {}
    for attributes, geometry in adm2:
        groups.setdefault((attributes["iso3"], attributes["adm1"]), []).append(geometry)
    return [feature({"shapeID": f"{iso3}-ADM1-{slug(name)}", "shapeName": name, "shapeGroup": iso3,
                     "shapeType": "ADM1", "synthetic": True, "geometry_note": ADMIN_NOTE},
                    _oriented(shapely.set_precision(shapely.union_all(parts), 1e-4)), ndigits=4)
            for (iso3, name), parts in sorted(groups.items())]
