"""Sources that feed the pipeline: a real file becomes the input a run reads.

Each source's reader makes a tidy frame or array; an adapter here turns it into the input the
pipeline reads (the same columns as the generated demo input), clipped to a box if given. The
pipeline prefers an ingested file over the generated one (`pipelines.inputs.resolve_input`) and
its provenance then says "real".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
import xarray as xr

from data_catalog.errors import SourceFormatError
from data_catalog.ingest import flows
from data_catalog.readers._common import BBox
from data_catalog.readers.report import IngestReport

REPORT_NAME = "ingest.json"
"""The reader's report, kept beside each source's input as `inputs/<source>/ingest.json`."""


@dataclass
class Adapted:
    """What an adapter makes of a reader's result.

    Attributes:
        outputs: Path under `inputs/` → the value to write there.
        notes: Lines for the person (e.g. the merge summary).
        rows: Counts for the version record.
    """

    outputs: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AdaptContext:
    """What an adapter may need besides the reader's result.

    Attributes:
        inputs: The inputs folder of the region the file is ingested into.
        path: The ingested file (named in messages).
        bbox: Keep only what intersects (west, south, east, north), degrees.
        replace: Replace the whole input instead of merging (flow counts).
    """

    inputs: Path
    path: Path
    bbox: BBox | None = None
    replace: bool = False


def _clip(frame: gpd.GeoDataFrame, bbox: BBox | None) -> gpd.GeoDataFrame:
    if bbox is None:
        return frame
    box = shapely.box(*bbox)
    keep = frame.geometry.notna() & frame.geometry.intersects(box)
    return frame[keep].reset_index(drop=True)


def _wdpa(result: Any, ctx: AdaptContext) -> Adapted:
    frame = _clip(result.data, ctx.bbox)
    renamed = gpd.GeoDataFrame({
        "WDPAID": frame["wdpaid"].astype("int64"), "WDPA_PID": frame["wdpa_pid"],
        "NAME": frame["name"], "ORIG_NAME": frame["orig_name"], "DESIG": frame["desig"],
        "DESIG_ENG": frame["desig_eng"], "DESIG_TYPE": frame["desig_type"],
        "IUCN_CAT": frame["iucn_cat"], "REP_AREA": frame["rep_area_km2"],
        "GIS_AREA": frame["gis_area_km2"], "STATUS": frame["status"],
        "STATUS_YR": frame["status_yr"], "ISO3": frame["iso3"],
        "other_designations": frame["other_designations"], "synthetic": False,
    }, geometry=frame.geometry.values, crs="EPSG:4326")
    return Adapted({"wdpa/protected_areas.parquet": renamed}, rows={"stored": len(renamed)})


def _missing_migrants(result: Any, ctx: AdaptContext) -> Adapted:
    frame = result.data
    located = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    located = _clip(located, ctx.bbox)
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
    notes = []
    if len(incidents) < len(frame):
        notes.append(f"{len(frame) - len(incidents)} incident(s) without a point in the region "
                     "are not mapped (the file keeps them)")
    return Adapted({"missing_migrants/incidents.parquet": incidents}, notes=notes,
                   rows={"stored": len(incidents)})


def _natural_earth(result: Any, ctx: AdaptContext) -> Adapted:
    frame = _clip(result.data, ctx.bbox)
    return Adapted({"natural_earth/countries.parquet": frame}, rows={"stored": len(frame)})


def _admin_units(result: Any, ctx: AdaptContext) -> Adapted:
    """ADM1 or ADM2 boundaries → `admin_units/adm<level>.parquet` (the other level's file is
    left as it is: one input, a file per level)."""
    frame = _clip(result.data, ctx.bbox)
    levels = sorted(set(frame["shapeType"].dropna().astype(str)))
    name = levels[0].lower() if len(levels) == 1 else "adm"
    return Adapted({f"admin_units/{name}.parquet": frame}, rows={"stored": len(frame)},
                   notes=[f"{len(frame)} {levels[0] if levels else ''} unit(s) in the region"])


def _jrc_flood(result: Any, ctx: AdaptContext) -> Adapted:
    depth = result.data
    if ctx.bbox is not None:
        depth = depth.rio.clip_box(*ctx.bbox)
    outputs: dict[str, Any] = {}
    for period in depth["return_period"].values.tolist():
        outputs[f"jrc_flood/flood_depth_rp{int(period)}.tif"] = depth.sel(return_period=period)
    return Adapted(outputs)


RX1DAY = "chirps/rx1day.tif"
"""The pipeline's rainfall input: the largest one-day precipitation, mm/day."""


def _chirps(result: Any, ctx: AdaptContext) -> Adapted:
    """Daily CHIRPS precipitation → Rx1day (the largest one-day total of the days given)."""
    precip: xr.DataArray = result.data
    units = str(precip.attrs.get("units", ""))
    if units != "mm/day":
        raise SourceFormatError(
            f"the rainfall input is the largest one-day precipitation (Rx1day, mm/day), but "
            f"these are {units or 'unknown'} totals; give daily CHIRPS files "
            "(chirps-v2.0.YYYY.days_p05.nc or chirps-v2.0.YYYY.MM.DD.tif)", path=ctx.path)
    if ctx.bbox is not None:
        precip = precip.rio.clip_box(*ctx.bbox)
    rx1day = precip.max("time", skipna=True).rio.write_crs(precip.rio.crs)
    rx1day.attrs["units"] = "mm/day"
    return Adapted({RX1DAY: rx1day}, notes=[
        f"Rx1day: the largest of {precip.sizes['time']} daily total(s)"])


def _flow_counts(result: Any, ctx: AdaptContext) -> Adapted:
    """The validated rows merged into the crossings table by (point, month)."""
    new = flows.as_table(result.data)
    path = ctx.inputs.parent / flows.TABLE
    current = flows.read_table(path) if path.is_file() else None
    merged, summary = flows.merge(current, new, replace=ctx.replace)
    relative = Path(flows.TABLE).relative_to("inputs").as_posix()
    return Adapted({relative: merged}, notes=[summary.line()], rows={
        "cells_added": summary.cells_added, "cells_replaced": summary.cells_replaced,
        "rows_before": summary.rows_before, "rows_after": summary.rows_after})


ROUTES = "routes/route_segments.parquet"
"""Where an ingested route segments file goes (beside the generated GeoJSON, which it beats)."""


def _route_segments(result: Any, ctx: AdaptContext) -> Adapted:
    """The validated segments, as the pipeline's route segments input (real: not synthetic)."""
    frame = _clip(result.data, ctx.bbox)
    frame = gpd.GeoDataFrame(frame.assign(synthetic=False), geometry="geometry",
                             crs="EPSG:4326")
    ending = int(frame["to_station_id"].notna().sum())
    return Adapted({ROUTES: frame}, rows={"stored": len(frame)},
                   notes=[f"{len(frame)} segment(s), {ending} ending at a station"])


ADAPTERS: dict[str, Callable[[Any, AdaptContext], Adapted]] = {
    "route_segments": _route_segments,
    "flow_counts": _flow_counts,
    "wdpa": _wdpa,
    "missing_migrants": _missing_migrants,
    "natural_earth": _natural_earth,
    "jrc_flood": _jrc_flood,
    "chirps": _chirps,
    "admin_units": _admin_units,
}
"""Sources that become pipeline inputs, and how."""


def reader_options(source_id: str, inputs: Path, level: int | None = None) -> dict[str, Any]:
    """Extra arguments a source's reader takes from the data dir (the known crossing points
    for flow counts; the known stations and crossing points for route segments) or the command
    line (the `--level` of admin units).

    Raises:
        ValueError: Admin units without a level of 1 or 2.
    """
    if source_id == "admin_units":
        if level not in (1, 2):
            raise ValueError("admin_units needs --level 1 (provinces, departments) or 2 "
                             "(districts, municipios)")
        return {"level": level}
    if source_id not in ("flow_counts", "route_segments"):
        return {}
    options: dict[str, Any] = {}
    for relative in flows.POINTS:
        path = inputs.parent / relative
        if path.is_file():
            frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
            options["known_points"] = set(frame["point_id"].astype(str))
            break
    if source_id == "route_segments":
        for relative in STATIONS:
            path = inputs / relative
            if path.is_file():
                frame = gpd.read_parquet(path) if path.suffix == ".parquet" \
                    else gpd.read_file(path)
                options["known_stations"] = set(frame["station_id"].astype(str))
                break
    return options


STATIONS = ("stations/reception_stations.parquet", "stations/reception_stations.geojson")
"""Where a region's stations input is (ingested first), under its inputs folder."""


def write_output(path: Path, value: Any) -> None:
    """Write one adapted output: GeoParquet, CSV (text as is) or a float32 COG."""
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


def empty_outputs(adapted: Adapted) -> bool:
    """Whether an adapter kept no feature at all (e.g. nothing lies in the region)."""
    return any(isinstance(v, gpd.GeoDataFrame) and v.empty for v in adapted.outputs.values())


def report_counts(report: IngestReport) -> dict[str, int]:
    """The reader's counts for a version record."""
    return {"read": report.rows_read, "kept": report.rows_kept,
            "rejected": report.rows_rejected,
            "dropped_by_rule": report.rows_dropped - report.rows_rejected}
