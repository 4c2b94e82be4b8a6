"""The error vocabulary of `data_catalog`: one small hierarchy for sources, readers and fetching.

```
CatalogError
├── UnknownSource              a source id that no YAML in data_catalog/sources/ describes
├── SourceFormatError          a file that is not what the reader reads (wrong format, bad layout)
│   ├── MissingColumnError     a required column or key is absent (`.column` names it)
│   └── MissingCRSError        a raster or vector file without a coordinate reference system
└── FetchError                 a download that did not complete
    ├── ChecksumMismatchError  the bytes do not match the provider's published checksum
    └── MissingCredentialsError  an environment variable named in the source YAML is unset
```

Messages name files by their base name only, never by their full path, so that they can be shown
to a client as they are; the full path stays on the `path` attribute.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class CatalogError(Exception):
    """Base class of every error raised by `data_catalog`."""


class UnknownSource(CatalogError, LookupError):
    """A source id that no source description defines.

    Attributes:
        source_id: The id that was asked for.
        known: The ids that exist, sorted.
    """

    def __init__(self, source_id: str, known: Iterable[str]) -> None:
        self.source_id = source_id
        self.known = sorted(known)
        super().__init__(
            f"unknown source {source_id!r}; known sources: {', '.join(self.known) or '(none)'}"
        )

    def __str__(self) -> str:
        # LookupError would repr() the message (quotes); the plain text reads better in a CLI.
        return str(self.args[0])


class SourceFormatError(CatalogError, ValueError):
    """A file whose format or layout is not the one the reader reads.

    Attributes:
        path: The offending file, when known.
    """

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        prefix = f"{self.path.name}: " if self.path is not None else ""
        super().__init__(prefix + message)


class MissingColumnError(SourceFormatError):
    """A required column (CSV, attribute table) or key (JSON) is absent.

    Attributes:
        column: The name of the missing column, exactly as the source spells it.
        available: The columns that the file does have.
    """

    def __init__(
        self,
        column: str,
        *,
        path: str | Path | None = None,
        available: Iterable[str] = (),
    ) -> None:
        self.column = column
        self.available = list(available)
        listed = f" (found: {', '.join(self.available)})" if self.available else ""
        super().__init__(f"required column {column!r} is missing{listed}", path=path)


class MissingCRSError(SourceFormatError):
    """A raster or vector dataset that declares no coordinate reference system."""

    def __init__(self, *, path: str | Path | None = None, what: str = "dataset") -> None:
        name = Path(path).name if path is not None else "FILE"
        how = (f"e.g. `gdal_edit.py -a_srs EPSG:4326 {name}` when its coordinates are "
               "longitude/latitude" if what.startswith("raster")
               else "e.g. the .prj file beside a shapefile, or `ogr2ogr -a_srs EPSG:4326`")
        super().__init__(
            f"the {what} has no coordinate reference system (CRS); add one ({how}) before "
            "ingesting it",
            path=path,
        )


class FetchError(CatalogError):
    """A download that failed after its retries, or that cannot be attempted."""


class ChecksumMismatchError(FetchError):
    """Downloaded bytes that do not match the checksum the provider publishes.

    Attributes:
        url: The (credential-free) URL of the file.
        algorithm: `sha256` or `md5`.
        expected: The published digest (hex).
        actual: The digest of the downloaded bytes (hex).
    """

    def __init__(self, url: str, algorithm: str, expected: str, actual: str) -> None:
        self.url = url
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{algorithm} mismatch for {url}: expected {expected}, got {actual}; "
            "the partial download was removed"
        )


class MissingCredentialsError(FetchError):
    """A credential environment variable named in the source description is not set.

    Attributes:
        env: The name of the environment variable.
    """

    def __init__(self, source_id: str, env: str) -> None:
        self.env = env
        super().__init__(
            f"source {source_id!r} needs credentials: set the environment variable {env}"
        )
