"""Errors of the feature stores; the service maps them to problem+json in `geo_service.errors`."""

from __future__ import annotations


class FeatureStoreError(Exception):
    """Base of the feature-store errors."""


class CollectionNotFound(FeatureStoreError, LookupError):
    """No collection with this id (or it is not visible to the caller)."""

    def __init__(self, collection_id: str) -> None:
        self.collection_id = collection_id
        super().__init__(f"no collection {collection_id[:80]!r}")


class FeatureNotFound(FeatureStoreError, LookupError):
    """No feature with this id in the collection."""

    def __init__(self, collection_id: str, feature_id: str) -> None:
        self.collection_id = collection_id
        self.feature_id = feature_id
        super().__init__(f"no feature {feature_id[:80]!r} in collection {collection_id[:80]!r}")


class InvalidQuery(FeatureStoreError, ValueError):
    """A query parameter the store cannot use; `parameter` names it."""

    def __init__(self, detail: str, *, parameter: str) -> None:
        self.detail = detail
        self.parameter = parameter
        super().__init__(detail)


class StoreUnavailable(FeatureStoreError):
    """The store cannot answer now (its database is unreachable or has no free connection)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class AreaRejected(FeatureStoreError, ValueError):
    """A valid area the service will not analyse (too large, too many vertices)."""

    def __init__(self, detail: str, *, parameter: str) -> None:
        self.detail = detail
        self.parameter = parameter
        super().__init__(detail)
