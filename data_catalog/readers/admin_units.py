"""Reader for administrative boundaries, ADM1 or ADM2: geoBoundaries, GADM or Natural Earth
admin-1, as GeoJSON, GeoPackage or (zipped) shapefile.

The schema is recognised from the fields of each layer (case-blind):

| source | ADM1 id, name, country | ADM2 id, name, country, parent |
|---|---|---|
| geoBoundaries | shapeID, shapeName, shapeGroup | shapeID, shapeName, shapeGroup, – |
| GADM | GID_1, NAME_1, GID_0 | GID_2, NAME_2, GID_0, NAME_1 |
| Natural Earth admin-1 | adm1_code, name, adm0_a3 | (none: Natural Earth has no ADM2) |

Output: one row per unit, EPSG:4326, MultiPolygon, with geoBoundaries' field names:

| column | type | notes |
|---|---|---|
| `shapeID` | string | the unit's id in its source (areas are `adm1:<shapeID>`) |
| `shapeName` | string | its name |
| `shapeGroup` | string | ISO 3166-1 alpha-3 of its country |
| `shapeType` | string | `ADM1` or `ADM2` |
| `parentName` | string | the ADM1 unit of an ADM2 unit, when the source says |
| `synthetic` | bool | False |

A unit without an outline, id or name is a bad row (the file is refused unless drops are
allowed); an invalid outline is made valid (reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from data_catalog.errors import MissingColumnError, SourceFormatError
from data_catalog.readers._common import (
    BBox,
    PathLike,
    as_paths,
    new_report,
    provenance,
    resolve_columns,
)
from data_catalog.readers._geometry import as_multipolygon, make_valid_polygonal
from data_catalog.readers._vector import read_layers, vector_files
from data_catalog.readers.report import Action, Issue, ReadResult

SOURCE_ID = "admin_units"
READER = "data_catalog.readers.admin_units:read_admin_units"
LEVELS = (1, 2)
SCHEMAS: dict[str, dict[int, tuple[str, str, str, str | None]]] = {
    "geoBoundaries": {1: ("shapeID", "shapeName", "shapeGroup", None),
                      2: ("shapeID", "shapeName", "shapeGroup", None)},
    "GADM": {1: ("GID_1", "NAME_1", "GID_0", None), 2: ("GID_2", "NAME_2", "GID_0", "NAME_1")},
    "Natural Earth": {1: ("adm1_code", "name", "adm0_a3", None)},
}
"""(id, name, country, parent) fields of each known source, by level."""


def _schema(columns: Sequence[str], level: int) -> tuple[str, dict[str, str]]:
    """The first known schema whose fields of `level` the layer has → (source, mapping)."""
    for source, levels in SCHEMAS.items():
        if level not in levels:
            continue
        ident, name, country, parent = levels[level]
        try:
            mapping = resolve_columns(columns, [ident, name, country],
                                      [parent] if parent else [])
        except MissingColumnError:
            continue
        return source, {"id": mapping[ident], "name": mapping[name], "country": mapping[country],
                        **({"parent": mapping[parent]} if parent and parent in mapping else {})}
    wanted = "; ".join(f"{source}: {', '.join(f for f in levels[level] if f)}"
                       for source, levels in SCHEMAS.items() if level in levels)
    raise SourceFormatError(f"not ADM{level} boundaries of a known source; the fields needed "
                            f"are {wanted} (the file has {', '.join(columns)})")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def read_admin_units(paths: PathLike | Sequence[PathLike], *, level: int,
                     bbox: BBox | None = None,
                     source_id: str = SOURCE_ID) -> ReadResult[gpd.GeoDataFrame]:
    """Read ADM1 or ADM2 boundaries into a tidy GeoDataFrame (see the module doc).

    Args:
        paths: The boundary file(s).
        level: 1 (provinces, departments) or 2 (districts, municipios).
        bbox: Keep only units intersecting (west, south, east, north), degrees.
        source_id: Source id written into the provenance.

    Raises:
        ValueError: A level other than 1 or 2.
        SourceFormatError: A file that is not vector data, or fields of no known source.
    """
    if level not in LEVELS:
        raise ValueError(f"--level must be 1 or 2, not {level}")
    files = as_paths(paths)
    report = new_report(source_id, READER, files, unit="feature")
    report.positions = "feature"
    rows: list[dict[str, Any]] = []
    geometries: list[Any] = []
    read = 0
    sources = set()
    for path in files:
        with vector_files(path) as datasets:
            for dataset in datasets:
                for layer in read_layers(dataset, report, bbox=bbox):
                    source, fields = _schema(list(layer.columns), level)
                    sources.add(source)
                    for values, geometry in zip(layer.to_dict("records"), layer.geometry,
                                                strict=True):
                        row = read
                        read += 1
                        ident, name = _text(values[fields["id"]]), _text(values[fields["name"]])
                        key = f"{ident or '?'} {name or ''}".strip()
                        if ident is None or name is None:
                            column = fields["id"] if ident is None else fields["name"]
                            report.reject(Issue.MISSING_VALUE, "no id or name", row=row,
                                          line=row + 1, column=column, value="",
                                          allowed="the unit's id and name", key=key)
                            continue
                        if geometry is None or geometry.is_empty:
                            report.reject(Issue.EMPTY_GEOMETRY, "no geometry", row=row,
                                          line=row + 1, column="geometry", value="",
                                          allowed="a polygon", key=key)
                            continue
                        if not geometry.is_valid:
                            reason = shapely.is_valid_reason(geometry)
                            geometry = make_valid_polygonal(geometry)
                            report.add(Issue.INVALID_GEOMETRY, Action.FIXED,
                                       f"invalid geometry ({reason}) made valid", row=row,
                                       key=key)
                        rows.append({"shapeID": ident, "shapeName": name,
                                     "shapeGroup": _text(values[fields["country"]]),
                                     "parentName": _text(values.get(fields.get("parent", ""))),
                                     })
                        geometries.append(as_multipolygon(geometry))
    report.rows_read = read
    frame = gpd.GeoDataFrame({
        "shapeID": pd.array([r["shapeID"] for r in rows], dtype="string"),
        "shapeName": pd.array([r["shapeName"] for r in rows], dtype="string"),
        "shapeGroup": pd.array([r["shapeGroup"] for r in rows], dtype="string"),
        "shapeType": pd.array([f"ADM{level}"] * len(rows), dtype="string"),
        "parentName": pd.array([r["parentName"] for r in rows], dtype="string"),
        "synthetic": False,
    }, geometry=geometries, crs="EPSG:4326")
    frame.attrs.update(provenance(report, schema=", ".join(sorted(sources))))
    return ReadResult(frame, report)
