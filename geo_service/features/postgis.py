"""The PostGIS feature store: the collections a load (`postgis_load`) put in the database.

One `FeatureDatabase` per process holds the connection pool (psycopg 3, autocommit); each
region gets a `PostGISFeatureStore` on it that serves the region's scope and the user layers
(`postgis_schema`). Every call asks for the latest load's generation (one index lookup); the
region's catalog is re-read only when it changed, so a load shows up on the next request and
never half-way. A page is one `count(*)` (skipped without filters) and one `SELECT ... ORDER
BY _row LIMIT/OFFSET` with the filters in SQL: bbox through the GiST index (points compared by
coordinates, other geometries by `ST_Intersects`, as the embedded store does), time as
[_t0, _t1] in ns, properties by equality parsed as the embedded store parses them. Geometries
come back as WKB (2D points as x and y) and go to the same encoders as the embedded store's
(`FeatureBatch`), so both stores answer byte for byte alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import numpy as np
import psycopg
import shapely
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from geo_service.features import cql
from geo_service.features.columns import parse_value
from geo_service.features.errors import (
    CollectionNotFound,
    FeatureNotFound,
    InvalidQuery,
    StoreUnavailable,
)
from geo_service.features.model import (
    CollectionInfo,
    FeatureBatch,
    FeaturePage,
    FeatureQuery,
    FeatureStore,
    Interval,
)
from geo_service.features.parquet import interval_ns
from geo_service.features.postgis_schema import (
    GEOMETRY,
    QUERYABLE_KINDS,
    SCHEMA,
    SRID,
    USER_SCOPE,
    StoredCollection,
)

T = TypeVar("T")
INT64 = np.iinfo("int64")
GENERATION_SQL = f"SELECT max(generation) FROM {SCHEMA}.loads"
CATALOG_SQL = (f"SELECT g.generation, c.table_name, c.info FROM "
               f"(SELECT max(generation) AS generation FROM {SCHEMA}.loads) g "
               f"LEFT JOIN {SCHEMA}.collections c ON c.scope = ANY(%s) "
               f"ORDER BY c.scope = '{USER_SCOPE}', c.id")
"""The latest generation and the collections of the given scopes, from one snapshot: the
region's first, then the user layers (which win over a run layer of the same id)."""


class FeatureDatabase:
    """The PostGIS database of the feature stores: one connection pool per process, shared by
    every region's store.

    Args:
        url: a libpq connection string or URL (`postgresql://user@host:port/db`).
        max_connections: the pool's size (per process).
        timeout_s: longest wait for a free connection, s (then 503 problem+json).
    """

    def __init__(self, url: str, *, max_connections: int = 8, timeout_s: float = 10.0) -> None:
        self.pool = ConnectionPool(url, min_size=1, max_size=max_connections,
                                   timeout=timeout_s, kwargs={"autocommit": True},
                                   open=False, name="cmrisk-features")
        self.pool.open(wait=False)

    def store(self, region: str) -> PostGISFeatureStore:
        """The feature store of one region: its run layers and the user layers."""
        return PostGISFeatureStore(self, region)

    def close(self) -> None:
        """Close every pooled connection."""
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection.

        Raises:
            StoreUnavailable: the database cannot be reached or no connection came free in
                time (no host name or database message in it).
        """
        try:
            with self.pool.connection() as conn:
                yield conn
        except PoolTimeout:
            raise StoreUnavailable("no database connection came free in time") from None
        except psycopg.OperationalError:
            raise StoreUnavailable("the feature database cannot be reached") from None


class PostGISFeatureStore(FeatureStore):
    """One region's collections, served from the PostGIS tables written by
    `postgis_load.load_collections`: the region's run layers and the user layers.

    Args:
        database: the database (and its connection pool).
        region: the region id.
    """

    def __init__(self, database: FeatureDatabase, region: str) -> None:
        self.database = database
        self.region = region
        self._scopes = [region, USER_SCOPE]
        # (generation, catalog) as one value, so a reader never pairs one with the other's
        # predecessor; None until read.
        self._state: tuple[int | None, dict[str, StoredCollection]] | None = None

    def _connection(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        return self.database.connection()

    def _collections(self, conn: psycopg.Connection[Any]) -> dict[str, StoredCollection]:
        """The served collections, re-read when a load committed since the last call."""
        try:
            row = conn.execute(GENERATION_SQL).fetchone()
        except psycopg.errors.UndefinedTable:  # nothing was ever loaded
            return {}
        state = self._state
        if state is not None and row is not None and row[0] == state[0]:
            return state[1]
        rows = conn.execute(CATALOG_SQL, (self._scopes,)).fetchall()
        catalog = {info["id"]: StoredCollection.from_row(table, info)
                   for _, table, info in rows if table is not None}
        self._state = (rows[0][0] if rows else None, catalog)
        return catalog

    def _stored(self, conn: psycopg.Connection[Any], collection_id: str) -> StoredCollection:
        stored = self._collections(conn).get(collection_id)
        if stored is None:
            raise CollectionNotFound(collection_id)
        return stored

    def _read(self, collection_id: str,
              work: Callable[[psycopg.Connection[Any], StoredCollection], T]) -> T:
        """Run `work` on the collection's current table; once more on a fresh catalog if the
        table went away (dropped by a second load since this process last looked)."""
        with self._connection() as conn:
            try:
                return work(conn, self._stored(conn, collection_id))
            except psycopg.errors.UndefinedTable:
                self._state = None
                return work(conn, self._stored(conn, collection_id))

    def collections(self) -> list[CollectionInfo]:
        """Every collection, sorted by id."""
        with self._connection() as conn:
            catalog = self._collections(conn)
        return [catalog[cid].info for cid in sorted(catalog)]

    def collection(self, collection_id: str) -> CollectionInfo:
        """One collection's description."""
        with self._connection() as conn:
            return self._stored(conn, collection_id).info

    def query(self, collection_id: str, query: FeatureQuery) -> FeaturePage:
        """One page of the matching features, in collection order."""

        def page(conn: psycopg.Connection[Any], stored: StoredCollection) -> FeaturePage:
            where, params = _where(stored, query)
            table = _table(stored)
            if where is None:
                matched = stored.info.number_of_features
            else:
                row = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}",
                                   params).fetchone()
                matched = int(row[0]) if row else 0
            if query.offset >= matched:
                return FeaturePage(matched, _empty(stored))
            text = (f"{_select(stored)} {'WHERE ' + where if where else ''} "
                    f"ORDER BY _row LIMIT %s OFFSET %s")
            with conn.cursor(binary=True) as cursor:
                rows = cursor.execute(text, [*params, query.limit, query.offset]).fetchall()
            return FeaturePage(matched, _batch(stored, rows))

        return self._read(collection_id, page)

    def feature(self, collection_id: str, feature_id: str) -> FeatureBatch:
        """The feature with this id."""

        def one(conn: psycopg.Connection[Any], stored: StoredCollection) -> FeatureBatch:
            with conn.cursor(binary=True) as cursor:
                rows = cursor.execute(f"{_select(stored)} WHERE _fid = %s",
                                      [feature_id]).fetchall()
            if not rows:
                raise FeatureNotFound(collection_id, feature_id)
            return _batch(stored, rows)

        return self._read(collection_id, one)

    def batches(self, collection_id: str, query: FeatureQuery,
                size: int = 10_000) -> Iterator[FeatureBatch]:
        """Every matching feature, `size` at a time, from one snapshot (the query's limit and
        offset ignored); a bad query fails here, before any batch is read."""
        with self._connection() as conn:
            stored = self._stored(conn, collection_id)
        where, params = _where(stored, query)
        return self._stream(stored, where, params, size)

    def _stream(self, stored: StoredCollection, where: str | None, params: list[Any],
                size: int) -> Iterator[FeatureBatch]:
        text = f"{_select(stored)} {'WHERE ' + where if where else ''} ORDER BY _row"
        with self._connection() as conn, conn.transaction(), \
                conn.cursor(name="cmrisk_batches", binary=True) as cursor:
            cursor.itersize = size
            cursor.execute(text, params)
            while rows := cursor.fetchmany(size):
                yield _batch(stored, rows)

    def intersecting(self, collection_id: str, geometry: shapely.Geometry,
                     interval: Interval | None = None) -> FeatureBatch:
        """Every feature intersecting `geometry` (CRS84), optionally within `interval`."""

        def found(conn: psycopg.Connection[Any], stored: StoredCollection) -> FeatureBatch:
            where = f"ST_Intersects({_ident(GEOMETRY)}, ST_GeomFromWKB(%s, {SRID}))"
            params: list[Any] = [shapely.to_wkb(geometry)]
            if interval is not None:
                if stored.info.time_property is None:
                    raise InvalidQuery(f"collection {stored.info.id} has no time property",
                                       parameter="datetime")
                where += " AND _t0 IS NOT NULL AND _t0 <= %s AND _t1 >= %s"
                low, high = interval_ns(interval)
                params += [high, low]
            with conn.cursor(binary=True) as cursor:
                rows = cursor.execute(f"{_select(stored)} WHERE {where} ORDER BY _row",
                                      params).fetchall()
            return _batch(stored, rows)

        return self._read(collection_id, found)


def _ident(*names: str) -> str:
    return sql.Identifier(*names).as_string()


def _table(stored: StoredCollection) -> str:
    return _ident(SCHEMA, stored.table)


def _select(stored: StoredCollection) -> str:
    """`SELECT _id, geometry, properties... FROM table` of a collection: the geometry as
    x and y for 2D points, else as WKB."""
    geom = _ident(GEOMETRY)
    geometry = f"ST_X({geom}), ST_Y({geom})" if stored.xy else f"ST_AsBinary({geom})"
    columns = ", ".join(_ident(c.column) for c in stored.columns)
    return (f"SELECT _id, {geometry}{', ' + columns if columns else ''} "
            f"FROM {_table(stored)}")


def _where(stored: StoredCollection, query: FeatureQuery) -> tuple[str | None, list[Any]]:
    """The SQL condition of a query's filters and its parameters (None: no filter).

    Raises:
        InvalidQuery: a filter on a property that is not queryable, a value of the wrong type
            or a datetime on a collection without time (as the embedded store raises them).
    """
    conditions: list[str] = []
    params: list[Any] = []
    for name, text in query.properties.items():
        spec = stored.column(name)
        if spec is None or spec.kind not in QUERYABLE_KINDS:
            raise InvalidQuery(f"{name!r} is not a queryable property of {stored.info.id}",
                               parameter=name)
        value = parse_value(spec.kind, spec.name, text)
        if spec.kind == "integer" and not INT64.min <= value <= INT64.max:
            conditions.append("FALSE")  # no stored integer equals it
            continue
        conditions.append(f"{_ident(spec.column)} = %s")
        params.append(value)
    if query.datetime is not None and stored.info.time_property is None:
        raise InvalidQuery(f"collection {stored.info.id} has no time property",
                           parameter="datetime")
    if query.bbox is not None:
        geom = _ident(GEOMETRY)
        boxes = []
        for west, south, east, north in query.bbox.boxes():
            envelope = f"ST_MakeEnvelope(%s, %s, %s, %s, {SRID})"
            if stored.points:  # the envelope test is the exact test, boundaries included
                boxes.append(f"({geom} && {envelope} AND ST_X({geom}) BETWEEN %s AND %s "
                             f"AND ST_Y({geom}) BETWEEN %s AND %s)")
                params += [west, south, east, north, west, east, south, north]
            else:
                boxes.append(f"ST_Intersects({geom}, {envelope})")
                params += [west, south, east, north]
        conditions.append(boxes[0] if len(boxes) == 1 else f"({' OR '.join(boxes)})")
    if query.datetime is not None:
        low, high = interval_ns(query.datetime)
        conditions.append("_t0 IS NOT NULL AND _t0 <= %s AND _t1 >= %s")
        params += [high, low]
    if query.filter is not None:
        conditions.append(_filter_sql(stored, query.filter, params))
    return (" AND ".join(conditions) if conditions else None), params


SQL_OPERATORS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
SPATIAL_SQL = {"intersects": "ST_Intersects", "disjoint": "ST_Disjoint",
               "within": "ST_Within", "contains": "ST_Contains"}


def _filter_sql(stored: StoredCollection, expr: cql.Expr, params: list[Any]) -> str:
    """A CQL2 expression as a SQL condition that is never NULL (two-valued, as the embedded
    store evaluates it); its parameters are appended to `params`. Text is compared by code
    point (`COLLATE "C"`), as Python compares it."""
    if isinstance(expr, cql.Logic):
        joiner = " AND " if expr.op == "and" else " OR "
        return "(" + joiner.join(_filter_sql(stored, p, params) for p in expr.parts) + ")"
    if isinstance(expr, cql.Negation):
        return f"(NOT {_filter_sql(stored, expr.part, params)})"
    if isinstance(expr, cql.Constant):
        return "TRUE" if expr.value else "FALSE"
    if isinstance(expr, cql.Spatial):
        params.append(shapely.to_wkb(expr.geometry))
        return (f"COALESCE({SPATIAL_SQL[expr.op]}({_ident(GEOMETRY)}, "
                f"ST_GeomFromWKB(%s, {SRID})), FALSE)")
    spec = stored.column(expr.name)
    if spec is None:  # parse_filter checked the name against this collection
        raise InvalidQuery(f"{expr.name!r} is not a property of {stored.info.id}",
                           parameter="filter")
    column = _ident(spec.column)
    if isinstance(expr, cql.IsNull):
        return f"({column} IS {'NOT ' if expr.negate else ''}NULL)"
    text = ' COLLATE "C"' if spec.kind == "string" else ""
    if isinstance(expr, cql.Compare):
        params.append(_param(expr.value))
        body = f"{column}{text} {SQL_OPERATORS[expr.op]} %s"
    elif isinstance(expr, cql.Between):
        params += [_param(expr.low), _param(expr.high)]
        body = f"{column}{text} BETWEEN %s AND %s"
    elif isinstance(expr, cql.InList):
        items = [_param(v) for v in expr.values]
        if any(isinstance(v, float) for v in items):
            items = [float(v) for v in items]
        params.append(items)
        body = f"{column}{text} = ANY(%s)"
    else:  # Like
        params.append(expr.sql_pattern())
        body = f"{column} {'ILIKE' if expr.nocase else 'LIKE'} %s ESCAPE '\\'"
    condition = f"COALESCE({body}, FALSE)"
    negate = getattr(expr, "negate", False)
    return f"({column} IS NOT NULL AND NOT {condition})" if negate else condition


def _param(value: Any) -> Any:
    """A literal as a query parameter: integers beyond bigint as float (compared as numbers
    either way)."""
    if isinstance(value, int) and not isinstance(value, bool) \
            and not INT64.min <= value <= INT64.max:
        return float(value)
    return value


def _empty(stored: StoredCollection) -> FeatureBatch:
    return FeatureBatch.empty([c.name for c in stored.columns])


def _batch(stored: StoredCollection, rows: list[tuple[Any, ...]]) -> FeatureBatch:
    """Rows of `_select` as a batch: ids, shapely geometries, property values in columns."""
    if not rows:
        return _empty(stored)
    columns = list(zip(*rows, strict=True))
    if stored.xy:
        x = np.asarray(columns[1], dtype="float64")  # a missing point (NULL) becomes NaN
        geometry = shapely.points(x, np.asarray(columns[2], dtype="float64"))
        geometry[np.isnan(x)] = None
        values = columns[3:]
    else:
        geometry = shapely.from_wkb(np.asarray(columns[1], dtype=object))
        values = columns[2:]
    return FeatureBatch(
        ids=list(columns[0]), geometry=geometry,
        properties={spec.name: list(column)
                    for spec, column in zip(stored.columns, values, strict=True)})
