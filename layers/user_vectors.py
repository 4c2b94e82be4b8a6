"""User vector layers: `cmrisk ingest vector PATH --id ID` (GeoJSON, GeoPackage, Shapefile,
GeoParquet) into `<data dir>/layers/<id>/` as GeoParquet in CRS84 with a STAC item.

The layer is written in a temporary folder of the data dir and renamed into place, so the
service (whose registry watches `layers/*/item.json`) sees either the old layer or the new one.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from data_catalog.paths import SAFE_ID, DataDir, replace_folder
from data_catalog.stac import GEOPARQUET_MEDIA_TYPE, layer_item
from layers.models import Access
from layers.registry import USER_LAYER_ITEM

DATA_FILE = "data.parquet"
SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".parquet", ".geoparquet")
"""File types `ingest_vector` reads."""
ID_FIELD = "id"
"""The feature id column of every published layer."""


def _read(path: Path) -> tuple[gpd.GeoDataFrame, str | None]:
    """The first spatial layer of a file and, when the file has several, a note saying so."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path.name}: not a vector file cmrisk reads "
                         f"({', '.join(SUFFIXES)})")
    if suffix in (".parquet", ".geoparquet"):
        return gpd.read_parquet(path), None
    try:
        layers = [(str(name), kind) for name, kind in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL's errors vary by driver; all mean "cannot read"
        raise ValueError(f"{path.name}: cannot open as a vector file ({exc})") from None
    spatial = [name for name, kind in layers if kind is not None]
    if not spatial:
        raise ValueError(f"{path.name}: no layer with geometry")
    note = (f"{len(spatial)} spatial layers; read {spatial[0]!r}" if len(spatial) > 1
            else None)
    frame = pyogrio.read_dataframe(path, layer=spatial[0])
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ValueError(f"{path.name}: no geometry column")
    return frame, note


def _ids(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str]:
    """Keep a unique, complete `id` column, or assign 1..n (moving a bad one to `source_id`)."""
    if ID_FIELD in frame.columns:
        ids = frame[ID_FIELD]
        usable = ids.notna().all() and ids.is_unique and (
            pd.api.types.is_integer_dtype(ids.dtype) or ids.map(type).eq(str).all())
        if usable:
            return frame, "kept"
        frame = frame.rename(columns={ID_FIELD: f"source_{ID_FIELD}"})
        how = "assigned (the file's id column is not unique and complete; kept as source_id)"
    else:
        how = "assigned"
    frame.insert(0, ID_FIELD, np.arange(1, len(frame) + 1, dtype="int64"))
    return frame, how


def _repair(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int, int]:
    """Repair invalid geometries (same dimension kept) and drop empty ones.

    Returns:
        The frame, the number repaired and the number dropped (null or empty geometries).
    """
    geometry = frame.geometry.to_numpy()
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    invalid = ~missing & ~shapely.is_valid(geometry)
    if invalid.any():
        fixed = shapely.make_valid(geometry[invalid], method="structure", keep_collapsed=False)
        geometry = geometry.copy()
        geometry[invalid] = fixed
        frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=frame.crs))
        emptied = shapely.is_empty(geometry) | shapely.is_missing(geometry)
        missing |= emptied
    return frame[~missing].reset_index(drop=True), int(invalid.sum()), int(missing.sum())


def _geometry_types(frame: gpd.GeoDataFrame) -> dict[str, int]:
    counts = frame.geometry.geom_type.value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def ingest_vector(data: DataDir, path: Path, *, layer_id: str, title: str | None = None,
                  units: str = "",
                  value_type: Literal["continuous", "class", "count"] = "class",
                  description: str = "", attribution: str = "", access: Access = "public",
                  now: datetime | None = None) -> dict[str, Any]:
    """Add a vector file as the user layer `layer_id` (replacing one of that id).

    Args:
        data: the data dir.
        path: a GeoJSON, GeoPackage (first spatial layer), Shapefile or GeoParquet file.
        layer_id: the layer (and collection) id: lower-case letters, digits, `_`, `-`.
        title: the layer title (default: the file name without suffix).
        units: units of the layer's values.
        value_type: continuous, class or count.
        description: a description for the catalog.
        attribution: the source attribution.
        access: `public`, or `restricted` (served only to tokens scoped to the layer).
        now: the item time (UTC); defaults to the clock.

    Returns:
        The report: `id`, `features_read`, `features_written`, `geometries_repaired`,
        `features_dropped` (null or empty geometries), `ids` (kept or assigned),
        `reprojected_from` (the source CRS, or None), `geometry_types`, `bbox`, `notes`.

    Raises:
        ValueError: a bad id, an unreadable file, a layer without CRS or without features.
    """
    if not SAFE_ID.fullmatch(layer_id):
        raise ValueError(f"layer id {layer_id[:80]!r} must be lower-case letters, digits, "
                         "'_' or '-' (at most 64, starting with a letter or digit)")
    frame, note = _read(path)
    notes = [note] if note else []
    read = len(frame)
    if frame.crs is None:
        raise ValueError(f"{path.name}: the layer has no CRS; give a file with one "
                         "(e.g. a .prj beside a shapefile)")
    reprojected = None
    if not (frame.crs.equals("OGC:CRS84") or frame.crs.to_epsg() == 4326):
        reprojected = frame.crs.to_string()
        frame = frame.to_crs("OGC:CRS84")
    frame = frame.set_crs("OGC:CRS84", allow_override=True)
    frame, repaired, dropped = _repair(frame)
    if frame.empty:
        raise ValueError(f"{path.name}: no feature with a geometry")
    frame, ids = _ids(frame)
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    bounds = [round(float(b), 7) for b in frame.total_bounds]

    data.ensure()
    staging = data.root / ".tmp" / f"layer-{layer_id}-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        frame.to_parquet(staging / DATA_FILE, index=False)
        item = layer_item(
            layer_id=layer_id, asset_path=staging / DATA_FILE, bbox=bounds,
            when=now or datetime.now(UTC), media_type=GEOPARQUET_MEDIA_TYPE,
            fields={"title": title or path.stem, "description": description,
                    "kind": "vector", "value_type": value_type, "units": units,
                    "synthetic": False, "access": access, "attribution": attribution,
                    "provenance": [{"name": path.name, "synthetic": False}]})
        (staging / USER_LAYER_ITEM).write_text(
            json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False), indent=2),
            encoding="utf-8")
        replace_folder(staging, data.layers / layer_id, data.root / ".tmp")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {
        "id": layer_id, "features_read": read, "features_written": len(frame),
        "geometries_repaired": repaired, "features_dropped": dropped, "ids": ids,
        "reprojected_from": reprojected, "geometry_types": _geometry_types(frame),
        "bbox": bounds, "notes": notes,
    }
