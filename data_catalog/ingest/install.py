"""Write, then switch: staged files become a new version of an input, then the files in use.

Every ingest writes its files into a scratch folder of the data dir (`.tmp/`), keeps them in the
version store as the input's next version, and only then puts them in place (a rename per file,
a folder swap per user layer). A failure before that leaves the data dir as it was; the scratch
folder is removed, and `.tmp/` too once it is empty.

A user layer may also be served from elsewhere than its folder (the service's PostGIS feature
store): a `LayerPublisher` given to `install` or `rollback` is called with the layer's new
folder, built aside, before anything is recorded or swapped, so that if it fails (the database
refused the load) neither the version store nor the layer folder changes. If recording or the
swap then fails, the publisher is called once more with the folder still in use, to put the
other side back (best effort: `cmrisk db load` reconciles what it could not).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from data_catalog.ingest.versions import (
    InputVersion,
    UnknownVersion,
    VersionStore,
    owned_paths,
)
from data_catalog.limits import check_free_disk
from data_catalog.paths import DataDir, replace_folder

SCRATCH = ".tmp"
"""The data dir's scratch folder (same file system, so renames are atomic)."""

LAYER_PREFIX = "layer:"
"""Input ids of user layers: `layer:<layer id>`; their files live in `layers/<layer id>/`."""

LayerPublisher = Callable[[str, Path | None], None]
"""Called as publisher(layer id, folder) with the folder a user layer is about to be swapped
in from (its `item.json` and data), or None when the layer is about to go; if it raises,
nothing is recorded or swapped. `data_catalog` cannot know where the service serves layers
from (it imports nothing to its right): the command line passes the PostGIS loader."""


@contextmanager
def staging(data: DataDir, label: str) -> Iterator[Path]:
    """A fresh scratch folder under `<data dir>/.tmp/`, removed on leaving (`.tmp/` too when
    nothing else is in it)."""
    scratch = data.root / SCRATCH
    folder = scratch / f"{label}-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):  # another ingest is using it, or it is gone
            scratch.rmdir()


def layer_input(layer_id: str) -> str:
    """The input id of a user layer."""
    return f"{LAYER_PREFIX}{layer_id}"


def install(data: DataDir, store: VersionStore, input_id: str, staged: Mapping[str, Path], *,
            whole: bool, publish: LayerPublisher | None = None, **meta: Any) -> InputVersion:
    """Record `staged` as the input's next version and put its files in place.

    Before the first version of an input, the files already at the staged paths (e.g. the
    generated demo input) are recorded as version 1, `baseline`, so that a rollback can
    always return to them.

    Args:
        data: The data dir.
        store: The version store.
        input_id: The input (`flow_counts`, `layer:<id>`, ...).
        staged: Path under the data dir → the staged file with its new bytes.
        whole: The staged files are the whole input (a user layer, `--replace`); otherwise
            they replace only the same paths of the current version (e.g. one flood return
            period among several).
        publish: For a user layer: told of its new folder before anything is recorded or
            swapped (see the module docstring).
        **meta: The new version's other fields (`file_name`, `rows`, `note`, ...).

    Raises:
        IngestLimitError: Keeping and installing the files would leave too little free disk.
        Exception: Whatever `publish` raised; nothing was recorded or swapped then.
    """
    needed = 2 * sum(p.stat().st_size for p in staged.values())
    check_free_disk(data.root, needed)
    history = store.versions(input_id)
    files: dict[str, Path] = {}
    if not whole and history:
        files = {p: store.blob(digest) for p, digest in history[-1].files.items()}
    files.update(staged)

    def record() -> InputVersion:
        if not store.versions(input_id):
            present = {p: data.root / p for p in _baseline_paths(data, input_id, staged)}
            store.record(input_id, present, action="baseline",
                         note="the files in use before the first ingest"
                         if present else "no files before the first ingest")
        return store.record(input_id, files, action=meta.pop("action", "ingest"), **meta)

    return _record_and_apply(data, store, input_id, files, record, publish)


def _record_and_apply(data: DataDir, store: VersionStore, input_id: str,
                      files: Mapping[str, Path], record: Callable[[], InputVersion],
                      publish: LayerPublisher | None) -> InputVersion:
    """Publish a user layer's new folder (if asked), record the version, then put its files
    in place. A user layer's folder is built aside and swapped in whole, so the service sees
    the old layer or the new one."""
    if not input_id.startswith(LAYER_PREFIX):
        version = record()
        _apply_files(data, store, version)
        return version
    layer_id = input_id[len(LAYER_PREFIX):]
    target = data.layers / layer_id
    with staging(data, f"layer-{layer_id}") as folder:
        built = _build_layer(files, folder) if files else None
        if publish is not None:
            publish(layer_id, built)
        try:
            version = record()
            _swap_layer(data, built, target, folder)
        except BaseException:
            if publish is not None:
                with contextlib.suppress(Exception):  # the error that got here is the one
                    publish(layer_id, target if target.is_dir() else None)
            raise
    return version


def _baseline_paths(data: DataDir, input_id: str, staged: Mapping[str, Path]) -> list[str]:
    if input_id.startswith(LAYER_PREFIX):
        folder = data.layers / input_id[len(LAYER_PREFIX):]
        return sorted(p.relative_to(data.root).as_posix() for p in folder.glob("*")
                      if p.is_file()) if folder.is_dir() else []
    return sorted(p for p in staged if (data.root / p).is_file())


def _apply_files(data: DataDir, store: VersionStore, version: InputVersion) -> None:
    """Make a pipeline input's files on disk exactly those of `version`, byte for byte (one
    rename each); files of other versions that this one does not hold are removed."""
    for path, digest in sorted(version.files.items()):
        target = data.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        shutil.copyfile(store.blob(digest), tmp)
        os.replace(tmp, target)
    for path in sorted(owned_paths(store, version.input) - set(version.files)):
        (data.root / path).unlink(missing_ok=True)


def _build_layer(files: Mapping[str, Path], folder: Path) -> Path:
    """A user layer's folder with these files (by base name), built in `folder`."""
    built = folder / "new"
    built.mkdir()
    for path, source in files.items():
        shutil.copyfile(source, built / Path(path).name)
    return built


def _swap_layer(data: DataDir, built: Path | None, target: Path, scratch: Path) -> None:
    """Swap the built folder in for the layer's folder (or take the folder away: None)."""
    if built is None:
        if target.exists():
            target.rename(scratch / "old")
        return
    data.layers.mkdir(parents=True, exist_ok=True)
    replace_folder(built, target, scratch)


def rollback(data: DataDir, store: VersionStore, input_id: str, number: int, *,
             publish: LayerPublisher | None = None, **meta: Any) -> InputVersion:
    """Restore version `number` of an input byte for byte, recorded as a new version.

    Args:
        data: The data dir.
        store: The version store.
        input_id: The input (`flow_counts`, `layer:<id>`, ...).
        number: The version to restore.
        publish: For a user layer: told of the restored folder before anything is recorded
            or swapped (see the module docstring).
        **meta: The new version's other fields (`user`, ...).

    Raises:
        UnknownVersion: No such input or version (the message lists what there is).
        Exception: Whatever `publish` raised; nothing was recorded or swapped then.
    """
    history = store.versions(input_id)
    if not history:
        known = ", ".join(store.inputs()) or "none"
        raise UnknownVersion(f"no versions of {input_id!r}; inputs with versions: {known}")
    chosen = next((v for v in history if v.version == number), None)
    if chosen is None:
        raise UnknownVersion(f"{input_id} has no version {number}; versions: "
                             f"{', '.join(str(v.version) for v in history)}")
    files = {p: store.blob(digest) for p, digest in chosen.files.items()}

    def record() -> InputVersion:
        return store.record(input_id, files, action="rollback", restores=number,
                            rows=chosen.rows, file_name=chosen.file_name,
                            file_sha256=chosen.file_sha256, report=chosen.report,
                            note=f"restores version {number}", **meta)

    return _record_and_apply(data, store, input_id, files, record, publish)
