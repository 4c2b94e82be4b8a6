"""The run store: a region's kept runs and the link to the one served.

A run is a folder `runs/<run_id>/` that is complete once `run.json` (`RUN_MANIFEST`) is in it;
`current` is a symlink to the served run, replaced atomically. The pipeline writes runs, the
service and the command line read them: the rules live here, beside `DataDir`, so that
reading a run needs neither the pipeline nor dask.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

RUN_MANIFEST = "run.json"
"""The file that marks a run folder complete: written last, atomically."""


class RunFolders(Protocol):
    """Where a region's runs live: `runs/` and the `current` link (`data_catalog.paths`)."""

    @property
    def runs(self) -> Path:
        """The folder of the run folders."""
        ...

    @property
    def current(self) -> Path:
        """The symlink to the served run."""
        ...

    def current_run(self) -> Path | None:
        """The served run's folder, or None."""
        ...


def new_run_id(now: datetime) -> str:
    """A sortable, folder-safe run id from the UTC time, e.g. `20261129t021530-123456`."""
    return now.strftime("%Y%m%dt%H%M%S-%f")


def complete_runs(store: RunFolders) -> list[Path]:
    """Folders of completed runs (with run.json), oldest first."""
    if not store.runs.is_dir():
        return []
    return sorted(p for p in store.runs.iterdir() if (p / RUN_MANIFEST).is_file())


def clean_partial_runs(store: RunFolders) -> list[str]:
    """Remove folders of killed or failed runs (no run.json); returns their names."""
    removed = []
    if store.runs.is_dir():
        for folder in store.runs.iterdir():
            if folder.is_dir() and not (folder / RUN_MANIFEST).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
    return removed


def prune_runs(store: RunFolders, keep: int) -> list[str]:
    """Keep the newest `keep` completed runs (and always the current one); returns removed."""
    current = store.current_run()
    runs = complete_runs(store)
    removed = []
    for folder in runs[: max(0, len(runs) - keep)]:
        if current is not None and folder.resolve() == current:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write `run.json` atomically: from then on the run folder is complete."""
    tmp = folder / f".{RUN_MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    tmp.replace(folder / RUN_MANIFEST)


def read_manifest(folder: Path) -> dict[str, Any]:
    """A run's `run.json`."""
    manifest: dict[str, Any] = json.loads((folder / RUN_MANIFEST).read_text(encoding="utf-8"))
    return manifest
