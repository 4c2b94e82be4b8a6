"""The embedded feature store: GeoParquet collections held in memory with a spatial index.

Each collection is read once per layer version: geometries rounded to 7 decimals (about 1 cm)
and polygons oriented counter-clockwise outside (RFC 7946), a shapely STRtree over them, typed
property columns with sorted indexes built on first use, and each feature's time as a
[start, end] interval. A query starts from its most selective index (the smallest equality
match, else the bbox through the tree) and tests the other conditions only on those rows, so
the cost of a page grows with the result, not with the collection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.features import cql
from geo_service.features.columns import Column
from geo_service.features.errors import CollectionNotFound, FeatureNotFound, InvalidQuery
from geo_service.features.model import (
    BBox,
    CollectionInfo,
    FeatureBatch,
    FeaturePage,
    FeatureQuery,
    FeatureStore,
    Interval,
)

COORDINATE_DECIMALS = 7
"""Decimals kept in coordinates (RFC 7946 recommends no more than needed: 7 ≈ 1 cm)."""

TIME_PROPERTIES = ("datetime", "date", "time", "month", "start_date", "date_start", "start",
                   "reported_date", "incident_date")
"""Properties that give a feature its time, by preference."""
END_PROPERTIES = {"start_date": "end_date", "date_start": "date_end", "start": "end"}
"""The end of an interval, for time properties that are its start."""

PREDICATE_ROWS = 50_000
"""Below this many candidate rows a bbox is tested row by row instead of through the tree."""

GEOMETRY_TYPES = {0: "Point", 1: "LineString", 2: "LineString", 3: "Polygon", 4: "MultiPoint",
                  5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}

_NS_MIN, _NS_MAX = np.iinfo("int64").min, np.iinfo("int64").max


@dataclass(frozen=True)
class CollectionSource:
    """Where a collection's features come from and what to say about it.

    Attributes:
        id: collection id.
        title: human title.
        description: human description.
        version: changes whenever the data change (the store reloads then).
        load: reads the features (any CRS; reprojected to CRS84 on load).
        value_type: the layer's value type.
        units: units of the layer's values.
        synthetic: whether the data are synthetic.
        attribution: source attribution.
    """

    id: str
    title: str
    description: str
    version: str
    load: Callable[[], gpd.GeoDataFrame]
    value_type: str = "continuous"
    units: str = ""
    synthetic: bool = False
    attribution: str = ""


def _to_ns(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of each value in ns since the epoch (UTC); NaT as int64 min.

    A "YYYY-MM" string is its whole month, a "YYYY-MM-DD" string its whole day, anything else
    an instant.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        start = pd.to_datetime(values, utc=True)
        return _ns(start), _ns(start)
    text = values.astype("string")
    sample = text.dropna()
    if len(sample) and sample.str.fullmatch(r"\d{4}-\d{2}").all():
        start = pd.to_datetime(text + "-01", format="%Y-%m-%d", utc=True, errors="coerce")
        return _ns(start), _ns(start + pd.DateOffset(months=1)) - 1
    if len(sample) and sample.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all():
        start = pd.to_datetime(text, format="%Y-%m-%d", utc=True, errors="coerce")
        return _ns(start), _ns(start + pd.Timedelta(days=1)) - 1
    start = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    return _ns(start), _ns(start)


def _ns(stamps: pd.Series) -> np.ndarray:
    out = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]")
    return out.astype("int64")


def _iso(ns: int) -> str:
    return str(np.datetime64(int(ns), "ns").astype("datetime64[s]")) + "Z"


class LoadedCollection:
    """One collection in memory (see the module docstring)."""

    def __init__(self, source: CollectionSource, frame: gpd.GeoDataFrame) -> None:
        if frame.crs is not None and not frame.crs.equals("OGC:CRS84") \
                and frame.crs.to_epsg() != 4326:
            frame = frame.to_crs("OGC:CRS84")
        self.source = source
        self.size = len(frame)
        geometry = frame.geometry.to_numpy()
        geometry = shapely.transform(
            geometry, lambda xy: np.round(xy, COORDINATE_DECIMALS), include_z=None)
        self.geometry: np.ndarray = shapely.orient_polygons(geometry, exterior_cw=False)
        types = shapely.get_type_id(self.geometry)
        present = np.unique(types[types >= 0])
        self.points = bool(len(present) == 1 and present[0] == 0)
        if self.points:
            self.x, self.y = shapely.get_x(self.geometry), shapely.get_y(self.geometry)
        self._tree: shapely.STRtree | None = None
        self._lock = threading.Lock()
        self._rows_by_id: dict[str, int] | None = None

        properties = pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index(drop=True)
        id_column = feature_id_column(properties)
        if id_column is None:
            self.ids = np.arange(1, self.size + 1, dtype=object)
        else:
            self.ids = properties[id_column].to_numpy(dtype=object)
            if id_column == "id":
                properties = properties.drop(columns="id")
        self.columns = {str(name): Column(str(name), properties[name])
                        for name in properties.columns}
        self.time_property: str | None = None
        self.t0 = self.t1 = np.empty(0, dtype="int64")
        self._read_times(properties)

        bounds = shapely.total_bounds(self.geometry)
        self.bbox = None if np.isnan(bounds).any() else tuple(float(b) for b in bounds)
        queryables = tuple(q for c in self.columns.values() if (q := c.queryable) is not None)
        interval = None
        if self.time_property is not None:
            valid = self.t0 != _NS_MIN
            if valid.any():
                interval = (_iso(int(self.t0[valid].min())), _iso(int(self.t1[valid].max())))
        self.info = CollectionInfo(
            id=source.id, title=source.title, description=source.description,
            bbox=self.bbox, interval=interval, time_property=self.time_property,  # type: ignore[arg-type]
            queryables=queryables, number_of_features=self.size,
            geometry_type=GEOMETRY_TYPES.get(int(present[0]), "Geometry")
            if len(present) == 1 else "Geometry",
            version=source.version, value_type=source.value_type, units=source.units,
            synthetic=source.synthetic, attribution=source.attribution,
            properties=tuple(self.columns),
            property_kinds=tuple(c.kind for c in self.columns.values()))

    def _read_times(self, properties: pd.DataFrame) -> None:
        for name in TIME_PROPERTIES:
            if name not in properties.columns:
                continue
            start, end = _to_ns(properties[name])
            if not (start != _NS_MIN).any():
                continue
            other = END_PROPERTIES.get(name)
            if other in properties.columns:
                _, stop = _to_ns(properties[other])
                end = np.where((stop != _NS_MIN) & (stop >= start), stop, end)
            self.time_property, self.t0, self.t1 = name, start, end
            return

    @property
    def tree(self) -> shapely.STRtree:
        """The spatial index, built on first use."""
        with self._lock:
            if self._tree is None:
                self._tree = shapely.STRtree(self.geometry)
            return self._tree

    def row_of(self, feature_id: str) -> int | None:
        """The row of a feature id (as text), or None."""
        with self._lock:
            if self._rows_by_id is None:
                self._rows_by_id = {str(v): i for i, v in enumerate(self.ids)}
        return self._rows_by_id.get(feature_id)

    def _bbox_rows(self, bbox: BBox) -> np.ndarray:
        parts = []
        for box in bbox.boxes():
            # Points: the tree's envelope test is the exact test.
            predicate = None if self.points else "intersects"
            parts.append(self.tree.query(shapely.box(*box), predicate=predicate))
        rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return np.unique(rows).astype("int64")

    def _in_bbox(self, rows: np.ndarray, bbox: BBox) -> np.ndarray:
        inside = np.zeros(len(rows), dtype=bool)
        if self.points:
            x, y = self.x[rows], self.y[rows]
            for west, south, east, north in bbox.boxes():
                inside |= (x >= west) & (x <= east) & (y >= south) & (y <= north)
            return inside
        return shapely.intersects(self.geometry[rows], bbox.geometry())

    def _in_time(self, rows: np.ndarray | None, interval: Interval) -> np.ndarray:
        low, high = interval_ns(interval)
        t0 = self.t0 if rows is None else self.t0[rows]
        t1 = self.t1 if rows is None else self.t1[rows]
        return (t0 != _NS_MIN) & (t0 <= high) & (t1 >= low)

    def select(self, query: FeatureQuery) -> np.ndarray | None:
        """Rows matching the query's filters (ascending), or None for every row.

        Raises:
            InvalidQuery: a filter on a property that is not queryable, a value of the wrong
                type, or a datetime on a collection without time.
        """
        filters = []
        for name, text in query.properties.items():
            column = self.columns.get(name)
            if column is None or column.queryable is None:
                raise InvalidQuery(f"{name!r} is not a queryable property of {self.source.id}",
                                   parameter=name)
            filters.append((column, column.parse(text)))
        if query.datetime is not None and self.time_property is None:
            raise InvalidQuery(f"collection {self.source.id} has no time property",
                               parameter="datetime")
        rows: np.ndarray | None = None
        if filters:
            matches = [column.lookup(key) for column, key in filters]
            first = int(np.argmin([len(m) for m in matches]))
            rows = matches[first]
            for index, (column, key) in enumerate(filters):
                if index != first and len(rows):
                    rows = rows[column.matches(key, rows)]
        if query.bbox is not None:
            if rows is None:
                rows = self._bbox_rows(query.bbox)
            elif len(rows) <= PREDICATE_ROWS:
                rows = rows[self._in_bbox(rows, query.bbox)]
            else:
                rows = np.intersect1d(rows, self._bbox_rows(query.bbox), assume_unique=True)
        if query.datetime is not None:
            if rows is None:
                rows = np.flatnonzero(self._in_time(None, query.datetime))
            else:
                rows = rows[self._in_time(rows, query.datetime)]
        if query.filter is not None:
            if rows is None:
                rows = np.arange(self.size, dtype="int64")
            rows = rows[self.matches(query.filter, rows)]
        return rows

    def matches(self, expr: cql.Expr, rows: np.ndarray) -> np.ndarray:
        """Which of `rows` a CQL2 expression selects (bool mask; see `cql`)."""
        if isinstance(expr, cql.Logic):
            masks = [self.matches(p, rows) for p in expr.parts]
            combine = np.logical_and if expr.op == "and" else np.logical_or
            return np.asarray(combine.reduce(masks), dtype=bool)
        if isinstance(expr, cql.Negation):
            return ~self.matches(expr.part, rows)
        if isinstance(expr, cql.Constant):
            return np.full(len(rows), expr.value, dtype=bool)
        if isinstance(expr, cql.Spatial):
            test = getattr(shapely, expr.op)
            return np.asarray(test(self.geometry[rows], expr.geometry), dtype=bool)
        column = self.columns[expr.name]
        valid = column.valid[rows]
        if isinstance(expr, cql.IsNull):
            return valid if expr.negate else ~valid
        values = _plain(column, rows)
        if isinstance(expr, cql.Compare):
            hit = _compare(values, valid, expr.op, expr.value)
        elif isinstance(expr, cql.Between):
            hit = _compare(values, valid, ">=", expr.low) & _compare(values, valid, "<=",
                                                                     expr.high)
        elif isinstance(expr, cql.InList):
            hit = np.zeros(len(rows), dtype=bool)
            for item in expr.values:
                hit |= _compare(values, valid, "=", item)
        else:  # Like: each distinct text once, then every row by its code
            pattern = expr.regex()
            by_code = np.fromiter((v is not None and pattern.fullmatch(v) is not None
                                   for v in column.categories), dtype=bool,
                                  count=len(column.categories))
            hit = by_code[column.values[rows]]
        return ~hit & valid if getattr(expr, "negate", False) else hit

    def take(self, rows: np.ndarray) -> FeatureBatch:
        """The features at `rows`, in that order."""
        return FeatureBatch(
            ids=self.ids[rows].tolist(), geometry=self.geometry[rows],
            properties={name: column.take(rows) for name, column in self.columns.items()})

    def intersecting(self, geometry: shapely.Geometry, interval: Interval | None) -> np.ndarray:
        """Rows whose geometry intersects `geometry` (and whose time intersects `interval`)."""
        rows = np.unique(self.tree.query(geometry, predicate="intersects")).astype("int64")
        if interval is not None:
            if self.time_property is None:
                raise InvalidQuery(f"collection {self.source.id} has no time property",
                                   parameter="datetime")
            rows = rows[self._in_time(rows, interval)]
        return rows


def _plain(column: Column, rows: np.ndarray) -> np.ndarray:
    """A column's values at `rows` as compared by filters (text as str, None if missing)."""
    if column.kind == "string":
        return column.categories[column.values[rows]]
    return column.values[rows]


def _compare(values: np.ndarray, valid: np.ndarray, op: str, value: Any) -> np.ndarray:
    """`values op value` where valid (false where missing)."""
    if values.dtype == object:
        present = np.where(valid, values, value if isinstance(value, str) else "")
    else:
        present = values
        if isinstance(value, int) and not -2**63 <= value < 2**63:
            value = float(value)
    result = {"=": np.equal, "<>": np.not_equal, "<": np.less, "<=": np.less_equal,
              ">": np.greater, ">=": np.greater_equal}[op](present, value)
    return np.asarray(result, dtype=bool) & valid


def feature_id_column(properties: pd.DataFrame) -> str | None:
    """The column of feature ids: `id`, else the first `*_id` column, if unique and complete
    text or integers; None means row numbers (1-based) are the ids."""
    names = ["id", *(c for c in properties.columns if str(c).endswith("_id") and c != "id")]
    for name in names:
        if name not in properties.columns:
            continue
        ids = properties[name]
        if ids.notna().all() and ids.is_unique and (
                pd.api.types.is_integer_dtype(ids.dtype)
                or ids.map(type).isin([str, int]).all()):
            return str(name)
    return None


def _stamp_ns(value: object) -> int:
    return int(pd.Timestamp(value).tz_convert("UTC").value)


def interval_ns(interval: Interval) -> tuple[int, int]:
    """(low, high) of an interval in ns since 1970 UTC, open ends as the int64 extremes: a
    feature with time [t0, t1] intersects it when t0 <= high and t1 >= low."""
    low = _NS_MIN + 1 if interval.start is None else _stamp_ns(interval.start)
    high = _NS_MAX if interval.end is None else _stamp_ns(interval.end)
    return low, high


class GeoParquetFeatureStore(FeatureStore):
    """Collections from GeoParquet files (or any source that loads a GeoDataFrame), in memory.

    Args:
        sources: returns the current collection sources by id; called on every request, so
            it must be cheap (the layer registry's is: it re-reads only when the data change).
    """

    def __init__(self, sources: Callable[[], Mapping[str, CollectionSource]]) -> None:
        self._sources = sources
        self._loaded: dict[str, LoadedCollection] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def _get(self, collection_id: str) -> LoadedCollection:
        sources = self._sources()
        source = sources.get(collection_id)
        if source is None:
            raise CollectionNotFound(collection_id)
        loaded = self._loaded.get(collection_id)
        if loaded is not None and loaded.source.version == source.version:
            return loaded
        with self._lock:
            gate = self._loading.setdefault(collection_id, threading.Lock())
        with gate:
            loaded = self._loaded.get(collection_id)
            if loaded is None or loaded.source.version != source.version:
                loaded = LoadedCollection(source, source.load())
                with self._lock:
                    self._loaded[collection_id] = loaded
                    for stale in set(self._loaded) - set(sources):
                        del self._loaded[stale]
            return loaded

    def loaded(self, collection_id: str) -> LoadedCollection:
        """The in-memory collection (loading it if needed); for zonal statistics and tests."""
        return self._get(collection_id)

    def collections(self) -> list[CollectionInfo]:
        """Every collection, sorted by id."""
        return [self._get(cid).info for cid in sorted(self._sources())]

    def collection(self, collection_id: str) -> CollectionInfo:
        """One collection's description."""
        return self._get(collection_id).info

    def query(self, collection_id: str, query: FeatureQuery) -> FeaturePage:
        """One page of the matching features, in collection order."""
        loaded = self._get(collection_id)
        rows = loaded.select(query)
        matched = loaded.size if rows is None else len(rows)
        start = min(query.offset, matched)
        stop = min(start + query.limit, matched)
        page = np.arange(start, stop, dtype="int64") if rows is None else rows[start:stop]
        return FeaturePage(matched, loaded.take(page))

    def feature(self, collection_id: str, feature_id: str) -> FeatureBatch:
        """The feature with this id."""
        loaded = self._get(collection_id)
        row = loaded.row_of(feature_id)
        if row is None:
            raise FeatureNotFound(collection_id, feature_id)
        return loaded.take(np.array([row], dtype="int64"))

    def batches(self, collection_id: str, query: FeatureQuery,
                size: int = 10_000) -> Iterator[FeatureBatch]:
        """Every matching feature, `size` at a time (the query's limit and offset ignored)."""
        loaded = self._get(collection_id)
        rows = loaded.select(query)  # now, so that a bad query fails before any byte is sent
        return self._chunks(loaded, rows, size)

    @staticmethod
    def _chunks(loaded: LoadedCollection, rows: np.ndarray | None,
                size: int) -> Iterator[FeatureBatch]:
        total = loaded.size if rows is None else len(rows)
        for start in range(0, total, size):
            stop = min(start + size, total)
            chunk = np.arange(start, stop, dtype="int64") if rows is None else rows[start:stop]
            yield loaded.take(chunk)

    def intersecting(self, collection_id: str, geometry: shapely.Geometry,
                     interval: Interval | None = None) -> FeatureBatch:
        """Every feature intersecting `geometry` (CRS84), optionally within `interval`."""
        loaded = self._get(collection_id)
        return loaded.take(loaded.intersecting(geometry, interval))
