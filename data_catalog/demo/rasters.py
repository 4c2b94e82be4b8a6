"""Synthetic hazard, climate and land-cover rasters of the Darién demo.

Every field here is made up: smooth, seeded, plausible, steered by the approximate rivers and
ridges of :mod:`data_catalog.demo.places`, and masked to the land of the Natural Earth countries.
Fields are functions of longitude and latitude, so the same seed gives the same pattern at any
resolution (``scale``). The files are Cloud-Optimised GeoTIFFs tagged ``synthetic=true``.

Formats, as the real sources the readers must handle (METHOD.md):

========================================  =========  ========  ===========  ==================
file                                      dtype      CRS       cell (s=1)   over sea
========================================  =========  ========  ===========  ==================
jrc_flood/flood_depth_rp{T}.tif (m)       float32    4326      0.0025°      -9999 (nodata)
landslide/landslide_susceptibility.tif    float32    32618     500 m        -1 (nodata)
chirps/rx1day.tif (mm/day)                float32    4326      0.05°        -9999 (nodata)
heat/heat_days.tif (days/year)            float32    4326      0.1°         NaN, no nodata tag
drought/drought_index.tif (0-1)           float32    4326      0.1°         -9999 (nodata)
forest/forest_cover.tif (%)               uint8      4326      0.005°       255 (nodata)
========================================  =========  ========  ===========  ==================
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.features import rasterize
from rasterio.transform import Affine
from rasterio.warp import transform_bounds
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from data_catalog.demo import places

SOURCE_TAG: Final[str] = "cmrisk demo generator"
"""Value of the ``source`` metadata tag of every demo raster."""

RETURN_PERIODS: Final[tuple[int, ...]] = (10, 50, 100, 500)
"""Return periods of the flood-depth rasters, years."""

_FLOOD_WIDTH: Final[dict[int, float]] = {10: 0.30, 50: 0.55, 100: 0.70, 500: 1.0}
"""Floodplain half-width of each return period, as a fraction of the 500-year one."""

_FLOOD_DEPTH: Final[dict[int, float]] = {10: 0.45, 50: 0.70, 100: 0.80, 500: 1.0}
"""Depth at the channel of each return period, as a fraction of the 500-year one."""

_KM_PER_DEG_LAT: Final[float] = 110.6
_KM_PER_DEG_LON: Final[float] = 111.32 * math.cos(math.radians(8.3))
"""Equirectangular scale at the centre of the demo region (lat 8.3), km per degree."""


@dataclass(frozen=True)
class RasterGrid:
    """A north-up raster grid.

    Attributes:
        crs: CRS as ``EPSG:<code>``.
        transform: Affine transform of the top-left corner (CRS units).
        width: Number of columns.
        height: Number of rows.
    """

    crs: str
    transform: Affine
    width: int
    height: int

    @property
    def shape(self) -> tuple[int, int]:
        """Array shape ``(rows, columns)``."""
        return (self.height, self.width)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the cell-centre coordinates in the grid's CRS, each of shape ``shape``."""
        a, e = self.transform.a, self.transform.e
        xs = self.transform.c + a * (np.arange(self.width) + 0.5)
        ys = self.transform.f + e * (np.arange(self.height) + 0.5)
        return np.meshgrid(xs, ys)

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the cell-centre longitudes and latitudes (degrees), each of shape ``shape``."""
        x, y = self.centres()
        if self.crs == "EPSG:4326":
            return x, y
        to_ll = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon, lat = to_ll.transform(x, y)
        return np.asarray(lon), np.asarray(lat)


def data_bounds() -> tuple[float, float, float, float]:
    """Return the extent of the demo rasters: ``DEMO_BOUNDS`` plus the margin, degrees."""
    w, s, e, n = places.DEMO_BOUNDS
    m = places.DATA_MARGIN_DEG
    return (w - m, s - m, e + m, n + m)


def geographic_grid(cell_deg: float, scale: int = 1) -> RasterGrid:
    """Grid in EPSG:4326 over :func:`data_bounds`.

    Args:
        cell_deg: Cell size at scale 1, degrees.
        scale: Multiplies the number of cells (the cell size is divided by ``sqrt(scale)``).

    Returns:
        The grid; its top-left corner is the top-left of the data bounds.
    """
    w, s, e, n = data_bounds()
    res = cell_deg / math.sqrt(scale)
    width = math.ceil(round((e - w) / res, 6))
    height = math.ceil(round((n - s) / res, 6))
    return RasterGrid("EPSG:4326", Affine(res, 0.0, w, 0.0, -res, n), width, height)


def utm_grid(cell_m: float, scale: int = 1, crs: str = "EPSG:32618") -> RasterGrid:
    """Grid in a projected CRS covering :func:`data_bounds`, snapped outward to whole cells.

    Args:
        cell_m: Cell size at scale 1, metres.
        scale: Multiplies the number of cells (the cell size is divided by ``sqrt(scale)``).
        crs: Projected CRS.

    Returns:
        The grid.
    """
    res = cell_m / math.sqrt(scale)
    x0, y0, x1, y1 = transform_bounds("EPSG:4326", crs, *data_bounds(), densify_pts=101)
    snap = cell_m
    x0, y0 = math.floor(x0 / snap) * snap, math.floor(y0 / snap) * snap
    x1, y1 = math.ceil(x1 / snap) * snap, math.ceil(y1 / snap) * snap
    width = math.ceil(round((x1 - x0) / res, 6))
    height = math.ceil(round((y1 - y0) / res, 6))
    return RasterGrid(crs, Affine(res, 0.0, x0, 0.0, -res, y1), width, height)


# --- Building blocks ----------------------------------------------------------------------------


def value_noise(
    lon: np.ndarray, lat: np.ndarray, seed: int, salt: int, cell_deg: float, octaves: int = 3
) -> np.ndarray:
    """Smooth seeded noise in about -1..1 (fractal value noise on a lon/lat lattice).

    The lattice is anchored to :func:`data_bounds`, so the value at a place does not depend on
    the grid it is sampled on.

    Args:
        lon: Longitudes, degrees.
        lat: Latitudes, degrees.
        seed: Generator seed.
        salt: Distinguishes independent fields drawn from the same seed.
        cell_deg: Lattice spacing of the first octave, degrees (the feature size).
        octaves: Octaves summed, each at half the spacing and half the amplitude.

    Returns:
        Array of the shape of ``lon``.
    """
    w, s, e, n = data_bounds()
    total = np.zeros(lon.shape, dtype=np.float64)
    amp, norm, cell = 1.0, 0.0, cell_deg
    for octave in range(octaves):
        rng = np.random.default_rng([seed, salt, octave])
        nx = math.ceil((e - w) / cell) + 3
        ny = math.ceil((n - s) / cell) + 3
        lattice = rng.uniform(-1.0, 1.0, size=(ny, nx))
        fx = np.clip((lon - w) / cell + 1.0, 0.0, nx - 1.000001)
        fy = np.clip((lat - s) / cell + 1.0, 0.0, ny - 1.000001)
        ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
        tx, ty = fx - ix, fy - iy
        tx, ty = tx * tx * (3 - 2 * tx), ty * ty * (3 - 2 * ty)
        top = lattice[iy, ix] * (1 - tx) + lattice[iy, ix + 1] * tx
        bottom = lattice[iy + 1, ix] * (1 - tx) + lattice[iy + 1, ix + 1] * tx
        total += amp * (top * (1 - ty) + bottom * ty)
        norm += amp
        amp, cell = amp / 2, cell / 2
    return total / norm


def polyline_distance_km(
    lon: np.ndarray,
    lat: np.ndarray,
    line: Sequence[places.Coord],
    max_km: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from every cell to a polyline, and where along it the nearest point lies.

    Uses an equirectangular approximation centred on the region (error well under 1% here).

    Args:
        lon: Longitudes, degrees.
        lat: Latitudes, degrees.
        line: Polyline vertices ``(lon, lat)``, degrees.
        max_km: If given, only cells within this distance (km) of the line's bounding box are
            computed; the others get an infinite distance (a speed-up for local features).

    Returns:
        ``(distance_km, along)``: distance in km, and the position of the nearest point as a
        fraction (0 at the first vertex, 1 at the last) of the line's length.
    """
    best = np.full(lon.shape, np.inf)
    along = np.zeros(lon.shape)
    xy = np.array(line, dtype=np.float64)
    if max_km is None:
        sel: tuple[np.ndarray, ...] | slice = slice(None)
    else:
        dlon, dlat = max_km / _KM_PER_DEG_LON, max_km / _KM_PER_DEG_LAT
        sel = np.nonzero(
            (lon >= xy[:, 0].min() - dlon)
            & (lon <= xy[:, 0].max() + dlon)
            & (lat >= xy[:, 1].min() - dlat)
            & (lat <= xy[:, 1].max() + dlat)
        )
    px, py = lon[sel] * _KM_PER_DEG_LON, lat[sel] * _KM_PER_DEG_LAT
    pts = xy * np.array([_KM_PER_DEG_LON, _KM_PER_DEG_LAT])
    seg_len = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    sub_best = np.full(px.shape, np.inf)
    sub_along = np.zeros(px.shape)
    for i in range(len(pts) - 1):
        (ax, ay), (bx, by) = pts[i], pts[i + 1]
        dx, dy = bx - ax, by - ay
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        d = np.hypot(px - (ax + t * dx), py - (ay + t * dy))
        closer = d < sub_best
        sub_best[closer] = d[closer]
        sub_along[closer] = ((cum[i] + t * seg_len[i]) / cum[-1])[closer]
    best[sel] = sub_best
    along[sel] = sub_along
    return best, along


def point_distance_km(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    """Distance from every cell to a point, km (equirectangular approximation)."""
    return np.hypot((lon - lon0) * _KM_PER_DEG_LON, (lat - lat0) * _KM_PER_DEG_LAT)


def land_mask(grid: RasterGrid, land: Iterable[BaseGeometry]) -> np.ndarray:
    """Rasterise land polygons onto a grid.

    Args:
        grid: Target grid.
        land: Polygons in EPSG:4326 (the Natural Earth countries).

    Returns:
        Boolean array, True on land (cell centre inside a polygon).
    """
    geoms = list(land)
    if grid.crs != "EPSG:4326":
        geoms = list(gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(grid.crs))
    mask = rasterize(
        ((g, 1) for g in geoms), out_shape=grid.shape, transform=grid.transform, dtype="uint8"
    )
    return mask.astype(bool)


def ridge_influence(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Nearness to a mountain crest weighted by its height, 0 (plain) to about 1 (high crest)."""
    out = np.zeros(lon.shape)
    for line, height_m, half_width_km in places.RIDGES.values():
        d, _ = polyline_distance_km(lon, lat, line, max_km=3.5 * half_width_km)
        out = np.maximum(out, (height_m / 1500.0) * np.exp(-((d / half_width_km) ** 2)))
    return out


def elevation_m(lon: np.ndarray, lat: np.ndarray, seed: int) -> np.ndarray:
    """A synthetic elevation, metres: ridges of :data:`places.RIDGES` plus rolling hills."""
    hills = value_noise(lon, lat, seed, salt=1, cell_deg=0.25)
    out = np.zeros(lon.shape)
    for line, height_m, half_width_km in places.RIDGES.values():
        d, _ = polyline_distance_km(lon, lat, line, max_km=3.5 * half_width_km)
        out += height_m * np.exp(-((d / half_width_km) ** 2))
    return np.clip(out * (0.85 + 0.3 * hills) + 60.0 + 80.0 * hills, 0.0, None)


def wetness(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Large-scale wetness, 0..1, rising toward Chocó and the Pacific slope (south-east)."""
    return 1.0 / (1.0 + np.exp(-(1.4 * (lon + 77.9) - 1.6 * (lat - 8.1))))


# --- Fields --------------------------------------------------------------------------------------


def flood_depths(lon: np.ndarray, lat: np.ndarray, seed: int) -> dict[int, np.ndarray]:
    """Flood water depth for each return period, metres (0 where dry; land mask not applied).

    Floodplains follow :data:`places.RIVERS`, widening and deepening downstream; the depth of
    every cell is non-decreasing with the return period.

    Args:
        lon: Longitudes, degrees.
        lat: Latitudes, degrees.
        seed: Generator seed.

    Returns:
        Mapping return period (years) -> depth array (float64, metres).
    """
    depths = {rp: np.zeros(lon.shape) for rp in RETURN_PERIODS}
    for name, line in places.RIVERS.items():
        w_src, w_mouth = places.RIVER_FLOODPLAIN_KM[name]
        d, along = polyline_distance_km(lon, lat, line, max_km=max(w_src, w_mouth))
        width500 = w_src + (w_mouth - w_src) * along
        near = np.nonzero(d < width500)
        if near[0].size == 0:
            continue
        d, along, width500 = d[near], along[near], width500[near]
        lo, la = lon[near], lat[near]
        # Floods stay in the lowlands; the texture breaks up the otherwise smooth floodplain.
        lowland = np.clip(1.0 - (elevation_m(lo, la, seed) - 60.0) / 300.0, 0.0, 1.0)
        texture = 1.0 + 0.3 * value_noise(lo, la, seed, salt=2, cell_deg=0.05)
        depth500 = (1.2 + 2.8 * along) * lowland * texture
        for rp in RETURN_PERIODS:
            shape = np.clip(1.0 - d / (width500 * _FLOOD_WIDTH[rp]), 0.0, None) ** 1.5
            depths[rp][near] = np.maximum(depths[rp][near], depth500 * _FLOOD_DEPTH[rp] * shape)
    running = np.zeros(lon.shape)
    for rp in RETURN_PERIODS:
        running = np.maximum(running, depths[rp])
        depths[rp] = np.round(running, 2)
    return depths


def landslide_susceptibility(lon: np.ndarray, lat: np.ndarray, seed: int) -> np.ndarray:
    """Landslide susceptibility, 0..1: high on the ridges, low on the plains."""
    ridge = ridge_influence(lon, lat)
    texture = value_noise(lon, lat, seed, salt=3, cell_deg=0.1)
    hills = np.clip(value_noise(lon, lat, seed, salt=1, cell_deg=0.25), 0.0, None)
    s = 0.04 + 0.8 * ridge**0.8 * (0.85 + 0.3 * texture) + 0.15 * hills + 0.06 * wetness(lon, lat)
    return np.clip(s, 0.0, 1.0)


def rx1day_mm(lon: np.ndarray, lat: np.ndarray, seed: int) -> np.ndarray:
    """Annual maximum 1-day precipitation, mm/day, 80..220, wetter toward Chocó."""
    noise = value_noise(lon, lat, seed, salt=4, cell_deg=0.4)
    rx = 92.0 + 95.0 * wetness(lon, lat) + 22.0 * ridge_influence(lon, lat) + 12.0 * noise
    return np.clip(rx, 80.0, 220.0)


def heat_days(lon: np.ndarray, lat: np.ndarray, seed: int) -> np.ndarray:
    """Days a year above a heat threshold, 0..90: many in the lowlands, few on the ridges."""
    elev = elevation_m(lon, lat, seed)
    noise = value_noise(lon, lat, seed, salt=5, cell_deg=0.5)
    days = 88.0 * np.exp(-elev / 380.0) * (0.8 + 0.2 * (1.0 - wetness(lon, lat))) + 6.0 * noise
    return np.clip(days, 0.0, 90.0)


def drought_index(lon: np.ndarray, lat: np.ndarray, seed: int) -> np.ndarray:
    """Drought index, 0..1: driest toward the Pacific coast of Panama and the Gulf of San Miguel."""
    g_lon, g_lat = places.GULF_OF_SAN_MIGUEL
    gulf = np.exp(-((point_distance_km(lon, lat, g_lon, g_lat) / 55.0) ** 2))
    west = np.clip((-78.3 - lon) / 1.2, 0.0, 1.0)
    noise = value_noise(lon, lat, seed, salt=6, cell_deg=0.5)
    d = 0.14 + 0.36 * gulf + 0.16 * west - 0.12 * wetness(lon, lat) + 0.05 * noise
    return np.clip(d, 0.0, 1.0)


def forest_cover_pct(lon: np.ndarray, lat: np.ndarray, seed: int, parks: np.ndarray) -> np.ndarray:
    """Tree cover, percent 0..100: dense in the parks, cleared along roads and around towns.

    Args:
        lon: Longitudes, degrees.
        lat: Latitudes, degrees.
        seed: Generator seed.
        parks: Boolean mask of Darién and Los Katíos national parks on the same grid.

    Returns:
        Percent tree cover (float64).
    """
    noise = value_noise(lon, lat, seed, salt=7, cell_deg=0.08)
    cover = 80.0 + 12.0 * noise
    for surface, line in places.ROADS.values():
        reach = 9.0 if surface == "paved" else 4.0
        d, _ = polyline_distance_km(lon, lat, line, max_km=3.5 * reach)
        cover *= 1.0 - 0.7 * np.exp(-((d / reach) ** 2))
    for town in places.TOWNS:
        p = places.PLACES[town]
        cover *= 1.0 - 0.85 * np.exp(-((point_distance_km(lon, lat, p.lon, p.lat) / 3.0) ** 2))
    cover = np.where(parks, np.maximum(cover, 90.0 + 8.0 * noise), cover)
    return np.clip(cover, 0.0, 100.0)


# --- Writing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RasterSpec:
    """What a demo raster file holds.

    Attributes:
        path: Path relative to the inputs folder.
        units: Units tag.
        description: Description tag.
    """

    path: str
    units: str
    description: str


def write_cog(
    path: Path,
    values: np.ndarray,
    grid: RasterGrid,
    *,
    dtype: str,
    nodata: float | None,
    spec: RasterSpec,
) -> None:
    """Write one band as a Cloud-Optimised GeoTIFF tagged as synthetic.

    Args:
        path: Destination file.
        values: Array of ``grid.shape``, already holding ``nodata`` (or NaN) where there is none.
        grid: Grid of the array.
        dtype: Output data type.
        nodata: Nodata value, or None to write no nodata tag.
        spec: Units and description for the metadata.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": dtype,
        "crs": grid.crs,
        "transform": grid.transform,
        "BLOCKSIZE": 512,
        "COMPRESS": "DEFLATE",
        "PREDICTOR": "YES",
        "OVERVIEWS": "AUTO",
        "OVERVIEW_RESAMPLING": "AVERAGE",
    }
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype(dtype), 1)
        dst.update_tags(
            synthetic="true",
            units=spec.units,
            description=spec.description,
            source=SOURCE_TAG,
        )
        dst.set_band_description(1, spec.description)
        dst.update_tags(1, units=spec.units)
        dst.units = (spec.units,)


def _masked(values: np.ndarray, land: np.ndarray, fill: float) -> np.ndarray:
    """Return ``values`` with ``fill`` outside ``land``."""
    return np.where(land, values, fill)


def write_rasters(
    inputs_dir: Path, land: Sequence[BaseGeometry], seed: int, scale: int
) -> list[RasterSpec]:
    """Write every demo raster under ``inputs_dir``.

    Args:
        inputs_dir: The inputs folder being built.
        land: Land polygons (EPSG:4326) used as the sea mask.
        seed: Generator seed.
        scale: Cell-count multiplier (1 = the documented resolutions).

    Returns:
        The specs of the files written, in writing order.
    """
    written: list[RasterSpec] = []

    grid = geographic_grid(0.0025, scale)
    lon, lat = grid.lonlat()
    on_land = land_mask(grid, land)
    for rp, depth in flood_depths(lon, lat, seed).items():
        spec = RasterSpec(
            f"jrc_flood/flood_depth_rp{rp}.tif",
            "m",
            f"Synthetic river flood water depth, {rp}-year return period (JRC-style)",
        )
        values = _masked(depth, on_land, -9999.0)
        write_cog(inputs_dir / spec.path, values, grid, dtype="float32", nodata=-9999.0, spec=spec)
        written.append(spec)
    del lon, lat, on_land

    grid = utm_grid(500.0, scale)
    lon, lat = grid.lonlat()
    spec = RasterSpec(
        "landslide/landslide_susceptibility.tif",
        "0-1",
        "Synthetic landslide susceptibility (0 = none, 1 = highest)",
    )
    values = _masked(landslide_susceptibility(lon, lat, seed), land_mask(grid, land), -1.0)
    write_cog(inputs_dir / spec.path, values, grid, dtype="float32", nodata=-1.0, spec=spec)
    written.append(spec)

    grid = geographic_grid(0.05, scale)
    lon, lat = grid.lonlat()
    spec = RasterSpec(
        "chirps/rx1day.tif",
        "mm/day",
        "Synthetic annual maximum 1-day precipitation (CHIRPS-style Rx1day)",
    )
    values = _masked(rx1day_mm(lon, lat, seed), land_mask(grid, land), -9999.0)
    write_cog(inputs_dir / spec.path, values, grid, dtype="float32", nodata=-9999.0, spec=spec)
    written.append(spec)

    grid = geographic_grid(0.1, scale)
    lon, lat = grid.lonlat()
    on_land = land_mask(grid, land)
    spec = RasterSpec(
        "heat/heat_days.tif",
        "days/year",
        "Synthetic number of hot days a year (NaN over sea, no nodata tag)",
    )
    values = _masked(heat_days(lon, lat, seed), on_land, np.nan)
    write_cog(inputs_dir / spec.path, values, grid, dtype="float32", nodata=None, spec=spec)
    written.append(spec)
    spec = RasterSpec(
        "drought/drought_index.tif",
        "0-1",
        "Synthetic drought index (0 = never dry, 1 = always in drought)",
    )
    values = _masked(drought_index(lon, lat, seed), on_land, -9999.0)
    write_cog(inputs_dir / spec.path, values, grid, dtype="float32", nodata=-9999.0, spec=spec)
    written.append(spec)

    grid = geographic_grid(0.005, scale)
    lon, lat = grid.lonlat()
    parks = rasterize(
        (
            (Polygon(outline), 1)
            for outline in (places.DARIEN_NP_OUTLINE, places.LOS_KATIOS_OUTLINE)
        ),
        out_shape=grid.shape,
        transform=grid.transform,
        dtype="uint8",
    ).astype(bool)
    spec = RasterSpec(
        "forest/forest_cover.tif", "%", "Synthetic tree cover, percent of the cell (0-100)"
    )
    cover = np.round(forest_cover_pct(lon, lat, seed, parks))
    values = _masked(cover, land_mask(grid, land), 255)
    write_cog(inputs_dir / spec.path, values, grid, dtype="uint8", nodata=255, spec=spec)
    written.append(spec)
    return written
