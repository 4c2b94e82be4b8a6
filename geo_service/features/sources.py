"""The collections the service publishes: every public vector layer of the registry.

Flow counts are published only as a run layer the pipeline writes after disclosure control
(`pipelines.disclosure`): the service never reads a raw flow table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import geopandas as gpd

from geo_service.features.parquet import CollectionSource
from layers.models import Layer
from layers.registry import Registry


def layer_source(layer: Layer) -> CollectionSource:
    """The collection of a vector layer (its GeoParquet asset)."""
    asset = layer.asset
    return CollectionSource(
        id=layer.id, title=layer.title, description=layer.description, version=layer.version,
        load=lambda: gpd.read_parquet(asset), value_type=layer.value_type, units=layer.units,
        synthetic=layer.synthetic, attribution=layer.attribution)


def vector_sources(layers: Mapping[str, Layer]) -> list[CollectionSource]:
    """The collection of each vector layer, in id order."""
    return [layer_source(layers[k]) for k in sorted(layers) if layers[k].kind == "vector"]


def registry_sources(registry: Registry) -> Callable[[], dict[str, CollectionSource]]:
    """A function giving the current collection sources of a registry, by id.

    Every vector layer becomes a collection; the routers show restricted ones only to callers
    whose token is scoped to them (`features.model.VisibleFeatureStore`).
    """
    cache: dict[str, object] = {}

    def sources() -> dict[str, CollectionSource]:
        layers = registry.layers()
        key = tuple((k, v.version) for k, v in sorted(layers.items()))
        if cache.get("key") == key:
            return cache["sources"]  # type: ignore[return-value]
        found = {source.id: source for source in vector_sources(layers)}
        cache.update(key=key, sources=found)
        return found

    return sources
