"""ThinkHazard!-style hazard levels per area (high / medium / low / very low), from raster
inputs read at their native resolution (METHOD.md, "Hazard levels of areas").

Flood (`flood_share`): the share of an area (0–1, of its cells with data, weighted by the
exact fraction of each cell the area covers) where the depth reaches the threshold (m) is
computed for the input of each level; the area is `high` when the share at the high level's
return period (RP10) reaches `min_share` (1 %), else `medium` when the medium one's (RP50)
does, else `low` when the low one's (the longest RP) does, else `very_low`.

Other hazards (`threshold`): a statistic of the input over the area (coverage-weighted mean,
p90 or the max of the cells it touches) against the thresholds of the levels.

Levels are computed on the rasters as they come (their own CRS and cells), not on the
analysis grid: a 1 km cell would smear a 250 m flood plain.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from pipelines import area_record as col
from pipelines.config import HazardLevelSpec, RegionConfig
from pipelines.errors import PipelineError

LEVELS = ("very_low", "low", "medium", "high")
"""ThinkHazard!'s levels, lowest first (a level's index orders them)."""
STATISTIC_OPS = {"mean": "mean", "max": "max", "p90": "quantile(q=0.9)"}
"""exactextract's operation for each statistic of the region file."""


def read_native(path: Path) -> tuple[np.ndarray, rasterio.Affine, rasterio.crs.CRS]:
    """A single-band raster as float64 with NaN for nodata, its transform and CRS."""
    with rasterio.open(path) as src:
        band = src.read(1, masked=True).astype("float64")
        return band.filled(np.nan), src.transform, src.crs


def _source(values: np.ndarray, transform: rasterio.Affine, crs: rasterio.crs.CRS,
            name: str = "values") -> NumPyRasterSource:
    if transform.b != 0 or transform.d != 0 or transform.e >= 0:
        raise PipelineError("hazard levels need north-up rasters without rotation")
    west, north = transform.c, transform.f
    east = west + transform.a * values.shape[1]
    south = north + transform.e * values.shape[0]
    return NumPyRasterSource(values, west, south, east, north, srs_wkt=crs.to_wkt(), name=name)


def zonal_many(rasters: Mapping[str, np.ndarray], transform: rasterio.Affine,
               crs: rasterio.crs.CRS, areas: gpd.GeoSeries, statistic: str
               ) -> dict[str, np.ndarray]:
    """A coverage-weighted statistic (`mean`, `max`, `p90`) of rasters on one grid over each
    area, by raster name, NaN where an area has no cell with data. One pass over the areas:
    each area's cell coverage is computed once for all the rasters."""
    projected = gpd.GeoDataFrame(geometry=areas.to_crs(crs).reset_index(drop=True), crs=crs)
    sources = [_source(values, transform, crs, name) for name, values in rasters.items()]
    frame = exact_extract(sources if len(sources) > 1 else sources[0], projected,
                          [STATISTIC_OPS[statistic]], output="pandas")
    result = {}
    for index, name in enumerate(rasters):
        values = frame.iloc[:, index].to_numpy(dtype="float64")
        result[name] = np.where(np.isfinite(values), values, np.nan)
    return result


def zonal(values: np.ndarray, transform: rasterio.Affine, crs: rasterio.crs.CRS,
          areas: gpd.GeoSeries, statistic: str) -> np.ndarray:
    """A coverage-weighted statistic (`mean`, `max`, `p90`) of a raster over each area, NaN
    where an area has no cell with data."""
    return zonal_many({"values": values}, transform, crs, areas, statistic)["values"]


def flooded(depth: np.ndarray, threshold_m: float) -> np.ndarray:
    """1 where the depth (m) reaches `threshold_m`, 0 where not, NaN where no data."""
    return np.where(np.isnan(depth), np.nan, (depth >= threshold_m).astype("float64"))


def flooded_share(depth: np.ndarray, transform: rasterio.Affine, crs: rasterio.crs.CRS,
                  areas: gpd.GeoSeries, threshold_m: float) -> np.ndarray:
    """Share (0–1) of each area whose depth (m) is at least `threshold_m`, over its cells with
    data, each cell weighted by the fraction of it the area covers."""
    return zonal(flooded(depth, threshold_m), transform, crs, areas, "mean")


def flood_levels(shares: Mapping[str, np.ndarray], min_share: float) -> list[str | None]:
    """The level of each area from its flooded share at each level's return period: the
    highest level whose share reaches `min_share`, else `very_low` (None with no data)."""
    n = len(next(iter(shares.values())))
    result: list[str | None] = []
    for index in range(n):
        values = {level: float(share[index]) for level, share in shares.items()}
        if all(np.isnan(v) for v in values.values()):
            result.append(None)
            continue
        reached = [level for level, v in values.items() if not np.isnan(v) and v >= min_share]
        result.append(max(reached, key=LEVELS.index) if reached else "very_low")
    return result


def threshold_levels(values: np.ndarray, thresholds: Mapping[str, float]) -> list[str | None]:
    """The highest level whose threshold each value reaches, else `very_low` (None if NaN)."""
    result: list[str | None] = []
    for value in values:
        if np.isnan(value):
            result.append(None)
            continue
        reached = [level for level, t in thresholds.items() if value >= t]
        result.append(max(reached, key=LEVELS.index) if reached else "very_low")
    return result


def hazard_level(spec: HazardLevelSpec, areas: gpd.GeoSeries,
                 paths: Mapping[str, Path]) -> tuple[list[str | None], dict[str, np.ndarray]]:
    """One hazard's level of each area, and the flooded shares by level (flood only)."""
    if spec.method == "flood_share":
        threshold = float(spec.threshold or 0)
        grids = {level: read_native(paths[name]) for level, name in spec.inputs.items()}
        first = next(iter(grids.values()))
        if all(g[0].shape == first[0].shape and g[1] == first[1] and g[2] == first[2]
               for g in grids.values()):  # one grid (as JRC's return periods): one pass
            shares = zonal_many({level: flooded(g[0], threshold) for level, g in grids.items()},
                                first[1], first[2], areas, "mean")
        else:
            shares = {level: flooded_share(g[0], g[1], g[2], areas, threshold)
                      for level, g in grids.items()}
        return flood_levels(shares, spec.min_share), shares
    values, transform, crs = read_native(paths[str(spec.input)])
    return threshold_levels(zonal(values, transform, crs, areas, spec.statistic),
                            {str(k): v for k, v in spec.thresholds.items()}), {}


def apply_levels(scored: gpd.GeoDataFrame, config: RegionConfig,
                 paths: Mapping[str, Path]) -> gpd.GeoDataFrame:
    """The scored areas with `hazard_level_<hazard>` for each hazard of the region file and
    `flood_share_<level>` for each flood level (`area_record` names them)."""
    out = scored.copy()
    for hazard, spec in config.hazard_levels.items():
        levels, shares = hazard_level(spec, out.geometry, paths)
        out[f"{col.HAZARD_LEVEL_PREFIX}{hazard}"] = pd.Series(levels, index=out.index,
                                                              dtype="string")
        for level, share in shares.items():
            out[f"{col.FLOOD_SHARE_PREFIX}{level}"] = share
    return out

