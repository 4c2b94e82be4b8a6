"""The chunked pipeline: every stage reads, computes and writes one window of the grid at a time.

A run's grid is cut into square windows of `grid.chunk` cells (row-major order). Each stage
hands its windows to a `Runner` (local threads, or the workers of a dask.distributed cluster
when a client is active, `cmrisk run --scheduler`), at most a few windows in flight, and the
run's own process writes each result into a tiled scratch GeoTIFF (`Scratch`) by window. Peak
memory therefore follows the chunk edge, not the grid: no stage holds a whole-grid array.

Determinism: a window's computation depends only on the window and the run's inputs, and
results are consumed in window order whatever order they finish in, so a run on a cluster is
bit-identical to a local run with the same chunking (tests/pipelines/test_chunked_cluster.py).

Kernel surfaces need cells beyond their window: each is computed on the window grown by its
halo (3 sigma of its Gaussian, clipped to the grid) and cropped, so a window sees exactly the
mass a whole-grid computation would.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import rasterio
import rasterio.shutil
import rasterio.windows
from affine import Affine
from rasterio.vrt import WarpedVRT

from pipelines.align import RESAMPLING
from pipelines.grid import Grid

T = TypeVar("T")
R = TypeVar("R")

GDAL_CACHE_MB = 128
"""GDAL's block cache during a chunked run (MB): bounded, so that the cache of the scratch
files does not grow with the grid (GDAL's default is 5% of the machine's memory)."""

AHEAD_PER_WORKER = 2
"""Windows in flight per worker thread: enough to keep every worker busy while the run's
process writes the last result, few enough that memory stays a handful of windows."""


@dataclass(frozen=True)
class Window:
    """A rectangle of the grid in cells: first row and column, height and width."""

    row: int
    col: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """(rows, cols) slices of a whole-grid array."""
        return slice(self.row, self.row + self.height), slice(self.col, self.col + self.width)

    @property
    def rio(self) -> rasterio.windows.Window:
        """The same rectangle as a rasterio window."""
        return rasterio.windows.Window(self.col, self.row, self.width, self.height)

    @property
    def cells(self) -> int:
        """Number of cells."""
        return self.height * self.width

    def grown(self, halo: int, grid: Grid) -> Window:
        """This window grown by `halo` cells on every side, clipped to the grid."""
        row, col = max(0, self.row - halo), max(0, self.col - halo)
        bottom = min(grid.height, self.row + self.height + halo)
        right = min(grid.width, self.col + self.width + halo)
        return Window(row, col, bottom - row, right - col)

    def within(self, outer: Window) -> tuple[slice, slice]:
        """Slices of an array over `outer` that hold this window."""
        top, left = self.row - outer.row, self.col - outer.col
        return slice(top, top + self.height), slice(left, left + self.width)


def windows(grid: Grid, edge: int | None = None) -> list[Window]:
    """The grid's windows of `edge` cells (default `grid.chunk`), row-major."""
    step = edge or grid.chunk
    return [Window(row, col, min(step, grid.height - row), min(step, grid.width - col))
            for row in range(0, grid.height, step) for col in range(0, grid.width, step)]


def window_grid(grid: Grid, window: Window) -> Grid:
    """The grid of one window: the same CRS and cell size, its own origin and shape."""
    transform = grid.transform @ Affine.translation(window.col, window.row)
    return Grid(grid.crs, transform, window.height, window.width, grid.chunk)


HALO_SHARE = 4
"""A kernel surface is computed in windows at least this many halos wide (in whole chunks):
the halo's share of the work then stays the same whatever the kernel spans in cells, so the
time per cell does not grow with the grid's resolution."""


def halo_window_edge(grid: Grid, halo: int) -> int:
    """The edge (cells, a whole number of chunks) of the windows of a surface of `halo`."""
    return grid.chunk * max(1, math.ceil(HALO_SHARE * halo / grid.chunk))


def halo_cells(grid: Grid, halo_m: float) -> int:
    """A halo in metres as whole cells of the grid (rounded up)."""
    return math.ceil(halo_m / grid.resolution) if halo_m > 0 else 0


class Scratch:
    """Tiled GeoTIFFs on the grid, written and read by window (one file per layer).

    Blocks are one chunk edge square (capped at GeoTIFF's 16-multiple rule), uncompressed:
    the scratch is read back once or twice, then dropped with the run's temporary folder.
    """

    def __init__(self, folder: Path, grid: Grid) -> None:
        self.folder = folder
        self.grid = grid
        folder.mkdir(parents=True, exist_ok=True)
        self._open: dict[str, Any] = {}

    def path(self, name: str) -> Path:
        """The file of layer `name`."""
        return self.folder / f"{name}.tif"

    def write(self, name: str, window: Window, values: np.ndarray, *,
              nodata: float | int | None = None, tags: Mapping[str, str] | None = None) -> None:
        """Write one window of layer `name` (the file is created at its first window, with
        the dtype of `values`)."""
        dst = self._open.get(name)
        if dst is None:
            block = max(16, min(512, self.grid.chunk) // 16 * 16)
            dtype = values.dtype.name
            if nodata is None:
                nodata = np.nan if values.dtype.kind == "f" else None
            dst = rasterio.open(
                self.path(name), "w", driver="GTiff", width=self.grid.width,
                height=self.grid.height, count=1, dtype=dtype, crs=self.grid.crs,
                transform=self.grid.transform, nodata=nodata, tiled=True, blockxsize=block,
                blockysize=block, BIGTIFF="IF_SAFER", SPARSE_OK=True)
            if tags:
                dst.update_tags(**tags)
            self._open[name] = dst
        dst.write(values, 1, window=window.rio)

    def close(self) -> None:
        """Close every file being written (they become readable)."""
        for dst in self._open.values():
            dst.close()
        self._open.clear()

    def read(self, name: str, window: Window) -> np.ndarray:
        """One window of layer `name`."""
        with rasterio.open(self.path(name)) as src:
            return src.read(1, window=window.rio)

    def read_many(self, names: Iterable[str], window: Window) -> dict[str, np.ndarray]:
        """One window of each layer, by name."""
        return {name: self.read(name, window) for name in names}


class Runner:
    """Maps a function over windows: local threads, or a dask.distributed cluster.

    `shared` (config, grid, vectors, …) is sent once: scattered to every worker on a cluster.
    Results come back in the order of the items, with at most `ahead` computed and not yet
    consumed, so memory stays a few windows whatever the grid.
    """

    def __init__(self, threads: int | None = None) -> None:
        from pipelines.score_grid import distributed_client

        self.client: Any = None
        if distributed_client():
            from distributed import get_client

            self.client = get_client()
            workers = sum(self.client.nthreads().values()) or 1
        else:
            workers = threads or min(4, os.cpu_count() or 1)
        self.workers = workers
        self.ahead = max(1, workers * AHEAD_PER_WORKER)

    def map(self, function: Callable[[T, Any], R], items: Iterable[T], shared: Any,
            ahead: int | None = None) -> Iterator[R]:
        """`function(item, shared)` for each item, yielded in order (`ahead`: at most this
        many in flight, default `self.ahead`)."""
        limit = ahead or self.ahead
        if self.client is not None:
            yield from self._on_cluster(function, items, shared, limit)
            return
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            pending: deque[Future[R]] = deque()
            for item in items:
                pending.append(pool.submit(function, item, shared))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _on_cluster(self, function: Callable[[T, Any], R], items: Iterable[T], shared: Any,
                    limit: int) -> Iterator[R]:
        [remote] = self.client.scatter([shared], broadcast=True, hash=False)
        pending: deque[Any] = deque()
        try:
            for item in items:
                pending.append(self.client.submit(function, item, remote, pure=False))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
            remote.release()


def read_aligned(path: Path, grid: Grid, window: Window, resampling: str) -> np.ndarray:
    """One window of band 1 of a raster warped onto `grid` (float32, nodata and NaN as NaN):
    the window of what `pipelines.align.align_to_grid` returns for the whole grid."""
    with rasterio.open(path) as src:
        if src.crs is None:
            raise ValueError(f"{path.name}: raster has no CRS")
        nodata = src.nodata
        with WarpedVRT(src, crs=grid.crs, transform=grid.transform, width=grid.width,
                       height=grid.height, resampling=RESAMPLING[resampling],
                       src_nodata=nodata, nodata=np.nan, dtype="float32") as vrt:
            array = vrt.read(1, window=window.rio, out_dtype="float32")
    if nodata is not None and not np.isnan(nodata):
        array[array == nodata] = np.nan
    return array


def write_cog_from(source: Path, path: Path, *, resampling: str) -> None:
    """Copy a tiled scratch GeoTIFF to a display-ready COG (GDAL streams it by block): the
    profile of `pipelines.publish.write_cog`, tags and nodata kept."""
    with rasterio.open(source) as src:
        floating = np.dtype(src.dtypes[0]).kind == "f"
    rasterio.shutil.copy(
        source, path, driver="COG", blocksize=256, compress="ZSTD", level=1,
        predictor=3 if floating else 2, overview_resampling=resampling, BIGTIFF="IF_SAFER")


def gdal_env() -> rasterio.Env:
    """GDAL settings of a chunked run (a bounded block cache)."""
    return rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB)
