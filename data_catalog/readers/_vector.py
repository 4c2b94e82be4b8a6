"""Opening vector files for the readers: shapefile, GeoPackage, GeoJSON, FileGDB, zips of them."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from pyogrio.errors import DataSourceError
from shapely.geometry.base import BaseGeometry

from data_catalog.errors import MissingCRSError, SourceFormatError
from data_catalog.limits import check_feature_count, safe_extract
from data_catalog.readers._common import BBox, resolve_columns
from data_catalog.readers.report import Action, IngestReport, Issue

VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".gdb", ".fgb")
"""File suffixes the vector readers accept (plus `.zip` archives holding them)."""

TABULAR_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet")


@contextmanager
def vector_files(path: Path) -> Iterator[list[Path]]:
    """The vector datasets inside `path`: itself, or those in a (nested) zip archive.

    A zip is extracted to a temporary folder that lives as long as the context, within the
    ingest limits (`data_catalog.limits.safe_extract`); zips inside it (the WDPA download holds
    three) are extracted too, one level deep by default.

    Raises:
        SourceFormatError: For a tabular file (CSV, Excel, ...) or a zip without vector data.
    """
    suffix = path.suffix.lower()
    if suffix in TABULAR_SUFFIXES:
        raise SourceFormatError(
            f"a {suffix[1:].upper()} file is not a vector dataset; give a shapefile, "
            "GeoPackage, GeoJSON or FileGDB (or a zip of one)",
            path=path,
        )
    if suffix != ".zip":
        yield [path]
        return
    with tempfile.TemporaryDirectory(prefix="cmrisk-zip-") as tmp:
        root = Path(tmp)
        safe_extract(path, root)
        found = sorted(
            p for p in root.rglob("*")
            if p.suffix.lower() in VECTOR_SUFFIXES and (p.is_file() or p.suffix.lower() == ".gdb")
            and not any(parent.suffix.lower() == ".gdb" for parent in p.parents)
        )
        if not found:
            raise SourceFormatError("the zip holds no shapefile, GeoPackage, GeoJSON or FileGDB",
                                    path=path)
        yield found


def read_layers(
    path: Path,
    report: IngestReport,
    *,
    bbox: BBox | None = None,
    where: str | None = None,
) -> list[gpd.GeoDataFrame]:
    """Every spatial layer of one vector dataset, in EPSG:4326.

    Non-spatial layers are skipped (reported). A layer in another CRS is reprojected
    (reported, file-level).

    Raises:
        SourceFormatError: When GDAL cannot open the file, or it has no spatial layer.
        MissingCRSError: When a spatial layer has no CRS.
    """
    try:
        layers = pyogrio.list_layers(path)
    except (DataSourceError, OSError) as exc:
        raise SourceFormatError(f"cannot open as a vector dataset ({exc})", path=path) from exc
    frames: list[gpd.GeoDataFrame] = []
    for name, geometry_type in layers:
        if geometry_type is None:
            report.add(Issue.UNKNOWN_COLUMN, Action.SKIPPED,
                       f"layer {name!r} has no geometry; not read", count=0)
            continue
        try:
            declared = pyogrio.read_info(path, layer=name, force_feature_count=True)["features"]
            check_feature_count(int(declared), path)
            gdf = pyogrio.read_dataframe(path, layer=name, bbox=bbox, where=where)
        except (DataSourceError, OSError) as exc:
            raise SourceFormatError(f"cannot read layer {name!r} ({exc})", path=path) from exc
        if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
            continue
        if gdf.crs is None:
            raise MissingCRSError(path=path, what=f"layer {name!r}")
        if gdf.crs.to_epsg() != 4326:
            report.add(Issue.REPROJECTED, Action.FIXED,
                       f"layer {name!r} reprojected from {gdf.crs.to_string()} to EPSG:4326",
                       count=0)
            gdf = gdf.to_crs(4326)
        gdf.attrs["layer"] = str(name)
        frames.append(gdf)
    if not frames:
        raise SourceFormatError("no layer with geometry (is this a table?)", path=path)
    return frames


def vector_rows(
    files: Sequence[Path], report: IngestReport, required: Iterable[str],
    optional: Iterable[str] = (), *, bbox: BBox | None = None,
) -> Iterator[tuple[dict[str, Any], BaseGeometry | None]]:
    """Every feature of every layer of every file (zips opened), as ({wanted column: value},
    geometry), columns matched case-blind; counts the rows read into `report.rows_read`.

    Raises:
        MissingColumnError: a layer without a required column (named).
    """
    wanted_required, wanted_optional = list(required), list(optional)
    rows = 0
    for path in files:
        with vector_files(path) as datasets:
            for dataset in datasets:
                for layer in read_layers(dataset, report, bbox=bbox):
                    cols = resolve_columns(layer.columns, wanted_required, wanted_optional,
                                           path=dataset)
                    records = layer[list(cols.values())].to_dict("records")
                    for values, geom in zip(records, layer.geometry, strict=True):
                        rows += 1
                        yield {k: values[v] for k, v in cols.items()}, geom
    report.rows_read = rows
