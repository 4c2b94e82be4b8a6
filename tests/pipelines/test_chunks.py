"""The chunked pipeline: windows, the FFT Gaussian, surfaces and area statistics by window."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from data_catalog.paths import DataDir
from pipelines import chunk_areas, chunk_stages
from pipelines.areas import coverage_table, score_areas
from pipelines.chunks import Runner, Scratch, Window, window_grid, windows
from pipelines.config import load_region
from pipelines.grid import Grid
from pipelines.inputs import check_inputs, provenance, read_vectors
from pipelines.mobility import gaussian_blur
from pipelines.score import score_cells
from pipelines.sensitivity import representatives
from pipelines.surfaces import compute_surface


def test_windows_tile_the_grid_row_major() -> None:
    grid = Grid(CRS.from_epsg(32618), Affine(1000, 0, 0, 0, -1000, 0), 5, 7, chunk=3)
    tiles = windows(grid)
    assert tiles == [Window(0, 0, 3, 3), Window(0, 3, 3, 3), Window(0, 6, 3, 1),
                     Window(3, 0, 2, 3), Window(3, 3, 2, 3), Window(3, 6, 2, 1)]
    covered = np.zeros(grid.shape, dtype=int)
    for tile in tiles:
        covered[tile.slices] += 1
    assert (covered == 1).all()
    # A window's grid starts at its own first cell; a grown window stops at the grid's edge.
    assert window_grid(grid, Window(3, 6, 2, 1)).transform == Affine(1000, 0, 6000, 0, -1000,
                                                                     -3000)
    assert Window(0, 3, 3, 3).grown(2, grid) == Window(0, 1, 5, 6)


def test_fft_blur_of_one_mass_is_the_truncated_gaussian() -> None:
    # sigma 2 cells: radius ceil(3·2) = 6; weights exp(-d²/8) normalised over -6..6 per axis.
    mass = np.zeros((31, 31))
    mass[15, 15] = 1.0
    out = gaussian_blur(mass, 2.0)
    norm = sum(math.exp(-(d * d) / 8) for d in range(-6, 7))
    for dy, dx in [(0, 0), (1, 0), (2, 3), (6, 6), (-4, 5)]:
        expected = math.exp(-(dy * dy) / 8) * math.exp(-(dx * dx) / 8) / norm**2
        assert out[15 + dy, 15 + dx] == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert out.sum() == pytest.approx(1.0, rel=1e-12)
    beyond = np.ones_like(out, dtype=bool)
    beyond[9:22, 9:22] = False
    assert (out[beyond] == 0.0).all()  # exactly 0 beyond the kernel's reach, no round-off
    assert (out >= 0).all()


def _context(root: Path, scale: int, chunk: int) -> chunk_stages.Context:
    config = load_region("darien")
    region = DataDir(root).region("darien")
    grid = Grid.from_spec(config.grid, scale)
    grid = Grid(grid.crs, grid.transform, grid.height, grid.width, chunk)
    paths = check_inputs(config, region.inputs)
    vectors = read_vectors(config, paths, grid.crs,
                           provenance(config, region.inputs, DataDir(root)))
    return chunk_stages.Context(config, grid, paths, vectors)


def test_surfaces_by_window_equal_the_whole_grid(demo_inputs: Path) -> None:
    # Windows of 100 cells: kernels of 3, 5 and 10 km reach across window edges (halo).
    context = _context(demo_inputs, 1, 100)
    grid, config = context.grid, context.config
    assert len(windows(grid)) > 4
    assembled = {name: np.full(grid.shape, -1.0) for name in config.surfaces}
    items = chunk_stages.surface_items(context)
    for name, window in items:
        assembled[name][window.slices] = chunk_stages.surface_block((name, window), context)
    # A kernel's windows are at least 4 halos wide (whole chunks): 10 km = 31 + 1 cells.
    edges = {name: max(w.width for n, w in items if n == name) for name in config.surfaces}
    assert edges["displacement_density"] == 200 and edges["station_distance"] == 100
    for name, surface in config.surfaces.items():
        frames = {role: context.vectors[source] for role, source in surface.inputs.items()}
        whole = compute_surface(surface.function, grid, frames, surface.parameters)
        np.testing.assert_allclose(assembled[name], whole, rtol=1e-9, atol=1e-12,
                                   err_msg=name)
        np.testing.assert_array_equal(np.isnan(assembled[name]), np.isnan(whole))


@pytest.mark.parametrize("budget", [10**9, 150])
def test_area_stages_by_window_and_block_equal_the_whole_grid(tmp_path: Path,
                                                              budget: int) -> None:
    # Scores and indicators written to scratch in 12 windows of 16 cells; the areas gathered
    # window by window, then scored in one block or in blocks of at most 150 (area, cell)
    # pairs, give the scored areas and the audit's representative cells that the whole-grid
    # arrays give (same cells, same order: equal, not merely close).
    grid = Grid(CRS.from_epsg(32618), Affine(1000, 0, 500_000, 0, -1000, 1_000_000), 40, 50,
                chunk=16)
    config = load_region("darien")
    rng = np.random.default_rng(7)
    indicators = {name: rng.uniform(0, 10, grid.shape).astype("float32")
                  for name in config.indicators}
    for values in indicators.values():
        values[:5, :] = np.nan  # the sea
    for name in config.weights["exposure"]:
        indicators[name][20:30, 30:] = 0.0  # nobody passes: not exposed
    scores = score_cells(indicators, config)
    scratch = Scratch(tmp_path / "scratch", grid)
    for window in windows(grid):
        for name, values in scores.items():
            scratch.write(chunk_stages.score_key(name), window, values[window.slices])
        for name, values in indicators.items():
            scratch.write(chunk_stages.indicator_key(name), window, values[window.slices])
    scratch.close()
    shapes = [
        shapely.box(503_300, 965_200, 531_700, 992_900),     # across many windows
        shapely.Point(520_000, 980_000).buffer(6_500),       # a disc, partial cells
        shapely.box(533_000, 972_000, 548_000, 978_000),     # nobody exposed: not ranked
        shapely.box(501_000, 996_000, 549_000, 999_500),     # all sea: no statistics
        shapely.box(505_000, 962_000, 512_000, 975_000),
        shapely.box(540_000, 960_500, 546_000, 963_000),     # small, in one window
    ]
    frame = gpd.GeoDataFrame({
        "id": [f"a{i}" for i in range(len(shapes))], "name": [f"a{i}" for i in range(6)],
        "kind": ["k", "k", "k", "k", "j", "j"], "area_set": "s"},
        geometry=shapes, crs=grid.crs).to_crs("EPSG:4326")

    table = coverage_table(frame, grid)
    whole = score_areas(frame, table, {n: v.ravel() for n, v in scores.items()},
                        {n: v.ravel() for n, v in indicators.items()}, config)
    context = chunk_areas.area_context(chunk_stages.Context(config, grid, {}, {}), frame)
    assert len(windows(grid)) == 12
    # With 150 pairs a block, a0 (29 × 28 cells and more) is a block alone and the small a4
    # and a5 share one: blocks of one area and of several are both checked.
    blocks = chunk_areas.area_blocks(np.bincount(table.area, minlength=len(frame)), budget)
    if budget < 10**6:
        assert blocks[0] == (0, 1) and blocks[-1] == (4, 6) and len(blocks) >= 4
    else:
        assert blocks == [(0, 6)]
    scored = chunk_areas.score_area_blocks(Runner(threads=2), context, scratch, frame, budget)
    pd.testing.assert_frame_equal(pd.DataFrame(scored.areas), pd.DataFrame(whole),
                                  check_exact=False, rtol=1e-12, atol=1e-12)
    assert whole["risk_class"][2] == "not_exposed" and pd.isna(whole["risk_class"][3])
    assert np.isfinite(whole["rank"]).sum() == 4

    per = config.sensitivity.cells_per_area
    reps = representatives(table, scores["risk"].ravel().astype("float64"),
                           scores["exposure"].ravel().astype("float64"), per)
    found = scored.representatives
    np.testing.assert_array_equal(found.cells, reps.cells)
    np.testing.assert_allclose(found.weight, reps.weight, rtol=1e-12, atol=1e-12)
    for name in ("exposed", "present", "ranked"):
        np.testing.assert_array_equal(getattr(found, name), getattr(reps, name))
    # The audit's layers are read at its cells, window by window.
    layers = {name: rng.uniform(0, 100, grid.shape)
              for name in chunk_areas.audit_layer_names(config)}
    for window in windows(grid):
        for name, values in layers.items():
            scratch.write(chunk_stages.layer_key(name), window, values[window.slices])
    scratch.close()
    cells = np.unique(reps.cells)
    at = chunk_areas.audit_values(Runner(threads=2), context, scratch, cells)
    assert set(at.layers) == set(layers) and "transit_pressure" in at.layers
    for name, values in layers.items():
        np.testing.assert_array_equal(at.layers[name], values.ravel()[cells])
    fixed = chunk_areas.audit_indicator_names(config)
    assert set(at.indicators) == set(fixed) and fixed
    for name in fixed:
        np.testing.assert_array_equal(at.indicators[name], indicators[name].ravel()[cells])


def test_area_blocks_hold_at_most_the_budget_unless_one_area_exceeds_it() -> None:
    entries = np.array([3, 4, 0, 9, 2, 2, 2, 1])
    assert chunk_areas.area_blocks(entries, 7) == [(0, 3), (3, 4), (4, 8)]
    assert chunk_areas.area_blocks(entries, 100) == [(0, 8)]
    assert chunk_areas.area_blocks(np.array([5]), 1) == [(0, 1)]
    assert chunk_areas.area_blocks(np.zeros(0, "int64"), 5) == []


def test_the_runner_keeps_order_with_few_in_flight() -> None:
    runner = Runner(threads=2)
    assert runner.ahead == 4
    assert list(runner.map(lambda item, shared: item * shared, range(50), 3)) == \
        [3 * i for i in range(50)]
