"""Test helpers: user layers added through the one ingest dispatcher, as `cmrisk ingest` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from data_catalog.ingest import IngestOptions, ingest
from data_catalog.paths import DataDir
from layers.models import Layer
from layers.registry import Registry


def ingest_raster(data: DataDir, path: Path, *, layer_id: str, **options: Any) -> Layer:
    """`cmrisk ingest raster PATH --id LAYER_ID ...`; returns the layer as the registry serves
    it."""
    ingest(data, "raster", path, IngestOptions(layer_id=layer_id, **options))
    return Registry(data).get(layer_id)


def ingest_vector(data: DataDir, path: Path, *, layer_id: str, **options: Any) -> dict[str, Any]:
    """`cmrisk ingest vector PATH --id LAYER_ID ...`; returns the vector report."""
    return ingest(data, "vector", path, IngestOptions(layer_id=layer_id, **options)).details
