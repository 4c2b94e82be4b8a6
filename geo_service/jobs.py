"""The work that runs in the work processes (`geo_service.workpool`), under a time and a
memory limit: repairing and measuring a drawn area and its zonal statistics (`POST
/analysis`), and the statistics of a stored area (`GET /areas/{id}`).

Each job gets what the serving worker has already checked (the caller's layers, resolved and
visible to it) and opens the files itself; a child keeps one feature store per region between
jobs (the embedded store, whose vector layers are loaded once per layer version, or a
PostGIS store on one connection, as the serving worker's `Regions` would make it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from data_catalog.paths import DataDir
from geo_service.features.model import FeatureStore, Interval
from geo_service.features.parquet import GeoParquetFeatureStore
from geo_service.features.sources import registry_sources
from geo_service.features.zonal import AnalysisLimits, DrawnArea, analyse, checked_area, stored_area
from geo_service.settings import Settings
from layers.models import Layer
from layers.registry import Registry

if TYPE_CHECKING:  # psycopg is imported only when a database is configured
    from geo_service.features.postgis import FeatureDatabase


@dataclass(frozen=True)
class StoreSpec:
    """Which feature store a job reads (picklable: it crosses to the work process).

    Attributes:
        data_dir: the data dir.
        region: the region id.
        database_url: the PostGIS database of the features, or None for the embedded store.
        database_timeout_s: longest wait for the database connection, s.
    """

    data_dir: Path
    region: str
    database_url: str | None = None
    database_timeout_s: float = 10.0

    @classmethod
    def of(cls, settings: Settings, region: str) -> StoreSpec:
        """The store the service's settings choose for a region."""
        return cls(settings.data_dir, region, settings.database_url,
                   settings.database_timeout_s)


_stores: dict[StoreSpec, FeatureStore] = {}
_databases: dict[tuple[str, float], FeatureDatabase] = {}


def feature_store(spec: StoreSpec) -> FeatureStore:
    """This process's feature store of a region (made on first use)."""
    store = _stores.get(spec)
    if store is not None:
        return store
    if spec.database_url:
        from geo_service.features.postgis import FeatureDatabase

        key = (spec.database_url, spec.database_timeout_s)
        database = _databases.get(key)
        if database is None:  # one job at a time per work process: one connection
            database = _databases[key] = FeatureDatabase(
                spec.database_url, max_connections=1, timeout_s=spec.database_timeout_s)
        store = database.store(spec.region)
    else:
        store = GeoParquetFeatureStore(
            registry_sources(Registry(DataDir(spec.data_dir), spec.region)))
    _stores[spec] = store
    return store


def analyse_drawn(spec: StoreSpec, drawn: DrawnArea, limits: AnalysisLimits,
                  layers: Sequence[Layer], classes: Sequence[Mapping[str, Any]],
                  collections: Mapping[str, str], interval: Interval | None) -> dict[str, Any]:
    """Repair (when invalid) and measure a drawn area, then its statistics per layer.

    Returns:
        `area_km2` (geodesic, km²), `vertices`, `repaired` and `layers` (per layer id, as
        `features.zonal.analyse` gives them).

    Raises:
        AreaRejected: the repaired area is over `limits.max_area_km2` (422).
        InvalidQuery: it encloses no area (400).
    """
    area = checked_area(drawn, limits)
    stats = analyse(area, layers, feature_store(spec), classes,
                    collections=collections,
                    interval=interval, max_cells=limits.max_cells)
    return {"area_km2": round(area.area_km2, 4), "vertices": area.vertices,
            "repaired": area.repaired, "layers": stats}


def analyse_stored(spec: StoreSpec, geometry: shapely.Geometry,
                   layers: Sequence[Layer],
                   classes: Sequence[Mapping[str, Any]], max_cells: int) -> dict[str, Any]:
    """The statistics per layer of an area the service stores (a scored area)."""
    return analyse(stored_area(geometry), layers, feature_store(spec), classes,
                   max_cells=max_cells)
