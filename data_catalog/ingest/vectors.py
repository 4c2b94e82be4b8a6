"""User vector layers: `cmrisk ingest vector PATH --id ID` (GeoJSON, GeoPackage, Shapefile,
GeoParquet, or a zip of one) into `<data dir>/layers/<id>/` as GeoParquet in CRS84 with a STAC
item.

The layer is written in the data dir's scratch folder, kept as a new version of `layer:<id>`
and swapped into place, so the service (whose registry watches `layers/*/item.json`) sees
either the old layer or the new one. A file with more features than the ingest limits allow,
or a zip beyond the extraction limits, is refused before anything is written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import shapely

from data_catalog.errors import MissingCRSError, SourceFormatError
from data_catalog.ingest.install import LayerPublisher, install, layer_input, staging
from data_catalog.ingest.rasters import Access, check_layer_id
from data_catalog.ingest.versions import InputVersion, VersionStore, sha256_file
from data_catalog.limits import check_feature_count
from data_catalog.paths import USER_LAYER_ITEM, DataDir
from data_catalog.readers._vector import vector_files
from data_catalog.stac import GEOPARQUET_MEDIA_TYPE, layer_item

DATA_FILE = "data.parquet"
SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".parquet", ".geoparquet", ".zip")
"""File types `ingest_vector` reads (a zip holding one of the others)."""
ID_FIELD = "id"
"""The feature id column of every published layer."""


def _read(path: Path) -> tuple[gpd.GeoDataFrame, str | None]:
    """The first spatial layer of a file (or of the first dataset in a zip) and, when there are
    several, a note saying which was read."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SourceFormatError(f"not a vector file cmrisk reads ({', '.join(SUFFIXES)})",
                                path=path)
    if suffix in (".parquet", ".geoparquet"):
        try:
            check_feature_count(pq.ParquetFile(path).metadata.num_rows, path)
            return gpd.read_parquet(path), None
        except (OSError, ValueError) as exc:
            raise SourceFormatError(f"cannot open as GeoParquet ({exc})", path=path) from None
    with vector_files(path) as datasets:
        dataset = datasets[0]
        note = (f"{len(datasets)} datasets in the zip; read {dataset.name!r}"
                if len(datasets) > 1 else None)
        try:
            layers = [(str(name), kind) for name, kind in pyogrio.list_layers(dataset)]
        except Exception as exc:  # GDAL's errors vary by driver; all mean "cannot read"
            raise SourceFormatError(f"cannot open as a vector file ({exc})",
                                    path=path) from None
        spatial = [name for name, kind in layers if kind is not None]
        if not spatial:
            raise SourceFormatError("no layer with geometry", path=path)
        if len(spatial) > 1:
            note = f"{len(spatial)} spatial layers; read {spatial[0]!r}"
        declared = pyogrio.read_info(dataset, layer=spatial[0], force_feature_count=True)
        check_feature_count(int(declared["features"]), path)
        frame = pyogrio.read_dataframe(dataset, layer=spatial[0])
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SourceFormatError("no geometry column", path=path)
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


def ingest_vector(data: DataDir, store: VersionStore, path: Path, *, layer_id: str,
                  title: str | None = None, units: str = "",
                  value_type: Literal["continuous", "class", "count"] = "class",
                  description: str = "", attribution: str = "", access: Access = "public",
                  now: datetime | None = None, user: str | None = None,
                  file_name: str | None = None, file_sha256: str | None = None,
                  publish: LayerPublisher | None = None,
                  ) -> tuple[InputVersion, dict[str, Any]]:
    """Add a vector file as the user layer `layer_id` (a new version of `layer:<id>`).

    Args:
        data: the data dir.
        store: the version store.
        path: a GeoJSON, GeoPackage (first spatial layer), Shapefile or GeoParquet file, or a
            zip holding one.
        layer_id: the layer (and collection) id: lower-case letters, digits, `_`, `-`.
        title: the layer title (default: the file name without suffix).
        units: units of the layer's values.
        value_type: continuous, class or count.
        description: a description for the catalog.
        attribution: the source attribution.
        access: `public`, or `restricted` (served only to tokens scoped to the layer).
        now: the item time (UTC); defaults to the clock.
        user: who ingests (default: the account running the command).
        file_name: the name of the file the person gave, when `path` was derived from it.
        file_sha256: its SHA-256, likewise.
        publish: told of the layer's new folder before it is recorded or swapped in
            (`install.LayerPublisher`: the service's PostGIS load); if it raises, nothing
            changes.

    Returns:
        The new version and the report: `id`, `features_read`, `features_written`,
        `geometries_repaired`, `features_dropped` (null or empty geometries), `ids` (kept or
        assigned), `reprojected_from` (the source CRS, or None), `geometry_types`, `bbox`,
        `notes`.

    Raises:
        ValueError: a bad id.
        SourceFormatError: an unreadable file, a layer without CRS (`MissingCRSError`) or
            without features, a file beyond the ingest limits (`IngestLimitError`).
    """
    check_layer_id(data, layer_id)
    frame, note = _read(path)
    notes = [note] if note else []
    read = len(frame)
    if frame.crs is None:
        raise MissingCRSError(path=path, what="layer")
    reprojected = None
    if not (frame.crs.equals("OGC:CRS84") or frame.crs.to_epsg() == 4326):
        reprojected = frame.crs.to_string()
        frame = frame.to_crs("OGC:CRS84")
    frame = frame.set_crs("OGC:CRS84", allow_override=True)
    frame, repaired, dropped = _repair(frame)
    if frame.empty:
        raise SourceFormatError("no feature with a geometry", path=path)
    frame, ids = _ids(frame)
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    bounds = [round(float(b), 7) for b in frame.total_bounds]
    name = file_name or path.name
    digest = file_sha256 or sha256_file(path)

    with staging(data, f"layer-{layer_id}") as folder:
        frame.to_parquet(folder / DATA_FILE, index=False)
        item = layer_item(
            layer_id=layer_id, asset_path=folder / DATA_FILE, bbox=bounds,
            when=now or datetime.now(UTC), media_type=GEOPARQUET_MEDIA_TYPE,
            fields={"title": title or Path(name).stem, "description": description,
                    "kind": "vector", "value_type": value_type, "units": units,
                    "synthetic": False, "access": access, "attribution": attribution,
                    "provenance": [{"name": name, "synthetic": False, "sha256": digest}]})
        (folder / USER_LAYER_ITEM).write_text(
            json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False), indent=2),
            encoding="utf-8")
        base = f"layers/{layer_id}"
        version = install(
            data, store, layer_input(layer_id),
            {f"{base}/{DATA_FILE}": folder / DATA_FILE,
             f"{base}/{USER_LAYER_ITEM}": folder / USER_LAYER_ITEM},
            whole=True, publish=publish, file_name=name, file_sha256=digest, user=user,
            rows={"read": read, "written": len(frame), "repaired": repaired,
                  "dropped_by_rule": dropped},
            note=f"vector layer {layer_id!r}: {len(frame)} features")
    return version, {
        "id": layer_id, "features_read": read, "features_written": len(frame),
        "geometries_repaired": repaired, "features_dropped": dropped, "ids": ids,
        "reprojected_from": reprojected, "geometry_types": _geometry_types(frame),
        "bbox": bounds, "notes": notes,
    }
