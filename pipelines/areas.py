"""Zonal statistics per area, the exposed share, the ranking statistic, ranks within kind (ties
share the average rank; areas with no exposed cell are `not_exposed`, unranked), the top
indicator by neutralisation and every indicator's drop (METHOD.md §6).

Exact cell-coverage weights come from exactextract once per run (`coverage_table`); every
statistic is then a weighted reduction over that table. The rank sensitivity audit is
`pipelines.sensitivity`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import Geod

from pipelines import area_record as col
from pipelines.config import RankingStatistic, RegionConfig
from pipelines.grid import Grid
from pipelines.score import classify, score_cells

GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class CoverageTable:
    """For each (area, cell) pair, the fraction of the cell covered by the area.

    `area` indexes rows of the areas frame, `cell` indexes the flattened grid (row-major),
    `coverage` is in 0–1.
    """

    area: np.ndarray
    cell: np.ndarray
    coverage: np.ndarray
    n_areas: int

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Coverage-weighted mean of a flattened grid per area, over non-NaN cells (NaN if none)."""
        picked = values[self.cell]
        valid = ~np.isnan(picked)
        weight = np.where(valid, self.coverage, 0.0)
        total = np.bincount(self.area, weights=weight, minlength=self.n_areas)
        summed = np.bincount(self.area, weights=np.where(valid, picked, 0.0) * weight,
                             minlength=self.n_areas)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, summed / total, np.nan)


def coverage_table(areas: gpd.GeoDataFrame, grid: Grid) -> CoverageTable:
    """Exact coverage fractions of the grid's cells by each area (areas in any CRS)."""
    west, south, east, north = grid.bounds
    raster = NumPyRasterSource(np.zeros(grid.shape, dtype="float32"), west, south, east, north,
                               srs_wkt=grid.crs.to_wkt())
    projected = areas[["geometry"]].to_crs(grid.crs).reset_index(drop=True)
    frame = exact_extract(raster, projected, ["cell_id", "coverage"], output="pandas")
    lengths = frame["cell_id"].map(len).to_numpy()
    area_index = np.repeat(np.arange(len(frame)), lengths)
    cells = np.concatenate([*frame["cell_id"].to_numpy(), np.empty(0, "int64")]).astype("int64")
    coverage = np.concatenate([*frame["coverage"].to_numpy(), np.empty(0)]).astype("float64")
    return CoverageTable(area_index, cells, coverage, len(areas))


def geodesic_area_km2(geometries: gpd.GeoSeries) -> np.ndarray:
    """Area of each geometry on the WGS84 ellipsoid, km²."""
    lonlat = geometries.to_crs("EPSG:4326")
    return np.array([abs(GEOD.geometry_area_perimeter(g)[0]) / 1e6 if g is not None else np.nan
                     for g in lonlat])


def planning_units(bounds_lonlat: tuple[float, float, float, float], resolution: int,
                   land: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """H3 cells of `resolution` whose centre lies in the box (and on `land`, if given).

    Returns:
        GeoDataFrame in EPSG:4326 with `id` ("h3:<cell>"), `name` (the cell index), `h3`.
    """
    box = shapely.box(*bounds_lonlat)
    cells = sorted(h3.geo_to_cells(box, resolution))
    polygons = [shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)]) for c in cells]
    frame = gpd.GeoDataFrame({"h3": cells}, geometry=polygons, crs="EPSG:4326")
    if land is not None:
        centres = shapely.points([h3.cell_to_latlng(c)[::-1] for c in cells])
        frame = frame[shapely.intersects(land, centres)].reset_index(drop=True)
    frame.insert(0, "id", "h3:" + frame["h3"])
    frame.insert(1, "name", frame["h3"])
    return frame


def weighted_quantile(table: CoverageTable, values: np.ndarray, q: float) -> np.ndarray:
    """Coverage-weighted quantile `q` (0–1) of a flattened grid per area, NaN-skipping."""
    picked = values[table.cell]
    valid = ~np.isnan(picked)
    area, vals, weights = table.area[valid], picked[valid], table.coverage[valid]
    order = np.lexsort((vals, area))
    area, vals, weights = area[order], vals[order], weights[order]
    result = np.full(table.n_areas, np.nan)
    starts = np.searchsorted(area, np.arange(table.n_areas), side="left")
    ends = np.searchsorted(area, np.arange(table.n_areas), side="right")
    for index in np.flatnonzero(ends > starts):
        w = np.cumsum(weights[starts[index]:ends[index]])
        position = np.searchsorted(w, q * w[-1], side="left")
        result[index] = vals[starts[index] + min(position, len(w) - 1)]
    return result


def weighted_max(table: CoverageTable, values: np.ndarray) -> np.ndarray:
    """Maximum of the cells touched (coverage > 0) by each area, NaN-skipping."""
    picked = values[table.cell]
    result = np.full(table.n_areas, -np.inf)
    valid = ~np.isnan(picked) & (table.coverage > 0)
    np.maximum.at(result, table.area[valid], picked[valid])
    return np.where(np.isfinite(result), result, np.nan)


def class_shares(table: CoverageTable, risk: np.ndarray, breaks: Sequence[float],
                 n_classes: int, exposed: np.ndarray | None = None) -> np.ndarray:
    """Share (0–1) of each area's scored surface in each class → (areas, classes).

    With `exposed` (bool per cell), cells not exposed are in no class (their share is
    1 − `exposed_share`).
    """
    classes = classify(risk, breaks)[table.cell]
    valid = classes != 255
    totals = np.bincount(table.area[valid], weights=table.coverage[valid],
                         minlength=table.n_areas)
    counted = valid if exposed is None else valid & exposed[table.cell]
    shares = np.zeros((table.n_areas, n_classes))
    for klass in range(n_classes):
        picked = counted & (classes == klass)
        shares[:, klass] = np.bincount(table.area[picked], weights=table.coverage[picked],
                                       minlength=table.n_areas)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals[:, None] > 0, shares / totals[:, None], np.nan)


def exposed_cells(risk: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Whether people on the move are exposed in each cell: a risk is scored and the exposure
    is above 0 (bool). Where exposure is 0, H = sqrt(H_nat · exposure) and so the risk are 0
    by construction: "not exposed", not "low risk"."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(risk) & (exposure > 0)


def exposed_share(table: CoverageTable, risk: np.ndarray, exposed: np.ndarray) -> np.ndarray:
    """Share (0–1) of each area's scored surface (cells with a risk) that is exposed; NaN for an
    area without a scored cell."""
    return table.mean(np.where(np.isfinite(risk), exposed.astype("float64"), np.nan))


def area_statistic(table: CoverageTable, risk: np.ndarray, exposed: np.ndarray,
                   statistic: RankingStatistic) -> np.ndarray:
    """Each area's score by the ranking statistic (`pipelines.config.RankingStatistic`), 0–10.

    `mean_exposed` is NaN for an area without an exposed cell.
    """
    if statistic == "mean_exposed":
        return table.mean(np.where(exposed, risk, np.nan))
    if statistic == "p90":
        return weighted_quantile(table, risk, 0.9)
    if statistic == "max":
        return weighted_max(table, risk)
    return table.mean(risk)


def rank_desc(values: np.ndarray) -> np.ndarray:
    """Rank 1 = highest value; ties share the average of their ranks; NaN stays NaN (unranked).
    """
    series = pd.Series(values)
    return series.rank(ascending=False, method="average").to_numpy()


def ranks_within_kinds(values: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """`rank_desc` of `values` within each kind (NaN values are not ranked)."""
    ranks = np.full(len(values), np.nan)
    for kind in np.unique(kinds):
        members = kinds == kind
        ranks[members] = rank_desc(values[members])
    return ranks


NEUTRAL = 0.0
"""The value an indicator is neutralised to: 0 on 0–10, the score of its bound's least severe
end (`pipelines.indicators.normalise`)."""


def driver_drops(indicators: Mapping[str, np.ndarray], config: RegionConfig,
                 table: CoverageTable, ranked: np.ndarray) -> dict[str, np.ndarray]:
    """Per indicator, each area's drop: its ranking value minus its ranking value with that
    indicator neutralised, in points on 0–10 (≥ 0: no indicator raises the risk as it falls).

    The area's score is the ranking statistic of the risk (`area_statistic`); neutralising an
    indicator sets it to `NEUTRAL` wherever it has a value (missing stays missing) and rescores
    the cells with the same aggregation, so a drop is what the geometric means make of the
    indicators, not a weight times a value. The exposed cells stay those of the configured
    scores.

    Args:
        indicators: flattened 0–10 indicator grids, by name (the region file's order).
        ranked: whether each area is ranked (not `not_exposed`); the others get NaN.

    Returns:
        indicator name → (areas,) drops, in the order of `indicators`.
    """
    statistic = config.ranking.statistic
    # Only the cells of ranked areas count, and for the mean over exposed cells only those.
    keep = ranked[table.area]
    touched = np.unique(table.cell[keep])
    scores = score_cells({name: values[touched] for name, values in indicators.items()},
                         config)
    if statistic == "mean_exposed":
        touched = touched[exposed_cells(scores["risk"], scores["exposure"])]
        keep &= np.isin(table.cell, touched)
    sub = {name: values[touched] for name, values in indicators.items()}
    remap = np.searchsorted(touched, table.cell[keep])
    sub_table = CoverageTable(table.area[keep], remap, table.coverage[keep], table.n_areas)
    scores = score_cells(sub, config)
    risk = scores["risk"].astype("float64")
    exposed = exposed_cells(risk, scores["exposure"])
    base = area_statistic(sub_table, risk, exposed, statistic)
    drops: dict[str, np.ndarray] = {}
    for name in indicators:
        neutral = dict(sub)
        neutral[name] = np.where(np.isnan(sub[name]), np.nan, NEUTRAL).astype("float32")
        lowered = score_cells(neutral, config)["risk"].astype("float64")
        drop = base - area_statistic(sub_table, lowered, exposed, statistic)
        drops[name] = np.where(ranked, drop, np.nan)
    return drops


def top_of(drops: Mapping[str, np.ndarray]) -> list[str | None]:
    """Per area, the indicator with the largest drop (`driver_drops`); None where no drop is
    above 0 (or the area is not ranked). Ties go to the indicator named first."""
    names = list(drops)
    if not names:
        return []
    stacked = np.stack([drops[name] for name in names])
    result: list[str | None] = []
    for column in stacked.T:
        if np.all(np.isnan(column)) or np.nanmax(column) <= 0:
            result.append(None)
            continue
        result.append(names[int(np.nanargmax(column))])
    return result


def top_drivers(indicators: Mapping[str, np.ndarray], config: RegionConfig,
                table: CoverageTable, ranked: np.ndarray) -> list[str | None]:
    """Per area, the indicator whose neutralisation lowers the area's score most
    (`top_of(driver_drops(...))`): None for an area not ranked or without a drop."""
    return top_of(driver_drops(indicators, config, table, ranked))


def area_sets(config: RegionConfig, vectors: Mapping[str, gpd.GeoDataFrame]
              ) -> gpd.GeoDataFrame:
    """Every area of the region's area sets, in EPSG:4326: id, name, kind, area set."""
    frames = []
    for set_name, spec in config.areas.items():
        if spec.h3_resolution is not None:
            land = shapely.union_all(vectors[str(spec.land)].to_crs("EPSG:4326").geometry.values)
            units = planning_units(config.grid.bounds_lonlat, spec.h3_resolution, land)
            units[col.KIND] = spec.kind
            units[col.AREA_SET] = set_name
            frames.append(units[[col.ID, col.NAME, col.KIND, col.AREA_SET, "geometry"]])
            continue
        source = vectors[str(spec.source)].to_crs("EPSG:4326")
        official = spec.official_name_field
        frame = gpd.GeoDataFrame({
            col.ID: [f"{spec.id_prefix or ''}{v}" for v in source[spec.id_field or col.ID]],
            col.NAME: source[spec.name_field or col.NAME].astype(str),
            col.OFFICIAL_NAME: (source[official].astype("string").replace("", pd.NA)
                                if official and official in source.columns else pd.NA),
            col.KIND: spec.kind, col.AREA_SET: set_name,
        }, geometry=source.geometry.values, crs="EPSG:4326")
        frames.append(frame)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


def score_areas(frame: gpd.GeoDataFrame, table: CoverageTable,
                scores: Mapping[str, np.ndarray], indicators: Mapping[str, np.ndarray],
                config: RegionConfig) -> gpd.GeoDataFrame:
    """Each area's statistics (`area_statistics`) and rank within its kind (`rank_areas`)."""
    return rank_areas(area_statistics(frame, table, scores, indicators, config))


def rank_areas(scored: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """`scored` with each area's rank of its ranking value within its kind (unranked areas
    have none): the one statistic that depends on other areas."""
    scored[col.RANK] = ranks_within_kinds(scored[col.RANKING_VALUE].to_numpy("float64"),
                                          scored[col.KIND].to_numpy())
    return scored


def area_statistics(frame: gpd.GeoDataFrame, table: CoverageTable,
                    scores: Mapping[str, np.ndarray], indicators: Mapping[str, np.ndarray],
                    config: RegionConfig) -> gpd.GeoDataFrame:
    """Each area's risk statistics, exposed share, class shares, dimension and indicator means,
    each indicator's drop and the top indicator (`pipelines.area_record` names the columns),
    from its own cells only:
    scoring blocks of areas apart gives what scoring them together does.

    The class is of the ranking statistic (`config.ranking`); an area without an exposed cell
    is `not_exposed`, with no ranking value and no top indicator.
    """
    risk = scores["risk"].ravel().astype("float64")
    exposed = exposed_cells(risk, scores["exposure"].ravel())
    statistic = config.ranking.statistic
    out = frame.copy()
    out[col.AREA_KM2] = geodesic_area_km2(out.geometry)
    out[col.RISK] = table.mean(risk)
    out[col.RISK_MAX] = weighted_max(table, risk)
    out[col.RISK_P90] = weighted_quantile(table, risk, 0.9)
    out[col.RISK_MEAN_EXPOSED] = area_statistic(table, risk, exposed, "mean_exposed")
    share = exposed_share(table, risk, exposed)
    out[col.EXPOSED_SHARE] = share
    value = area_statistic(table, risk, exposed, statistic)
    ranked = (share > 0) & np.isfinite(value)
    value = np.where(ranked, value, np.nan)
    out[col.RANKING_STATISTIC] = statistic
    out[col.RANKING_VALUE] = value
    classes = classify(value, config.class_breaks())
    out[col.RISK_CLASS] = [
        config.classes[int(c)].name if ok else (col.NOT_EXPOSED if s == 0 else None)
        for c, ok, s in zip(classes, ranked, share, strict=True)]
    shares = class_shares(table, risk, config.class_breaks(), len(config.classes), exposed)
    for index, spec in enumerate(config.classes):
        out[f"{col.SHARE_PREFIX}{spec.name}"] = shares[:, index]
    for name in ("H", "V", "C", "E", "H_nat", "exposure"):
        out[f"{col.DIMENSION_PREFIX}{name}"] = table.mean(scores[name].ravel().astype("float64"))
    out[col.PRESSURE] = table.mean(scores["environmental_pressure"].ravel().astype("float64"))
    for name, values in indicators.items():
        out[f"{col.INDICATOR_PREFIX}{name}"] = table.mean(values.astype("float64"))
    drops = driver_drops(indicators, config, table, ranked)
    for name, drop in drops.items():
        out[f"{col.DROP_PREFIX}{name}"] = drop
    out[col.TOP_INDICATOR] = top_of(drops)
    return out


SUMMARY_TOP = 10
"""Areas of each kind listed in a run's summary."""


def summary(scored: gpd.GeoDataFrame, inputs: Mapping[str, bool], region: str
            ) -> dict[str, object]:
    """What `cmrisk run` prints: areas and classes by kind, the top areas of each kind by
    rank, and whether each input is real or synthetic (`inputs`: name → synthetic)."""
    counts = scored.groupby([col.KIND, col.RISK_CLASS]).size()
    top: dict[str, list[dict[str, object]]] = {}
    for kind, members in scored.groupby(col.KIND, sort=False):
        ranked = members[np.isfinite(members[col.RANK])].sort_values([col.RANK, col.ID])
        top[str(kind)] = [
            {"id": r[col.ID], "name": r[col.NAME], "risk": round(float(r[col.RISK]), 3),
             col.RANKING_VALUE: round(float(r[col.RANKING_VALUE]), 3),
             "risk_class": r[col.RISK_CLASS], "rank": float(r[col.RANK])}
            for _, r in ranked.head(SUMMARY_TOP).iterrows()]
    return {
        "areas": {str(k): int((scored[col.KIND] == k).sum()) for k in scored[col.KIND].unique()},
        "ranking_statistic": str(scored[col.RANKING_STATISTIC].iloc[0]) if len(scored) else None,
        "classes": {f"{k}/{c}": int(n) for (k, c), n in counts.items()},
        "top": top,
        "inputs": {name: ("synthetic" if synthetic else "real")
                   for name, synthetic in inputs.items()},
        "region": region,
    }
