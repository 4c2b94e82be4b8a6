"""Writing a run's layers: display-ready COGs, GeoParquet tables, their STAC items, and the
validation every output passes before the run may be served."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.warp import transform_bounds
from rio_cogeo.cogeo import cog_validate

from data_catalog.sources import load_sources
from data_catalog.stac import COG_MEDIA_TYPE, GEOPARQUET_MEDIA_TYPE, layer_item
from pipelines.area_record import EXPOSED_SCORES, NOT_EXPOSED_VALUE
from pipelines.config import RegionConfig
from pipelines.errors import RunValidationError
from pipelines.grid import Grid
from pipelines.inputs import InputRecord
from pipelines.outputs import OutputLayer
from pipelines.score import CLASS_NODATA

Written = dict[str, tuple[OutputLayer, Path]]
"""The files a run wrote, by layer id."""


def write_cog(path: Path, data: np.ndarray, grid: Grid, *, nodata: float | int,
              tags: dict[str, str], resampling: str) -> None:
    """Write a display-ready COG: 256-px tiles, overviews, fast-decoding compression.

    ZSTD (level 1, predictor 2 or 3) decodes faster than DEFLATE at a similar size; overviews
    use `resampling` (average for continuous scores, nearest for classes).
    """
    predictor = 3 if data.dtype.kind == "f" else 2
    profile = {
        "driver": "COG", "width": grid.width, "height": grid.height, "count": 1,
        "dtype": data.dtype.name, "crs": grid.crs, "transform": grid.transform,
        "nodata": nodata, "blocksize": 256, "compress": "ZSTD", "level": 1,
        "predictor": predictor, "overview_resampling": resampling, "BIGTIFF": "IF_SAFER",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(**tags)


NOT_EXPOSED_CLASS_TAGS = {
    "not_exposed_value": str(NOT_EXPOSED_VALUE),
    "not_exposed": f"{NOT_EXPOSED_VALUE} = not exposed: a risk is scored but exposure is 0 (no "
                   "one on the move is there); not a risk class",
}
"""Tags of the class raster: which value means "not exposed"."""
NOT_EXPOSED_SCORE_TAGS = {
    "not_exposed": f"cells where exposure is 0 hold 0: not exposed, not an assessed low "
                   f"(the class raster holds {NOT_EXPOSED_VALUE} there)",
}
"""Tags of the scores that are 0 where no one is exposed."""


def raster_tags(layer: OutputLayer, layers: list[OutputLayer], config: RegionConfig,
                synthetic: bool) -> dict[str, str]:
    """The tags of a raster layer's COG: synthetic, region, units, and for the class raster and
    the scores that are 0 where no one is exposed, what "not exposed" means there."""
    tags = {"synthetic": str(synthetic).lower(), "region": config.id, "units": layer.units}
    if layer.source_kind == "classes":
        return {**tags, **NOT_EXPOSED_CLASS_TAGS}
    if layer.source_kind == "score" and layer.source in EXPOSED_SCORES:
        class_files = [f"{other.id}.tif" for other in layers
                       if other.kind == "raster" and other.source_kind == "classes"]
        return {**tags, **NOT_EXPOSED_SCORE_TAGS,
                **({"not_exposed_mask": class_files[0]} if class_files else {})}
    return tags


def write_rasters(folder: Path, grid: Grid, layers: list[OutputLayer],
                  scores: Mapping[str, np.ndarray], risk_class: np.ndarray,
                  indicators: Mapping[str, np.ndarray], config: RegionConfig,
                  synthetic: bool) -> Written:
    """Write every raster layer: a score, the class raster, or an indicator (whole-grid
    arrays; a run writes from its scratch files, `pipelines.chunk_stages.write_rasters`)."""
    written: Written = {}
    for layer in layers:
        if layer.kind != "raster":
            continue
        path = folder / f"{layer.id}.tif"
        tags = raster_tags(layer, layers, config, synthetic)
        if layer.source_kind == "classes":
            write_cog(path, risk_class, grid, nodata=CLASS_NODATA, tags=tags,
                      resampling="nearest")
        else:
            values = scores[layer.source] if layer.source_kind == "score" \
                else indicators[layer.source]
            write_cog(path, values, grid, nodata=np.nan, tags=tags, resampling="average")
        written[layer.id] = (layer, path)
    return written


def area_input(layer: OutputLayer, config: RegionConfig) -> str | None:
    """The input a vector layer republishes: its own, or its area set's polygons."""
    if layer.source_kind == "areas":
        return config.areas[layer.source].source
    return layer.source if layer.source_kind == "input" else None


def write_vectors(folder: Path, layers: list[OutputLayer], scored: gpd.GeoDataFrame,
                  vectors: Mapping[str, gpd.GeoDataFrame], config: RegionConfig) -> Written:
    """Write every vector layer as GeoParquet (EPSG:4326): a scored area set, with the
    attributes of the polygons it was made from, or an input as the run read it."""
    written: Written = {}
    for layer in layers:
        if layer.kind != "vector":
            continue
        path = folder / f"{layer.id}.parquet"
        if layer.source_kind == "areas":
            frame = scored[scored["area_set"] == layer.source].drop(columns=["area_set"])
            source_name = area_input(layer, config)
            if source_name is not None:
                extra = vectors[source_name].drop(columns="geometry").reset_index(drop=True)
                extra = extra[[c for c in extra.columns if c not in frame.columns]]
                frame = pd.concat([frame.reset_index(drop=True), extra], axis=1)
        else:
            frame = vectors[layer.source].to_crs("EPSG:4326").reset_index(drop=True)
        gpd.GeoDataFrame(frame, crs="EPSG:4326").to_parquet(path, index=False)
        written[layer.id] = (layer, path)
    return written


def lonlat_bbox(grid: Grid) -> tuple[float, float, float, float]:
    """The grid's extent in degrees (west, south, east, north), rounded to 1e-6."""
    west, south, east, north = transform_bounds(grid.crs, "EPSG:4326", *grid.bounds)
    return (round(west, 6), round(south, 6), round(east, 6), round(north, 6))


def layer_items(written: Written, grid: Grid, now: datetime, run_id: str,
                records: Mapping[str, InputRecord], config: RegionConfig) -> list[Any]:
    """The STAC item of every written layer, carrying all the service knows about it."""
    bbox = lonlat_bbox(grid)
    legend = [c.model_dump() for c in config.classes]
    synthetic = any(r.synthetic for r in records.values())
    restricted = restricted_inputs(records)
    items = []
    for layer_id, (layer, path) in sorted(written.items()):
        raster = layer.kind == "raster"
        access = "restricted" if area_input(layer, config) in restricted else "public"
        items.append(layer_item(
            layer_id=layer_id, asset_path=path, bbox=bbox, when=now,
            media_type=COG_MEDIA_TYPE if raster else GEOPARQUET_MEDIA_TYPE,
            fields={
                **layer.fields(), "synthetic": synthetic, "access": access,
                "run_id": run_id, "region": config.id, "classes": legend,
                "provenance": [r.as_dict() for r in records.values()],
                "attribution": config.attribution,
            },
        ))
    return items


def restricted_inputs(records: Mapping[str, InputRecord]) -> set[str]:
    """Inputs whose real data come from a source that may not be redistributed (e.g. WDPA):
    vector layers republishing them are `restricted`. Generated demo data are never."""
    sources = load_sources()
    found = set()
    for name, record in records.items():
        source = sources.get(record.path.split("/", 1)[0])
        if not record.synthetic and source is not None and source.access == "restricted":
            found.add(name)
    return found


def validate_run(folder: Path, written: Written) -> None:
    """Check every output before the run may become current.

    COGs must pass rio-cogeo's validation and hold at least one valid cell; GeoParquet files
    must read back.

    Raises:
        RunValidationError: naming each failed output.
    """
    problems = []
    for layer_id, (layer, path) in written.items():
        try:
            if layer.kind == "raster":
                valid, errors, _ = cog_validate(str(path), quiet=True)
                if not valid:
                    problems.append(f"{layer_id}: not a valid COG ({'; '.join(errors)})")
                    continue
                with rasterio.open(path) as src:
                    band = src.read(1, masked=True)
                    if band.count() == 0:
                        problems.append(f"{layer_id}: no valid cells")
            else:
                gpd.read_parquet(path)
        except Exception as exc:  # any unreadable output fails the run, named
            problems.append(f"{layer_id}: unreadable ({exc.__class__.__name__}: {exc})")
    if problems:
        raise RunValidationError(f"run {folder.name} failed validation: " + "; ".join(problems))
