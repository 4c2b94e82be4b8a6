"""The scored areas of a region's current run, loaded once per run and answered from memory."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from data_catalog.i18n import every_language
from geo_service.auth import Principal
from geo_service.features.errors import CollectionNotFound
from geo_service.features.model import FeatureQuery, FeatureStore
from geo_service.features.parquet import GeoParquetFeatureStore
from geo_service.features.sources import registry_sources
from layers.fields import class_label
from layers.labels import not_exposed_class, ranking_statistic_label, score_card_labels
from layers.models import Layer
from layers.registry import Registry
from pipelines import area_record as col

LAYER = "layer"
"""Column naming the layer each area comes from (added here, not stored)."""


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


def area_layers(registry: Registry) -> list[Layer]:
    """The run layers that hold scored areas (made from an area set of the region file)."""
    return [layer for layer in registry.layers().values() if layer.source_kind == "areas"]


PRESSURE_FIGURES = (col.PRESSURE_CELLS, col.PEOPLE_CROSSING, col.CARRYING_CAPACITY,
                    col.CAPACITY_RATIO, col.WASTE_LOAD, col.IND_CAPACITY_RATIO,
                    col.IND_WASTE_LOAD)
"""Environmental-pressure figures of an area record (`pipelines.pressure`), when a run has them."""


def area_figures(row: pd.Series) -> dict[str, Any]:
    """An area's hazard levels (`hazard_levels`: hazard → level), flooded shares by level
    (`flood_shares`) and environmental-pressure figures, as far as its run provides them."""
    figures: dict[str, Any] = {
        "hazard_levels": {str(key).removeprefix(col.HAZARD_LEVEL_PREFIX): str(value)
                          for key, value in row.items()
                          if str(key).startswith(col.HAZARD_LEVEL_PREFIX)
                          and isinstance(value, str)}}
    shares = {str(key).removeprefix(col.FLOOD_SHARE_PREFIX): _number(value)
              for key, value in row.items() if str(key).startswith(col.FLOOD_SHARE_PREFIX)}
    if shares:
        figures["flood_shares"] = shares
    figures.update({name: _number(row.get(name)) for name in PRESSURE_FIGURES if name in row})
    return figures


def area_drops(row: pd.Series) -> dict[str, float | None]:
    """An area's drops by indicator (`drop_<indicator>`: how much neutralising it lowers the
    ranking value, points on 0–10), largest first; ties and missing drops (an area not ranked)
    keep the region file's order, missing ones last. Empty for a run without drops."""
    drops = {str(key).removeprefix(col.DROP_PREFIX): _number(value)
             for key, value in row.items()
             if isinstance(key, str) and key.startswith(col.DROP_PREFIX)}
    return dict(sorted(drops.items(), key=lambda kv: (kv[1] is None, -(kv[1] or 0.0))))


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
        for layer in area_layers(self.registry):
            try:
                sources.append(store.collection(layer.id))
            except CollectionNotFound:  # not (yet) in the store: no areas of that layer
                continue
        version = "|".join(f"{info.id}@{info.version}" for info in sources)
        with self._lock:
            if version != self._version:
                frames = [_table(store, info.id).assign(**{LAYER: info.id}) for info in sources]
                self._frame = (pd.concat(frames, ignore_index=True) if frames
                               else pd.DataFrame(columns=[col.ID]))
                self._frame.index = pd.Index(self._frame[col.ID].to_numpy())
                self._version = version
            return self._frame

    def visible_frame(self, principal: Principal) -> pd.DataFrame:
        """The areas of the layers this caller may read (restricted ones need a token)."""
        frame = self.frame()
        if frame.empty:
            return frame
        readable = [layer.id for layer in area_layers(self.registry) if principal.can_read(layer)]
        return frame[frame[LAYER].isin(readable)]

    def weights(self) -> dict[str, dict[str, float]]:
        """The configured weights of the current run."""
        manifest = self.registry.run_manifest() or {}
        return dict(manifest.get("weights", {}))

    def as_json(self, row: pd.Series, classes: list[dict[str, Any]]) -> dict[str, Any]:
        """One area in the API shape: score, class (or `not_exposed`), the ranking statistic
        with its value, exposed share, p90 and max, dimensions, indicators, the drop of each
        indicator (`drops`, largest first), ranks, top indicator, weights."""
        labels = {c["name"]: c for c in [*classes, not_exposed_class()]}
        klass = row.get(col.RISK_CLASS)
        shares = {c["name"]: _number(row.get(f"{col.SHARE_PREFIX}{c['name']}"))
                  for c in classes}
        indicators = {key.removeprefix(col.INDICATOR_PREFIX): _number(value)
                      for key, value in row.items()
                      if isinstance(key, str) and key.startswith(col.INDICATOR_PREFIX)}
        official = row.get(col.OFFICIAL_NAME)
        statistic = row.get(col.RANKING_STATISTIC)
        statistic = statistic if isinstance(statistic, str) else None
        return {
            col.ID: row[col.ID], col.KIND: row[col.KIND], col.NAME: row[col.NAME],
            col.OFFICIAL_NAME: official if isinstance(official, str) and official else None,
            col.AREA_KM2: _number(row[col.AREA_KM2]),
            col.RISK: _number(row[col.RISK]), col.RISK_CLASS: klass,
            "risk_class_label": labels.get(klass, {}).get("label") if klass else None,
            "risk_class_label_es": labels.get(klass, {}).get("label_es") if klass else None,
            "risk_class_labels": {lang.code: class_label(labels[klass], lang)
                                  for lang in every_language()} if klass in labels else None,
            col.RISK_MAX: _number(row.get(col.RISK_MAX)),
            col.RISK_P90: _number(row.get(col.RISK_P90)),
            col.RISK_MEAN_EXPOSED: _number(row.get(col.RISK_MEAN_EXPOSED)),
            col.EXPOSED_SHARE: _number(row.get(col.EXPOSED_SHARE)),
            col.RANKING_STATISTIC: statistic,
            "ranking_statistic_labels": {
                lang.code: ranking_statistic_label(statistic, lang)
                for lang in every_language()} if statistic else None,
            col.RANKING_VALUE: _number(row.get(col.RANKING_VALUE)),
            "class_shares": shares,
            col.PRESSURE: _number(row.get(col.PRESSURE)),
            "dimensions": {d: _number(row.get(f"{col.DIMENSION_PREFIX}{d}"))
                           for d in col.CARD_DIMENSIONS},
            "indicators": indicators,
            "drops": area_drops(row),
            col.RANK: _number(row.get(col.RANK)),
            col.RANK_MEDIAN: _number(row.get(col.RANK_MEDIAN)),
            col.RANK_P05: _number(row.get(col.RANK_P05)),
            col.RANK_P95: _number(row.get(col.RANK_P95)),
            col.CLASS_CHANGE_SHARE: _number(row.get(col.CLASS_CHANGE_SHARE)),
            "pressure_audit": {
                key: _number(row.get(f"{col.PRESSURE_PREFIX}{key}"))
                for key in (col.RANK_MEDIAN, col.RANK_P05, col.RANK_P95,
                            col.CLASS_CHANGE_SHARE)},
            col.TOP_INDICATOR: row.get(col.TOP_INDICATOR),
            "weights": self.weights(), col.RUN_ID: row.get(col.RUN_ID),
            col.AS_OF: row.get(col.AS_OF), "labels": score_card_labels(),
            **area_figures(row),
        }
