"""User raster layers: `cmrisk ingest raster PATH --id ID` into `<data dir>/layers/<id>/`.

Any raster GDAL reads (any CRS, any dtype, nodata or NaN) becomes a Cloud-Optimized GeoTIFF
(`data.tif`) with a STAC item (`item.json`) beside it. A file that already is a valid COG is
copied byte for byte; anything else is converted with rio-cogeo in its own CRS. A raster that
declares more pixels or bytes than the ingest limits allow is refused before anything is read
or written. Each ingest is a new version of the input `layer:<id>`.
"""

from __future__ import annotations

import json
import math
import shutil
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.warp import transform_bounds
from rio_cogeo.cogeo import cog_translate, cog_validate

from data_catalog.errors import MissingCRSError, SourceFormatError
from data_catalog.ingest.install import LayerPublisher, install, layer_input, staging
from data_catalog.ingest.versions import InputVersion, VersionStore, sha256_file
from data_catalog.limits import check_free_disk, check_raster_size
from data_catalog.paths import SAFE_ID, USER_LAYER_ITEM, DataDir
from data_catalog.stac import COG_MEDIA_TYPE, COLORMAPS, layer_item

DATA_FILE = "data.tif"
DEFAULT_COLORMAP = "viridis"
STATS_MAX_SIZE = 1024
"""Longest edge (pixels) of the decimated read the default rescale is computed from."""
DEFAULT_PERCENTILES = (2.0, 98.0)
"""Percentiles of valid values that make the default rescale of float rasters."""

Access = Literal["public", "restricted"]


def parse_rescale(text: str) -> tuple[float, float]:
    """`MIN,MAX` as two finite floats with MIN < MAX.

    Raises:
        ValueError: naming `--rescale`.
    """
    parts = text.split(",")
    try:
        low, high = (float(p) for p in parts) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        low = high = math.nan
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ValueError(f"--rescale must be MIN,MAX with finite numbers and MIN < MAX, "
                         f"got {text[:80]!r}")
    return low, high


def check_layer_id(data: DataDir, layer_id: str) -> None:
    """A user layer id must be safe and must not name a layer of the current run.

    Raises:
        ValueError: naming the id and what an id may be.
    """
    if not SAFE_ID.fullmatch(layer_id):
        raise ValueError(f"layer id {layer_id[:80]!r} must be lower-case letters, digits, "
                         "'_' or '-' (at most 64, starting with a letter or digit)")
    run = data.current_run()
    if run is not None and (run / "items" / f"{layer_id}.json").is_file():
        raise ValueError(f"{layer_id!r} is a layer of the current run; choose another id")


def _open_checked(path: Path) -> rasterio.DatasetReader:
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotGeoreferencedWarning)
        try:
            src = rasterio.open(path)
        except NotGeoreferencedWarning:
            raise MissingCRSError(path=path, what="raster (it is not georeferenced)") from None
        except RasterioIOError as exc:
            raise SourceFormatError(f"cannot open as a raster ({exc})", path=path) from None
    try:
        check_raster_size(src.width, src.height, src.count, src.dtypes[0], path)
        if src.crs is None:
            raise MissingCRSError(path=path, what="raster")
        if np.dtype(src.dtypes[0]).kind == "c":
            raise SourceFormatError("complex-valued rasters cannot be drawn", path=path)
    except BaseException:
        src.close()
        raise
    return src


def _is_cog(path: Path) -> bool:
    # Strict: a warning (e.g. no overviews on a large raster) also means "convert", since
    # overviews are what keep low-zoom tiles fast.
    try:
        valid, _, _ = cog_validate(str(path), strict=True, quiet=True)
    except Exception:  # rio-cogeo raises for files that are not GeoTIFF at all
        return False
    return bool(valid)


def _to_cog(src: rasterio.DatasetReader, target: Path) -> None:
    dtype = np.dtype(src.dtypes[0])
    floating = dtype.kind == "f"
    profile = {
        "driver": "GTiff", "interleave": "pixel", "tiled": True,
        "blockxsize": 256, "blockysize": 256,  # one block per 256-px tile at native zoom
        "compress": "ZSTD", "zstd_level": 9,   # ZSTD decodes equally fast at every level
        "predictor": 3 if floating else 2,
    }
    # Overviews of continuous (float) data are averages: a zoomed-out tile then shows the mean
    # of the cells it covers, consistent with zonal statistics, instead of one arbitrary cell
    # (which aliases noisy fields into moiré). Integer data may be classes, where an average
    # would invent classes that do not exist, so they keep nearest.
    resampling: Literal["average", "nearest"] = "average" if floating else "nearest"
    # A float raster without a nodata tag gets NaN as nodata, so NaN cells stay out of the
    # averages and every reader (GDAL, QGIS, TiTiler) treats them as empty.
    nodata = float("nan") if floating and src.nodata is None else None
    # rio-cogeo writes its intermediate file beside the output (in the data dir's scratch
    # folder, which the free-disk check covers), not in the system's temporary folder.
    cog_translate(src, str(target), profile, nodata=nodata, overview_resampling=resampling,
                  forward_band_tags=True, quiet=True, temporary_compression="ZSTD")
    valid, errors, _ = cog_validate(str(target), quiet=True)
    if not valid:
        raise SourceFormatError(f"conversion to COG failed: {'; '.join(errors)}")


def _default_rescale(path: Path) -> tuple[float, float]:
    with rasterio.open(path) as src:
        scale = max(1.0, max(src.width, src.height) / STATS_MAX_SIZE)
        shape = (max(1, round(src.height / scale)), max(1, round(src.width / scale)))
        band = src.read(1, out_shape=shape, masked=True)
        values = band.compressed().astype(np.float64)
        floating = np.dtype(src.dtypes[0]).kind == "f"
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise SourceFormatError("the raster has no valid cell", path=path)
    if floating:
        low, high = (float(v) for v in np.percentile(values, DEFAULT_PERCENTILES))
    else:
        low, high = float(values.min()), float(values.max())
    low, high = float(f"{low:.6g}"), float(f"{high:.6g}")
    return (low, high) if high > low else (low, low + 1.0)


def _lonlat_bbox(src: rasterio.DatasetReader) -> list[float]:
    west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds,
                                                densify_pts=21)
    return [round(max(west, -180.0), 6), round(max(south, -90.0), 6),
            round(min(east, 180.0), 6), round(min(north, 90.0), 6)]


def ingest_raster(data: DataDir, store: VersionStore, path: Path, *, layer_id: str,
                  title: str | None = None, units: str | None = None,
                  colormap: str | None = None, rescale: str | None = None,
                  access: Access = "public", now: datetime | None = None,
                  user: str | None = None, publish: LayerPublisher | None = None,
                  ) -> tuple[InputVersion, dict[str, Any]]:
    """Add a raster file as the user layer `layer_id` (a new version of `layer:<id>`).

    Band 1 is drawn: `colormap` stretched between the `rescale` values.

    Args:
        data: the data dir.
        store: the version store.
        path: any raster GDAL reads, in any CRS, of any real dtype.
        layer_id: the layer id: lower-case letters, digits, `_`, `-`.
        title: the layer title (default: the file name without suffix).
        units: units of the values (shown in the legend).
        colormap: a name from `data_catalog.stac.COLORMAPS` (default viridis).
        rescale: `MIN,MAX` of the colour stretch in layer units (default: the 2nd–98th
            percentile of valid values for float data, min–max for integer data).
        access: `public`, or `restricted` (served only to tokens scoped to the layer).
        now: the item time (UTC); defaults to the clock.
        user: who ingests (default: the account running the command).
        publish: told of the layer's new folder before it is recorded or swapped in
            (`install.LayerPublisher`; a raster is no collection, so the PostGIS load stops
            serving a vector layer of the same id); if it raises, nothing changes.

    Returns:
        The new version and a report (`id`, `cog`, `rescale`, `bbox`).

    Raises:
        ValueError: a bad id (or one of the current run's layers), an unknown colormap, a
            malformed rescale.
        SourceFormatError: a file that is not a georeferenced raster (`MissingCRSError` for
            one without CRS), one without any valid cell, or one beyond the ingest limits
            (`IngestLimitError`). The data dir is then unchanged.
    """
    check_layer_id(data, layer_id)
    colormap = colormap or DEFAULT_COLORMAP
    if colormap not in COLORMAPS:
        raise ValueError(f"unknown colormap {colormap[:40]!r}; allowed: "
                         + ", ".join(sorted(COLORMAPS)))
    stretch = parse_rescale(rescale) if rescale is not None else None
    with _open_checked(path) as src:
        declared = check_raster_size(src.width, src.height, src.count, src.dtypes[0], path)
        bbox = _lonlat_bbox(src)
        keep = _is_cog(path)
        check_free_disk(data.root, path.stat().st_size if keep else declared, path=path)
        with staging(data, f"layer-{layer_id}") as folder:
            target = folder / DATA_FILE
            if keep:
                shutil.copyfile(path, target)
            else:
                _to_cog(src, target)
            low, high = stretch or _default_rescale(target)
            file_sha = sha256_file(path)
            item = layer_item(
                layer_id=layer_id, asset_path=target, bbox=bbox,
                when=now or datetime.now(UTC), media_type=COG_MEDIA_TYPE,
                fields={"title": title or path.stem, "description": "", "kind": "raster",
                        "value_type": "continuous", "units": units or "", "synthetic": False,
                        "access": access, "colormap": colormap, "rescale": [low, high],
                        "attribution": "",
                        "provenance": [{"name": path.name, "synthetic": False,
                                        "cog": "kept" if keep else "converted",
                                        "sha256": file_sha}]})
            (folder / USER_LAYER_ITEM).write_text(json.dumps(
                item.to_dict(include_self_link=False, transform_hrefs=False), indent=2),
                encoding="utf-8")
            base = f"layers/{layer_id}"
            version = install(
                data, store, layer_input(layer_id),
                {f"{base}/{DATA_FILE}": target,
                 f"{base}/{USER_LAYER_ITEM}": folder / USER_LAYER_ITEM},
                whole=True, publish=publish, file_name=path.name, file_sha256=file_sha,
                user=user,
                rows={"pixels": src.width * src.height},
                note=f"raster layer {layer_id!r}: COG {'kept' if keep else 'converted'}")
    return version, {"id": layer_id, "cog": "kept" if keep else "converted",
                     "rescale": [low, high], "bbox": bbox}
