"""One-off derivation of ``data/ne_admin0_americas.geojson`` from Natural Earth (public domain).

Not run at test time, nor by the demo generator: the derived file is committed and the
generator only reads it. Kept so the extract can be remade and audited.

Steps (world-atlas 2.0.2 redistributes Natural Earth 4.1.0 admin-0 countries as TopoJSON)::

    mkdir -p /tmp/ne && cd /tmp/ne
    npm install world-atlas@2.0.2 topojson-client@3.1.0
    node_modules/.bin/topo2geo countries=countries-10m.geojson \\
        < node_modules/world-atlas/countries-10m.json
    python data_catalog/demo/derive_natural_earth.py /tmp/ne/countries-10m.geojson

(``topo2geo`` is topojson-client's command line; the same in one node call:
``node -e "const t=require('topojson-client'),w=require('world-atlas/countries-10m.json');
process.stdout.write(JSON.stringify(t.feature(w,w.objects.countries)))" > countries-10m.geojson``.)

The script keeps the countries that intersect lon -95..-60, lat -5..20, clips them to that box,
simplifies them lightly (tolerance ``SIMPLIFY_DEG``, topology-preserving per country), rounds
coordinates to 4 decimals (about 11 m) and writes ``name``, ``iso3`` and ``iso_n3``. Features
without an ISO numeric code in world-atlas (disputed banks, Guantanamo) are dropped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import box, mapping, shape
from shapely.geometry.polygon import orient

BOX = (-95.0, -5.0, -60.0, 20.0)
"""Extract box: west, south, east, north (degrees)."""

SIMPLIFY_DEG = 0.001
"""Simplification tolerance, degrees (about 110 m)."""

OUT = Path(__file__).parent / "data" / "ne_admin0_americas.geojson"

ISO_N3_TO_ISO3: dict[str, str] = {
    "028": "ATG",
    "076": "BRA",
    "084": "BLZ",
    "092": "VGB",
    "136": "CYM",
    "170": "COL",
    "188": "CRI",
    "192": "CUB",
    "212": "DMA",
    "214": "DOM",
    "218": "ECU",
    "222": "SLV",
    "250": "FRA",
    "308": "GRD",
    "320": "GTM",
    "328": "GUY",
    "332": "HTI",
    "340": "HND",
    "388": "JAM",
    "484": "MEX",
    "500": "MSR",
    "528": "NLD",
    "531": "CUW",
    "533": "ABW",
    "534": "SXM",
    "558": "NIC",
    "581": "UMI",
    "591": "PAN",
    "604": "PER",
    "630": "PRI",
    "652": "BLM",
    "659": "KNA",
    "660": "AIA",
    "662": "LCA",
    "663": "MAF",
    "670": "VCT",
    "780": "TTO",
    "850": "VIR",
    "862": "VEN",
}
"""ISO 3166-1 numeric to alpha-3, written by hand for the countries inside ``BOX``."""


def _round(geom: Any, ndigits: int = 4) -> Any:
    """Round the coordinates of a GeoJSON geometry mapping, recursively."""
    if isinstance(geom, (list, tuple)):
        if geom and isinstance(geom[0], float):
            return [round(v, ndigits) for v in geom]
        return [_round(g, ndigits) for g in geom]
    return geom


def derive(src: Path, out: Path = OUT) -> int:
    """Write the clipped, simplified extract.

    Args:
        src: GeoJSON FeatureCollection made by ``topo2geo`` from world-atlas ``countries-10m``.
        out: Destination GeoJSON.

    Returns:
        Number of countries written.
    """
    data = json.loads(src.read_text(encoding="utf-8"))
    clip = box(*BOX)
    features: list[dict[str, Any]] = []
    for feat in data["features"]:
        iso_n3 = feat.get("id")
        if feat.get("geometry") is None or iso_n3 is None:
            continue
        geom = shapely.make_valid(shape(feat["geometry"]))
        if not geom.intersects(clip):
            continue
        if iso_n3 not in ISO_N3_TO_ISO3:
            raise KeyError(f"no ISO3 for {iso_n3} {feat['properties']['name']}")
        geom = geom.intersection(clip).simplify(SIMPLIFY_DEG, preserve_topology=True)
        polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon"]
        polys = [orient(p, 1.0) for p in polys if not p.is_empty and p.area > 0]
        if not polys:
            continue
        # Snap to the 1e-4 degree grid the file is written with, keeping the polygons valid.
        merged = shapely.set_precision(shapely.MultiPolygon(polys), 1e-4)
        polys = [orient(p, 1.0) for p in getattr(merged, "geoms", [merged]) if p.area > 0]
        merged = shapely.MultiPolygon(polys)
        if not merged.is_valid:
            raise ValueError(f"invalid geometry for {iso_n3}")
        geo = mapping(merged)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "name": feat["properties"]["name"],
                    "iso3": ISO_N3_TO_ISO3[iso_n3],
                    "iso_n3": iso_n3,
                },
                "geometry": {"type": geo["type"], "coordinates": _round(geo["coordinates"])},
            }
        )
    features.sort(key=lambda f: f["properties"]["iso3"])
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        '{"type":"FeatureCollection","features":[\n' + lines + "\n]}\n", encoding="utf-8"
    )
    for feat in json.loads(out.read_text(encoding="utf-8"))["features"]:
        if not shape(feat["geometry"]).is_valid:
            raise ValueError(f"invalid after rounding: {feat['properties']['name']}")
    return len(features)


if __name__ == "__main__":
    n = derive(Path(sys.argv[1]))
    print(f"{n} countries -> {OUT} ({OUT.stat().st_size / 1024:.0f} KB)")
