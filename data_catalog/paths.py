"""Where cmrisk keeps its data: the data dir and its fixed layout.

```
<data dir>/inputs/<source>/                   inputs of the default region (Darién)
<data dir>/runs/<run_id>/                     its runs
<data dir>/current                            symlink to its served run, replaced atomically
<data dir>/regions/<region>/inputs/<source>/  the same three for any other region
<data dir>/regions/<region>/runs/<run_id>/
<data dir>/regions/<region>/current
<data dir>/layers/<id>/                       user layers (`cmrisk ingest raster|vector`),
                                              served beside every region's run
<data dir>/versions/                           every version of every ingested input
                                              (data_catalog.ingest.versions)
<data dir>/.cache/blobs/                      contents of versions kept in the database
                                              (with CMRISK_DATABASE_URL), as files
```

The default region keeps the top of the data dir, as before regions existed, so that data
dirs, scripts and URLs of the one-region service keep working; every other region has the
same three entries under `regions/<region>/`.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "CMRISK_DATA_DIR"
"""Environment variable naming the data dir (default `./data`)."""

USER_LAYER_ITEM = "item.json"
"""The STAC item of a user layer, beside its data in `layers/<id>/`."""

SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
"""What a layer, run, region or collection id may look like: it is also a folder name."""

DEFAULT_REGION = "darien"
"""The region whose data sit at the top of the data dir, and that `cmrisk run` and the
service's unprefixed URLs mean when no region is named."""
REGIONS_FOLDER = "regions"


def default_data_dir() -> Path:
    """The data dir from `CMRISK_DATA_DIR`, else `./data` (absolute)."""
    return Path(os.environ.get(DATA_DIR_ENV, "data")).resolve()


def _served(link: Path) -> Path | None:
    """The folder a `current` link points at, or None when there is none."""
    if not link.is_symlink() and not link.is_dir():
        return None
    resolved = link.resolve()
    return resolved if resolved.is_dir() else None


@dataclass(frozen=True)
class RegionDir:
    """Where one region's data live: its inputs, its runs and the link to its served run."""

    region: str
    root: Path

    @property
    def inputs(self) -> Path:
        """Pipeline inputs of the region, one folder per source."""
        return self.root / "inputs"

    @property
    def runs(self) -> Path:
        """The region's pipeline runs, one folder per run id."""
        return self.root / "runs"

    @property
    def current(self) -> Path:
        """The symlink to the region's served run."""
        return self.root / "current"

    def current_run(self) -> Path | None:
        """The folder of the served run, or None when no run has completed."""
        return _served(self.current)

    def ensure(self) -> RegionDir:
        """Create the region's inputs and runs folders; returns self."""
        for folder in (self.inputs, self.runs):
            folder.mkdir(parents=True, exist_ok=True)
        return self


@dataclass(frozen=True)
class DataDir:
    """The layout of one data dir; creates nothing until asked.

    `inputs`, `runs`, `current` and `current_run` are the default region's (`region()`).
    """

    root: Path

    @property
    def inputs(self) -> Path:
        """Pipeline inputs of the default region, one folder per source."""
        return self.root / "inputs"

    @property
    def layers(self) -> Path:
        """User layers, one folder per layer id."""
        return self.root / "layers"

    @property
    def runs(self) -> Path:
        """Pipeline runs of the default region, one folder per run id."""
        return self.root / "runs"

    @property
    def current(self) -> Path:
        """The symlink to the default region's served run."""
        return self.root / "current"

    def current_run(self) -> Path | None:
        """The folder of the default region's served run, or None."""
        return _served(self.current)

    def region(self, region: str = DEFAULT_REGION) -> RegionDir:
        """Where one region's inputs and runs live.

        Raises:
            ValueError: `region` could not be a region id (it is also a folder name).
        """
        if not SAFE_ID.fullmatch(region) or region == REGIONS_FOLDER:
            raise ValueError(f"{region[:80]!r} is not a region id")
        if region == DEFAULT_REGION:
            return RegionDir(region, self.root)
        return RegionDir(region, self.root / REGIONS_FOLDER / region)

    def served_regions(self) -> list[str]:
        """The regions with a served run: the default region first, then by id."""
        found = [DEFAULT_REGION] if self.current_run() is not None else []
        folder = self.root / REGIONS_FOLDER
        if folder.is_dir():
            for entry in sorted(folder.iterdir()):
                if entry.name != DEFAULT_REGION and SAFE_ID.fullmatch(entry.name) \
                        and _served(entry / "current") is not None:
                    found.append(entry.name)
        return found

    def ensure(self) -> DataDir:
        """Create the top-level folders; returns self."""
        for folder in (self.inputs, self.layers, self.runs):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def switch_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically (a new symlink, then rename over the old one).

    Readers see either the old target or the new one, never a missing link.
    """
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    relative = os.path.relpath(target, link.parent)
    tmp.symlink_to(relative, target_is_directory=True)
    os.replace(tmp, link)


def replace_folder(staging: Path, target: Path, scratch: Path) -> None:
    """Rename the finished folder `staging` to `target`, replacing an older `target`.

    The old folder is first moved to `scratch` (outside any folder a reader watches) and
    removed only once the new one is in place; if the rename fails, the old one comes back.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.exists():
        old = scratch / f"old-{target.name}-{uuid.uuid4().hex[:8]}"
        target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
