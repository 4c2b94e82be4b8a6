"""The orchestrator: one `run(config, data_dir)` call from inputs to a served run.

A run is written completely under the region's `runs/<run_id>/`; `run.json` is written last
and marks it complete; the outputs are validated; only then does the region's `current` move
(one atomic symlink switch). A killed run leaves a folder without `run.json` that is never
served and is removed by the next run. The jobs are elsewhere: reading inputs
(`pipelines.inputs`), the stages from align to sensitivity window by window
(`pipelines.chunk_stages`: surfaces, scoring; `pipelines.chunk_areas`: areas by blocks, the
sensitivity audit's cells), writing and
validating (`pipelines.publish`), the run store (`data_catalog.runs`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from data_catalog.paths import DataDir, switch_symlink
from data_catalog.runs import (
    RUN_MANIFEST,
    clean_partial_runs,
    complete_runs,
    new_run_id,
    prune_runs,
    write_manifest,
)
from data_catalog.stac import write_catalog
from pipelines import admin_units, hazard_levels, pressure, sensitivity
from pipelines import area_record as col
from pipelines import areas as area_stats
from pipelines import chunk_areas as chunked_areas
from pipelines import chunk_stages as chunked
from pipelines.chunks import Scratch, gdal_env
from pipelines.config import RegionConfig
from pipelines.disclosure_audit import audit_flow_layers
from pipelines.grid import Grid
from pipelines.inputs import (
    check_inputs,
    input_versions,
    provenance,
    read_vectors,
)
from pipelines.outputs import published_layers
from pipelines.publish import (
    layer_items,
    lonlat_bbox,
    validate_run,
    write_vectors,
)

__all__ = ["CHECKPOINTS", "RUN_MANIFEST", "STAGES", "RunResult", "StageHook", "complete_runs",
           "run", "validate_run"]

STAGES = ("inputs", "align", "surfaces", "indicators", "score", "write", "areas",
          "sensitivity", "catalog", "validate", "manifest", "switch")
"""Stages in order, as reported to progress hooks and timed in run.json.

`manifest` writes `run.json` (the run is complete from its end on); `switch` moves `current`
and prunes old runs. A run stopped before `switch` ends leaves `current` where it was; one
stopped after it serves the new run. Fault tests stop runs at these boundaries.
"""

SCRATCH = ".scratch"
"""The folder, inside a run's folder, of the layers between stages (removed before the
catalog is written)."""

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


def run(config: RegionConfig, data: DataDir, *, scale: int = 1,
        hook: StageHook | None = None, now: datetime | None = None,
        switch: bool = True, publish: Callable[[Path], None] | None = None) -> RunResult:
    """Run the pipeline for one region and make it the region's current run.

    Args:
        config: the region file.
        data: the data dir (the region's inputs read, its run written, as `DataDir.region`
            lays them out).
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
    region = data.region(config.id)
    check_inputs(config, region.inputs)  # a missing input fails before anything is written
    data.ensure()
    region.ensure()
    clean_partial_runs(region)
    run_id = new_run_id(now)
    folder = region.runs / run_id
    folder.mkdir(parents=True)
    grid = Grid.from_spec(config.grid, scale)

    try:
        return _run_in(folder, run_id, config, data, grid, scale, timer, now, switch, publish)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a failed run leaves nothing behind
        raise


def _run_in(folder: Path, run_id: str, config: RegionConfig, data: DataDir, grid: Grid,
            scale: int, timer: _Timer, now: datetime, switch: bool,
            publish: Callable[[Path], None] | None) -> RunResult:
    """The stages of `run`, writing into `folder`."""
    region = data.region(config.id)
    layers_out = published_layers(config)
    with timer.stage("inputs"):
        records = provenance(config, region.inputs, data)
        paths = check_inputs(config, region.inputs)
        vectors = read_vectors(config, paths, grid.crs, records)

    synthetic = any(r.synthetic for r in records.values())
    # Every stage from align to sensitivity goes window by window (pipelines.chunk_stages):
    # intermediate layers live in tiled scratch files, removed once the areas are scored.
    runner = chunked.Runner()
    context = chunked.Context(config, grid, paths, vectors)
    scratch = Scratch(folder / SCRATCH, grid)
    with gdal_env():
        with timer.stage("align"):
            chunked.align(runner, context, scratch)

        with timer.stage("surfaces"):
            chunked.surfaces(runner, context, scratch)

        with timer.stage("indicators"):
            constant = chunked.indicators(runner, context, scratch)  # fails unless constant_ok

        with timer.stage("score"):
            chunked.score(runner, context, scratch)

        with timer.stage("write"):
            written = chunked.write_rasters(folder, scratch, layers_out, config, synthetic)

        with timer.stage("areas"):
            area_frame = area_stats.area_sets(config, vectors)
            area_context = chunked_areas.area_context(context, area_frame)
            scored = chunked_areas.score_area_blocks(runner, area_context, scratch, area_frame)
            scored_areas = hazard_levels.apply_levels(scored.areas, config, paths)
            scored_areas = admin_units.roll_up_levels(scored_areas, config)
            scored_areas = pressure.apply_pressure(scored_areas, vectors, config)

        with timer.stage("sensitivity"):
            # The audit reads its few cells only: renumber them 0…K-1 (same order).
            audit_at = sensitivity.audit_cells(scored.representatives)
            at = chunked_areas.audit_values(runner, area_context, scratch, audit_at)
            reps = replace(scored.representatives,
                           cells=np.searchsorted(audit_at, scored.representatives.cells))
            variants = sensitivity.surface_variants(config, grid, vectors, at.layers, audit_at,
                                                    np.arange(len(audit_at)))
            intervals = sensitivity.audit(
                config, None, scored_areas["kind"].to_numpy(), at.layers, at.indicators, None,
                variants=variants, reps=reps, ranked=scored_areas[col.RANK].notna().to_numpy(),
                combine_pressure=pressure.pressure_combiner(scored_areas, config))
            scored_areas = pd.concat([scored_areas.reset_index(drop=True), intervals], axis=1)
            scored_areas["run_id"] = run_id
            scored_areas["as_of"] = now.isoformat()
    shutil.rmtree(folder / SCRATCH)

    with timer.stage("catalog"):
        written.update(write_vectors(folder, layers_out, scored_areas, vectors, config))
        items = layer_items(written, grid, now, run_id, records, config)
        write_catalog(folder, f"cmrisk-run-{run_id}",
                      f"cmrisk run {run_id} of region {config.id}", items)

    with timer.stage("validate"):
        validate_run(folder, written)
        audit_flow_layers(config, written, paths)  # a table that can be attacked is not served

    summary = area_stats.summary(scored_areas, {n: r.synthetic for n, r in records.items()},
                                 config.id)
    with timer.stage("manifest"):
        write_manifest(folder, {
            "run_id": run_id, "region": config.id, "created": now.isoformat(), "scale": scale,
            "grid": {"crs": grid.crs.to_string(), "resolution_m": grid.resolution,
                     "width": grid.width, "height": grid.height,
                     "bounds_lonlat": list(lonlat_bbox(grid))},
            "config": config.model_dump(mode="json", by_alias=True),
            "weights": config.weights, "inputs": [r.as_dict() for r in records.values()],
            "input_versions": input_versions(records),
            "synthetic": synthetic, "timings_s": timer.timings, "summary": summary,
            "constant_indicators": constant,
            "layers": sorted(written),
        })
    with timer.stage("switch"):
        if switch:
            if publish is not None:
                publish(folder)
            switch_symlink(region.current, folder)
            prune_runs(region, config.runs_kept)
    return RunResult(run_id, folder, timer.timings, summary, scored_areas)
