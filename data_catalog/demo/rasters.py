"""Synthetic hazard, climate and land-cover rasters of any region's demo, for any bounds.

Every field here is made up: smooth, seeded, plausible, steered by the approximate rivers,
ridges, roads, towns and climate gradients of the region's demo data
(:mod:`data_catalog.demo.spec`), and masked to the land of the Natural Earth countries. Fields
are functions of longitude and latitude, so the same seed gives the same pattern at any
resolution (``scale``). The files are Cloud-Optimised GeoTIFFs tagged ``synthetic=true``.

Formats, as the real sources the readers must handle (METHOD.md); cell sizes and the projected
CRS come from the region's ``demo.yaml`` (Darién's shown):

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

from data_catalog.demo.spec import KM_PER_DEG_LAT, Coord, RegionDemo

SOURCE_TAG: Final[str] = "cmrisk demo generator"
"""Value of the ``source`` metadata tag of every demo raster."""

RETURN_PERIODS: Final[tuple[int, ...]] = (10, 50, 100, 500)
"""Return periods of the flood-depth rasters, years."""

_FLOOD_WIDTH: Final[dict[int, float]] = {10: 0.30, 50: 0.55, 100: 0.70, 500: 1.0}
"""Floodplain half-width of each return period, as a fraction of the 500-year one."""

_FLOOD_DEPTH: Final[dict[int, float]] = {10: 0.45, 50: 0.70, 100: 0.80, 500: 1.0}
"""Depth at the channel of each return period, as a fraction of the 500-year one."""



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


def geographic_grid(bounds: tuple[float, float, float, float], cell_deg: float,
                    scale: int = 1) -> RasterGrid:
    """Grid in EPSG:4326 over ``bounds`` (a region's data bounds).

    Args:
        bounds: West, south, east, north, degrees.
        cell_deg: Cell size at scale 1, degrees.
        scale: Multiplies the number of cells (the cell size is divided by ``sqrt(scale)``).

    Returns:
        The grid; its top-left corner is the top-left of the bounds.
    """
    w, s, e, n = bounds
    res = cell_deg / math.sqrt(scale)
    width = math.ceil(round((e - w) / res, 6))
    height = math.ceil(round((n - s) / res, 6))
    return RasterGrid("EPSG:4326", Affine(res, 0.0, w, 0.0, -res, n), width, height)


def projected_grid(bounds: tuple[float, float, float, float], cell_m: float, crs: str,
                   scale: int = 1) -> RasterGrid:
    """Grid in a projected CRS covering ``bounds`` (degrees), snapped outward to whole cells.

    Args:
        bounds: West, south, east, north, degrees.
        cell_m: Cell size at scale 1, metres.
        crs: Projected CRS.
        scale: Multiplies the number of cells (the cell size is divided by ``sqrt(scale)``).

    Returns:
        The grid.
    """
    res = cell_m / math.sqrt(scale)
    x0, y0, x1, y1 = transform_bounds("EPSG:4326", crs, *bounds, densify_pts=101)
    snap = cell_m
    x0, y0 = math.floor(x0 / snap) * snap, math.floor(y0 / snap) * snap
    x1, y1 = math.ceil(x1 / snap) * snap, math.ceil(y1 / snap) * snap
    width = math.ceil(round((x1 - x0) / res, 6))
    height = math.ceil(round((y1 - y0) / res, 6))
    return RasterGrid(crs, Affine(res, 0.0, x0, 0.0, -res, y1), width, height)


# --- Building blocks ----------------------------------------------------------------------------


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


class Terrain:
    """The synthetic fields of one region, steered by its demo data.

    Distances use an equirectangular approximation at the region's centre latitude (error
    well under 1% over a few hundred km; a few per cent across a corridor of 2,000 km, which
    synthetic hazards can bear).
    """

    def __init__(self, region: RegionDemo) -> None:
        """Args:
            region: The region's demo data.
        """
        self.region = region
        self.climate = region.spec.climate
        self.km_per_deg_lon = region.km_per_deg_lon
        self.km_per_deg_lat = KM_PER_DEG_LAT

    def value_noise(
        self, lon: np.ndarray, lat: np.ndarray, seed: int, salt: int, cell_deg: float,
        octaves: int = 3,
    ) -> np.ndarray:
        """Smooth seeded noise in about -1..1 (fractal value noise on a lon/lat lattice).

        The lattice is anchored to the region's data bounds, so the value at a place does not
        depend on the grid it is sampled on.

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
        w, s, e, n = self.region.data_bounds()
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
        self, lon: np.ndarray, lat: np.ndarray, line: Sequence[Coord],
        max_km: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance from every cell to a polyline, and where along it the nearest point lies.

        Args:
            lon: Longitudes, degrees.
            lat: Latitudes, degrees.
            line: Polyline vertices ``(lon, lat)``, degrees.
            max_km: If given, only cells within this distance (km) of the line's bounding box
                are computed; the others get an infinite distance (a speed-up for local
                features).

        Returns:
            ``(distance_km, along)``: distance in km, and the position of the nearest point as
            a fraction (0 at the first vertex, 1 at the last) of the line's length.
        """
        kx, ky = self.km_per_deg_lon, self.km_per_deg_lat
        best = np.full(lon.shape, np.inf)
        along = np.zeros(lon.shape)
        xy = np.array(line, dtype=np.float64)
        if max_km is None:
            sel: tuple[np.ndarray, ...] | slice = slice(None)
        else:
            dlon, dlat = max_km / kx, max_km / ky
            sel = np.nonzero(
                (lon >= xy[:, 0].min() - dlon)
                & (lon <= xy[:, 0].max() + dlon)
                & (lat >= xy[:, 1].min() - dlat)
                & (lat <= xy[:, 1].max() + dlat)
            )
        px, py = lon[sel] * kx, lat[sel] * ky
        pts = xy * np.array([kx, ky])
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

    def point_distance_km(self, lon: np.ndarray, lat: np.ndarray, lon0: float,
                          lat0: float) -> np.ndarray:
        """Distance from every cell to a point, km (equirectangular approximation)."""
        return np.hypot((lon - lon0) * self.km_per_deg_lon, (lat - lat0) * self.km_per_deg_lat)

    def ridge_influence(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Nearness to a mountain crest weighted by its height, 0 (plain) to about 1 (a crest
        of the region's reference height)."""
        reference = self.climate.ridge_reference_m
        out = np.zeros(lon.shape)
        for line, height_m, half_width_km in self.region.ridges.values():
            d, _ = self.polyline_distance_km(lon, lat, line, max_km=3.5 * half_width_km)
            out = np.maximum(out, (height_m / reference) * np.exp(-((d / half_width_km) ** 2)))
        return out

    def elevation_m(self, lon: np.ndarray, lat: np.ndarray, seed: int) -> np.ndarray:
        """A synthetic elevation, metres: the region's ridges plus rolling hills."""
        hills = self.value_noise(lon, lat, seed, salt=1, cell_deg=0.25)
        out = np.zeros(lon.shape)
        for line, height_m, half_width_km in self.region.ridges.values():
            d, _ = self.polyline_distance_km(lon, lat, line, max_km=3.5 * half_width_km)
            out += height_m * np.exp(-((d / half_width_km) ** 2))
        return np.clip(out * (0.85 + 0.3 * hills) + 60.0 + 80.0 * hills, 0.0, None)

    def wetness(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Large-scale wetness, 0..1, a logistic rise across the region (``demo.yaml``)."""
        w = self.climate.wetness
        return 1.0 / (1.0 + np.exp(-(w.a_lon * (lon - w.lon0) - w.a_lat * (lat - w.lat0))))

    # --- Fields ---------------------------------------------------------------------------------

    def flood_depths(self, lon: np.ndarray, lat: np.ndarray, seed: int) -> dict[int, np.ndarray]:
        """Flood water depth for each return period, metres (0 where dry; no land mask).

        Floodplains follow the region's rivers, widening and deepening downstream; the depth
        of every cell is non-decreasing with the return period.

        Args:
            lon: Longitudes, degrees.
            lat: Latitudes, degrees.
            seed: Generator seed.

        Returns:
            Mapping return period (years) -> depth array (float64, metres).
        """
        depths = {rp: np.zeros(lon.shape) for rp in RETURN_PERIODS}
        for name, line in self.region.rivers.items():
            w_src, w_mouth = self.region.floodplain_km[name]
            d, along = self.polyline_distance_km(lon, lat, line, max_km=max(w_src, w_mouth))
            width500 = w_src + (w_mouth - w_src) * along
            near = np.nonzero(d < width500)
            if near[0].size == 0:
                continue
            d, along, width500 = d[near], along[near], width500[near]
            lo, la = lon[near], lat[near]
            # Floods stay in the lowlands; the texture breaks up the otherwise smooth floodplain.
            lowland = np.clip(1.0 - (self.elevation_m(lo, la, seed) - 60.0) / 300.0, 0.0, 1.0)
            texture = 1.0 + 0.3 * self.value_noise(lo, la, seed, salt=2, cell_deg=0.05)
            depth500 = (1.2 + 2.8 * along) * lowland * texture
            for rp in RETURN_PERIODS:
                shape = np.clip(1.0 - d / (width500 * _FLOOD_WIDTH[rp]), 0.0, None) ** 1.5
                depths[rp][near] = np.maximum(depths[rp][near],
                                              depth500 * _FLOOD_DEPTH[rp] * shape)
        running = np.zeros(lon.shape)
        for rp in RETURN_PERIODS:
            running = np.maximum(running, depths[rp])
            depths[rp] = np.round(running, 2)
        return depths

    def landslide_susceptibility(self, lon: np.ndarray, lat: np.ndarray,
                                 seed: int) -> np.ndarray:
        """Landslide susceptibility, 0..1: high on the ridges, low on the plains."""
        ridge = self.ridge_influence(lon, lat)
        texture = self.value_noise(lon, lat, seed, salt=3, cell_deg=0.1)
        hills = np.clip(self.value_noise(lon, lat, seed, salt=1, cell_deg=0.25), 0.0, None)
        s = (0.04 + 0.8 * ridge**0.8 * (0.85 + 0.3 * texture) + 0.15 * hills
             + 0.06 * self.wetness(lon, lat))
        return np.clip(s, 0.0, 1.0)

    def rx1day_mm(self, lon: np.ndarray, lat: np.ndarray, seed: int) -> np.ndarray:
        """Annual maximum 1-day precipitation, mm/day, 80..220, wetter where it is wet."""
        noise = self.value_noise(lon, lat, seed, salt=4, cell_deg=0.4)
        rx = (92.0 + 95.0 * self.wetness(lon, lat) + 22.0 * self.ridge_influence(lon, lat)
              + 12.0 * noise)
        return np.clip(rx, 80.0, 220.0)

    def heat_days(self, lon: np.ndarray, lat: np.ndarray, seed: int) -> np.ndarray:
        """Days a year above a heat threshold, 0..90: many in the lowlands, few on the ridges."""
        elev = self.elevation_m(lon, lat, seed)
        noise = self.value_noise(lon, lat, seed, salt=5, cell_deg=0.5)
        days = (88.0 * np.exp(-elev / 380.0) * (0.8 + 0.2 * (1.0 - self.wetness(lon, lat)))
                + 6.0 * noise)
        return np.clip(days, 0.0, 90.0)

    def drought_index(self, lon: np.ndarray, lat: np.ndarray, seed: int) -> np.ndarray:
        """Drought index, 0..1: driest at the region's dry spots and toward its dry side."""
        spec = self.climate.drought
        d: np.ndarray | float = 0.14
        for spot in spec.dry_spots:
            reach = self.point_distance_km(lon, lat, spot.lon, spot.lat) / spot.radius_km
            d = d + spot.weight * np.exp(-(reach**2))
        west = np.clip((spec.west_lon - lon) / spec.west_span_deg, 0.0, 1.0)
        noise = self.value_noise(lon, lat, seed, salt=6, cell_deg=0.5)
        d = d + spec.west_weight * west - 0.12 * self.wetness(lon, lat) + 0.05 * noise
        return np.clip(d, 0.0, 1.0)

    def forest_cover_pct(self, lon: np.ndarray, lat: np.ndarray, seed: int,
                         parks: np.ndarray) -> np.ndarray:
        """Tree cover, percent 0..100: dense in the parks, cleared along roads and around towns.

        Args:
            lon: Longitudes, degrees.
            lat: Latitudes, degrees.
            seed: Generator seed.
            parks: Boolean mask of the region's parks (``demo.yaml``) on the same grid.

        Returns:
            Percent tree cover (float64).
        """
        noise = self.value_noise(lon, lat, seed, salt=7, cell_deg=0.08)
        cover = 80.0 + 12.0 * noise
        for surface, line in self.region.roads.values():
            reach = 9.0 if surface == "paved" else 4.0
            d, _ = self.polyline_distance_km(lon, lat, line, max_km=3.5 * reach)
            cover *= 1.0 - 0.7 * np.exp(-((d / reach) ** 2))
        for town in self.region.spec.towns:
            p = self.region.places[town]
            near = self.point_distance_km(lon, lat, p.lon, p.lat) / 3.0
            cover *= 1.0 - 0.85 * np.exp(-(near**2))
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


def _paths(region: RegionDemo, product: str) -> dict[int | None, str]:
    """The paths the region's demo writes for one product (by return period for floods)."""
    return {f.return_period: f.path for f in region.spec.files.values() if f.product == product}


def write_rasters(
    inputs_dir: Path, region: RegionDemo, land: Sequence[BaseGeometry], seed: int, scale: int
) -> list[RasterSpec]:
    """Write every raster of a region's demo under ``inputs_dir``.

    Args:
        inputs_dir: The inputs folder being built.
        region: The region's demo data (which files, on which grids, steered by what).
        land: Land polygons (EPSG:4326) used as the sea mask.
        seed: Generator seed.
        scale: Cell-count multiplier (1 = the resolutions of ``demo.yaml``).

    Returns:
        The specs of the files written, in writing order.
    """
    terrain = Terrain(region)
    grids = region.spec.rasters
    bounds = region.data_bounds()
    written: list[RasterSpec] = []

    floods = _paths(region, "flood_depth")
    if floods:
        grid = geographic_grid(bounds, grids.flood.cell_deg, scale)
        lon, lat = grid.lonlat()
        on_land = land_mask(grid, land)
        for rp, depth in terrain.flood_depths(lon, lat, seed).items():
            if rp not in floods:
                continue
            spec = RasterSpec(
                floods[rp],
                "m",
                f"Synthetic river flood water depth, {rp}-year return period (JRC-style)",
            )
            values = _masked(depth, on_land, -9999.0)
            write_cog(inputs_dir / spec.path, values, grid, dtype="float32", nodata=-9999.0,
                      spec=spec)
            written.append(spec)
        del lon, lat, on_land

    for path in _paths(region, "landslide").values():
        grid = projected_grid(bounds, grids.landslide.cell_m, grids.landslide.crs, scale)
        lon, lat = grid.lonlat()
        spec = RasterSpec(path, "0-1", "Synthetic landslide susceptibility (0 = none, 1 = highest)")
        values = _masked(terrain.landslide_susceptibility(lon, lat, seed), land_mask(grid, land),
                         -1.0)
        write_cog(inputs_dir / spec.path, values, grid, dtype="float32", nodata=-1.0, spec=spec)
        written.append(spec)

    for path in _paths(region, "rainfall").values():
        grid = geographic_grid(bounds, grids.rainfall.cell_deg, scale)
        lon, lat = grid.lonlat()
        spec = RasterSpec(
            path, "mm/day", "Synthetic annual maximum 1-day precipitation (CHIRPS-style Rx1day)"
        )
        values = _masked(terrain.rx1day_mm(lon, lat, seed), land_mask(grid, land), -9999.0)
        write_cog(inputs_dir / spec.path, values, grid, dtype="float32", nodata=-9999.0,
                  spec=spec)
        written.append(spec)

    for path in _paths(region, "heat").values():
        grid = geographic_grid(bounds, grids.heat.cell_deg, scale)
        lon, lat = grid.lonlat()
        spec = RasterSpec(
            path, "days/year", "Synthetic number of hot days a year (NaN over sea, no nodata tag)"
        )
        values = _masked(terrain.heat_days(lon, lat, seed), land_mask(grid, land), np.nan)
        write_cog(inputs_dir / spec.path, values, grid, dtype="float32", nodata=None, spec=spec)
        written.append(spec)

    for path in _paths(region, "drought").values():
        grid = geographic_grid(bounds, grids.drought.cell_deg, scale)
        lon, lat = grid.lonlat()
        spec = RasterSpec(
            path, "0-1", "Synthetic drought index (0 = never dry, 1 = always in drought)"
        )
        values = _masked(terrain.drought_index(lon, lat, seed), land_mask(grid, land), -9999.0)
        write_cog(inputs_dir / spec.path, values, grid, dtype="float32", nodata=-9999.0,
                  spec=spec)
        written.append(spec)

    for path in _paths(region, "forest").values():
        grid = geographic_grid(bounds, grids.forest.cell_deg, scale)
        lon, lat = grid.lonlat()
        outlines = {pa["WDPAID"]: pa["outline"] for pa in region.protected_areas}
        parks = rasterize(
            ((Polygon(outlines[wdpaid]), 1) for wdpaid in region.spec.parks),
            out_shape=grid.shape,
            transform=grid.transform,
            dtype="uint8",
        ).astype(bool) if region.spec.parks else np.zeros(grid.shape, dtype=bool)
        spec = RasterSpec(path, "%", "Synthetic tree cover, percent of the cell (0-100)")
        cover = np.round(terrain.forest_cover_pct(lon, lat, seed, parks))
        values = _masked(cover, land_mask(grid, land), 255)
        write_cog(inputs_dir / spec.path, values, grid, dtype="uint8", nodata=255, spec=spec)
        written.append(spec)
    return written
