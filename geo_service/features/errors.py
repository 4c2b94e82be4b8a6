"""Errors of the feature stores: `data_catalog.problems` errors, so the service answers each
with its status (`geo_service.errors`)."""

from __future__ import annotations

from data_catalog.problems import (
    InvalidParameter,
    NotFound,
    Problem,
    Unavailable,
    Unprocessable,
)


class FeatureStoreError(Problem):
    """Base of the feature-store errors."""


class CollectionNotFound(NotFound, FeatureStoreError, LookupError):
    """No collection with this id (or it is not visible to the caller)."""

    default_parameter = "collectionId"

    def __init__(self, collection_id: str) -> None:
        self.collection_id = collection_id
        super().__init__(f"no collection {collection_id[:80]!r}")


class FeatureNotFound(NotFound, FeatureStoreError, LookupError):
    """No feature with this id in the collection."""

    default_parameter = "featureId"

    def __init__(self, collection_id: str, feature_id: str) -> None:
        self.collection_id = collection_id
        self.feature_id = feature_id
        super().__init__(f"no feature {feature_id[:80]!r} in collection {collection_id[:80]!r}")


class InvalidQuery(InvalidParameter, FeatureStoreError, ValueError):
    """A query parameter the store cannot use; `parameter` names it."""

    def __init__(self, detail: str, *, parameter: str) -> None:
        super().__init__(detail, parameter=parameter)


class StoreUnavailable(Unavailable, FeatureStoreError):
    """The store cannot answer now (its database is unreachable or has no free connection)."""

    title = "Feature store unavailable"


class AreaRejected(Unprocessable, FeatureStoreError, ValueError):
    """A valid area the service will not analyse (too large, too many vertices)."""

    def __init__(self, detail: str, *, parameter: str) -> None:
        super().__init__(detail, parameter=parameter)


class LoadError(Exception):
    """A load into the PostGIS feature store that the database refused or could not finish
    (`postgis_load`); nothing was changed. Not a request error: the commands that load
    (`cmrisk run`, `ingest`, `db load`, ...) report it."""
