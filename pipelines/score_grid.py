"""Scoring the whole grid with dask, block by block, with the numpy code of `pipelines.score`.

The one module of a run that needs dask: the service never imports it.
"""

from __future__ import annotations

import sys

import dask
import dask.array
import dask.threaded
import numpy as np

from pipelines.config import RegionConfig
from pipelines.grid import Grid
from pipelines.score import OUTPUTS, score_cells


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

    on_cluster = distributed_client()
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


def distributed_client() -> bool:
    """Whether a dask.distributed client is active (`cmrisk run --scheduler`)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_client()
    except ValueError:
        return False
    return True
