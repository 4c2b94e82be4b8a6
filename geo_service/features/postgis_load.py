"""Loading feature collections into PostGIS in one transaction, so a failed load changes nothing.

`load_collections(url, loads)` changes the collections of one or more scopes (a region's run
layers, or the user layers: `postgis_schema`) in one transaction. A `ScopeLoad` either makes
exactly its sources the scope's collections (`whole`) or adds, replaces and removes only the
collections it names (one user layer). For each collection whose version is not already
served it writes a new table (features prepared by the embedded store's own code,
`parquet.LoadedCollection`, so both stores serve the same ids, order, geometries and values),
then switches `cmrisk.collections` to them. Until the commit every reader keeps the previous
version; if the process dies or anything fails before it, PostgreSQL rolls the whole load
back. Tables a load stops serving stay until the next load (readers that took their name just
before the switch finish their query).

Who loads what, always before the data dir changes, so a failed load fails the command and
nothing moves: `cmrisk run REGION` and `cmrisk runs rollback --region REGION` load that
region's run (`publish_region`); `cmrisk ingest vector` (and event sources) and `cmrisk inputs
rollback layer:<id>` load that one user layer (`publish_user_layer`, called by the ingest
package before the layer folder is swapped); `cmrisk db load` loads every served region and
the user layers (`publish_layers`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql
from psycopg.types.json import Json

from data_catalog.paths import USER_LAYER_ITEM, DataDir
from geo_service.features.errors import LoadError
from geo_service.features.parquet import CollectionSource, LoadedCollection
from geo_service.features.postgis_schema import (
    CATALOG_DDL,
    GEOMETRY,
    SCHEMA,
    SQL_TYPES,
    SRID,
    USER_SCOPE,
    ColumnSpec,
    StoredCollection,
    column_names,
    scope_label,
    table_name,
)
from geo_service.features.sources import layer_source, vector_sources
from layers.registry import run_layers, user_layer, user_layers

__all__ = ["LOAD_EVENTS", "LoadError", "LoadReport", "ScopeLoad", "load_collections",
           "publish_layers", "publish_region", "publish_user_layer"]

LOAD_EVENTS = ("begin", "written", "switched", "committed")
"""What a load reports to its hook, in order: `begin` (transaction open, lock held),
`written` (every new table written, nothing switched), `switched` (the catalog points at the
new tables, not yet committed), `committed` (served from now on)."""

LoadHook = Callable[[str], None]
"""Called as hook(event) with each of `LOAD_EVENTS`; fault tests stop the process there."""

LOAD_LOCK = 0x636D7269736B  # "cmrisk"
"""The advisory lock that serialises loads."""
DROP_LOCK_TIMEOUT = "2s"
"""How long a load waits to drop a retired table a reader still holds before leaving it for
the next load."""
NO_TIME = int(np.iinfo("int64").min)
"""How the embedded store marks a feature without time (stored as NULL)."""
ID_RANGE = (int(np.iinfo("int64").min), int(np.iinfo("int64").max))
COPY_ROWS = 50_000
"""Rows prepared per slice while copying (bounds the memory of the text rows)."""


@dataclass(frozen=True)
class ScopeLoad:
    """What one load does to one scope.

    Attributes:
        scope: a region id, or `USER_SCOPE`.
        sources: the collections to serve (ids unique); one whose version is already served
            is kept as it is.
        whole: `sources` are the scope's collections from now on (others are removed);
            otherwise only `sources` are added or replaced, and `remove` removed.
        remove: ids to stop serving (with `whole` False).
    """

    scope: str
    sources: Sequence[CollectionSource]
    whole: bool = True
    remove: tuple[str, ...] = ()


@dataclass
class LoadReport:
    """What a load did; collections named `region/id`, user layers by id
    (`postgis_schema.scope_label`).

    Attributes:
        generation: the load's number (increases with every committed load).
        written: collections written as new tables.
        kept: collections whose served version was already this one.
        removed: collections no longer served.
        dropped: feature tables dropped (retired by an earlier load).
        seconds: time of the load, s.
    """

    generation: int
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people."""
        return (f"load {self.generation}: {len(self.written)} collections written, "
                f"{len(self.kept)} unchanged, {len(self.removed)} removed "
                f"({self.seconds:.1f} s)")


def load_collections(url: str, loads: Sequence[ScopeLoad], *,
                     hook: LoadHook | None = None) -> LoadReport:
    """Change the collections of the scopes in `loads`, in one transaction (other scopes are
    left as they are).

    Args:
        url: a libpq connection string or URL (`postgresql://user@host:port/db`).
        loads: what to do to each scope (each scope once).
        hook: told each of `LOAD_EVENTS` as the load reaches it.

    Returns:
        What the load did.

    Raises:
        LoadError: the database refused or failed (e.g. cannot be reached), or a collection
            could not be read; nothing changed.
        ValueError: duplicate collection ids in a scope, or a scope named twice; nothing was
            changed.
    """
    scopes = [load.scope for load in loads]
    if len(set(scopes)) != len(scopes):
        raise ValueError(f"scopes named more than once: {sorted(scopes)}")
    for load in loads:
        ids = [s.id for s in load.sources]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"duplicate collection ids in {load.scope}: {twice}")
    try:
        return _load(url, loads, hook or (lambda event: None))
    except psycopg.Error as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise LoadError(f"the PostGIS load failed ({exc.__class__.__name__}: "
                        f"{message[:300]}); the previous collections are still served"
                        ) from exc


def _load(url: str, loads: Sequence[ScopeLoad], emit: LoadHook) -> LoadReport:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=False) as conn:  # commits on success, else rolls back
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK,))
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        for statement in CATALOG_DDL:
            conn.execute(statement)
        generation = _new_generation(conn, [load.scope for load in loads])
        report = LoadReport(generation)
        emit("begin")
        report.dropped = _drop_retired(conn, generation)
        switches = []
        for load in loads:
            served = {row[0]: (row[1], row[2]) for row in conn.execute(
                f"SELECT id, version, table_name FROM {SCHEMA}.collections WHERE scope = %s",
                (load.scope,)).fetchall()}
            written: dict[str, StoredCollection] = {}
            for source in load.sources:
                label = scope_label(load.scope, source.id)
                if served.get(source.id, (None,))[0] == source.version:
                    report.kept.append(label)
                    _refresh_metadata(conn, load.scope, source)
                    continue
                written[source.id] = _write_table(conn, load.scope, source, generation)
                report.written.append(label)
            ids = {s.id for s in load.sources}
            removed = sorted(set(served) - ids) if load.whole \
                else sorted(set(load.remove) & set(served) - ids)
            report.removed += [scope_label(load.scope, cid) for cid in removed]
            switches.append((load.scope, written, served, removed))
        emit("written")
        for scope, written, served, removed in switches:
            _switch(conn, scope, generation, written, served, removed)
        count = conn.execute(f"SELECT count(*) FROM {SCHEMA}.collections").fetchone()
        conn.execute(f"UPDATE {SCHEMA}.loads SET collections = %s WHERE generation = %s",
                     (count[0] if count else 0, generation))
        emit("switched")
    report.seconds = time.perf_counter() - started
    emit("committed")
    return report


def region_load(data: DataDir, region: str, run: Path | None = None) -> ScopeLoad:
    """The whole scope of a region: the vector layers of its run folder `run` (default: its
    current run; none when it has no run)."""
    folder = run if run is not None else data.region(region).current_run()
    layers, _ = run_layers(folder)
    return ScopeLoad(region, vector_sources(layers))


def user_load(data: DataDir) -> ScopeLoad:
    """The whole user scope: every vector user layer of the data dir."""
    return ScopeLoad(USER_SCOPE, vector_sources(user_layers(data)))


def publish_region(url: str, data: DataDir, region: str, *, run: Path | None = None,
                   hook: LoadHook | None = None) -> LoadReport:
    """Load a region's run layers (`run`, default its current run), in one transaction; the
    other regions and the user layers stay as they are.

    Call it before the run becomes current, so that a failed load fails the run.
    """
    return load_collections(url, [region_load(data, region, run)], hook=hook)


def publish_user_layer(url: str, layer_id: str, folder: Path | None, *,
                       hook: LoadHook | None = None) -> LoadReport:
    """Load one user layer from the folder it is about to be swapped in from (its STAC item
    and data), or remove it (`folder` None, or the layer is a raster), in one transaction; the
    other user layers and the regions stay as they are.

    Call it before the folder is swapped in, so that a failed load fails the ingest.
    """
    item_path = folder / USER_LAYER_ITEM if folder is not None else None
    if item_path is not None and item_path.is_file():
        layer = user_layer(item_path)
        if layer.kind == "vector":
            return load_collections(url, [ScopeLoad(USER_SCOPE, [layer_source(layer)],
                                                    whole=False)], hook=hook)
    return load_collections(url, [ScopeLoad(USER_SCOPE, [], whole=False,
                                            remove=(layer_id,))], hook=hook)


def publish_layers(url: str, data: DataDir, *, regions: Iterable[str] | None = None,
                   hook: LoadHook | None = None) -> LoadReport:
    """Load the current run of each region (default: every served region) and the user
    layers, in one transaction (`cmrisk db load`)."""
    chosen = list(regions) if regions is not None else data.served_regions()
    return load_collections(url, [*(region_load(data, r) for r in chosen), user_load(data)],
                            hook=hook)


def _new_generation(conn: psycopg.Connection[Any], scopes: list[str]) -> int:
    row = conn.execute(f"INSERT INTO {SCHEMA}.loads (scopes) VALUES (%s) RETURNING generation",
                       (scopes,)).fetchone()
    assert row is not None
    return int(row[0])


def _drop_retired(conn: psycopg.Connection[Any], generation: int) -> list[str]:
    """Drop the tables earlier loads retired; one a reader still holds (a long download) is
    left for a later load. A reader that took a table's name just before it went reads the
    catalog again (`PostGISFeatureStore._read`)."""
    rows = conn.execute(
        f"""SELECT table_name FROM {SCHEMA}.feature_tables
            WHERE retired IS NOT NULL AND retired < %s ORDER BY table_name""",
        (generation,)).fetchall()
    dropped = []
    for (name,) in rows:
        try:
            with conn.transaction():  # a savepoint: a lock timeout undoes only this drop
                conn.execute(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'")
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier(SCHEMA, name)))
                conn.execute(f"DELETE FROM {SCHEMA}.feature_tables WHERE table_name = %s",
                             (name,))
            dropped.append(name)
        except psycopg.errors.LockNotAvailable:
            continue
    return dropped


def _refresh_metadata(conn: psycopg.Connection[Any], scope: str,
                      source: CollectionSource) -> None:
    """Update the title, description and layer fields of a collection kept as it is."""
    row = conn.execute(f"SELECT info FROM {SCHEMA}.collections WHERE scope = %s AND id = %s",
                       (scope, source.id)).fetchone()
    assert row is not None
    info = dict(row[0])
    info.update(title=source.title, description=source.description,
                value_type=source.value_type, units=source.units, synthetic=source.synthetic,
                attribution=source.attribution)
    conn.execute(f"UPDATE {SCHEMA}.collections SET info = %s WHERE scope = %s AND id = %s",
                 (Json(info), scope, source.id))


def stored_collection(loaded: LoadedCollection, table: str) -> StoredCollection:
    """The catalog description of a collection prepared by the embedded store."""
    names = list(loaded.columns)
    columns = tuple(ColumnSpec(name, column, loaded.columns[name].kind)
                    for name, column in zip(names, column_names(names), strict=True))
    present = loaded.geometry[~shapely.is_missing(loaded.geometry)]
    xy = loaded.points and not shapely.has_z(present).any() \
        and not shapely.is_empty(present).any()
    kinds = {type(i) for i in loaded.ids}
    id_type = ("bigint" if kinds <= {int} and all(ID_RANGE[0] <= i <= ID_RANGE[1]
                                                  for i in loaded.ids)
               else "text" if kinds == {str} else "json")
    return StoredCollection(loaded.info, table, columns, loaded.points, bool(xy), id_type)


def _write_table(conn: psycopg.Connection[Any], scope: str, source: CollectionSource,
                 generation: int) -> StoredCollection:
    """Create and fill the table of one collection version; returns its catalog entry."""
    try:
        loaded = LoadedCollection(source, source.load())
    except Exception as exc:  # pyarrow, GDAL and pandas each raise their own
        raise LoadError(f"collection {scope_label(scope, source.id)} cannot be read "
                        f"({exc.__class__.__name__}: {str(exc)[:300]}); the previous "
                        "collections are still served") from exc
    stored = stored_collection(loaded, table_name(scope, source.id, generation))
    table = sql.Identifier(SCHEMA, stored.table)
    timed = loaded.time_property is not None
    internal = ["_row", "_fid", "_id", GEOMETRY, *(["_t0", "_t1"] if timed else [])]
    definitions = [
        sql.SQL("_row bigint NOT NULL"), sql.SQL("_fid text NOT NULL"),
        sql.SQL("_id {} NOT NULL").format(sql.SQL(stored.id_type)),
        sql.SQL("{} geometry(Geometry, {})").format(sql.Identifier(GEOMETRY), SRID),
        *([sql.SQL("_t0 bigint"), sql.SQL("_t1 bigint")] if timed else []),
        *(sql.SQL("{} {}").format(sql.Identifier(c.column), sql.SQL(SQL_TYPES[c.kind]))
          for c in stored.columns)]
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(definitions)))
    conn.execute(f"INSERT INTO {SCHEMA}.feature_tables (table_name, scope, collection_id, "
                 "version, created) VALUES (%s, %s, %s, %s, %s)",
                 (stored.table, scope, source.id, source.version, generation))
    names = [*internal, *(c.column for c in stored.columns)]
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        table, sql.SQL(", ").join(sql.Identifier(n) for n in names))
    with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for start in range(0, loaded.size, COPY_ROWS):
            rows = np.arange(start, min(start + COPY_ROWS, loaded.size), dtype="int64")
            for row in _rows(loaded, stored, rows, timed):
                copy.write_row(row)
    key = sql.Identifier(f"{stored.table}_pkey")
    conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY (_row)").format(
        table, key))
    conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {} (_fid)").format(table))
    conn.execute(sql.SQL("CREATE INDEX ON {} USING gist ({})").format(
        table, sql.Identifier(GEOMETRY)))
    if timed:
        conn.execute(sql.SQL("CREATE INDEX ON {} (_t0)").format(table))
    conn.execute(sql.SQL("ANALYZE {}").format(table))
    return stored


def _rows(loaded: LoadedCollection, stored: StoredCollection, rows: np.ndarray,
          timed: bool) -> Iterable[tuple[Any, ...]]:
    """The COPY rows of `rows`: internal columns, then the JSON-ready property values."""
    batch = loaded.take(rows)
    geometry = shapely.to_wkb(shapely.set_srid(batch.geometry, SRID), hex=True,
                              include_srid=True)
    ids = [Json(i) for i in batch.ids] if stored.id_type == "json" else batch.ids
    columns: list[list[Any]] = [rows.tolist(), [str(i) for i in batch.ids], ids,
                                list(geometry)]
    if timed:
        for times in (loaded.t0[rows], loaded.t1[rows]):
            columns.append([None if t == NO_TIME else int(t) for t in times])
    for spec in stored.columns:
        values = batch.properties[spec.name]
        if spec.kind == "other":
            values = [None if v is None else Json(v) for v in values]
        columns.append(values)
    return zip(*columns, strict=True)


def _switch(conn: psycopg.Connection[Any], scope: str, generation: int,
            written: dict[str, StoredCollection], served: dict[str, tuple[str, str]],
            removed: list[str]) -> None:
    """Point a scope's catalog at its new tables and retire the ones they replace."""
    retired = [served[cid][1] for cid in [*written, *removed] if cid in served]
    if retired:
        conn.execute(f"UPDATE {SCHEMA}.feature_tables SET retired = %s "
                     "WHERE table_name = ANY(%s)", (generation, retired))
    if removed:
        conn.execute(f"DELETE FROM {SCHEMA}.collections WHERE scope = %s AND id = ANY(%s)",
                     (scope, removed))
    for cid, stored in written.items():
        conn.execute(
            f"""INSERT INTO {SCHEMA}.collections (scope, id, version, table_name, info,
                                                  generation)
                VALUES (%s, %s, %s, %s, %s, %s)
                ON CONFLICT (scope, id) DO UPDATE SET version = EXCLUDED.version,
                    table_name = EXCLUDED.table_name, info = EXCLUDED.info,
                    generation = EXCLUDED.generation""",
            (scope, cid, stored.info.version, stored.table, Json(stored.info_json()),
             generation))
