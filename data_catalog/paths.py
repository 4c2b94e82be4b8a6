"""Where cmrisk keeps its data: the data dir and its fixed layout.

```
<data dir>/inputs/<source>/   pipeline inputs (demo or ingested)
<data dir>/layers/<id>/       user layers from `cmrisk ingest raster|vector`
<data dir>/runs/<run_id>/     one pipeline run
<data dir>/current            symlink to the served run, replaced atomically
<data dir>/versions/          every version of every ingested input (data_catalog.ingest.versions)
```
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
"""What a layer, run or collection id may look like: it is also a folder name."""


def default_data_dir() -> Path:
    """The data dir from `CMRISK_DATA_DIR`, else `./data` (absolute)."""
    return Path(os.environ.get(DATA_DIR_ENV, "data")).resolve()


@dataclass(frozen=True)
class DataDir:
    """The layout of one data dir; creates nothing until asked."""

    root: Path

    @property
    def inputs(self) -> Path:
        """Pipeline inputs, one folder per source."""
        return self.root / "inputs"

    @property
    def layers(self) -> Path:
        """User layers, one folder per layer id."""
        return self.root / "layers"

    @property
    def runs(self) -> Path:
        """Pipeline runs, one folder per run id."""
        return self.root / "runs"

    @property
    def current(self) -> Path:
        """The symlink to the served run."""
        return self.root / "current"

    def current_run(self) -> Path | None:
        """The folder of the served run, or None when no run has completed."""
        target = self.current
        if not target.is_symlink() and not target.is_dir():
            return None
        resolved = target.resolve()
        return resolved if resolved.is_dir() else None

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
