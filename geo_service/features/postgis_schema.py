"""How feature collections are kept in PostGIS: the schema, its catalog, one table per version.

Collections live in *scopes*: each region's run layers in the region's scope (its id), the
user layers (served beside every region) in `USER_SCOPE`. A region's store serves its own
scope and the user scope, a user layer winning over a run layer of the same id, as the layer
registry does.

```
cmrisk.loads(generation, loaded_at, scopes,         one row per committed load
             collections)
cmrisk.collections(scope, id, version, table_name,  the served version of each collection
                   info, generation)                 of each scope
cmrisk.feature_tables(table_name, scope,            every feature table a load wrote, and the
                      collection_id, version,        load that stopped serving it
                      created, retired)
cmrisk."<scope>__<id>_g<generation>"                one collection version:
    _row  bigint primary key   collection order (0-based): pages are ORDER BY _row
    _fid  text unique          the feature id as text (`/items/{featureId}`)
    _id   bigint, text or json the feature id as served (number or string)
    geom  geometry(Geometry, 4326), GiST index: CRS84, rounded to 7 decimals, polygons
                               counter-clockwise outside (as the embedded store serves them)
    _t0, _t1 bigint            each feature's time interval, ns since 1970 UTC (time-enabled
                               collections only)
    one column per property    text, bigint, double precision, boolean or json, holding the
                               JSON-ready value the embedded store serves (dates as text)
```

A load (`postgis_load.load_collections`) writes new tables and switches `collections` in one
transaction; a reader takes a collection's table from `collections` and reads only that table,
so it never waits for a load and never sees half of one. `info` holds the `CollectionInfo` of
the version and the map from property names to columns.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

from geo_service.features.model import CollectionInfo, Queryable

SCHEMA = "cmrisk"
"""The PostgreSQL schema of the catalog and the feature tables."""
USER_SCOPE = "@layers"
"""The scope of the user layers (no region id starts with `@`)."""
SRID = 4326
GEOMETRY = "geom"
"""The geometry column of every feature table."""
INTERNAL_COLUMNS = frozenset({"_row", "_fid", "_id", GEOMETRY, "_t0", "_t1"})
"""Columns every feature table has besides its properties."""
SQL_TYPES = {"string": "text", "integer": "bigint", "number": "double precision",
             "boolean": "boolean", "datetime": "text", "date": "text",
             "other": "json"}
"""Column type by property kind (`columns.Column.kind`)."""
QUERYABLE_KINDS = frozenset({"string", "integer", "number", "boolean"})
MAX_IDENTIFIER_BYTES = 63
"""PostgreSQL truncates longer identifiers."""

CATALOG_DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.loads (
        generation bigserial PRIMARY KEY,
        loaded_at timestamptz NOT NULL DEFAULT now(),
        scopes text[] NOT NULL DEFAULT '{{}}',
        collections integer NOT NULL DEFAULT 0)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.feature_tables (
        table_name text PRIMARY KEY,
        scope text NOT NULL,
        collection_id text NOT NULL,
        version text NOT NULL,
        created bigint NOT NULL,
        retired bigint)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.collections (
        scope text NOT NULL,
        id text NOT NULL,
        version text NOT NULL,
        table_name text NOT NULL REFERENCES {SCHEMA}.feature_tables (table_name),
        info json NOT NULL,
        generation bigint NOT NULL,
        PRIMARY KEY (scope, id))""",
)
"""The catalog, created by the first load (idempotent)."""


@dataclass(frozen=True)
class ColumnSpec:
    """One property of a stored collection.

    Attributes:
        name: the property name clients see.
        column: its column in the feature table (the name, unless that cannot be a column).
        kind: string, integer, number, boolean, datetime or other (`columns.Column.kind`).
    """

    name: str
    column: str
    kind: str


@dataclass(frozen=True)
class StoredCollection:
    """A collection version as the catalog describes it.

    Attributes:
        info: what the service says about the collection.
        table: the feature table (in `SCHEMA`).
        columns: the properties, in order.
        points: whether every geometry is a point (bbox filters then compare coordinates).
        xy: whether every geometry is a 2D point or missing (pages then read x and y, not
            WKB: ten times cheaper to decode).
        id_type: the SQL type of `_id`: bigint (integer ids), text (string ids) or json.
    """

    info: CollectionInfo
    table: str
    columns: tuple[ColumnSpec, ...]
    points: bool
    xy: bool = False
    id_type: str = "json"

    def column(self, name: str) -> ColumnSpec | None:
        """The property called `name`, or None."""
        return next((c for c in self.columns if c.name == name), None)

    def info_json(self) -> dict[str, Any]:
        """The `info` of the catalog row (JSON-ready)."""
        body = asdict(self.info)
        body["columns"] = [asdict(c) for c in self.columns]
        body.update(points=self.points, xy=self.xy, id_type=self.id_type)
        return body

    @classmethod
    def from_row(cls, table: str, info: dict[str, Any]) -> StoredCollection:
        """A collection from its catalog row (`table_name`, `info`)."""
        body = dict(info)
        columns = tuple(ColumnSpec(**c) for c in body.pop("columns"))
        points, xy, id_type = bool(body.pop("points")), bool(body.pop("xy")), body.pop("id_type")
        body["bbox"] = tuple(body["bbox"]) if body["bbox"] is not None else None
        body["interval"] = tuple(body["interval"]) if body["interval"] is not None else None
        body["queryables"] = tuple(Queryable(**q) for q in body["queryables"])
        body["properties"] = tuple(body["properties"])
        body["property_kinds"] = tuple(body.get("property_kinds", ()))
        return cls(CollectionInfo(**body), table, columns, points, xy, str(id_type))


def column_names(names: list[str]) -> list[str]:
    """A column name for each property name: the name itself where it can be one (not an
    internal column, not longer than PostgreSQL keeps, not taken), else `p<index>`."""
    taken = set(INTERNAL_COLUMNS)
    out = []
    for index, name in enumerate(names):
        column = name
        if column in taken or len(column.encode()) > MAX_IDENTIFIER_BYTES or "\x00" in column:
            column = f"p{index}"
            while column in taken:
                column = f"_{column}"
        taken.add(column)
        out.append(column)
    return out


def scope_label(scope: str, collection_id: str) -> str:
    """How people see a collection of a scope: `region/id` (as its URL under
    `/regions/{region}/collections/{id}`), or the id of a user layer."""
    return collection_id if scope == USER_SCOPE else f"{scope}/{collection_id}"


def table_name(scope: str, collection_id: str, generation: int) -> str:
    """The feature table of a scope's collection written by load `generation`: lower-case
    letters, digits and `_`, `<region>__<id>_g<generation>` (`_user__<id>_g…` for a user
    layer, which no region's name can start like), shortened with a hash when the plain name
    is not already such a name or too long."""
    suffix = f"_g{generation}"
    wanted = f"{'_user' if scope == USER_SCOPE else scope}__{collection_id}"
    plain = re.sub(r"[^a-z0-9_]", "_", wanted.lower())
    room = MAX_IDENTIFIER_BYTES - len(suffix)
    if plain != wanted or len(plain) > room:
        digest = hashlib.sha1(wanted.encode()).hexdigest()[:8]
        plain = f"{plain[:room - 9]}_{digest}"
    return plain + suffix
