"""Writing features out: GeoJSON pages and streams (RFC 7946), CSV streams, GeoPackage files.

Geometries arrive from the store already in CRS84, rounded to 7 decimals and with polygons
counter-clockwise outside, so the writers only format them.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from geo_service.features.model import FeatureBatch

GEOJSON = "application/geo+json"
CSV = "text/csv; charset=utf-8"
GPKG = "application/geopackage+sqlite3"

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_string = json.encoder.encode_basestring


def _json_values(values: list[Any]) -> list[str]:
    """Each value as JSON text (strings, numbers, booleans and None on a fast path)."""
    out = []
    for value in values:
        kind = type(value)
        if kind is str:
            out.append(_string(value))
        elif value is None:
            out.append("null")
        elif kind is bool:
            out.append("true" if value else "false")
        elif kind is int or kind is float:
            out.append(repr(value))
        else:
            out.append(_dumps(value))
    return out


def feature_strings(batch: FeatureBatch) -> list[str]:
    """Each feature of the batch as a GeoJSON Feature (text).

    Built column by column (one JSON encoding per value, keys encoded once) rather than
    dumping a dict per feature: about three times faster for a page.
    """
    if not len(batch):
        return []
    geometries = shapely.to_geojson(batch.geometry)
    ids = _json_values(batch.ids)
    columns = [[f"{_string(name)}:{text}" for text in _json_values(values)]
               for name, values in batch.properties.items()]
    rows = zip(*columns, strict=True) if columns else ([] for _ in ids)
    return [
        f'{{"type":"Feature","id":{fid},"geometry":{geometry or "null"},'
        f'"properties":{{{",".join(row)}}}}}'
        for fid, geometry, row in zip(ids, geometries, rows, strict=True)
    ]


def feature_document(batch: FeatureBatch, links: list[dict[str, Any]]) -> bytes:
    """One feature (the batch's first) as a GeoJSON Feature with links."""
    text = feature_strings(batch)[0]
    return (text[:-1] + f',"links":{_dumps(links)}}}').encode()


def feature_collection(batch: FeatureBatch, *, number_matched: int, timestamp: str,
                       links: list[dict[str, Any]]) -> bytes:
    """A page as a GeoJSON FeatureCollection with OGC API - Features members."""
    features = ",".join(feature_strings(batch))
    return (f'{{"type":"FeatureCollection","features":[{features}],'
            f'"numberMatched":{number_matched},"numberReturned":{len(batch)},'
            f'"timeStamp":{_dumps(timestamp)},"links":{_dumps(links)}}}').encode()


def geojson_stream(batches: Iterable[FeatureBatch], *, name: str, timestamp: str,
                   schema: dict[str, Any] | None = None) -> Iterator[bytes]:
    """A whole result as one GeoJSON FeatureCollection, written batch by batch.

    `schema` (a JSON Schema of the properties: type, title, description and units of each)
    is written as the collection's `schema` member, before the features.
    """
    head = f'{{"type":"FeatureCollection","name":{_dumps(name)},"timeStamp":{_dumps(timestamp)},'
    if schema is not None:
        head += f'"schema":{_dumps(schema)},'
    yield (head + '"features":[').encode()
    first = True
    for batch in batches:
        if not len(batch):
            continue
        text = ",".join(feature_strings(batch))
        yield (text if first else "," + text).encode()
        first = False
    yield b"]}"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection)."""


def neutralised(text: str) -> str:
    """Text a spreadsheet shows as text: a leading `'` before a formula character (OWASP's
    rule for CSV injection); any other text unchanged."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_stream(batches: Iterable[FeatureBatch], columns: list[str]) -> Iterator[bytes]:
    """A whole result as CSV: `id`, the properties in `columns` order and `geometry` (WKT).

    Numbers and booleans are written as such; text (headers too) is neutralised against
    formula injection; lists and objects are written as JSON text; missing values as empty
    cells.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180; quotes a lone CR too
    writer.writerow([neutralised(name) for name in ["id", *columns, "geometry"]])
    yield buffer.getvalue().encode()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        wkt = shapely.to_wkt(batch.geometry, rounding_precision=7, trim=True) \
            if len(batch) else []
        cells = [[_cell(v) for v in batch.properties[c]] for c in columns]
        for index, fid in enumerate(batch.ids):
            writer.writerow([_cell(fid), *(cell[index] for cell in cells), wkt[index] or ""])
        yield buffer.getvalue().encode()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralised(value)
    if isinstance(value, list | dict):
        return _dumps(value)
    return value


GPKG_VERSION = "1.2"
"""GeoPackage version written (GDAL 3.6, Debian 12's, warns on 1.4 files)."""
GPKG_GEOMETRY, GPKG_FID = "geom", "fid"
"""GDAL's names of a GeoPackage table's geometry and integer key columns; a property of the
same name (any case) would be refused (`geom`) or taken as the key and dropped from the fields
(an integer `fid`), so those two columns take another name then (`geom_2`, `fid_2`)."""


def unique_names(names: Iterable[str]) -> list[str]:
    """The names made unique ignoring case (GeoPackage and SQLite compare field names without
    case): a later `NAME` beside `name` becomes `NAME_2`."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out


@dataclass(frozen=True)
class FieldDoc:
    """How a column is described in a GeoPackage (`gpkg_data_columns`).

    Attributes:
        title: a short title.
        description: what the values mean, with their units.
    """

    title: str
    description: str


def write_gpkg(batches: Iterable[FeatureBatch], path: Path, *, layer: str,
               kinds: Mapping[str, str], docs: Mapping[str, FieldDoc] | None = None,
               description: str = "", geometry_type: str = "Unknown") -> int:
    """Write a whole result to a GeoPackage 1.2 layer (EPSG:4326); returns the features written.

    Each property is written in one type (its column kind: integers as Integer64, numbers as
    Real, booleans as Boolean, date-times as DateTime, dates as Date, text as String), under a
    name unique without case, and described in `gpkg_data_columns` (the Schema extension).
    The feature id is written as the `id` column (GeoPackage's own fid is an integer key).
    Every property keeps its column: the geometry and key columns are named around them
    (`GPKG_GEOMETRY`, `GPKG_FID`).

    Args:
        batches: the features.
        path: the file to create.
        layer: the layer name.
        kinds: property name → column kind, in order (also used for an empty result).
        docs: property name (and `id`) → title and description.
        description: the layer's description (`gpkg_contents`).
        geometry_type: the layer's OGR geometry type ("Point", ..., or "Unknown" for mixed).
    """
    columns = unique_names(["id", *kinds])
    names = dict(zip(["id", *kinds], columns, strict=True))
    geometry_name, fid_name = unique_names([*columns, GPKG_GEOMETRY, GPKG_FID])[-2:]
    layer_options = {"DESCRIPTION": description[:1000], "GEOMETRY_NAME": geometry_name,
                     "FID": fid_name}
    written = 0
    for batch in batches:
        if not len(batch):
            continue
        _write_frame(batch, path, layer, kinds, names, geometry_type, layer_options,
                     append=written > 0)
        written += len(batch)
    if not written:
        _write_frame(FeatureBatch.empty(list(kinds)), path, layer, kinds, names, geometry_type,
                     layer_options, append=False)
    _describe_columns(path, layer, names, docs or {})
    return written


def _typed(values: list[Any], kind: str) -> pd.Series:
    """A column of one type, whatever values are missing."""
    if kind == "integer":
        return pd.Series(pd.array(values, dtype="Int64"))
    if kind == "number":
        return pd.Series(values, dtype="float64")
    if kind == "boolean":
        return pd.Series(pd.array(values, dtype="boolean"))
    if kind == "datetime":
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True,
                                        format="ISO8601"))
    if kind == "date":
        days = [None if v is None else datetime.date.fromisoformat(v) for v in values]
        return pd.Series(pa.array(days, pa.date32()), dtype=pd.ArrowDtype(pa.date32()))
    return pd.Series([_gpkg_value(v) for v in values], dtype=object)


def _write_frame(batch: FeatureBatch, path: Path, layer: str, kinds: Mapping[str, str],
                 names: Mapping[str, str], geometry_type: str,
                 layer_options: Mapping[str, str], *, append: bool) -> None:
    columns = {names["id"]: pd.Series([None if v is None else str(v) for v in batch.ids],
                                      dtype=object)}
    for name, kind in kinds.items():
        columns[names[name]] = _typed(batch.properties[name], kind)
    frame = gpd.GeoDataFrame(columns,
                             geometry=gpd.GeoSeries(np.asarray(batch.geometry, dtype=object)),
                             crs="EPSG:4326")
    options = {} if append else {"dataset_options": {"VERSION": GPKG_VERSION},
                                 "layer_options": dict(layer_options)}
    pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", append=append,
                            promote_to_multi=False, geometry_type=geometry_type,
                            use_arrow=True, **options)


_DATA_COLUMNS = (
    "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, "
    "column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, mime_type TEXT, "
    "constraint_name TEXT, CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), "
    "CONSTRAINT gdc_tn UNIQUE (table_name, name))",
    "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, "
    "constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, "
    "max NUMERIC, max_is_inclusive BOOLEAN, description TEXT, "
    "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))",
)
SCHEMA_EXTENSION = "http://www.geopackage.org/spec120/#extension_schema"


def _describe_columns(path: Path, layer: str, names: Mapping[str, str],
                      docs: Mapping[str, FieldDoc]) -> None:
    """Title and description of every column in `gpkg_data_columns` (GeoPackage's Schema
    extension, registered in `gpkg_extensions`)."""
    rows = [(layer, column, column, docs[name].title, docs[name].description)
            for name, column in names.items() if name in docs]
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for statement in _DATA_COLUMNS:
            db.execute(statement)
        for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
            known = db.execute("SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND "
                               "extension_name = 'gpkg_schema'", (table,)).fetchone()
            if known is None:
                db.execute("INSERT INTO gpkg_extensions (table_name, column_name, "
                           "extension_name, definition, scope) VALUES (?, NULL, 'gpkg_schema', "
                           "?, 'read-write')", (table, SCHEMA_EXTENSION))
        db.executemany("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, "
                       "name, title, description) VALUES (?, ?, ?, ?, ?)", rows)


def _gpkg_value(value: Any) -> Any:
    if isinstance(value, list | dict):
        return _dumps(value)
    return value
