"""The STAC catalog of what a run produces (pystac): one item per layer, with provenance.

Asset hrefs are relative to the run folder on disk; the service rewrites them to its own URLs
so that no response carries a file-system path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pystac
import rasterio
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, NoDataStrings, RasterBand, RasterExtension

COG_MEDIA_TYPE = pystac.MediaType.COG
GEOPARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
PREFIX = "cmrisk:"
"""Namespace of cmrisk's own item properties."""

COLORMAPS: frozenset[str] = frozenset(
    ["viridis", "magma", "inferno", "plasma", "cividis", "ylorrd", "ylgnbu", "rdylgn_r",
     "rdylgn", "blues", "greens", "reds", "oranges", "greys", "spectral_r", "terrain", "rdbu_r"]
)
"""The colormap names an item's `cmrisk:colormap` may hold (all known to rio-tiler); the
service lets clients ask for these only."""


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def layer_item(
    *,
    layer_id: str,
    asset_path: Path,
    bbox: Sequence[float],
    when: datetime,
    media_type: str,
    fields: Mapping[str, Any],
) -> pystac.Item:
    """A STAC item for one layer file.

    Args:
        layer_id: the item id (and layer id).
        asset_path: the file; its name becomes the relative href.
        bbox: (west, south, east, north), degrees.
        when: the item datetime (the run's time, UTC).
        media_type: the asset media type.
        fields: cmrisk properties without prefix (title, kind, units, synthetic, ...).
    """
    west, south, east, north = bbox
    geometry = {
        "type": "Polygon",
        "coordinates": [
            [[west, south], [east, south], [east, north], [west, north], [west, south]]
        ],
    }
    properties: dict[str, Any] = {"title": fields.get("title", layer_id)}
    if "description" in fields:
        properties["description"] = fields["description"]
    properties.update({f"{PREFIX}{k}": v for k, v in fields.items()
                       if k not in ("title", "description")})
    item = pystac.Item(layer_id, geometry, list(bbox), when, properties)
    asset = pystac.Asset(href=f"./{asset_path.name}", media_type=media_type, roles=["data"])
    item.add_asset("data", asset)
    files = FileExtension.ext(asset, add_if_missing=True)
    files.size = asset_path.stat().st_size
    files.checksum = "1220" + sha256_of(asset_path)  # multihash: sha2-256, 32 bytes
    if media_type == COG_MEDIA_TYPE:
        add_raster_fields(item, asset, asset_path)
    return item


def add_raster_fields(item: pystac.Item, asset: pystac.Asset, path: Path) -> None:
    """Projection (code, shape, transform, bbox) and raster (bands) fields of a GeoTIFF."""
    with rasterio.open(path) as src:
        projection = ProjectionExtension.ext(item, add_if_missing=True)
        epsg = src.crs.to_epsg() if src.crs else None
        # An authority code where the CRS has one; else its WKT2 (e.g. a region's own
        # equal-area projection).
        projection.code = f"EPSG:{epsg}" if epsg else None
        if src.crs and not epsg:
            projection.wkt2 = src.crs.to_wkt(version="WKT2_2019")
        projection.shape = [src.height, src.width]
        projection.transform = list(src.transform)[:6]
        projection.bbox = list(src.bounds)
        nodata = src.nodata
        band = RasterBand.create(
            nodata=None if nodata is None else (NoDataStrings.NAN if nodata != nodata else nodata),
            data_type=DataType(src.dtypes[0]), unit=src.tags().get("units") or None,
            spatial_resolution=float(abs(src.res[0])),
        )
        RasterExtension.ext(asset, add_if_missing=True).bands = [band]


def write_catalog(folder: Path, catalog_id: str, description: str,
                  items: Sequence[pystac.Item]) -> Path:
    """Write a self-contained catalog with `items` beside their assets in `folder`.

    Returns:
        The path of `catalog.json`.
    """
    catalog = pystac.Catalog(catalog_id, description)
    catalog.set_self_href(str(folder / "catalog.json"))
    for item in items:
        catalog.add_item(item)
        item.set_self_href(str(folder / "items" / f"{item.id}.json"))
        for asset in item.assets.values():
            asset.href = str(folder / Path(asset.href).name)
        item.make_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return folder / "catalog.json"


def read_items(catalog_path: Path) -> list[pystac.Item]:
    """Every item of a catalog written by `write_catalog`, asset hrefs made absolute."""
    catalog = pystac.Catalog.from_file(str(catalog_path))
    items = list(catalog.get_items(recursive=True))
    for item in items:
        item.make_asset_hrefs_absolute()
    return items


def cmrisk_fields(item: pystac.Item) -> dict[str, Any]:
    """The item's cmrisk properties without prefix, plus title and description."""
    fields = {k[len(PREFIX):]: v for k, v in item.properties.items() if k.startswith(PREFIX)}
    fields["title"] = item.properties.get("title", item.id)
    fields["description"] = item.properties.get("description", "")
    return fields
