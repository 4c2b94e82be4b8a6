"""The feature-store interface: typed queries and results, and the `FeatureStore` contract.

The service talks to vector data only through `FeatureStore`. The embedded implementation
(`parquet.GeoParquetFeatureStore`) answers from memory; the PostGIS one
(`postgis.PostGISFeatureStore`) maps each query to a `count(*)` and one `SELECT ... WHERE geom
&& envelope AND ... ORDER BY _row LIMIT/OFFSET`, and `FeatureBatch` is what its cursor of
`id, ST_AsBinary(geom), props` gives. Both feed the same encoders.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import shapely

from geo_service.features.errors import CollectionNotFound

if TYPE_CHECKING:
    from geo_service.features.cql import Expr

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
"""The only CRS of every collection (RFC 7946: longitude, latitude in degrees)."""

QueryableType = Literal["string", "integer", "number", "boolean"]

KIND_SCHEMAS: dict[str, dict[str, str]] = {
    "string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
    "boolean": {"type": "boolean"}, "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"}, "other": {},
}
"""The JSON Schema of each property kind (as published: dates as RFC 3339 text)."""


@dataclass(frozen=True)
class BBox:
    """A bounding box in CRS84 degrees.

    A box whose west is east of its east crosses the antimeridian (OGC API - Features, 7.15.3).
    """

    west: float
    south: float
    east: float
    north: float

    @property
    def crosses_antimeridian(self) -> bool:
        """True when the box wraps across ±180°."""
        return self.west > self.east

    def boxes(self) -> list[tuple[float, float, float, float]]:
        """The box as one or two (west, south, east, north) boxes that do not wrap."""
        if self.crosses_antimeridian:
            return [(self.west, self.south, 180.0, self.north),
                    (-180.0, self.south, self.east, self.north)]
        return [(self.west, self.south, self.east, self.north)]

    def geometry(self) -> shapely.Geometry:
        """The box as a (Multi)Polygon in CRS84."""
        parts = [shapely.box(*b) for b in self.boxes()]
        return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


@dataclass(frozen=True)
class Interval:
    """A closed time interval (UTC); None is an open end. An instant has start == end."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class FeatureQuery:
    """What a client asks of one collection.

    Attributes:
        bbox: features whose geometry intersects this box (CRS84).
        datetime: features whose time intersects this interval.
        properties: equality filters, queryable name -> value as sent (text).
        limit: page size (features); the store does not clamp it.
        offset: features to skip.
        filter: a CQL2 filter (`cql.parse_filter`), or None.
    """

    bbox: BBox | None = None
    datetime: Interval | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    limit: int = 100
    offset: int = 0
    filter: Expr | None = None


@dataclass(frozen=True)
class Queryable:
    """A property a client can filter on by equality (OGC API - Features Part 3)."""

    name: str
    type: QueryableType
    title: str | None = None

    def schema(self) -> dict[str, Any]:
        """The property's JSON Schema."""
        body: dict[str, Any] = {"type": self.type}
        if self.title:
            body["title"] = self.title
        return body


@dataclass(frozen=True)
class CollectionInfo:
    """What the service says about a collection.

    Attributes:
        id: the collection id (the layer id).
        title: human title.
        description: human description.
        bbox: (west, south, east, north) of all features, degrees, or None when empty.
        interval: (start, end) ISO 8601 of the features' times, or None without time.
        time_property: the property that gives each feature its time, or None.
        queryables: the properties that take equality filters.
        number_of_features: features in the collection.
        geometry_type: a GeoJSON geometry type, or "Geometry" when mixed.
        version: changes whenever the data changes (cache keys, ETags).
        value_type: the layer's value type (continuous, class or count).
        units: units of the layer's values.
        synthetic: whether the data are synthetic.
        attribution: source attribution.
        properties: every property name, in order.
        property_kinds: the kind of each property, in the same order: string, integer,
            number, boolean, datetime, date or other.
    """

    id: str
    title: str
    description: str
    bbox: tuple[float, float, float, float] | None
    interval: tuple[str | None, str | None] | None
    time_property: str | None
    queryables: tuple[Queryable, ...]
    number_of_features: int
    geometry_type: str
    version: str
    value_type: str = "continuous"
    units: str = ""
    synthetic: bool = False
    attribution: str = ""
    properties: tuple[str, ...] = ()
    property_kinds: tuple[str, ...] = ()

    def kinds(self) -> dict[str, str]:
        """Property name → kind."""
        return dict(zip(self.properties, self.property_kinds, strict=True))

    def queryable(self, name: str) -> Queryable | None:
        """The queryable called `name`, or None."""
        return next((q for q in self.queryables if q.name == name), None)


@dataclass(frozen=True)
class FeatureBatch:
    """Features in columns: ids, geometries (shapely, CRS84, rounded to 7 decimals, polygons
    counter-clockwise outside) and JSON-ready property values, all in the same order."""

    ids: list[Any]
    geometry: np.ndarray
    properties: dict[str, list[Any]]

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> Iterator[dict[str, Any]]:
        """The properties of each feature as a dict, in order."""
        names = list(self.properties)
        for values in zip(*(self.properties[n] for n in names), strict=True):
            yield dict(zip(names, values, strict=True))

    @classmethod
    def empty(cls, names: list[str]) -> FeatureBatch:
        """A batch without features."""
        return cls([], np.empty(0, dtype=object), {n: [] for n in names})


@dataclass(frozen=True)
class FeaturePage:
    """One page of a query: the features and how many match in all."""

    number_matched: int
    features: FeatureBatch


class FeatureStore(ABC):
    """Read access to feature collections.

    Implementations raise `CollectionNotFound`, `FeatureNotFound` and `InvalidQuery`
    (`geo_service.features.errors`); every result is in CRS84.
    """

    @abstractmethod
    def collections(self) -> list[CollectionInfo]:
        """Every collection, sorted by id."""

    @abstractmethod
    def collection(self, collection_id: str) -> CollectionInfo:
        """One collection's description."""

    @abstractmethod
    def query(self, collection_id: str, query: FeatureQuery) -> FeaturePage:
        """One page of the features that match `query`, in a stable order."""

    @abstractmethod
    def feature(self, collection_id: str, feature_id: str) -> FeatureBatch:
        """The feature with this id, as a batch of one."""

    @abstractmethod
    def batches(self, collection_id: str, query: FeatureQuery,
                size: int = 10_000) -> Iterator[FeatureBatch]:
        """Every feature that matches `query` (its limit and offset ignored), `size` at a time."""

    @abstractmethod
    def intersecting(self, collection_id: str, geometry: shapely.Geometry,
                     interval: Interval | None = None) -> FeatureBatch:
        """Every feature whose geometry intersects `geometry` (CRS84) and, when given, whose
        time intersects `interval`."""


class VisibleFeatureStore(FeatureStore):
    """A view of a store that shows only some collections (those a caller may read); the
    others behave exactly as if they did not exist."""

    def __init__(self, store: FeatureStore, visible: Callable[[str], bool]) -> None:
        self.store = store
        self.visible = visible

    def _check(self, collection_id: str) -> str:
        if not self.visible(collection_id):
            raise CollectionNotFound(collection_id)
        return collection_id

    def collections(self) -> list[CollectionInfo]:
        """The visible collections, sorted by id."""
        return [info for info in self.store.collections() if self.visible(info.id)]

    def collection(self, collection_id: str) -> CollectionInfo:
        """One visible collection's description."""
        return self.store.collection(self._check(collection_id))

    def query(self, collection_id: str, query: FeatureQuery) -> FeaturePage:
        """One page of a visible collection."""
        return self.store.query(self._check(collection_id), query)

    def feature(self, collection_id: str, feature_id: str) -> FeatureBatch:
        """One feature of a visible collection."""
        return self.store.feature(self._check(collection_id), feature_id)

    def batches(self, collection_id: str, query: FeatureQuery,
                size: int = 10_000) -> Iterator[FeatureBatch]:
        """Every matching feature of a visible collection."""
        return self.store.batches(self._check(collection_id), query, size)

    def intersecting(self, collection_id: str, geometry: shapely.Geometry,
                     interval: Interval | None = None) -> FeatureBatch:
        """Features of a visible collection intersecting `geometry`."""
        return self.store.intersecting(self._check(collection_id), geometry, interval)
