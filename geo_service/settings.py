"""Service settings: environment variables prefixed `CMRISK_`, documented defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from data_catalog.i18n import DEFAULT_LOCALES
from data_catalog.paths import DEFAULT_REGION, DataDir, default_data_dir
from geo_service.auth import TokenSpec

METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's multiprocess folder: set by `cmrisk serve` before any worker imports
prometheus-client (so it must not be imported from a module that imports that library)."""


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="CMRISK_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    """The data dir (inputs, runs, user layers)."""
    default_region: str = Field(default=DEFAULT_REGION, pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    """The region the unprefixed routes serve (`/layers`, `/tiles/…`); every region is also
    served under `/regions/{region}/…`."""
    public_url: str | None = None
    """Base URL clients reach the service at, when behind a proxy (e.g. https://risk.example):
    every link uses it, whatever `Host` a request names."""
    allowed_hosts: list[str] = Field(default_factory=lambda: ["localhost", "127.0.0.1", "::1"])
    """Host names requests may name in `Host` (JSON list; the host of `public_url` is added);
    others get 400. Without `public_url`, links are built from an allowed `Host`. `*` allows
    any host: only behind a proxy that sets `Host` itself."""
    body_timeout_s: float = Field(default=30.0, gt=0)
    """Time for a whole request body to arrive, s (408 past it)."""
    tile_cache_items: int = Field(default=2048, ge=0)
    """Rendered tiles kept in memory per worker (0 disables the cache)."""
    tile_max_age_s: int = Field(default=3600, ge=0)
    """Cache-Control max-age of tiles, seconds."""
    cors_origins: list[str] = Field(default_factory=list)
    locales: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LOCALES))
    """The locale each language resolves to (`lang=es` → `es-PA`): how numbers and dates
    are written for this deployment (`CMRISK_LOCALES='{"es": "es-CO"}'` for Colombia)."""
    """Origins allowed by CORS (an explicit allowlist; empty = none)."""
    raster_timeout_s: float = Field(default=20.0, gt=0)
    """Time limit of every request that reads rasters (tiles, analysis, area statistics), s;
    503 problem+json past it. Analysis and area statistics run in work processes that are
    killed at the limit; a tile reads at most one tile's worth of an overview."""
    work_processes: int = Field(default=1, ge=1)
    """Work processes per serving worker: analyses (and area statistics) that run at once."""
    work_memory_mb: int = Field(default=768, ge=256)
    """Address-space limit of each work process, MiB (`RLIMIT_AS`); work past it is stopped
    (503). A serving worker's process tree stays under its own size plus
    `work_processes` × this."""
    work_queue: int = Field(default=8, ge=0)
    """Analyses that may wait for a work process per serving worker; more are refused (503)."""
    analysis_max_area_km2: float = Field(default=1_000_000.0, gt=0)
    """Largest area `POST /analysis` accepts, km² (geodesic)."""
    analysis_max_vertices: int = Field(default=100_000, gt=3)
    """Most vertices of an analysis area."""
    analysis_max_repair_vertices: int = Field(default=200, ge=0)
    """Most vertices of an invalid (self-intersecting) analysis polygon that is repaired;
    larger invalid ones are refused with 422 before any repair."""
    analysis_max_cells: int = Field(default=1_000_000, ge=1)
    """Most raster cells an analysis reads per layer; larger areas are read from overviews
    (the response states the resolution used)."""
    analysis_max_body_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    """Largest request body of `POST /analysis`, bytes (413 above)."""
    analysis_max_layers: int = Field(default=40, gt=0)
    """Most layers in one analysis request."""
    database_url: str | None = None
    """A PostGIS feature store, as a PostgreSQL URL (`postgresql://user@host:5432/db`, in
    `CMRISK_DATABASE_URL`): features, downloads and areas are then served from the collections
    that `cmrisk run`, `cmrisk ingest` and `cmrisk db load` put there. Unset: the embedded
    GeoParquet store reads the data dir."""
    database_pool_size: int = Field(default=8, gt=0)
    """Database connections per service process (PostGIS store)."""
    database_timeout_s: float = Field(default=10.0, gt=0)
    """Longest wait for a database connection, s; 503 problem+json past it."""
    tokens: list[TokenSpec] = Field(default_factory=list)
    """Bearer tokens for restricted layers, as JSON in `CMRISK_TOKENS`: a list of
    {name, sha256, scopes, expires}; only hashes, never tokens, are configured."""

    @property
    def data(self) -> DataDir:
        """The data dir layout."""
        return DataDir(self.data_dir)
