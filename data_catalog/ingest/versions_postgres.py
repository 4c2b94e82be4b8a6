"""`VersionStore` in PostgreSQL (the PostGIS database of the feature store, `CMRISK_DATABASE_URL`).

The same five methods as `FileVersionStore`, and `keep_bytes`; `version_store(data)` picks this
store when the variable is set. Versions and file contents live in the database, so every
machine that ingests or runs against it sees one history:

```
cmrisk.input_versions(input, version, files, record)   one row per version: (input, version)
                                                        unique, `files` path → SHA-256 (jsonb),
                                                        `record` the InputVersion as JSON text
cmrisk.version_blobs(sha256, size, oid)                 file contents as large objects, written
                                                        once, streamed in 8 MiB pieces
<data dir>/.cache/blobs/sha256/<2 hex>/<62 hex>         `blob()` copies a content here to hand
                                                        it out as a file (checked, read-only)
```

A record takes a transaction-scoped advisory lock on its input and numbers itself after the
latest version, so two ingests at once never get one number (the primary key would refuse it
anyway). A blob is written in its own transaction (a large object is transactional: a failed
write leaves nothing). Reading creates nothing: before the first record the store is empty.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from data_catalog.errors import CatalogError
from data_catalog.ingest.versions import InputVersion, UnknownVersion, sha256_file, who
from data_catalog.paths import DataDir

SCHEMA = "cmrisk"
"""The schema shared with the PostGIS feature store."""
CACHE = Path(".cache") / "blobs" / "sha256"
"""Where `blob()` hands out contents, under the data dir."""
CHUNK = 8 * 1024 * 1024
"""Bytes per piece when a blob is streamed to or from the database."""
DDL_LOCK = 0x636D7276  # "cmrv"
"""The advisory lock that serialises creating the tables."""

DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.input_versions (
        input text NOT NULL,
        version integer NOT NULL,
        files jsonb NOT NULL,
        record text NOT NULL,
        PRIMARY KEY (input, version))""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.version_blobs (
        sha256 text PRIMARY KEY,
        size bigint NOT NULL,
        oid oid NOT NULL)""",
)


class VersionStoreUnavailable(CatalogError):
    """The database of the version store cannot be reached or refused the work."""


class PostgresVersionStore:
    """`VersionStore` in PostgreSQL (see the module docstring).

    Args:
        url: a libpq connection string or URL (`postgresql://user@host:port/db`).
        data: the data dir (its `.cache/blobs/` holds the contents `blob()` hands out).
    """

    def __init__(self, url: str, data: DataDir) -> None:
        self.url = url
        self.data = data
        self._ready = False

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """A connection in one transaction (committed on success); the tables are created
        before the first write."""
        try:
            with psycopg.connect(self.url, autocommit=False) as conn:
                if write and not self._ready:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
                    for statement in DDL:
                        conn.execute(statement)
                    conn.commit()
                    self._ready = True
                yield conn
        except psycopg.OperationalError as exc:
            raise VersionStoreUnavailable(
                f"the input version store (PostgreSQL) cannot be reached: "
                f"{_first_line(exc)}") from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise VersionStoreUnavailable(
                f"the input version store (PostgreSQL) refused: {_first_line(exc)}") from None

    def _rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read; none before the first record created the tables."""
        with self._connect() as conn:
            try:
                return conn.execute(query, params).fetchall()
            except psycopg.errors.UndefinedTable:
                return []

    def inputs(self) -> list[str]:
        """The ids of every input with at least one version, sorted (by code point)."""
        rows = self._rows(f"SELECT input FROM {SCHEMA}.input_versions GROUP BY input "
                          "ORDER BY input COLLATE \"C\"")
        return [str(r[0]) for r in rows]

    def versions(self, input_id: str) -> list[InputVersion]:
        """Every version of one input, oldest first."""
        rows = self._rows(f"SELECT record FROM {SCHEMA}.input_versions WHERE input = %s "
                          "ORDER BY version", (input_id,))
        return [InputVersion.model_validate_json(r[0]) for r in rows]

    def find(self, path: str, sha256: str) -> InputVersion | None:
        """The latest version of any input holding `path` with these bytes (the same one
        `FileVersionStore.find` gives: the last input by id, its latest such version)."""
        rows = self._rows(f"SELECT record FROM {SCHEMA}.input_versions "
                          "WHERE files ->> %s = %s "
                          "ORDER BY input COLLATE \"C\" DESC, version DESC LIMIT 1",
                          (path, sha256))
        return InputVersion.model_validate_json(rows[0][0]) if rows else None

    def blob(self, sha256: str) -> Path:
        """A read-only file with the bytes of this SHA-256 (copied from the database into the
        data dir's cache once, checked against the hash)."""
        target = self.data.root / CACHE / sha256[:2] / sha256[2:]
        if target.is_file():
            return target
        with self._connect() as conn:
            try:
                row = conn.execute(f"SELECT oid, size FROM {SCHEMA}.version_blobs "
                                   "WHERE sha256 = %s", (sha256,)).fetchone()
            except psycopg.errors.UndefinedTable:
                row = None
            if row is None:
                raise UnknownVersion(f"the version store has no file with sha256 {sha256}")
            oid, size = int(row[0]), int(row[1])
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
            digest = hashlib.sha256()
            try:
                with tmp.open("wb") as out:
                    for offset in range(0, size, CHUNK):
                        piece = conn.execute("SELECT lo_get(%s, %s, %s)",
                                             (oid, offset, CHUNK)).fetchone()
                        data = bytes(piece[0]) if piece else b""
                        digest.update(data)
                        out.write(data)
                if digest.hexdigest() != sha256:
                    raise UnknownVersion(f"the stored file {sha256} does not match its hash")
                tmp.chmod(0o444)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        return target

    def _keep(self, digest: str, size: int, pieces: Iterable[bytes]) -> str:
        """Store a content (given as pieces) under its SHA-256 unless it is already there."""
        with self._connect(write=True) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                         (f"blob:{digest}",))
            known = conn.execute(f"SELECT 1 FROM {SCHEMA}.version_blobs WHERE sha256 = %s",
                                 (digest,)).fetchone()
            if known is not None:
                return digest
            row = conn.execute("SELECT lo_create(0)").fetchone()
            assert row is not None
            oid = int(row[0])
            check = hashlib.sha256()
            offset = 0
            for piece in pieces:
                check.update(piece)
                conn.execute("SELECT lo_put(%s, %s, %s)", (oid, offset, piece))
                offset += len(piece)
            if check.hexdigest() != digest or offset != size:
                raise CatalogError("a file changed while it was being stored; nothing was kept")
            conn.execute(f"INSERT INTO {SCHEMA}.version_blobs (sha256, size, oid) "
                         "VALUES (%s, %s, %s)", (digest, size, oid))
        return digest

    def _keep_file(self, source: Path) -> str:
        digest = sha256_file(source)

        def pieces() -> Iterator[bytes]:
            with source.open("rb") as handle:
                while piece := handle.read(CHUNK):
                    yield piece

        return self._keep(digest, source.stat().st_size, pieces())

    def keep_bytes(self, data: bytes) -> str:
        """Keep a small blob (e.g. a JSON report); returns its SHA-256."""
        return self._keep(hashlib.sha256(data).hexdigest(), len(data),
                          (data[i:i + CHUNK] for i in range(0, len(data), CHUNK)))

    def record(self, input_id: str, files: Mapping[str, Path], **meta: Any) -> InputVersion:
        """Keep the bytes of `files` and record them as the input's next version."""
        digests = {path: self._keep_file(source) for path, source in sorted(files.items())}
        with self._connect(write=True) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                         (f"input:{input_id}",))
            row = conn.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.input_versions "
                               "WHERE input = %s", (input_id,)).fetchone()
            number = int(row[0]) + 1 if row else 1
            version = InputVersion(input=input_id, version=number,
                                   created=meta.pop("created", None) or datetime.now(UTC),
                                   user=meta.pop("user", None) or who(), files=digests, **meta)
            conn.execute(f"INSERT INTO {SCHEMA}.input_versions (input, version, files, record) "
                         "VALUES (%s, %s, %s, %s)",
                         (input_id, number, Jsonb(digests),
                          version.model_dump_json(indent=2)))
        return version


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else exc.__class__.__name__
