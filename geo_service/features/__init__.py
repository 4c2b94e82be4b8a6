"""Vector data behind OGC API - Features: the `FeatureStore` interface, its GeoParquet
implementation (embedded) and its PostGIS one (`postgis`, loaded by `postgis_load`), query
parsing and the writers of pages and downloads (no HTTP here)."""

from geo_service.features.errors import (
    CollectionNotFound,
    FeatureNotFound,
    FeatureStoreError,
    InvalidQuery,
)
from geo_service.features.model import (
    BBox,
    CollectionInfo,
    FeatureBatch,
    FeaturePage,
    FeatureQuery,
    FeatureStore,
    Interval,
    Queryable,
)
from geo_service.features.parquet import CollectionSource, GeoParquetFeatureStore

__all__ = [
    "BBox",
    "CollectionInfo",
    "CollectionNotFound",
    "CollectionSource",
    "FeatureBatch",
    "FeatureNotFound",
    "FeaturePage",
    "FeatureQuery",
    "FeatureStore",
    "FeatureStoreError",
    "GeoParquetFeatureStore",
    "Interval",
    "InvalidQuery",
    "Queryable",
]
