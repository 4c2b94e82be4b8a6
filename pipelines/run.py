"""The orchestrator: one `run(config, data_dir)` call from inputs to a served run.

A run is written completely under `runs/<run_id>/`; `run.json` is written last and marks it
complete; the outputs are validated; only then does `current` move (one atomic symlink switch).
A killed run leaves a folder without `run.json` that is never served and is removed by the
next run.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import dask
import dask.array
import dask.threaded
import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.warp import transform_bounds
from rio_cogeo.cogeo import cog_validate

from data_catalog.paths import DataDir, switch_symlink
from data_catalog.sources import load_sources
from data_catalog.stac import COG_MEDIA_TYPE, GEOPARQUET_MEDIA_TYPE, layer_item, write_catalog
from pipelines import areas as area_stats
from pipelines import mobility
from pipelines.config import RegionConfig
from pipelines.disclosure import crossings_features, protect_flows
from pipelines.errors import PipelineError, RunValidationError, UnreadableInput
from pipelines.grid import Grid, align_to_grid
from pipelines.indicators import build_indicator
from pipelines.inputs import InputRecord, check_inputs, provenance, read_vector
from pipelines.outputs import (
    RISK_CLASS_LAYER,
    SCORE_LAYERS,
    VECTOR_LAYERS,
    OutputLayer,
    indicator_layer,
)
from pipelines.score import CLASS_NODATA, OUTPUTS, Weights, classify, score_cells

RUN_MANIFEST = "run.json"
STAGES = ("inputs", "align", "surfaces", "indicators", "score", "write", "areas",
          "sensitivity", "catalog", "validate", "manifest", "switch")
"""Stages in order, as reported to progress hooks and timed in run.json.

`manifest` writes `run.json` (the run is complete from its end on); `switch` moves `current`
and prunes old runs. A run stopped before `switch` ends leaves `current` where it was; one
stopped after it serves the new run. Fault tests stop runs at these boundaries.
"""

StageHook = Callable[[str, str], None]
"""Called as hook(stage, "start"|"end")."""

CHECKPOINTS = tuple(f"{stage}:{event}" for stage in STAGES for event in ("start", "end"))
"""Every boundary a progress hook sees, as "stage:event" (e.g. "manifest:end")."""


@dataclass
class RunResult:
    """What a finished run produced."""

    run_id: str
    folder: Path
    timings_s: dict[str, float]
    summary: dict[str, Any]
    areas: gpd.GeoDataFrame = field(repr=False)


def new_run_id(now: datetime) -> str:
    """A sortable, folder-safe run id from the UTC time, e.g. `20261129t021530-123456`."""
    return now.strftime("%Y%m%dt%H%M%S-%f")


def complete_runs(data: DataDir) -> list[Path]:
    """Folders of completed runs (with run.json), oldest first."""
    if not data.runs.is_dir():
        return []
    return sorted(p for p in data.runs.iterdir() if (p / RUN_MANIFEST).is_file())


def clean_partial_runs(data: DataDir) -> list[str]:
    """Remove folders of killed or failed runs (no run.json); returns their names."""
    removed = []
    if data.runs.is_dir():
        for folder in data.runs.iterdir():
            if folder.is_dir() and not (folder / RUN_MANIFEST).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
    return removed


def prune_runs(data: DataDir, keep: int) -> list[str]:
    """Keep the newest `keep` completed runs (and always the current one); returns removed."""
    current = data.current_run()
    runs = complete_runs(data)
    removed = []
    for folder in runs[: max(0, len(runs) - keep)]:
        if current is not None and folder.resolve() == current:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed


class _Timer:
    def __init__(self, hook: StageHook | None) -> None:
        self.hook = hook
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.hook:
            self.hook(name, "start")
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 4)
        if self.hook:
            self.hook(name, "end")


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


def score_grid(indicators: dict[str, np.ndarray], config: RegionConfig,
               grid: Grid) -> dict[str, np.ndarray]:
    """Score the grid block by block with dask: the same numpy code as for one cell.

    Each block sees its window of every indicator (no copy of the whole stack); without a
    dask.distributed client the local threaded scheduler is named outright, which spares the
    first run the import of `distributed` (0.8 s) that dask's scheduler lookup performs.
    """
    names = list(indicators)

    def block(*values: np.ndarray) -> np.ndarray:
        scores = score_cells(dict(zip(names, values, strict=True)), config)
        return np.stack([scores[o] for o in OUTPUTS])

    on_cluster = _distributed_client()
    if not on_cluster and grid.height <= grid.chunk and grid.width <= grid.chunk:
        # One block on this machine: a scheduler would only add its overhead (~10 ms).
        whole = block(*(indicators[n] for n in names))
        return {name: whole[i] for i, name in enumerate(OUTPUTS)}
    chunks = (grid.chunk, grid.chunk)
    blocks = [dask.array.from_array(indicators[n], chunks=chunks, name=False)  # no hashing
              for n in names]
    lazy = dask.array.map_blocks(block, *blocks, dtype="float32", new_axis=0,
                                 chunks=((len(OUTPUTS),), *blocks[0].chunks))
    (computed,) = dask.compute(lazy, scheduler=None if on_cluster else dask.threaded.get)
    return {name: computed[i] for i, name in enumerate(OUTPUTS)}


def _distributed_client() -> bool:
    """Whether a dask.distributed client is active (`cmrisk run --scheduler`)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_client()
    except ValueError:
        return False
    return True


def _lonlat_bbox(grid: Grid) -> tuple[float, float, float, float]:
    west, south, east, north = transform_bounds(grid.crs, "EPSG:4326", *grid.bounds)
    return (round(west, 6), round(south, 6), round(east, 6), round(north, 6))


def run(config: RegionConfig, data: DataDir, *, scale: int = 1,
        hook: StageHook | None = None, now: datetime | None = None,
        switch: bool = True, publish: Callable[[Path], None] | None = None) -> RunResult:
    """Run the pipeline for one region and make it current.

    Args:
        config: the region config.
        data: the data dir (inputs read from `inputs/`, the run written under `runs/`).
        scale: multiply the grid's cell count by this (benchmarks).
        hook: progress callback, called at the start and end of each stage in `STAGES`.
        now: the run's time (UTC); defaults to the clock.
        switch: move `current` to the new run when it validates.
        publish: called with the complete run folder just before `current` moves (e.g. to
            load its vectors into PostGIS); if it raises, the run fails and nothing moves.

    Raises:
        PipelineError: a missing input, an invalid config or outputs that fail validation;
        nothing is switched then.
    """
    now = now or datetime.now(UTC)
    timer = _Timer(hook)
    data.ensure()
    clean_partial_runs(data)
    run_id = new_run_id(now)
    folder = data.runs / run_id
    folder.mkdir(parents=True)
    grid = Grid.from_spec(config.grid, scale)

    try:
        return _run_in(folder, run_id, config, data, grid, scale, timer, now, switch, publish)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a failed run leaves nothing behind
        raise


def _read_input(name: str, path: Path, read: Callable[[Path], Any]) -> Any:
    """Read one input; a file that cannot be read fails the run, naming the input."""
    try:
        return read(path)
    except PipelineError:
        raise
    except Exception as exc:  # rasterio, GDAL, pyogrio and pandas each raise their own
        raise UnreadableInput(f"input {name} ({path.name}) cannot be read: "
                              f"{exc.__class__.__name__}: {str(exc)[:300]}") from exc


def _run_in(folder: Path, run_id: str, config: RegionConfig, data: DataDir, grid: Grid,
            scale: int, timer: _Timer, now: datetime, switch: bool,
            publish: Callable[[Path], None] | None) -> RunResult:
    """The stages of `run`, writing into `folder`."""
    with timer.stage("inputs"):
        records = provenance(config, data.inputs)
        paths = check_inputs(config, data.inputs)
        vectors = {name: _read_input(name, paths[name], read_vector).to_crs(grid.crs)
                   for name, spec in config.inputs.items() if spec.kind == "vector"}
        tables = {name: _read_input(name, paths[name], lambda p: pd.read_csv(
                      p, dtype={"month": str, "point_id": str}))
                  for name, spec in config.inputs.items() if spec.kind == "table"}
        # Flow counts are used only after disclosure control, for surfaces and publication.
        vectors["crossings"] = published_crossings(tables.pop("crossings"),
                                                   vectors["crossing_points"]).to_crs(grid.crs)

    with timer.stage("align"):
        layers: dict[str, np.ndarray] = {}
        for name, spec in config.inputs.items():
            if spec.kind == "raster":
                aligned = _read_input(name, paths[name],
                                      partial(align_to_grid, grid=grid,
                                              resampling=spec.resampling))
                layers[name] = np.asarray(aligned.values)

    with timer.stage("surfaces"):
        layers.update(_surfaces(config, grid, vectors))

    with timer.stage("indicators"):
        indicators = {name: build_indicator(spec, layers)
                      for name, spec in config.indicators.items()}
        land = ~np.isnan(layers[_land_reference(config)])
        for values in indicators.values():
            values[~land] = np.nan

    with timer.stage("score"):
        scores = score_grid(indicators, config, grid)
        risk_class = classify(scores["risk"], config.class_breaks())

    synthetic = any(r.synthetic for r in records.values())
    with timer.stage("write"):
        written = _write_rasters(folder, grid, scores, risk_class, indicators, config, synthetic)

    with timer.stage("areas"):
        area_frame, table = _area_frames(config, grid, vectors)
        flat = {name: values.ravel() for name, values in indicators.items()}
        scored_areas = _score_areas(area_frame, table, scores, flat, config)

    with timer.stage("sensitivity"):
        intervals = area_stats.rank_intervals(flat, config, table,
                                              scored_areas["kind"].to_numpy())
        scored_areas = pd.concat([scored_areas.reset_index(drop=True), intervals], axis=1)
        scored_areas["run_id"] = run_id
        scored_areas["as_of"] = now.isoformat()

    with timer.stage("catalog"):
        written.update(_write_vectors(folder, scored_areas, vectors, records))
        items = _items(written, grid, now, run_id, records, config)
        write_catalog(folder, f"cmrisk-run-{run_id}",
                      f"cmrisk run {run_id} of region {config.id}", items)

    with timer.stage("validate"):
        validate_run(folder, written)

    summary = _summary(scored_areas, records, config)
    with timer.stage("manifest"):
        _write_manifest(folder, {
            "run_id": run_id, "region": config.id, "created": now.isoformat(), "scale": scale,
            "grid": {"crs": grid.crs.to_string(), "resolution_m": grid.resolution,
                     "width": grid.width, "height": grid.height,
                     "bounds_lonlat": list(_lonlat_bbox(grid))},
            "config": config.model_dump(mode="json", by_alias=True),
            "weights": config.weights, "inputs": [r.as_dict() for r in records.values()],
            "synthetic": synthetic, "timings_s": timer.timings, "summary": summary,
            "layers": sorted(written),
        })
    with timer.stage("switch"):
        if switch:
            if publish is not None:
                publish(folder)
            switch_symlink(data.current, folder)
            prune_runs(data, config.runs_kept)
    return RunResult(run_id, folder, timer.timings, summary, scored_areas)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write `run.json` atomically: from then on the run folder is complete."""
    tmp = folder / f".{RUN_MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    tmp.replace(folder / RUN_MANIFEST)


def published_crossings(flows: pd.DataFrame, points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The protected crossings table (`pipelines.disclosure`) with each point's direction."""
    published = crossings_features(protect_flows(flows), points)
    directions = dict(zip(points["point_id"].astype(str),
                          points.get("direction_default", pd.Series(dtype=str)), strict=False))
    published["direction"] = published["point_id"].map(directions)
    return published


def _land_reference(config: RegionConfig) -> str:
    """The raster input whose nodata marks the sea (the first flood depth)."""
    return next(n for n, s in config.inputs.items() if s.kind == "raster")


def _surfaces(config: RegionConfig, grid: Grid,
              vectors: dict[str, gpd.GeoDataFrame]) -> dict[str, np.ndarray]:
    surf = config.surfaces
    transit = surf.get("transit_pressure", {})
    year = int(transit.get("year", 2023))  # type: ignore[arg-type]
    kernel = float(transit.get("kernel_km", 3.0))  # type: ignore[arg-type]
    crossings = vectors["crossings"]
    flows = mobility.yearly_flow(crossings, year)
    segments = vectors["route_segments"]
    displacement = vectors["displacement"]
    years = surf.get("displacement_density", {}).get("years", [2019, 2024])
    first, last = (int(y) for y in years)  # type: ignore[union-attr]
    start = pd.to_datetime(displacement["start_date"], errors="coerce").dt.year
    in_years = displacement[(start >= first) & (start <= last)]
    incidents = vectors["incidents"]
    incident_years = pd.to_datetime(incidents["date"], errors="coerce").dt.year
    span = max(1, int(incident_years.max() - incident_years.min() + 1)) if len(incidents) else 1
    protected = vectors["protected_areas"]
    iucn = protected["IUCN_CAT"].map(config.iucn_scores).astype("float64").fillna(0.0)
    return {
        "transit_pressure": mobility.transit_pressure(grid, segments, flows, kernel),
        "displacement_density": mobility.kernel_density(
            grid, in_years, "new_displacement",
            float(surf.get("displacement_density", {}).get("kernel_km", 10.0)),  # type: ignore[arg-type]
            per_years=last - first + 1),
        "death_density": mobility.kernel_density(
            grid, incidents, "total_dead_missing",
            float(surf.get("death_density", {}).get("kernel_km", 5.0)),  # type: ignore[arg-type]
            per_years=span),
        "station_distance": mobility.distance_to_points_km(grid, vectors["stations"]),
        "road_distance": mobility.distance_to_lines_km(grid, vectors["roads"]),
        "station_load": mobility.station_load(grid, vectors["stations"], segments, flows),
        "children_share": mobility.children_share(grid, crossings, segments, year, kernel * 2),
        "iucn_score": mobility.polygon_scores(grid, protected, iucn),
        "indigenous_territory": mobility.polygon_scores(
            grid, vectors["indigenous_territories"],
            pd.Series(np.ones(len(vectors["indigenous_territories"])))),
    }


def _write_rasters(folder: Path, grid: Grid, scores: dict[str, np.ndarray],
                   risk_class: np.ndarray, indicators: dict[str, np.ndarray],
                   config: RegionConfig, synthetic: bool) -> dict[str, tuple[OutputLayer, Path]]:
    written: dict[str, tuple[OutputLayer, Path]] = {}
    tags = {"synthetic": str(synthetic).lower(), "region": config.id}
    for layer in SCORE_LAYERS:
        path = folder / f"{layer.id}.tif"
        write_cog(path, scores[layer.source], grid, nodata=np.nan,
                  tags={**tags, "units": layer.units}, resampling="average")
        written[layer.id] = (layer, path)
    path = folder / f"{RISK_CLASS_LAYER.id}.tif"
    write_cog(path, risk_class, grid, nodata=CLASS_NODATA, tags={**tags, "units": "class"},
              resampling="nearest")
    written[RISK_CLASS_LAYER.id] = (RISK_CLASS_LAYER, path)
    for name, values in indicators.items():
        layer = indicator_layer(name)
        path = folder / f"{layer.id}.tif"
        write_cog(path, values, grid, nodata=np.nan, tags={**tags, "units": layer.units},
                  resampling="average")
        written[layer.id] = (layer, path)
    return written


def _area_frames(config: RegionConfig, grid: Grid, vectors: dict[str, gpd.GeoDataFrame]
                 ) -> tuple[gpd.GeoDataFrame, area_stats.CoverageTable]:
    frames = []
    for set_name, spec in config.areas.items():
        if spec.h3_resolution is not None:
            land = shapely.union_all(vectors["countries"].to_crs("EPSG:4326").geometry.values)
            units = area_stats.planning_units(config.grid.bounds_lonlat, spec.h3_resolution, land)
            units["kind"] = spec.kind
            units["area_set"] = set_name
            frames.append(units[["id", "name", "kind", "area_set", "geometry"]])
            continue
        source = vectors[set_name].to_crs("EPSG:4326")
        frame = gpd.GeoDataFrame({
            "id": [f"{spec.id_prefix or ''}{v}" for v in source[spec.id_field or "id"]],
            "name": source[spec.name_field or "name"].astype(str),
            "kind": spec.kind, "area_set": set_name,
        }, geometry=source.geometry.values, crs="EPSG:4326")
        frames.append(frame)
    combined = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    return combined, area_stats.coverage_table(combined, grid)


def _score_areas(frame: gpd.GeoDataFrame, table: area_stats.CoverageTable,
                 scores: dict[str, np.ndarray], indicators: dict[str, np.ndarray],
                 config: RegionConfig) -> gpd.GeoDataFrame:
    risk = scores["risk"].ravel().astype("float64")
    out = frame.copy()
    out["area_km2"] = area_stats.geodesic_area_km2(out.geometry)
    out["risk"] = table.mean(risk)
    out["risk_max"] = area_stats.weighted_max(table, risk)
    out["risk_p90"] = area_stats.weighted_quantile(table, risk, 0.9)
    out["risk_class"] = [config.classes[int(c)].name if c != CLASS_NODATA else None
                         for c in classify(out["risk"].to_numpy(), config.class_breaks())]
    shares = area_stats.class_shares(table, risk, config.class_breaks(), len(config.classes))
    for index, spec in enumerate(config.classes):
        out[f"share_{spec.name}"] = shares[:, index]
    dimension_means = {}
    for key, name in (("H", "H"), ("V", "V"), ("C", "C"), ("E", "E"), ("H_nat", "H_nat"),
                      ("exposure", "exposure")):
        dimension_means[key] = table.mean(scores[name].ravel().astype("float64"))
        out[f"dim_{key}"] = dimension_means[key]
    out["environmental_pressure"] = table.mean(
        scores["environmental_pressure"].ravel().astype("float64"))
    indicator_means = {name: table.mean(values.astype("float64"))
                       for name, values in indicators.items()}
    for name, values in indicator_means.items():
        out[f"ind_{name}"] = values
    out["top_indicator"] = area_stats.top_indicators(
        indicator_means, dimension_means, Weights.from_config(config))
    out["rank"] = np.nan
    for kind in out["kind"].unique():
        members = out["kind"] == kind
        out.loc[members, "rank"] = area_stats.rank_desc(out.loc[members, "risk"].to_numpy())
    return out


def _write_vectors(folder: Path, scored: gpd.GeoDataFrame, vectors: dict[str, gpd.GeoDataFrame],
                   records: dict[str, InputRecord]) -> dict[str, tuple[OutputLayer, Path]]:
    written: dict[str, tuple[OutputLayer, Path]] = {}
    scored_sets = set(scored["area_set"])
    for layer in VECTOR_LAYERS:
        path = folder / f"{layer.id}.parquet"
        if layer.id in scored_sets:
            frame = scored[scored["area_set"] == layer.id].drop(columns=["area_set"])
            source = vectors.get(layer.id)
            if source is not None:
                extra = source.drop(columns="geometry").reset_index(drop=True)
                extra = extra[[c for c in extra.columns if c not in frame.columns]]
                frame = pd.concat([frame.reset_index(drop=True), extra], axis=1)
        elif layer.source in vectors:
            frame = vectors[layer.source].to_crs("EPSG:4326").reset_index(drop=True)
        else:
            continue
        gpd.GeoDataFrame(frame, crs="EPSG:4326").to_parquet(path, index=False)
        written[layer.id] = (layer, path)
    return written


def _items(written: dict[str, tuple[OutputLayer, Path]], grid: Grid, now: datetime,
           run_id: str, records: dict[str, InputRecord], config: RegionConfig) -> list[Any]:
    bbox = _lonlat_bbox(grid)
    legend = [c.model_dump() for c in config.classes]
    synthetic = any(r.synthetic for r in records.values())
    restricted = restricted_inputs(records)
    items = []
    for layer_id, (layer, path) in sorted(written.items()):
        raster = layer.kind == "raster"
        access = "restricted" if layer.kind == "vector" and layer.source in restricted else "public"
        items.append(layer_item(
            layer_id=layer_id, asset_path=path, bbox=bbox, when=now,
            media_type=COG_MEDIA_TYPE if raster else GEOPARQUET_MEDIA_TYPE,
            fields={
                "title": layer.title, "description": layer.description,
                "title_es": layer.title_es, "kind": layer.kind, "value_type": layer.value_type,
                "units": layer.units, "synthetic": synthetic, "access": access,
                "run_id": run_id, "region": config.id, "classes": legend,
                "provenance": [r.as_dict() for r in records.values()],
                "attribution": config.attribution,
            },
        ))
    return items


def restricted_inputs(records: dict[str, InputRecord]) -> set[str]:
    """Inputs whose real data come from a source that may not be redistributed (e.g. WDPA):
    vector layers republishing them are `restricted`. Generated demo data are never."""
    sources = load_sources()
    found = set()
    for name, record in records.items():
        source = sources.get(record.path.split("/", 1)[0])
        if not record.synthetic and source is not None and source.access == "restricted":
            found.add(name)
    return found


def validate_run(folder: Path, written: dict[str, tuple[OutputLayer, Path]]) -> None:
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


def _summary(scored: gpd.GeoDataFrame, records: dict[str, InputRecord],
             config: RegionConfig) -> dict[str, Any]:
    protected = scored[scored["kind"] == "protected_area"].sort_values("rank")
    counts = scored.groupby(["kind", "risk_class"]).size()
    return {
        "areas": {kind: int((scored["kind"] == kind).sum()) for kind in scored["kind"].unique()},
        "classes": {f"{k}/{c}": int(n) for (k, c), n in counts.items()},
        "protected_areas": [
            {"id": r.id, "name": r.name, "risk": round(float(r.risk), 3),
             "risk_class": r.risk_class, "rank": int(r.rank)}
            for r in protected.itertuples() if np.isfinite(r.risk)
        ],
        "inputs": {name: ("synthetic" if r.synthetic else "real") for name, r in records.items()},
        "region": config.id,
    }
