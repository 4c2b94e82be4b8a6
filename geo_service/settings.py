"""Service settings: environment variables prefixed `CMRISK_`, documented defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from data_catalog.paths import DataDir, default_data_dir


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="CMRISK_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    """The data dir (inputs, runs, user layers)."""
    public_url: str | None = None
    """Base URL clients reach the service at, when behind a proxy (e.g. https://risk.example)."""
    tile_cache_items: int = Field(default=2048, ge=0)
    """Rendered tiles kept in memory per worker (0 disables the cache)."""
    tile_max_age_s: int = Field(default=3600, ge=0)
    """Cache-Control max-age of tiles, seconds."""
    cors_origins: list[str] = Field(default_factory=list)
    """Origins allowed by CORS (an explicit allowlist; empty = none)."""

    @property
    def data(self) -> DataDir:
        """The data dir layout."""
        return DataDir(self.data_dir)
