"""The work that runs in the work processes (`geo_service.workpool`), under a time and a
memory limit: repairing and measuring a drawn area and its zonal statistics (`POST
/analysis`), and the statistics of a stored area (`GET /areas/{id}`).

Each job gets what the serving worker has already checked (the caller's layers, resolved and
visible to it) and opens the files itself; a child keeps one feature store per data dir
between jobs, so vector layers are loaded once per layer version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import shapely

from data_catalog.paths import DataDir
from geo_service.features.model import FeatureStore, Interval
from geo_service.features.parquet import GeoParquetFeatureStore
from geo_service.features.sources import registry_sources
from geo_service.features.zonal import AnalysisLimits, DrawnArea, analyse, checked_area, stored_area
from layers.models import Layer
from layers.registry import Registry

_stores: dict[tuple[Path, str], FeatureStore] = {}


def feature_store(data_dir: Path, region: str) -> FeatureStore:
    """This process's feature store over the layers of a region of `data_dir` (made on first
    use)."""
    store = _stores.get((data_dir, region))
    if store is None:
        store = _stores[(data_dir, region)] = GeoParquetFeatureStore(
            registry_sources(Registry(DataDir(data_dir), region)))
    return store


def analyse_drawn(data_dir: Path, region: str, drawn: DrawnArea, limits: AnalysisLimits,
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
    stats = analyse(area, layers, feature_store(data_dir, region), classes,
                    collections=collections,
                    interval=interval, max_cells=limits.max_cells)
    return {"area_km2": round(area.area_km2, 4), "vertices": area.vertices,
            "repaired": area.repaired, "layers": stats}


def analyse_stored(data_dir: Path, region: str, geometry: shapely.Geometry,
                   layers: Sequence[Layer],
                   classes: Sequence[Mapping[str, Any]], max_cells: int) -> dict[str, Any]:
    """The statistics per layer of an area the service stores (a scored area)."""
    return analyse(stored_area(geometry), layers, feature_store(data_dir, region), classes,
                   max_cells=max_cells)
