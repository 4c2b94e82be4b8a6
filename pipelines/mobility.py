"""Surfaces rasterised from vectors onto the analysis grid.

Transit pressure along routes, densities of disaster displacement and of deaths and
disappearances, distances to stations and roads, reception-station load, children's share, and
the environmental layers drawn from polygons (IUCN category, indigenous territories).
Every density is a Gaussian kernel density in units per km² (per year where stated).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.enums import MergeAlg
from rasterio.features import rasterize

from data_catalog.vocabulary import CHILD_AGE_GROUPS
from pipelines.disclosure import property_name
from pipelines.errors import UnmatchedKeys
from pipelines.grid import Grid

DAYS_PER_YEAR = 365.0


Cells = tuple[np.ndarray, np.ndarray]
"""(rows, cols) of some cells of a grid: where a surface is wanted, instead of everywhere."""


def gaussian_kernel(sigma_cells: float) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (cells) and weights of the Gaussian of `gaussian_blur`: normalised to sum 1,
    truncated at 3 sigma."""
    radius = max(1, int(np.ceil(3 * sigma_cells)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma_cells) ** 2)
    return offsets, kernel / kernel.sum()


def gaussian_blur(values: np.ndarray, sigma_cells: float) -> np.ndarray:
    """Gaussian smoothing (kernel of `gaussian_kernel`: normalised to sum 1, truncated at
    3 sigma) by separable FFT convolution, one 1-D convolution per axis.

    The cost follows the array, not the kernel: at 64× the cells a 10 km kernel spans 240 cells
    each way, which a direct sum pays per cell. Mass is conserved inside the array; mass that
    would leave the edges is lost, as on a map. Cells farther than the kernel's reach from any
    mass are exactly 0 (FFT round-off would leave ~1e-17 there), and a non-negative mass gives
    a non-negative surface. `gaussian_blur_at` gives the same values at chosen cells.
    """
    # Imported on use: scipy.signal and scipy.ndimage add ~190 MB of address space to every
    # process that imports this module, the service's analysis processes (768 MiB) included.
    from scipy.ndimage import maximum_filter
    from scipy.signal import fftconvolve

    if sigma_cells <= 0:
        return values.astype("float64")
    offsets, kernel = gaussian_kernel(sigma_cells)
    radius = int(offsets[-1])
    mass = values.astype("float64")
    nonzero = mass != 0
    if not nonzero.any():
        return np.zeros_like(mass)
    out = fftconvolve(mass, kernel[:, None], mode="same", axes=0)
    out = fftconvolve(out, kernel[None, :], mode="same", axes=1)
    if mass.min() >= 0:
        out = np.maximum(out, 0.0)
    reach = maximum_filter(nonzero.astype("uint8"), size=2 * radius + 1, mode="constant")
    return np.where(reach > 0, out, 0.0)


def gaussian_blur_at(values: np.ndarray, sigma_cells: float, at: Cells) -> np.ndarray:
    """`gaussian_blur(values, sigma_cells)` at the cells `at` only, with the same kernel.

    Cost grows with the non-zero cells of `values` and the cells asked for, not with the
    grid: fast for burnt lines and points read at a few thousand cells (the sensitivity
    audit's alternative kernel widths).
    """
    rows, cols = at
    if sigma_cells <= 0:
        return values[rows, cols].astype("float64")
    offsets, kernel = gaussian_kernel(sigma_cells)
    height, width = values.shape
    i, j = np.nonzero(values)
    mass = values[i, j].astype("float64")
    # Along the rows (axis 1) from the non-zero cells only…
    shifted = j[:, None] - offsets[None, :]
    inside = (shifted >= 0) & (shifted < width)
    along = np.bincount((i[:, None] * width + shifted)[inside],
                        weights=(mass[:, None] * kernel[None, :])[inside],
                        minlength=height * width).reshape(height, width)
    # …then along the columns (axis 0) at the wanted cells.
    source = rows[:, None] + offsets[None, :]
    valid = (source >= 0) & (source < height)
    picked = along[np.clip(source, 0, height - 1), cols[:, None]]
    return np.where(valid, picked * kernel[None, :], 0.0).sum(axis=1)


def burn(grid: Grid, shapes: list[tuple[object, float]], *, all_touched: bool,
         merge: str = "add") -> np.ndarray:
    """Rasterise (geometry, value) pairs onto the grid; `merge` is "add" or "replace"."""
    if not shapes:
        return np.zeros(grid.shape, dtype="float64")
    return rasterize(
        shapes, out_shape=grid.shape, transform=grid.transform, fill=0.0, dtype="float64",
        all_touched=all_touched, merge_alg=MergeAlg.add if merge == "add" else MergeAlg.replace,
    )


def kernel_density(grid: Grid, points: gpd.GeoDataFrame, weight: str, kernel_km: float,
                   per_years: float = 1.0, at: Cells | None = None) -> np.ndarray:
    """Kernel density of a weighted point set, in weight units per km² (per year).

    Args:
        points: points in the grid CRS.
        weight: column whose values are summed (people, deaths, ...).
        kernel_km: Gaussian sigma, km.
        per_years: divide by this many years to get a yearly rate.
        at: the cells wanted (the whole grid when None).
    """
    shapes = [(geom, float(w)) for geom, w in zip(points.geometry, points[weight], strict=True)
              if geom is not None and not geom.is_empty and np.isfinite(w)]
    mass = burn(grid, shapes, all_touched=False, merge="add")
    sigma = kernel_km * 1000.0 / grid.resolution
    blurred = gaussian_blur(mass, sigma) if at is None else gaussian_blur_at(mass, sigma, at)
    return blurred / grid.cell_area_km2 / per_years


CHILDREN: tuple[str, ...] = tuple(property_name("age_group", age) for age in CHILD_AGE_GROUPS)
"""The published columns of children (age groups 0-4, 5-11 and 12-17) in the protected
crossings table."""


def yearly_flow(crossings: pd.DataFrame, year: int) -> dict[str, float]:
    """People crossing in `year`, by direction (people/year), from the published totals.

    Args:
        crossings: the protected crossings table (one row per point and month, `total` NaN
            where withheld) with the `direction` of each point.
    """
    rows = crossings[crossings["month"].str.startswith(f"{year}-")]
    totals = rows.groupby("direction")["total"].sum(min_count=1)
    return {str(k): float(v) for k, v in totals.items() if pd.notna(v)}


def segment_people(segments: gpd.GeoDataFrame, crossings: pd.DataFrame,
                   year: int) -> np.ndarray:
    """People per year along each route segment (people/year), from the published totals.

    A segment carries `share` of a yearly flow: by default the flow of its `direction` (all
    crossing points counting that direction); a segment with `flow_points` (point ids separated
    by spaces) carries instead the flow counted at those points, so a long corridor can follow
    the counts of the country each stretch runs through.
    """
    by_direction = yearly_flow(crossings, year)
    rows = crossings[crossings["month"].str.startswith(f"{year}-")]
    by_point = rows.groupby("point_id")["total"].sum(min_count=1)
    listed = segments["flow_points"] if "flow_points" in segments.columns else None
    people = []
    for index, (direction, share) in enumerate(zip(segments["direction"], segments["share"],
                                                   strict=True)):
        points = listed.iloc[index] if listed is not None else None
        if isinstance(points, str) and points.strip():
            flow = sum(float(by_point[p]) for p in points.split()
                       if p in by_point.index and pd.notna(by_point[p]))
        else:
            flow = by_direction.get(str(direction), 0.0)
        people.append(flow * float(share))
    return np.asarray(people, dtype="float64")


def transit_pressure(grid: Grid, segments: gpd.GeoDataFrame, people: np.ndarray,
                     kernel_km: float, at: Cells | None = None) -> np.ndarray:
    """Person-crossings per km² per year along the route corridor (at the cells `at` only,
    when given).

    The `people` passing along each segment (`segment_people`) are burnt on its line, then
    spread across the corridor by a Gaussian of sigma `kernel_km`.
    """
    shapes = [(geom, float(count)) for geom, count in zip(segments.geometry, people, strict=True)
              if count > 0]
    on_line = burn(grid, shapes, all_touched=True, merge="add")
    sigma = kernel_km * 1000.0 / grid.resolution
    blurred = gaussian_blur(on_line, sigma) if at is None else gaussian_blur_at(on_line, sigma, at)
    return blurred / grid.cell_area_km2


def corridor_mask(grid: Grid, segments: gpd.GeoDataFrame, width_km: float) -> np.ndarray:
    """Cells within `width_km` of any route segment (bool)."""
    zone = shapely.buffer(shapely.union_all(segments.geometry.values), width_km * 1000.0)
    return burn(grid, [(zone, 1.0)], all_touched=True, merge="replace") > 0


def cell_centres(grid: Grid, at: Cells | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every cell centre as 2-D arrays in the grid CRS (of the cells `at` only, as
    1-D arrays, when given)."""
    coords = grid.coords()
    if at is not None:
        return np.asarray(coords["x"])[at[1]], np.asarray(coords["y"])[at[0]]
    return np.meshgrid(coords["x"], coords["y"])


def distance_to_points_km(grid: Grid, points: gpd.GeoDataFrame) -> np.ndarray:
    """Distance (km) from each cell centre to the nearest point."""
    xs, ys = cell_centres(grid)
    best = np.full(grid.shape, np.inf)
    for geom in points.geometry:
        best = np.minimum(best, np.hypot(xs - geom.x, ys - geom.y))
    return best / 1000.0


def nearest_point_index(grid: Grid, points: gpd.GeoDataFrame,
                        at: Cells | None = None) -> np.ndarray:
    """Index (row position in `points`) of the nearest point to each cell centre (of the
    cells `at` only, when given)."""
    xs, ys = cell_centres(grid, at)
    distances = np.stack([np.hypot(xs - g.x, ys - g.y) for g in points.geometry])
    return np.argmin(distances, axis=0)


def distance_to_lines_km(grid: Grid, lines: gpd.GeoDataFrame) -> np.ndarray:
    """Distance (km) from each cell centre to the nearest line (e.g. roads)."""
    xs, ys = cell_centres(grid)
    network = shapely.union_all(lines.geometry.values)
    shapely.prepare(network)
    return shapely.distance(shapely.points(xs.ravel(), ys.ravel()), network).reshape(
        grid.shape) / 1000.0


STATION_KEY = "station_id"
"""The id of a station in the stations input."""
SEGMENT_STATION_KEY = "to_station_id"
"""The id of the station a route segment ends at (empty when it ends at none)."""


def _keys(values: pd.Series) -> list[str]:
    """The non-empty text keys of a column (NaN, None and blanks left out)."""
    return [str(v).strip() for v in values if isinstance(v, str) and v.strip()]


def station_load(grid: Grid, stations: gpd.GeoDataFrame, segments: gpd.GeoDataFrame,
                 people: np.ndarray, at: Cells | None = None) -> np.ndarray:
    """Load of the nearest reception station: people per day arriving over its capacity
    (people/day per place), at the cells `at` only when given.

    A station's arrivals are the `people` (`segment_people`, people/year) of the route segments
    that end at it: `to_station_id` equal to its `station_id`. Stations without capacity are
    not reception capacity and are skipped.

    Raises:
        UnmatchedKeys: a reception station with a capacity that no segment ends at, or a
            segment naming a station id the stations input does not have (the join would
            otherwise leave a load of 0 that looks like an empty station).
    """
    reception = stations[(stations["kind"] == "reception_station")
                         & stations["capacity"].notna()].reset_index(drop=True)
    if reception.empty:
        return np.full(grid.shape if at is None else at[0].shape, np.nan)
    for frame, key, what in ((stations, STATION_KEY, "stations"),
                             (segments, SEGMENT_STATION_KEY, "route segments")):
        if key not in frame.columns:
            raise UnmatchedKeys(f"station load: the {what} have no column {key!r}: route "
                                f"segments name the station they end at by its {STATION_KEY} "
                                f"in {SEGMENT_STATION_KEY}")
    ends = [str(v).strip() if isinstance(v, str) else "" for v in segments[SEGMENT_STATION_KEY]]
    known = set(_keys(stations[STATION_KEY]))
    unknown = sorted({end for end in ends if end and end not in known})
    ids = [str(v) for v in reception[STATION_KEY]]
    unmatched = [i for i in ids if i not in ends]
    problems = []
    if unknown:
        problems.append(f"route segments name station(s) {', '.join(unknown)} in "
                        f"{SEGMENT_STATION_KEY}, which the stations input does not have "
                        f"(its {STATION_KEY}s: {', '.join(sorted(known))})")
    if unmatched:
        problems.append(f"reception station(s) {', '.join(unmatched)} have a capacity but no "
                        f"route segment ends at them ({SEGMENT_STATION_KEY}); their load "
                        "would be 0")
    if problems:
        raise UnmatchedKeys("station load: " + "; ".join(problems))
    loads = []
    for station_id, capacity in zip(ids, reception["capacity"], strict=True):
        arriving = sum(float(count) for count, end in zip(people, ends, strict=True)
                       if end == station_id)
        loads.append(arriving / DAYS_PER_YEAR / float(capacity))
    return np.asarray(loads)[nearest_point_index(grid, reception, at)]


def check_points_carried(segments: gpd.GeoDataFrame, crossings: pd.DataFrame) -> None:
    """Fail unless the people counted at every crossing point are carried by a route segment.

    A point is carried by a segment listing it in `flow_points`, or by a segment of its
    direction without `flow_points` (which carries the direction's total).

    Raises:
        UnmatchedKeys: naming the points no segment carries, and the ids listed in
            `flow_points` that the crossings table does not have.
    """
    listed = segments["flow_points"] if "flow_points" in segments.columns else \
        pd.Series([None] * len(segments), index=segments.index)
    named: set[str] = set()
    by_direction: set[str] = set()
    for direction, points in zip(segments["direction"], listed, strict=True):
        if isinstance(points, str) and points.strip():
            named.update(points.split())
        else:
            by_direction.add(str(direction))
    counted = crossings[["point_id", "direction"]].dropna().drop_duplicates()
    known = set(counted["point_id"].astype(str))
    left = sorted(str(p) for p, d in zip(counted["point_id"], counted["direction"], strict=True)
                  if str(p) not in named and str(d) not in by_direction)
    unknown = sorted(named - known)
    problems = []
    if left:
        problems.append(f"crossing point(s) {', '.join(left)} are counted but no route segment "
                        "carries their people (list them in a segment's flow_points, or give "
                        "their direction a segment without flow_points)")
    if unknown:
        problems.append(f"route segments list point(s) {', '.join(unknown)} in flow_points, "
                        f"which the crossings table does not count (it counts "
                        f"{', '.join(sorted(known))})")
    if problems:
        raise UnmatchedKeys("transit: " + "; ".join(problems))


def children_share(grid: Grid, crossings: pd.DataFrame, segments: gpd.GeoDataFrame, year: int,
                   width_km: float) -> np.ndarray:
    """Share (0–1) of children among people crossing in `year`, in the corridor of the segments
    of each direction; NaN outside any corridor.

    Computed from the protected crossings table, over the records whose children's cells
    (0-4, 5-11, 12-17) and total are all published, so the surface reveals nothing that
    disclosure control withheld: share = (0-4 + 5-11 + 12-17) / total.
    """
    rows = crossings[crossings["month"].str.startswith(f"{year}-")]
    columns = list(CHILDREN)
    rows = rows[rows[columns].notna().all(axis=1) & rows["total"].notna()]
    result = np.full(grid.shape, np.nan)
    for direction, group in rows.groupby("direction"):
        total = float(group["total"].sum())
        if total <= 0:
            continue
        share = float(group[columns].to_numpy(dtype="float64").sum()) / total
        lanes = segments[segments["direction"] == direction]
        if lanes.empty:
            continue
        inside = corridor_mask(grid, lanes, width_km)
        result = np.where(inside, np.fmax(result, share), result)
    return result


def polygon_scores(grid: Grid, polygons: gpd.GeoDataFrame, values: pd.Series) -> np.ndarray:
    """Rasterise polygons with a value each (cell centre inside); the max where they overlap."""
    result = np.zeros(grid.shape, dtype="float64")
    for geom, value in zip(polygons.geometry, values, strict=True):
        if geom is None or not np.isfinite(value):
            continue
        burned = burn(grid, [(geom, float(value))], all_touched=False, merge="replace")
        result = np.maximum(result, burned)
    return result
