"""Reader for Natural Earth admin-0 countries (public domain), any scale (10m, 50m, 110m).

Input: `ne_*_admin_0_countries` as shapefile, zip, GeoPackage or GeoJSON. Field names match
case-blind (the shapefiles spell them upper case, some exports lower case).

Output: one row per country, EPSG:4326, always MultiPolygon:

| column | type | notes |
|---|---|---|
| `iso_a3` | string | ISO 3166-1 alpha-3; '-99' falls back to ISO_A3_EH, then ADM0_A3 |
| `adm0_a3` | string | Natural Earth's own code (always filled) |
| `name`, `name_long`, `sovereignt`, `continent`, `region_un`, `subregion` | string | |
| `pop_est` | Int64 | persons |

Some Natural Earth versions have ISO_A3 '-99' for France, Norway or Kosovo; the fallback is
reported per row.

Geometries: polygons are made valid (reported). Natural Earth already splits countries at the
antimeridian (Fiji, Russia, the USA's Aleutians), which is valid and kept; a polygon drawn
across it instead (consecutive vertices more than 180° apart, as some re-exports have) is
split at ±180° so that it does not wrap round the world (reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from data_catalog.readers._common import (
    BBox,
    PathLike,
    as_paths,
    new_report,
    parse_int,
    provenance,
)
from data_catalog.readers._geometry import (
    as_multipolygon,
    crosses_antimeridian,
    make_valid_polygonal,
    split_antimeridian,
)
from data_catalog.readers._vector import vector_rows
from data_catalog.readers.report import Action, IngestReport, Issue, ReadResult

SOURCE_ID = "natural_earth"
READER = "data_catalog.readers.natural_earth:read_natural_earth"
REQUIRED = ("ADM0_A3", "ISO_A3", "NAME")
OPTIONAL = ("ISO_A3_EH", "NAME_LONG", "SOVEREIGNT", "CONTINENT", "REGION_UN", "SUBREGION",
            "POP_EST")
TEXT = ("name", "name_long", "sovereignt", "continent", "region_un", "subregion")
MISSING_CODES = {"-99", "-099", "", "none", "nan"}


def read_natural_earth(
    paths: PathLike | Sequence[PathLike],
    *,
    bbox: BBox | None = None,
    source_id: str = SOURCE_ID,
) -> ReadResult[gpd.GeoDataFrame]:
    """Read Natural Earth admin-0 countries into a tidy GeoDataFrame (see module doc).

    Args:
        paths: The countries file (or several, concatenated).
        bbox: Optional (west, south, east, north) in degrees: only countries intersecting it.
        source_id: Source id written into the provenance.

    Returns:
        The countries (EPSG:4326, MultiPolygon) and the ingest report.

    Raises:
        SourceFormatError: A CSV or other non-vector file.
        MissingColumnError: ADM0_A3, ISO_A3 or NAME absent (named).
        MissingCRSError: A layer without CRS.
    """
    files = as_paths(paths)
    report = new_report(source_id, READER, files, unit="feature")
    report.positions = "feature"
    rows: list[dict[str, Any]] = []
    geoms: list[BaseGeometry] = []
    for row, (raw, geom) in enumerate(vector_rows(files, report, REQUIRED, OPTIONAL,
                                                  bbox=bbox)):
        out = _country(row, raw, geom, report)
        if out is not None:
            rows.append(out[0])
            geoms.append(out[1])
    data: dict[str, Any] = {
        "iso_a3": pd.array([r["iso_a3"] for r in rows], dtype="string"),
        "adm0_a3": pd.array([r["adm0_a3"] for r in rows], dtype="string"),
    }
    for col in TEXT:
        data[col] = pd.array([r.get(col) for r in rows], dtype="string")
    data["pop_est"] = pd.array([r.get("pop_est") for r in rows], dtype="Int64")
    frame = gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")
    frame.attrs.update(provenance(report))
    frame.attrs["units"] = {"pop_est": "persons"}
    return ReadResult(frame, report)


def _code(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    s = str(value).strip()
    return None if s.lower() in MISSING_CODES else s.upper()


def _country(row: int, raw: dict[str, Any], geom: BaseGeometry | None,
             report: IngestReport) -> tuple[dict[str, Any], BaseGeometry] | None:
    adm0 = _code(raw.get("ADM0_A3"))
    key = f"ADM0_A3 {adm0 or '?'} {raw.get('NAME')}"
    if geom is None or geom.is_empty:
        report.reject(Issue.EMPTY_GEOMETRY, "no geometry", row=row, line=row + 1,
                      column="geometry", value="", allowed="a polygon", key=key)
        return None
    iso = _code(raw.get("ISO_A3"))
    if iso is None:
        eh = _code(raw.get("ISO_A3_EH"))
        iso, via = (eh, "ISO_A3_EH") if eh is not None else (adm0, "ADM0_A3")
        report.add(Issue.ISO_A3_FALLBACK, Action.FIXED,
                   f"ISO_A3 {raw.get('ISO_A3')!r}; {via} {iso!r} used", row=row, key=key)
    out: dict[str, Any] = {"iso_a3": iso, "adm0_a3": adm0}
    for col in TEXT:
        value = raw.get(col.upper())
        out[col] = None if value is None or (isinstance(value, float) and np.isnan(value)) \
            else str(value)
    try:
        out["pop_est"] = parse_int(raw.get("POP_EST"))
    except ValueError:
        report.reject(Issue.INVALID_NUMBER, "not a whole number", row=row, line=row + 1,
                      column="POP_EST", value=str(raw.get("POP_EST")),
                      allowed="a whole number of persons, or empty", key=key)
        return None

    shape = geom
    if not shape.is_valid:
        reason = shapely.is_valid_reason(shape)
        shape = make_valid_polygonal(shape)
        report.add(Issue.INVALID_GEOMETRY, Action.FIXED, f"invalid geometry ({reason}) made valid",
                   row=row, key=key)
    parts = list(getattr(shape, "geoms", [shape]))
    crossing = [crosses_antimeridian(p) for p in parts]
    if any(crossing):
        fixed = [split_antimeridian(p) if c else p for p, c in zip(parts, crossing, strict=True)]
        shape = shapely.union_all(fixed)
        report.add(Issue.ANTIMERIDIAN_SPLIT, Action.FIXED,
                   f"{sum(crossing)} polygon(s) drawn across the antimeridian split at ±180°",
                   row=row, key=key)
    multi = as_multipolygon(shape)
    if multi.is_empty:
        report.reject(Issue.EMPTY_GEOMETRY, "no polygonal geometry", row=row, line=row + 1,
                      column="geometry", value=geom.geom_type, allowed="a polygon", key=key)
        return None
    return out, multi
