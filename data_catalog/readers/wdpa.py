"""Reader for the World Database on Protected Areas (WDPA, Protected Planet).

Input: the WDPA polygons and points as shapefile, GeoPackage, GeoJSON or FileGDB, one file or
several (e.g. the `-polygons.shp` and `-points.shp` of a download), or the download's zip
(nested zips included). Fields (binding, see METHOD.md): WDPAID, WDPA_PID, PA_DEF, NAME,
ORIG_NAME, DESIG, DESIG_ENG, DESIG_TYPE, IUCN_CAT, REP_M_AREA, GIS_M_AREA, REP_AREA, GIS_AREA,
NO_TAKE, STATUS, STATUS_YR, GOV_TYPE, ISO3. Names match case-blind.

Output: one row per protected area (EPSG:4326, MultiPolygon):

| column | type | units / values |
|---|---|---|
| `area_id` | string | `wdpa:<WDPAID>` |
| `wdpaid` | Int64 | |
| `wdpa_pid`, `pa_def`, `name`, `orig_name`, `desig`, `desig_eng`, `desig_type` | string | |
| `iucn_cat` | string | Ia, Ib, II, III, IV, V, VI or NA ('Not Reported' etc. → NA) |
| `rep_area_km2`, `gis_area_km2`, `rep_m_area_km2`, `gis_m_area_km2` | float64 | km² |
| `no_take`, `status`, `gov_type`, `own_type`, `mang_auth`, `iso3`, `parent_iso3` | string | |
| `status_yr` | Int64 | year (0 in WDPA → NA) |
| `marine` | string | 0 terrestrial, 1 coastal, 2 marine |
| `geometry_source` | string | `polygon` or `point_buffer` |
| `other_designations` | string | the same-place records not kept, `DESIG_ENG [WDPAID n]; …` |

Quirks handled (each reported):

- point sites: buffered geodesically to a circle of REP_AREA km² (split equally between the
  points of a MultiPoint); a point without a positive REP_AREA is dropped;
- IUCN 'Not Reported' / 'Not Applicable' / 'Not Assigned' → NA; case variants normalised;
- parcels (several features with one WDPAID) are merged into one area;
- several records for one place (a national park that is also a World Heritage site and a
  biosphere reserve): records whose outlines overlap by at least `same_place_iou`
  (intersection over union, equal-area) form a group; the one kept is chosen by DESIG_TYPE
  (National, then Regional, International, Not Applicable), then DESIG_ENG (World Heritage,
  Ramsar, then biosphere reserve), then larger REP_AREA, then smaller WDPAID. The others are
  dropped and named in the report and in `other_designations`.

Licence: the WDPA terms forbid redistribution; nothing derived from it may be committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, Point
from shapely.geometry.base import BaseGeometry

from data_catalog.readers._common import (
    BBox,
    PathLike,
    as_paths,
    new_report,
    parse_float,
    parse_int,
    provenance,
)
from data_catalog.readers._geometry import (
    EQUAL_AREA_CRS,
    as_multipolygon,
    crosses_antimeridian,
    geodesic_circle,
    make_valid_polygonal,
    point_parts,
    split_antimeridian,
)
from data_catalog.readers._vector import vector_rows
from data_catalog.readers.report import Action, IngestReport, Issue, ReadResult

SOURCE_ID = "wdpa"
READER = "data_catalog.readers.wdpa:read_wdpa"

REQUIRED = ("WDPAID", "NAME", "DESIG_ENG", "DESIG_TYPE", "IUCN_CAT", "REP_AREA", "ISO3")
OPTIONAL = (
    "WDPA_PID", "PA_DEF", "ORIG_NAME", "DESIG", "INT_CRIT", "MARINE", "REP_M_AREA", "GIS_M_AREA",
    "GIS_AREA", "NO_TAKE", "NO_TK_AREA", "STATUS", "STATUS_YR", "GOV_TYPE", "OWN_TYPE",
    "MANG_AUTH", "MANG_PLAN", "VERIF", "SUB_LOC", "PARENT_ISO3", "PARENT_ISO",
)
STRING_COLUMNS = (
    "wdpa_pid", "pa_def", "name", "orig_name", "desig", "desig_eng", "desig_type", "int_crit",
    "marine", "no_take", "status", "gov_type", "own_type", "mang_auth", "mang_plan", "verif",
    "sub_loc", "parent_iso3", "iso3",
)
AREA_COLUMNS = {  # WDPA field → output column (km²)
    "REP_AREA": "rep_area_km2",
    "GIS_AREA": "gis_area_km2",
    "REP_M_AREA": "rep_m_area_km2",
    "GIS_M_AREA": "gis_m_area_km2",
    "NO_TK_AREA": "no_tk_area_km2",
}

IUCN_CATEGORIES = {"ia": "Ia", "ib": "Ib", "ii": "II", "iii": "III", "iv": "IV", "v": "V",
                   "vi": "VI"}
IUCN_NOT_REPORTED = {"not reported", "not applicable", "not assigned"}

DESIG_TYPE_PREFERENCE = ("National", "Regional", "International", "Not Applicable")
"""Which record to keep when several describe one place: earlier is preferred."""

DESIG_ENG_PREFERENCE = ("world heritage", "ramsar", "biosphere")
"""Among international designations of one place: World Heritage, then Ramsar, then MAB."""


def normalise_iucn(value: Any) -> tuple[str | None, Issue | None]:
    """The canonical IUCN category, and the issue when the value was changed.

    Returns:
        ('II', None) for 'II'; ('II', VALUE_NORMALISED) for ' ii'; (None, IUCN_NOT_REPORTED)
        for 'Not Reported' / 'Not Applicable' / 'Not Assigned'; (None, IUCN_UNKNOWN) for other
        text; (None, None) for empty.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None, None
    s = str(value).strip()
    if not s:
        return None, None
    if s in IUCN_CATEGORIES.values():
        return s, None
    low = s.lower()
    if low in IUCN_CATEGORIES:
        return IUCN_CATEGORIES[low], Issue.VALUE_NORMALISED
    if low in IUCN_NOT_REPORTED:
        return None, Issue.IUCN_NOT_REPORTED
    return None, Issue.IUCN_UNKNOWN


def designation_rank(desig_type: str | None, desig_eng: str | None) -> tuple[int, int]:
    """Sort key for choosing among records of one place (lower is preferred)."""
    t = (desig_type or "").strip().lower()
    prefs = [p.lower() for p in DESIG_TYPE_PREFERENCE]
    type_rank = prefs.index(t) if t in prefs else len(prefs)
    eng = (desig_eng or "").lower()
    eng_rank = next((i for i, p in enumerate(DESIG_ENG_PREFERENCE) if p in eng),
                    len(DESIG_ENG_PREFERENCE))
    return type_rank, eng_rank


@dataclass
class _Record:
    row: int
    wdpaid: int
    values: dict[str, Any]
    geometry: BaseGeometry
    source: str


def read_wdpa(
    paths: PathLike | Sequence[PathLike],
    *,
    bbox: BBox | None = None,
    dedupe: bool = True,
    same_place_iou: float = 0.7,
    source_id: str = SOURCE_ID,
) -> ReadResult[gpd.GeoDataFrame]:
    """Read WDPA polygons and points into one tidy GeoDataFrame of areas (see module doc).

    Args:
        paths: One WDPA file (shapefile, GeoPackage, GeoJSON, FileGDB or zip) or several.
        bbox: Optional (west, south, east, north) in degrees: only features intersecting it.
        dedupe: Choose one record per place (see module doc); False keeps them all.
        same_place_iou: Intersection over union (0–1, equal-area) above which two records are
            the same place.
        source_id: Source id written into the provenance.

    Returns:
        The areas (EPSG:4326) and the ingest report.

    Raises:
        SourceFormatError: A CSV or other non-vector file, or an unreadable one.
        MissingColumnError: A required WDPA field is absent (named).
        MissingCRSError: A layer without CRS (e.g. a shapefile without .prj).
    """
    files = as_paths(paths)
    report = new_report(source_id, READER, files, unit="feature")
    report.positions = "feature"
    records: list[_Record] = []
    for row, (raw, geom) in enumerate(vector_rows(files, report, REQUIRED, OPTIONAL,
                                                  bbox=bbox)):
        rec = _record(row, raw, geom, report)
        if rec is not None:
            records.append(rec)
    records = _merge_parcels(records, report)
    frame = _frame(records)
    if dedupe and len(frame) > 1:
        frame = _dedupe(frame, same_place_iou, report)
    frame = frame.drop(columns=["_row"]).reset_index(drop=True)
    frame.attrs.update(provenance(report))
    frame.attrs["units"] = {c: "km²" for c in AREA_COLUMNS.values()} | {"status_yr": "year"}
    frame.attrs["licence"] = "WDPA terms of use: no redistribution of the data or derivatives"
    return ReadResult(frame, report)


def _record(row: int, raw: dict[str, Any], geom: BaseGeometry | None,
            report: IngestReport) -> _Record | None:
    try:
        wdpaid = parse_int(raw.get("WDPAID"))
    except ValueError:
        wdpaid = None
    key = f"WDPAID {raw.get('WDPAID')}"
    if wdpaid is None:
        report.reject(Issue.MISSING_ID, "not a WDPA id", row=row, line=row + 1, column="WDPAID",
                      value=str(raw.get("WDPAID")), allowed="a whole number", key=key)
        return None
    if geom is None or geom.is_empty:
        report.reject(Issue.EMPTY_GEOMETRY, "no geometry", row=row, line=row + 1,
                      column="geometry", value="", allowed="a polygon or a point", key=key)
        return None

    values: dict[str, Any] = {}
    for field in STRING_COLUMNS:
        src = "PARENT_ISO" if field == "parent_iso3" and "PARENT_ISO3" not in raw else field.upper()
        v = raw.get(src)
        values[field] = None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
    for src, dst in AREA_COLUMNS.items():
        try:
            values[dst] = parse_float(raw.get(src))
        except ValueError:
            report.reject(Issue.INVALID_NUMBER, "not a number", row=row, line=row + 1,
                          column=src, value=str(raw.get(src)), allowed="an area in km², or empty",
                          key=key)
            values[dst] = None
    if report.is_rejected(row):
        return None
    try:
        year = parse_int(raw.get("STATUS_YR"))
    except ValueError:
        year = None
    if year == 0:
        report.add(Issue.VALUE_NORMALISED, Action.FIXED, "STATUS_YR 0 (not reported) → NA",
                   row=row, key=key)
        year = None
    values["status_yr"] = year
    iucn, issue = normalise_iucn(raw.get("IUCN_CAT"))
    if issue is not None:
        report.add(issue, Action.FIXED, f"IUCN_CAT {raw.get('IUCN_CAT')!r} → {iucn or 'NA'}",
                   row=row, key=key)
    values["iucn_cat"] = iucn

    if isinstance(geom, Point | MultiPoint):
        area = values["rep_area_km2"]
        points = point_parts(geom)
        if area is None or area <= 0 or not points:
            report.add(Issue.POINT_WITHOUT_AREA, Action.DROPPED,
                       f"point site with REP_AREA {raw.get('REP_AREA')!r}: no area to draw",
                       row=row, key=key)
            return None
        share = area / len(points)
        circles = [geodesic_circle(p.x, p.y, share) for p in points]
        shape = as_multipolygon(shapely.union_all(circles))
        report.add(Issue.POINT_BUFFERED, Action.FIXED,
                   f"{len(points)} point(s) buffered to geodesic circle(s) totalling "
                   f"{area:g} km² (REP_AREA)", row=row, key=key)
        return _Record(row, wdpaid, values, shape, "point_buffer")

    shape = geom
    if not shape.is_valid:
        reason = shapely.is_valid_reason(shape)
        shape = make_valid_polygonal(shape)
        report.add(Issue.INVALID_GEOMETRY, Action.FIXED, f"invalid polygon ({reason}) made valid",
                   row=row, key=key)
    parts = list(getattr(shape, "geoms", [shape]))
    if any(crosses_antimeridian(p) for p in parts):
        shape = shapely.union_all([split_antimeridian(p) for p in parts])
        report.add(Issue.ANTIMERIDIAN_SPLIT, Action.FIXED, "split at the antimeridian",
                   row=row, key=key)
    shape = as_multipolygon(shape)
    if shape.is_empty:
        report.reject(Issue.EMPTY_GEOMETRY, "no polygonal geometry", row=row, line=row + 1,
                      column="geometry", value=geom.geom_type,
                      allowed="a polygon or a point", key=key)
        return None
    return _Record(row, wdpaid, values, shape, "polygon")


def _merge_parcels(records: list[_Record], report: IngestReport) -> list[_Record]:
    by_id: dict[int, list[_Record]] = {}
    for rec in records:
        by_id.setdefault(rec.wdpaid, []).append(rec)
    out: list[_Record] = []
    for recs in by_id.values():
        first = recs[0]
        if len(recs) > 1:
            first.geometry = as_multipolygon(shapely.union_all([r.geometry for r in recs]))
            report.add(Issue.DUPLICATE_KEY, Action.FIXED,
                       f"{len(recs)} parcels with one WDPAID merged into one area",
                       row=first.row, key=f"WDPAID {first.wdpaid}")
            for r in recs[1:]:
                report.add(Issue.DUPLICATE_KEY, Action.DROPPED,
                           f"parcel {r.values.get('wdpa_pid')} merged into WDPAID {first.wdpaid}",
                           row=r.row, key=f"WDPAID {r.wdpaid}")
        out.append(first)
    return out


def _frame(records: list[_Record]) -> gpd.GeoDataFrame:
    data: dict[str, Any] = {
        "area_id": pd.array([f"wdpa:{r.wdpaid}" for r in records], dtype="string"),
        "wdpaid": pd.array([r.wdpaid for r in records], dtype="Int64"),
    }
    for col in ("wdpa_pid", "pa_def", "name", "orig_name", "desig", "desig_eng", "desig_type",
                "iucn_cat", "int_crit", "marine", "no_take", "status", "gov_type", "own_type",
                "mang_auth", "mang_plan", "verif", "sub_loc", "iso3", "parent_iso3"):
        data[col] = pd.array([r.values.get(col) for r in records], dtype="string")
    for col in AREA_COLUMNS.values():
        data[col] = pd.array([r.values.get(col) for r in records], dtype="Float64").astype(
            "float64")
    data["status_yr"] = pd.array([r.values.get("status_yr") for r in records], dtype="Int64")
    data["geometry_source"] = pd.array([r.source for r in records], dtype="string")
    data["other_designations"] = pd.array([None] * len(records), dtype="string")
    data["_row"] = [r.row for r in records]
    return gpd.GeoDataFrame(data, geometry=[r.geometry for r in records], crs="EPSG:4326")


def _dedupe(frame: gpd.GeoDataFrame, threshold: float, report: IngestReport) -> gpd.GeoDataFrame:
    projected = frame.geometry.to_crs(EQUAL_AREA_CRS)
    areas = projected.area.to_numpy()
    left, right = projected.sindex.query(projected, predicate="intersects")
    parent = list(range(len(frame)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    ious: dict[tuple[int, int], float] = {}
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        inter = projected.iloc[i].intersection(projected.iloc[j]).area
        union = areas[i] + areas[j] - inter
        iou = inter / union if union > 0 else 0.0
        if iou >= threshold:
            ious[(i, j)] = iou
            parent[find(i)] = find(j)

    groups: dict[int, list[int]] = {}
    for i in range(len(frame)):
        groups.setdefault(find(i), []).append(i)
    drop: list[int] = []
    others = frame["other_designations"].astype(object).to_numpy(copy=True)
    for members in groups.values():
        if len(members) == 1:
            continue

        def key(i: int) -> tuple[int, int, float, int]:
            r = frame.iloc[i]
            area = r["rep_area_km2"]
            return (*designation_rank(r["desig_type"], r["desig_eng"]),
                    -(0.0 if pd.isna(area) else float(area)), int(r["wdpaid"]))

        ordered = sorted(members, key=key)
        keep = ordered[0]
        kept = frame.iloc[keep]
        names = []
        for i in ordered[1:]:
            r = frame.iloc[i]
            iou = ious.get((min(i, keep), max(i, keep)))
            overlap = f"IoU {iou:.2f}" if iou is not None else "same overlap group"
            report.add(
                Issue.DUPLICATE_DESIGNATION, Action.DROPPED,
                f"same place as WDPAID {kept['wdpaid']} {kept['name']!s} "
                f"({kept['desig_eng']}, {kept['desig_type']}), kept instead of "
                f"{r['desig_eng']} ({r['desig_type']}); {overlap}",
                row=int(r["_row"]), key=f"WDPAID {r['wdpaid']}",
            )
            names.append(f"{r['desig_eng']} [WDPAID {r['wdpaid']}]")
            drop.append(i)
        others[keep] = "; ".join(names)
    frame = frame.copy()
    frame["other_designations"] = pd.array(others, dtype="string")
    return frame.drop(index=frame.index[drop])
