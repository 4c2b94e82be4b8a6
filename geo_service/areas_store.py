"""The scored areas of the current run, loaded once per run and answered from memory."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from geo_service.auth import Principal
from geo_service.features.errors import CollectionNotFound
from geo_service.features.model import FeatureQuery, FeatureStore
from geo_service.features.parquet import GeoParquetFeatureStore
from geo_service.features.sources import registry_sources
from layers.labels import SCORE_CARD_LABELS
from layers.registry import Registry

AREA_LAYERS = ("protected_areas", "planning_units")
"""Run layers that hold scored areas."""
DIMENSIONS = ("H", "V", "C", "E")


def _table(store: FeatureStore, collection_id: str) -> pd.DataFrame:
    """A collection's ids and properties as a table (no geometry)."""
    parts = [pd.DataFrame({"id": batch.ids, **batch.properties})
             for batch in store.batches(collection_id, FeatureQuery())]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["id"])


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else round(number, 4)


class AreasStore:
    """Scored areas by id, with their shape as in ARCHITECTURE.md.

    Args:
        registry: the layer registry (access rules, the run's weights and classes).
        features: returns the service's feature store, which holds the area layers' tables
            (GeoParquet or PostGIS: the areas come from wherever features come from); by
            default an embedded store over the registry's files.
    """

    def __init__(self, registry: Registry,
                 features: Callable[[], FeatureStore] | None = None) -> None:
        self.registry = registry
        if features is None:
            embedded = GeoParquetFeatureStore(registry_sources(registry))
            features = lambda: embedded  # noqa: E731
        self.features = features
        self._lock = threading.Lock()
        self._version: str | None = None
        self._frame = pd.DataFrame()

    def frame(self) -> pd.DataFrame:
        """All scored areas of the current run (no geometry), reloaded when the run changes."""
        store = self.features()
        sources = []
        for name in AREA_LAYERS:
            try:
                sources.append(store.collection(name))
            except CollectionNotFound:
                continue
        version = "|".join(info.version for info in sources)
        with self._lock:
            if version != self._version:
                frames = [_table(store, info.id).assign(layer=info.id) for info in sources]
                self._frame = (pd.concat(frames, ignore_index=True) if frames
                               else pd.DataFrame(columns=["id"]))
                self._frame.index = pd.Index(self._frame["id"].to_numpy())
                self._version = version
            return self._frame

    def visible_frame(self, principal: Principal) -> pd.DataFrame:
        """The areas of the layers this caller may read (restricted ones need a token)."""
        frame = self.frame()
        if frame.empty:
            return frame
        layers = self.registry.layers()
        readable = [k for k in AREA_LAYERS if k in layers and principal.can_read(layers[k])]
        return frame[frame["layer"].isin(readable)]

    def weights(self) -> dict[str, dict[str, float]]:
        """The configured weights of the current run."""
        manifest = self.registry.run_manifest() or {}
        return dict(manifest.get("weights", {}))

    def as_json(self, row: pd.Series, classes: list[dict[str, Any]]) -> dict[str, Any]:
        """One area in the API shape: score, class, dimensions, ranks, top indicator, weights."""
        labels = {c["name"]: c for c in classes}
        klass = row.get("risk_class")
        shares = {c["name"]: _number(row.get(f"share_{c['name']}")) for c in classes}
        indicators = {key[4:]: _number(value) for key, value in row.items()
                      if isinstance(key, str) and key.startswith("ind_")}
        return {
            "id": row["id"], "kind": row["kind"], "name": row["name"],
            "area_km2": _number(row["area_km2"]),
            "risk": _number(row["risk"]), "risk_class": klass,
            "risk_class_label": labels.get(klass, {}).get("label") if klass else None,
            "risk_class_label_es": labels.get(klass, {}).get("label_es") if klass else None,
            "risk_max": _number(row.get("risk_max")), "risk_p90": _number(row.get("risk_p90")),
            "class_shares": shares,
            "environmental_pressure": _number(row.get("environmental_pressure")),
            "dimensions": {d: _number(row.get(f"dim_{d}")) for d in DIMENSIONS},
            "indicators": indicators,
            "rank": _number(row.get("rank")), "rank_median": _number(row.get("rank_median")),
            "rank_p05": _number(row.get("rank_p05")), "rank_p95": _number(row.get("rank_p95")),
            "top_indicator": row.get("top_indicator"),
            "weights": self.weights(), "run_id": row.get("run_id"), "as_of": row.get("as_of"),
            "labels": SCORE_CARD_LABELS,
        }
