"""Several regions in one service: each region's layers, areas and features, and `/regions`.

Every route of the service is served twice: as it always was, for the default region
(`Settings.default_region`, Darién), and under `/regions/{region}/…` for any region of the
data dir (`/regions/corridor/tiles/risk/{z}/{x}/{y}.png`, `/regions/corridor/collections`, …).
Links in a region's answers stay under its prefix, so a client given
`/regions/corridor/` (an OGC API landing page) finds everything of that region from there.
The services of a region (registry, areas, feature store) are made on first use and kept.
With a database (`Settings.database_url`) every region's feature store is a PostGIS store on
one connection pool per process (`app.regions_of`); its areas are read through it too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Path, Request

from data_catalog.paths import REGIONS_FOLDER, SAFE_ID, DataDir
from geo_service.areas_store import AreasStore
from geo_service.errors import NotFound
from geo_service.features.model import FeatureStore
from geo_service.features.parquet import GeoParquetFeatureStore
from geo_service.features.sources import registry_sources
from layers.registry import Registry

REGION_PREFIX = f"/{REGIONS_FOLDER}/{{region}}"
"""The path prefix of a region's routes."""


class RegionNotFound(NotFound):
    """A region the data dir holds nothing of."""

    title = "Region not found"


StoreFactory = Callable[[Registry], FeatureStore]
"""Makes the feature store of a region from its registry."""


def embedded_store(registry: Registry) -> FeatureStore:
    """The embedded feature store over a registry's vector layers (GeoParquet files)."""
    return GeoParquetFeatureStore(registry_sources(registry))


@dataclass
class RegionServices:
    """What the routes of one region read: its registry, its scored areas, its features."""

    region: str
    registry: Registry
    make_store: StoreFactory = embedded_store
    areas: AreasStore = field(init=False)
    _features: FeatureStore | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.areas = AreasStore(self.registry, self.features)

    def features(self) -> FeatureStore:
        """The region's feature store (made on first use): the embedded one over its vector
        layers, or PostGIS when the service has a database."""
        with self._lock:
            if self._features is None:
                self._features = self.make_store(self.registry)
            return self._features


class Regions:
    """The regions a service serves, by id, each made on first use.

    Args:
        data: the data dir.
        default: the region of the unprefixed routes.
        make_store: makes a region's feature store (default: the embedded one).
        close: releases what the stores share (the database pool), at shutdown.
    """

    def __init__(self, data: DataDir, default: str, *,
                 make_store: StoreFactory = embedded_store,
                 close: Callable[[], None] | None = None) -> None:
        self.data = data
        self.default = default
        self.make_store = make_store
        self._close = close
        self._lock = threading.Lock()
        self._regions: dict[str, RegionServices] = {}

    def known(self, region: str) -> bool:
        """Whether the data dir has a place for this region (the default region always)."""
        if region == self.default:
            return True
        if not SAFE_ID.fullmatch(region) or region == REGIONS_FOLDER:
            return False
        return self.data.region(region).root.is_dir()

    def get(self, region: str) -> RegionServices:
        """The services of one region.

        Raises:
            RegionNotFound: the data dir holds nothing of this region.
        """
        if not self.known(region):
            raise RegionNotFound(f"no region {region[:80]!r}; served regions: "
                                 f"{', '.join(self.data.served_regions()) or 'none'}",
                                 parameter="region")
        with self._lock:
            services = self._regions.get(region)
            if services is None:
                services = RegionServices(region, Registry(self.data, region),
                                          self.make_store)
                self._regions[region] = services
            return services

    def close(self) -> None:
        """Release what the feature stores hold (database connections)."""
        if self._close is not None:
            self._close()

    def served(self) -> list[str]:
        """The regions with a current run: the default first, then by id."""
        found = self.data.served_regions()
        return sorted(found, key=lambda region: (region != self.default, region))


def requested_region(request: Request) -> str:
    """The region of a request: its `{region}` path parameter, else the default region."""
    region = request.path_params.get("region")
    return str(region) if region is not None else request.app.state.regions.default


def region_services(request: Request) -> RegionServices:
    """The services of the request's region (404 problem naming `region` when unknown)."""
    regions: Regions = request.app.state.regions
    return regions.get(requested_region(request))


async def region_path(
    region: Annotated[str, Path(
        description="A region of the data dir (`GET /regions` lists them), e.g. `corridor`.",
        examples=["darien"], max_length=64)],
    request: Request,
) -> str:
    """The `{region}` of a prefixed route, checked before the route runs."""
    request.app.state.regions.get(region)
    return region


def region_prefix(request: Request) -> str:
    """`/regions/<region>` for a request made under a region's prefix, else ``""``."""
    region = request.path_params.get("region")
    return f"/{REGIONS_FOLDER}/{region}" if region is not None else ""


RegionPathDep = Annotated[str, Depends(region_path)]
