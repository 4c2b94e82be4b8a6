"""Versioned inputs: every ingest is a new version of its input; nothing is overwritten.

An *input* is what one `cmrisk ingest` writes: a source that feeds the pipeline (`flow_counts`,
`wdpa`, ...) or a user layer (`layer:<id>`). A *version* is the complete state of that input's
files after an ingest (or a rollback): their paths under the data dir and their SHA-256, with
who made it, when, from which file and how many rows. The bytes of every version are kept, so
`rollback` restores any version byte for byte; the record of a rollback is itself a new version,
so the history is never rewritten.

`VersionStore` is the interface; `FileVersionStore` keeps it in the data dir:

```
<data dir>/versions/blobs/sha256/<2 hex>/<62 hex>   file contents, written once, read-only
<data dir>/versions/<input>/<NNNNNN>.json           one record per version, written atomically
```

With `CMRISK_DATABASE_URL` set (the PostGIS database of the feature store), `version_store`
gives `versions_postgres.PostgresVersionStore` instead: the same five methods (`versions`,
`record`, `blob`, `find`, `inputs`), the records and contents in the database.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from data_catalog.errors import CatalogError
from data_catalog.paths import DataDir

VERSIONS_DIR = "versions"
"""The store's folder under the data dir."""


class UnknownVersion(CatalogError, LookupError):
    """An input or version that the store does not hold (the message lists what it holds)."""

    def __str__(self) -> str:
        return str(self.args[0])


class InputVersion(BaseModel):
    """One version of one input.

    Attributes:
        input: The input id (`flow_counts`, `wdpa`, `layer:<id>`, ...).
        version: 1, 2, 3, ... in the order they were made.
        created: When it was made (UTC).
        user: Who made it (`user@host`).
        action: `baseline` (the files present before the first ingest), `ingest` or
            `rollback`.
        file_name: The base name of the ingested file (none for a baseline or rollback).
        file_sha256: The SHA-256 of the ingested file (hex).
        rows: Counts of what the ingest read and stored (read, kept, rejected, added,
            replaced, ...), by name.
        note: One line on what happened (e.g. `added 1 month; replaced 0`).
        restores: For a rollback, the version whose files it restored.
        files: The input's files in this version: path under the data dir → SHA-256 (hex).
        report: SHA-256 of the reader's JSON report in the blob store, when there is one.
    """

    model_config = ConfigDict(frozen=True)

    input: str
    version: int
    created: datetime
    user: str
    action: str
    file_name: str | None = None
    file_sha256: str | None = None
    rows: dict[str, int] = Field(default_factory=dict)
    note: str = ""
    restores: int | None = None
    files: dict[str, str] = Field(default_factory=dict)
    report: str | None = None


class VersionStore(Protocol):
    """Where the versions of inputs are kept (a folder here; a database later)."""

    def inputs(self) -> list[str]:
        """The ids of every input with at least one version, sorted."""
        ...

    def versions(self, input_id: str) -> list[InputVersion]:
        """Every version of one input, oldest first (empty when it has none)."""
        ...

    def record(self, input_id: str, files: Mapping[str, Path], **meta: Any) -> InputVersion:
        """Keep the bytes of `files` (path under the data dir → file holding the bytes) and
        record them as the next version of the input; `meta` fills `InputVersion`'s other
        fields. Returns the new version."""
        ...

    def blob(self, sha256: str) -> Path:
        """A readable file holding the bytes with this SHA-256 (raises `UnknownVersion`)."""
        ...

    def find(self, path: str, sha256: str) -> InputVersion | None:
        """The latest version of any input that holds `path` with these bytes, if any."""
        ...


def who() -> str:
    """`user@host` of the person running the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (e.g. in a container)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class FileVersionStore:
    """`VersionStore` in `<data dir>/versions/` (see the module docstring).

    Records are claimed with a hard link, so two ingests at once never get one number.
    """

    def __init__(self, data: DataDir) -> None:
        self.data = data
        self.root = data.root / VERSIONS_DIR

    def _folder(self, input_id: str) -> Path:
        return self.root / input_id

    def inputs(self) -> list[str]:
        """The ids of every input with at least one version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and p.name != "blobs" and any(p.glob("*.json")))

    def versions(self, input_id: str) -> list[InputVersion]:
        """Every version of one input, oldest first."""
        folder = self._folder(input_id)
        if not folder.is_dir():
            return []
        return [InputVersion.model_validate_json(p.read_text(encoding="utf-8"))
                for p in sorted(folder.glob("[0-9]*.json"))]

    def blob(self, sha256: str) -> Path:
        """The stored file with these bytes."""
        path = self.root / "blobs" / "sha256" / sha256[:2] / sha256[2:]
        if not path.is_file():
            raise UnknownVersion(f"the version store has no file with sha256 {sha256}")
        return path

    def _keep(self, source: Path) -> str:
        digest = sha256_file(source)
        target = self.root / "blobs" / "sha256" / digest[:2] / digest[2:]
        if target.is_file():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        shutil.copyfile(source, tmp)
        tmp.chmod(0o444)
        os.replace(tmp, target)
        return digest

    def keep_bytes(self, data: bytes) -> str:
        """Keep a small blob (e.g. a JSON report); returns its SHA-256."""
        tmp = self.root / f".blob-{uuid.uuid4().hex}"
        self.root.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        try:
            return self._keep(tmp)
        finally:
            tmp.unlink()

    def record(self, input_id: str, files: Mapping[str, Path], **meta: Any) -> InputVersion:
        """Keep the bytes of `files` and record them as the input's next version."""
        digests = {path: self._keep(source) for path, source in sorted(files.items())}
        folder = self._folder(input_id)
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            existing = self.versions(input_id)
            number = existing[-1].version + 1 if existing else 1
            version = InputVersion(input=input_id, version=number,
                                   created=meta.pop("created", None) or datetime.now(UTC),
                                   user=meta.pop("user", None) or who(), files=digests, **meta)
            tmp = folder / f".{number:06d}.{uuid.uuid4().hex[:8]}"
            tmp.write_text(version.model_dump_json(indent=2), encoding="utf-8")
            try:
                os.link(tmp, folder / f"{number:06d}.json")  # fails if the number is taken
            except FileExistsError:
                meta.setdefault("created", version.created)
                meta.setdefault("user", version.user)
                continue
            finally:
                tmp.unlink()
            return version

    def find(self, path: str, sha256: str) -> InputVersion | None:
        """The latest version of any input holding `path` with these bytes."""
        found = None
        for input_id in self.inputs():
            for version in self.versions(input_id):
                if version.files.get(path) == sha256:
                    found = version
        return found


DATABASE_URL_ENV = "CMRISK_DATABASE_URL"
"""The environment variable naming the database of the service's feature store (and, when
set, of the version store); the service reads it as `Settings.database_url`."""


def version_store(data: DataDir) -> VersionStore:
    """The version store of a data dir: in the database named by `CMRISK_DATABASE_URL` when it
    is set, else in `<data dir>/versions/`."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        from data_catalog.ingest.versions_postgres import PostgresVersionStore

        return PostgresVersionStore(url, data)
    return FileVersionStore(data)


def matching_version(store: VersionStore, data: DataDir, input_id: str) -> InputVersion | None:
    """The latest version whose files are exactly those on disk now (None if none is)."""
    owned = owned_paths(store, input_id)
    on_disk = {p for p in owned if (data.root / p).is_file()}
    for version in reversed(store.versions(input_id)):
        if on_disk != set(version.files):
            continue
        if all(sha256_file(data.root / p) == digest for p, digest in version.files.items()):
            return version
    return None


def owned_paths(store: VersionStore, input_id: str) -> set[str]:
    """Every path any version of the input has held (what a restore may write or remove)."""
    return {p for v in store.versions(input_id) for p in v.files}


def report_of(store: VersionStore, version: InputVersion) -> dict[str, Any] | None:
    """The reader's report kept with a version, when there is one."""
    if version.report is None:
        return None
    loaded: dict[str, Any] = json.loads(store.blob(version.report).read_text(encoding="utf-8"))
    return loaded
