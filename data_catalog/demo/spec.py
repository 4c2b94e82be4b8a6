"""A region's demo data: the files under `data_catalog/demo/regions/<region>/`, typed.

The generator is the same code for every region; what makes a region is data:

```
demo.yaml             bounds, the files written (input name, path, product, note), raster grids,
                      the climate gradients that steer the synthetic fields, towns, parks, the
                      synthetic events and incidents, and the sources of every file here
places.csv            named places (lon, lat, ISO3), each with the source of its position
rivers.geojson        river lines with their floodplain width at source and mouth (km)
ridges.geojson        crest lines with their height (m) and half-width (km)
roads.geojson         road lines with their surface
routes.geojson        route segments with the attributes published for them (`to_station_id`:
                      the station_id of stations.csv the segment ends at, or null)
stations.csv          reception stations and health posts (a place each, capacity)
crossing_points.csv   the points where flows are counted
protected_areas.geojson, territories.geojson   outlines with their attributes
flows.yaml            the streams of people counted (totals, monthly shape, mixes)
```

Every coordinate is (lon, lat) in degrees (WGS 84).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from data_catalog.provenance import check_parts

REGIONS_DIR = Path(__file__).parent / "regions"
KM_PER_DEG_LAT = 110.6
"""Length of a degree of latitude, km (equirectangular approximation of the generator)."""

Coord = tuple[float, float]
"""A ``(lon, lat)`` pair, degrees."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Product = Literal["flood_depth", "landslide", "rainfall", "heat", "drought", "forest",
                  "countries", "protected_areas", "territories", "routes", "stations",
                  "crossing_points", "crossings", "displacement", "incidents", "roads",
                  "admin1", "admin2"]


class DemoFile(_Strict):
    """One file the demo writes: its path under the inputs folder and what makes it."""

    path: str
    product: Product
    return_period: int | None = None
    synthetic: bool = True
    note: str
    synthetic_parts: tuple[str, ...] = ()
    """What in the file is made up (`data_catalog.provenance.PARTS` codes)."""
    real_parts: tuple[str, ...] = ()
    """What in the file is real (same codes)."""

    @field_validator("synthetic_parts", "real_parts")
    @classmethod
    def _known_parts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_parts(value)


class GeographicRaster(_Strict):
    """A raster on a lon/lat grid of `cell_deg` degrees."""

    cell_deg: float = Field(gt=0)


class ProjectedRaster(_Strict):
    """A raster on a projected grid of `cell_m` metres in `crs`."""

    cell_m: float = Field(gt=0)
    crs: str


class RasterGrids(_Strict):
    """The grid of each synthetic raster (as the real source of each would come)."""

    flood: GeographicRaster
    landslide: ProjectedRaster
    rainfall: GeographicRaster
    heat: GeographicRaster
    drought: GeographicRaster
    forest: GeographicRaster


class Wetness(_Strict):
    """Large-scale wetness, 0..1: `1 / (1 + exp(-(a_lon·(lon − lon0) − a_lat·(lat − lat0))))`."""

    lon0: float
    lat0: float
    a_lon: float
    a_lat: float


class DrySpot(_Strict):
    """A place where the dry season bites hardest: adds `weight · exp(-(d / radius_km)²)`."""

    lon: float
    lat: float
    radius_km: float = Field(gt=0)
    weight: float


class Drought(_Strict):
    """The synthetic drought index's gradients: dry spots, and drier west of `west_lon`
    (by `west_weight`, reached over `west_span_deg`)."""

    dry_spots: list[DrySpot]
    west_lon: float
    west_span_deg: float = Field(gt=0)
    west_weight: float


class Climate(_Strict):
    """What steers the synthetic climate fields."""

    wetness: Wetness
    drought: Drought
    ridge_reference_m: float = Field(gt=0)
    """A crest this high (m) counts as 1 in ridge influence."""


class Events(_Strict):
    """Synthetic disaster displacement events (IDMC-style), near real towns."""

    count: int = Field(ge=0)
    years: tuple[int, int]
    sites: list[tuple[str, str]]
    """(place, first-level administrative area)."""
    country_names: dict[str, str]


class Incidents(_Strict):
    """Synthetic deaths and disappearances (Missing Migrants-style) along route segments."""

    count: int = Field(ge=0)
    segments: dict[str, float]
    """Segment id → share of the incidents."""
    migration_route: str


class Source(_Strict):
    """A published source of the demo's real facts."""

    title: str
    publisher: str
    url: str | None = None
    date: str | None = None
    used_for: str


class DemoSpec(_Strict):
    """`demo.yaml`: everything about a region's demo that is not in its data files."""

    region: str
    bounds_lonlat: tuple[float, float, float, float]
    data_margin_deg: float = Field(ge=0)
    """Rasters extend this far (degrees) beyond the bounds, so that a projected analysis grid,
    whose envelope pokes out of the lon/lat box at its corners, is covered everywhere."""
    countries_margin_deg: float = Field(ge=0)
    centre_lat: float
    """Latitude (degrees) whose scale the generator's distances use."""
    files: dict[str, DemoFile]
    rasters: RasterGrids
    climate: Climate
    towns: list[str]
    parks: list[int]
    """WDPAIDs of the protected areas kept under dense forest."""
    events: Events
    incidents: Incidents
    sources: dict[str, Source]

    @model_validator(mode="after")
    def _flood_periods(self) -> DemoSpec:
        for name, spec in self.files.items():
            if (spec.product == "flood_depth") != (spec.return_period is not None):
                raise ValueError(f"files.{name}: flood depths, and only they, take a "
                                 "return_period")
        return self


class Stream(_Strict):
    """People counted at some points in one direction: by yearly totals shaped over the
    months, or by monthly totals; with a nationality mix by year (or `all`) and, for several
    points, the share of each point by year."""

    direction: str
    points: list[str]
    yearly_totals: dict[int, int] | None = None
    monthly_shape: dict[int, list[float]] | None = None
    monthly_totals: dict[int, list[int]] | None = None
    nationality_mix: dict[int | Literal["all"], dict[str, float]]
    point_shares: dict[int, dict[str, float]] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Stream:
        if (self.yearly_totals is None) == (self.monthly_totals is None):
            raise ValueError("a stream has yearly_totals (with monthly_shape) or "
                             "monthly_totals")
        if self.yearly_totals is not None and self.monthly_shape is None:
            raise ValueError("yearly_totals need a monthly_shape")
        if len(self.points) > 1 and self.point_shares is None:
            raise ValueError("several points need point_shares")
        return self

    def years(self) -> list[int]:
        """The years the stream covers, in order."""
        return sorted(self.yearly_totals or self.monthly_totals or {})

    def mix(self, year: int) -> dict[str, float]:
        """The nationality mix of a year."""
        return self.nationality_mix.get(year) or self.nationality_mix["all"]

    def share(self, year: int, point: str) -> float:
        """The share of a year's people counted at one point (1 for a single point)."""
        return 1.0 if self.point_shares is None else self.point_shares[year][point]


class FlowsSpec(_Strict):
    """`flows.yaml`: the streams of the crossings table, in the order they are drawn."""

    streams: list[Stream]


class Place(_Strict):
    """A named point."""

    name: str
    lon: float
    lat: float
    iso3: str


@dataclass(frozen=True)
class RegionDemo:
    """A region's demo data, read from its folder."""

    spec: DemoSpec
    places: dict[str, Place]
    rivers: dict[str, tuple[Coord, ...]]
    floodplain_km: dict[str, tuple[float, float]]
    """Half-width of each river's 500-year floodplain at its source and at its mouth, km."""
    ridges: dict[str, tuple[tuple[Coord, ...], float, float]]
    """name → (crest line, crest height m, half-width km)."""
    roads: dict[str, tuple[str, tuple[Coord, ...]]]
    """name → (surface, line)."""
    routes: list[tuple[dict[str, Any], tuple[Coord, ...]]]
    """(published attributes, line) of each route segment."""
    stations: list[dict[str, Any]]
    crossing_points: list[tuple[str, str, str, str]]
    """(point_id, place, country, direction_default)."""
    protected_areas: list[dict[str, Any]]
    """WDPA-style attributes, with `outline` (a ring of coordinates)."""
    territories: list[dict[str, Any]]
    flows: FlowsSpec

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The region's bounds: west, south, east, north (degrees)."""
        return self.spec.bounds_lonlat

    @property
    def km_per_deg_lon(self) -> float:
        """Length of a degree of longitude at the region's centre latitude, km."""
        return 111.32 * math.cos(math.radians(self.spec.centre_lat))

    def data_bounds(self) -> tuple[float, float, float, float]:
        """The extent of the region's rasters: its bounds plus the data margin, degrees."""
        w, s, e, n = self.bounds
        m = self.spec.data_margin_deg
        return (w - m, s - m, e + m, n + m)

    def countries_bounds(self) -> tuple[float, float, float, float]:
        """The bounds plus the countries margin, degrees."""
        w, s, e, n = self.bounds
        m = self.spec.countries_margin_deg
        return (w - m, s - m, e + m, n + m)


def known_demos() -> list[str]:
    """The regions with demo data, sorted."""
    return sorted(p.parent.name for p in REGIONS_DIR.glob("*/demo.yaml"))


def _lines(path: Path) -> list[tuple[dict[str, Any], tuple[Coord, ...]]]:
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return [(f["properties"], tuple((c[0], c[1]) for c in f["geometry"]["coordinates"]))
            for f in features]


def _outlines(path: Path) -> list[dict[str, Any]]:
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return [{**f["properties"],
             "outline": tuple((c[0], c[1]) for c in f["geometry"]["coordinates"][0])}
            for f in features]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_demo(region: str) -> RegionDemo:
    """Read a region's demo data.

    Raises:
        LookupError: no demo data for `region` (the message lists the regions that have).
    """
    folder = REGIONS_DIR / region
    if not (folder / "demo.yaml").is_file():
        raise LookupError(f"no demo data for region {region!r}; demo regions: "
                          f"{', '.join(known_demos())}")
    spec = DemoSpec.model_validate(yaml.safe_load((folder / "demo.yaml").read_text("utf-8")))
    flows = FlowsSpec.model_validate(yaml.safe_load((folder / "flows.yaml").read_text("utf-8")))
    places = {row["name"]: Place(name=row["name"], lon=float(row["lon"]), lat=float(row["lat"]),
                                 iso3=row["iso3"]) for row in _rows(folder / "places.csv")}
    rivers = _lines(folder / "rivers.geojson")
    ridges = _lines(folder / "ridges.geojson")
    roads = _lines(folder / "roads.geojson")
    stations = [{**row, "capacity": int(row["capacity"]) if row["capacity"] else None}
                for row in _rows(folder / "stations.csv")]
    points = [(r["point_id"], r["place"], r["country"], r["direction_default"])
              for r in _rows(folder / "crossing_points.csv")]
    routes = _lines(folder / "routes.geojson")
    station_ids = {str(s["station_id"]) for s in stations}
    for attributes, _ in routes:
        end = attributes.get("to_station_id")
        if end is not None and end not in station_ids:
            raise ValueError(f"{region}/routes.geojson: segment {attributes.get('segment_id')}: "
                             f"to_station_id {end!r} is not a station_id of stations.csv")
    return RegionDemo(
        spec=spec, places=places,
        rivers={p["name"]: line for p, line in rivers},
        floodplain_km={p["name"]: (float(p["floodplain_km_source"]),
                                   float(p["floodplain_km_mouth"])) for p, _ in rivers},
        ridges={p["name"]: (line, float(p["crest_height_m"]), float(p["half_width_km"]))
                for p, line in ridges},
        roads={p["name"]: (str(p["surface"]), line) for p, line in roads},
        routes=routes,
        stations=stations, crossing_points=points,
        protected_areas=_outlines(folder / "protected_areas.geojson"),
        territories=_outlines(folder / "territories.geojson"),
        flows=flows,
    )
