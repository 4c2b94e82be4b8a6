"""`cmrisk ingest SOURCE PATH`: a real file becomes a pipeline input, atomically.

Each source's reader makes a tidy frame or array; an adapter here turns it into the input the
pipeline reads (the same columns as the generated demo input), clipped to a box if given, and
writes it under `inputs/<source>/` beside an `ingest.json` report. The pipeline prefers an
ingested file over the generated one (`pipelines.inputs.resolve_input`), and its provenance then
says "real". A failed ingest leaves the data dir as it was: files are written to a temporary
folder and moved into place only when everything succeeded.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely

from data_catalog.errors import SourceFormatError
from data_catalog.paths import DataDir
from data_catalog.readers.report import IngestReport
from data_catalog.sources import get_source

BBox = tuple[float, float, float, float]
REPORT_NAME = "ingest.json"


@dataclass(frozen=True)
class IngestResult:
    """What an ingest wrote: files relative to `inputs/`, and the reader's report."""

    source: str
    files: list[str]
    report: IngestReport

    def summary(self) -> str:
        """One line for the command line."""
        return f"{', '.join(self.files)} ({self.report.summary()})"


def _clip(frame: gpd.GeoDataFrame, bbox: BBox | None) -> gpd.GeoDataFrame:
    if bbox is None:
        return frame
    box = shapely.box(*bbox)
    keep = frame.geometry.notna() & frame.geometry.intersects(box)
    return frame[keep].reset_index(drop=True)


def _wdpa(result: Any, bbox: BBox | None) -> dict[str, Any]:
    frame = _clip(result.data, bbox)
    renamed = gpd.GeoDataFrame({
        "WDPAID": frame["wdpaid"].astype("int64"), "WDPA_PID": frame["wdpa_pid"],
        "NAME": frame["name"], "ORIG_NAME": frame["orig_name"], "DESIG": frame["desig"],
        "DESIG_ENG": frame["desig_eng"], "DESIG_TYPE": frame["desig_type"],
        "IUCN_CAT": frame["iucn_cat"], "REP_AREA": frame["rep_area_km2"],
        "GIS_AREA": frame["gis_area_km2"], "STATUS": frame["status"],
        "STATUS_YR": frame["status_yr"], "ISO3": frame["iso3"],
        "other_designations": frame["other_designations"], "synthetic": False,
    }, geometry=frame.geometry.values, crs="EPSG:4326")
    return {"wdpa/protected_areas.parquet": renamed}


def _missing_migrants(result: Any, bbox: BBox | None) -> dict[str, Any]:
    frame = result.data
    located = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    located = _clip(located, bbox)
    incidents = gpd.GeoDataFrame({
        "incident_id": located["mmp_id"].astype(str),
        "date": pd.to_datetime(located["date"]).dt.strftime("%Y-%m-%d"),
        "dead": located["number_dead"].fillna(0).astype("int64"),
        "missing": located["number_missing"].fillna(0).astype("int64"),
        "total_dead_missing": located["total_dead_and_missing"].fillna(0).astype("int64"),
        "children": located["number_of_children"].fillna(0).astype("int64"),
        "cause": located["cause_of_death"], "migration_route": located["migration_route"],
        "coordinates_placeholder": located["coordinates_placeholder"], "synthetic": False,
    }, geometry=located.geometry.values, crs="EPSG:4326")
    return {"missing_migrants/incidents.parquet": incidents}


def _natural_earth(result: Any, bbox: BBox | None) -> dict[str, Any]:
    frame = _clip(result.data, bbox)
    return {"natural_earth/countries.parquet": frame}


def _jrc_flood(result: Any, bbox: BBox | None) -> dict[str, Any]:
    depth = result.data
    if bbox is not None:
        depth = depth.rio.clip_box(*bbox)
    outputs: dict[str, Any] = {}
    for period in depth["return_period"].values.tolist():
        outputs[f"jrc_flood/flood_depth_rp{int(period)}.tif"] = depth.sel(return_period=period)
    return outputs


DIRECTIONS = {"northbound": "north-bound", "southbound": "south-bound"}
SEXES = {"female": "F", "male": "M"}
CHILD_AGE_GROUPS = ("0-4", "5-11", "12-17")


def _flow_counts(result: Any, bbox: BBox | None) -> dict[str, Any]:
    """The published template (`flow_counts_template.csv`) as the pipeline's crossings table.

    Directions become `north-bound`/`south-bound`, sexes `F`/`M` (`unknown` kept), the three
    children's age groups one `0-17` group; point ids are matched case-blind, upper case.
    Nothing here is published: the pipeline applies disclosure control before anything is.
    """
    del bbox  # counts carry no coordinates; the crossing points place them
    frame = result.data
    table = pd.DataFrame({
        "point_id": frame["point_id"].astype(str).str.upper(),
        "month": pd.to_datetime(frame["month"]).dt.strftime("%Y-%m"),
        "direction": frame["direction"].map(DIRECTIONS).fillna(frame["direction"]),
        "nationality": frame["nationality"].astype(str),
        "sex": frame["sex"].map(SEXES).fillna(frame["sex"]),
        "age_group": frame["age_group"].where(~frame["age_group"].isin(CHILD_AGE_GROUPS),
                                              "0-17"),
        "count": frame["count"].astype("int64"),
    })
    keys = ["point_id", "month", "direction", "nationality", "sex", "age_group"]
    return {"flows/crossings_monthly.csv": table.groupby(keys, as_index=False)["count"].sum()}


ADAPTERS: dict[str, Callable[[Any, BBox | None], dict[str, Any]]] = {
    "flow_counts": _flow_counts,
    "wdpa": _wdpa,
    "missing_migrants": _missing_migrants,
    "natural_earth": _natural_earth,
    "jrc_flood": _jrc_flood,
}
"""Sources that become pipeline inputs, and how."""


def _write(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(value, gpd.GeoDataFrame):
        value.to_parquet(path, index=False)
        return
    if isinstance(value, pd.DataFrame):
        value.to_csv(path, index=False)
        return
    array = value.astype("float32")
    nodata = np.float32(-9999.0)
    data = np.where(np.isnan(array.values), nodata, array.values).astype("float32")
    profile = {"driver": "COG", "width": data.shape[-1], "height": data.shape[-2], "count": 1,
               "dtype": "float32", "crs": array.rio.crs, "transform": array.rio.transform(),
               "nodata": float(nodata), "blocksize": 256, "compress": "ZSTD",
               "overview_resampling": "average"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(synthetic="false", units=str(array.attrs.get("units", "")))


def ingest_source(data: DataDir, source_id: str, path: Path, *,
                  bbox: BBox | None = None) -> IngestResult:
    """Read `path` with the source's reader and install it as the pipeline's input.

    Args:
        data: the data dir.
        source_id: a source id from `data_catalog/sources/` that feeds the pipeline.
        path: the file to ingest.
        bbox: keep only what intersects (west, south, east, north) degrees.

    Raises:
        UnknownSource: an unknown id (the message lists the known ones).
        SourceFormatError: a file the reader cannot read, or a source that is not a pipeline
            input; the data dir is then unchanged.
    """
    source = get_source(source_id)
    adapter = ADAPTERS.get(source.id)
    if adapter is None:
        raise SourceFormatError(
            f"source {source.id!r} is not a pipeline input; sources that are: "
            f"{', '.join(sorted(ADAPTERS))}")
    result = source.reader_function()(path)
    outputs = adapter(result, bbox)
    if any(isinstance(v, gpd.GeoDataFrame) and v.empty for v in outputs.values()):
        raise SourceFormatError(f"{path.name}: nothing of it lies in the region", path=path)
    data.ensure()
    staging = Path(tempfile.mkdtemp(prefix=".ingest-", dir=data.inputs))
    try:
        for relative, value in outputs.items():
            _write(staging / relative, value)
        (staging / source.id).mkdir(parents=True, exist_ok=True)
        (staging / source.id / REPORT_NAME).write_text(result.report.to_json(), encoding="utf-8")
        for relative in [*outputs, f"{source.id}/{REPORT_NAME}"]:
            target = data.inputs / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return IngestResult(source.id, sorted(outputs), result.report)


def ingest_reports(data: DataDir) -> dict[str, dict[str, Any]]:
    """The report of the last ingest of each source, by source id."""
    reports = {}
    for report in sorted(data.inputs.glob(f"*/{REPORT_NAME}")):
        reports[report.parent.name] = json.loads(report.read_text(encoding="utf-8"))
    return reports
