"""Ingest limits: what one file may make `cmrisk ingest` read, extract and write.

Settings (environment variables `CMRISK_INGEST_<NAME>`, documented in SECURITY.md):

- `max_raster_pixels` (250,000,000): width × height × bands a raster may declare (a 560 KB
  sparse GeoTIFF can declare 40,000 × 40,000);
- `max_raster_bytes` (2 GiB): the uncompressed bytes a raster may declare;
- `min_free_disk_bytes` (1 GiB): disk that must stay free on the data dir's file system after
  the ingest's writes;
- `max_extracted_bytes` (2 GiB): bytes written when extracting one archive, nested ones
  included;
- `max_compression_ratio` (200): uncompressed / compressed size of an archive member that
  expands past 16 MiB (small files, such as padded DBF tables, compress far more, harmlessly);
- `max_archive_members` (10,000): files in one archive, nested ones included;
- `max_archive_depth` (1): archives inside archives: 1 opens a zip inside the zip (the WDPA
  download), no deeper;
- `max_features` (2,000,000): features (vector) or rows (table) of one file.

Every refusal is an `IngestLimitError` (a `SourceFormatError`) with one message naming the file,
the limit, the value found and the setting to change; it is raised before anything is written
to the data dir. Archive members are extracted by streaming copies that count bytes as they
go, so an archive that lies about its sizes is stopped at the limit, not after.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from data_catalog.errors import SourceFormatError

GIB = 1 << 30
COPY_CHUNK = 1 << 20
RATIO_FLOOR_BYTES = 16 << 20
"""Members that expand to less than this are not held to the compression ratio."""


class IngestLimits(BaseSettings):
    """The ingest limits (see the module docstring), from `CMRISK_INGEST_*` variables."""

    model_config = SettingsConfigDict(env_prefix="CMRISK_INGEST_", extra="ignore", frozen=True)

    max_raster_pixels: int = Field(default=250_000_000, gt=0)
    """Most pixels (width × height × bands) a raster may declare."""
    max_raster_bytes: int = Field(default=2 * GIB, gt=0)
    """Most uncompressed bytes a raster may declare."""
    min_free_disk_bytes: int = Field(default=GIB, ge=0)
    """Bytes that must stay free on the data dir's file system after an ingest."""
    max_extracted_bytes: int = Field(default=2 * GIB, gt=0)
    """Most bytes extracted from one archive (nested ones included)."""
    max_compression_ratio: float = Field(default=200.0, gt=1)
    """Highest uncompressed/compressed ratio of an archive member."""
    max_archive_members: int = Field(default=10_000, gt=0)
    """Most files in one archive (nested ones included)."""
    max_archive_depth: int = Field(default=1, ge=0)
    """How many levels of archives inside an archive are opened."""
    max_features: int = Field(default=2_000_000, gt=0)
    """Most features or rows of one file."""


class IngestLimitError(SourceFormatError):
    """A file beyond an ingest limit; nothing was written.

    Attributes:
        setting: The environment variable of the limit (e.g. `CMRISK_INGEST_MAX_RASTER_PIXELS`).
    """

    def __init__(self, message: str, *, setting: str, path: str | Path | None = None) -> None:
        self.setting = setting
        super().__init__(f"{message}; refused (limit: {setting})", path=path)


_ACTIVE: ContextVar[IngestLimits | None] = ContextVar("cmrisk_ingest_limits", default=None)


def current_limits() -> IngestLimits:
    """The limits in force: those of `use_limits`, else the environment's."""
    return _ACTIVE.get() or IngestLimits()


@contextmanager
def use_limits(limits: IngestLimits) -> Iterator[IngestLimits]:
    """Make `limits` the ones the readers and writers check, for the duration of the block."""
    token = _ACTIVE.set(limits)
    try:
        yield limits
    finally:
        _ACTIVE.reset(token)


def _setting(name: str) -> str:
    return f"CMRISK_INGEST_{name.upper()}"


def check_raster_size(width: int, height: int, count: int, dtype: str, path: Path) -> int:
    """Refuse a raster whose declared size passes the limits; returns its declared bytes.

    Args:
        width: Columns (pixels).
        height: Rows (pixels).
        count: Bands.
        dtype: Sample type (numpy name, e.g. `float32`).
        path: The file (named in the message).

    Raises:
        IngestLimitError: Too many pixels or bytes.
    """
    limits = current_limits()
    pixels = int(width) * int(height) * max(1, int(count))
    size = pixels * np.dtype(dtype).itemsize
    if pixels > limits.max_raster_pixels:
        raise IngestLimitError(
            f"the raster declares {width:,} × {height:,} pixels × {count} band(s) = "
            f"{pixels:,} pixels, more than the {limits.max_raster_pixels:,} allowed",
            setting=_setting("max_raster_pixels"), path=path)
    if size > limits.max_raster_bytes:
        raise IngestLimitError(
            f"the raster declares {size:,} bytes uncompressed ({pixels:,} pixels of {dtype}), "
            f"more than the {limits.max_raster_bytes:,} allowed",
            setting=_setting("max_raster_bytes"), path=path)
    return size


def check_feature_count(count: int, path: Path, *, what: str = "features") -> None:
    """Refuse a file with more features (or rows) than allowed.

    Raises:
        IngestLimitError: Too many.
    """
    limits = current_limits()
    if count > limits.max_features:
        raise IngestLimitError(
            f"the file holds {count:,} {what}, more than the {limits.max_features:,} allowed",
            setting=_setting("max_features"), path=path)


def check_free_disk(folder: Path, needed: int, *, path: Path | None = None) -> None:
    """Refuse to write `needed` bytes under `folder` if less than the kept free disk would
    remain.

    Raises:
        IngestLimitError: Not enough free disk.
    """
    limits = current_limits()
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free - needed < limits.min_free_disk_bytes:
        raise IngestLimitError(
            f"writing {needed:,} bytes would leave {max(0, free - needed):,} bytes free on the "
            f"data dir's disk, less than the {limits.min_free_disk_bytes:,} to keep free",
            setting=_setting("min_free_disk_bytes"), path=path)


@dataclass
class _Budget:
    """What the extraction of one archive (with its nested ones) has used so far."""

    source: Path
    limits: IngestLimits
    written: int = 0
    members: int = 0
    seen: list[str] = field(default_factory=list)


def safe_extract(archive: Path, into: Path) -> None:
    """Extract a zip (and the zips inside it, up to the depth limit) within the limits.

    Members that would land outside `into` (zip slip) are refused; sizes are counted while
    copying, so a member that decompresses past its declared size is stopped at the limit.
    Nested archives deeper than the limit are refused, not skipped.

    Raises:
        SourceFormatError: A broken zip, or a member path outside the folder.
        IngestLimitError: Past a size, ratio, member-count or depth limit.
    """
    budget = _Budget(archive, current_limits())
    _extract(archive, into, budget, depth=0)


def _extract(archive: Path, into: Path, budget: _Budget, depth: int) -> None:
    limits = budget.limits
    root = into.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            budget.members += len(members)
            if budget.members > limits.max_archive_members:
                raise IngestLimitError(
                    f"the archive holds more than {limits.max_archive_members:,} files",
                    setting=_setting("max_archive_members"), path=budget.source)
            for member in members:
                target = (into / member.filename).resolve()
                if not target.is_relative_to(root):
                    raise SourceFormatError(f"unsafe path in zip: {member.filename!r}",
                                            path=budget.source)
                declared_ratio = member.file_size / max(1, member.compress_size)
                if (member.file_size > RATIO_FLOOR_BYTES
                        and declared_ratio > limits.max_compression_ratio):
                    raise IngestLimitError(
                        f"{member.filename!r} expands {declared_ratio:,.0f} times "
                        f"({member.compress_size:,} → {member.file_size:,} bytes), more than "
                        f"the ratio {limits.max_compression_ratio:g} allowed",
                        setting=_setting("max_compression_ratio"), path=budget.source)
                _copy_member(zf, member, target, budget)
    except zipfile.BadZipFile as exc:
        raise SourceFormatError(f"not a valid zip archive ({exc})", path=budget.source) from exc
    inner = sorted(into.rglob("*.zip"))
    if inner and depth >= limits.max_archive_depth:
        raise IngestLimitError(
            f"{inner[0].name!r} is an archive {depth + 1} level(s) inside the archive; at most "
            f"{limits.max_archive_depth} level(s) are opened",
            setting=_setting("max_archive_depth"), path=budget.source)
    for nested in inner:
        sub = nested.with_suffix("")
        sub.mkdir(exist_ok=True)
        _extract(nested, sub, budget, depth + 1)
        nested.unlink()


def _copy_member(zf: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path,
                 budget: _Budget) -> None:
    limits = budget.limits
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with zf.open(member) as src, target.open("wb") as dst:
        while chunk := src.read(COPY_CHUNK):
            written += len(chunk)
            budget.written += len(chunk)
            if budget.written > limits.max_extracted_bytes:
                raise IngestLimitError(
                    f"extracting it passes {limits.max_extracted_bytes:,} bytes (at "
                    f"{member.filename!r})", setting=_setting("max_extracted_bytes"),
                    path=budget.source)
            if (written > RATIO_FLOOR_BYTES
                    and written / max(1, member.compress_size) > limits.max_compression_ratio):
                raise IngestLimitError(
                    f"{member.filename!r} expands more than {limits.max_compression_ratio:g} "
                    "times its compressed size", setting=_setting("max_compression_ratio"),
                    path=budget.source)
            dst.write(chunk)
