"""The catalogue of data sources: one YAML per source in `data_catalog/sources/`.

Each YAML names a source (`id`, `title`, `provider`, `licence`, `citation`, `landing_page`), its
formats and the reader of each (`module:function`), its variables with units, how often it is
updated, whether it is `public` or `restricted`, the environment variables that hold its
credentials, what its licence says about redistribution, and how to download it (URL templates
with `{base}`, `{year}`, `{bbox}`… placeholders; see `Download`).

```python
from data_catalog.sources import get_source, load_sources, sources_table
get_source("chirps").reader_function()(path)   # → ReadResult
```
"""

from __future__ import annotations

import importlib
import string
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from data_catalog.errors import UnknownSource

SOURCES_DIR = Path(__file__).resolve().parent / "sources"
"""Where the source YAML files live."""

PLACEHOLDERS = frozenset({
    "base", "year", "month", "bbox", "west", "south", "east", "north", "iso3", "rp",
    "tile_id", "tile_name", "url", "filename",
})
"""Names a URL or file name template may use (see `Download`)."""


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _check_template(template: str) -> str:
    unknown = _placeholders(template) - PLACEHOLDERS
    if unknown:
        raise ValueError(f"unknown placeholder(s) {sorted(unknown)} in {template!r}; "
                         f"allowed: {sorted(PLACEHOLDERS)}")
    return template


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variable(_Model):
    """One variable (column or band) a source provides.

    Attributes:
        name: Name in the reader's output.
        units: Units (e.g. `mm/day`, `m`, `km²`, `persons`; `1` when unitless).
        description: What it measures.
    """

    name: str
    units: str
    description: str = ""


class Format(_Model):
    """One file format in which a source comes, and the reader for it.

    Attributes:
        name: Short name (`csv`, `website_json`, `geotiff`, `netcdf`, `shapefile`, ...).
        media_type: IANA media type.
        reader: Dotted path `package.module:function` of the reader.
        description: Layout notes.
    """

    name: str
    media_type: str
    reader: str
    description: str = ""


class Checksum(_Model):
    """Where the provider publishes a checksum of each file.

    Attributes:
        algorithm: `sha256` or `md5`.
        url: Template of the sidecar's URL; `{url}` is the file's URL (e.g. `{url}.sha256`).
    """

    algorithm: Literal["sha256", "md5"]
    url: str

    @field_validator("url")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class Auth(_Model):
    """How a credential from the environment goes on the request (never from a file).

    Attributes:
        env: Name of the environment variable that holds it.
        location: `header` or `query`.
        name: Header or query parameter name (e.g. `Authorization`, `client_id`).
        template: How the value is written; `{value}` is the secret (e.g. `Bearer {value}`).
        required: False when the download works without it (it is sent when set).
    """

    env: str
    location: Literal["header", "query"]
    name: str
    template: str = "{value}"
    required: bool = True


class TileIndex(_Model):
    """A GeoJSON index of tiles (e.g. JRC's `tile_extents.geojson`) to choose files by bbox.

    Attributes:
        url: Template of the index URL.
        id_property: Feature property that fills `{tile_id}`.
        name_property: Feature property that fills `{tile_name}`.
    """

    url: str
    id_property: str
    name_property: str

    @field_validator("url")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class DownloadFile(_Model):
    """One file (or family of files) to download.

    Attributes:
        url: URL template. `{base}` is the base URL; `{year}` expands over the requested years;
            `{rp}` over `Download.return_periods`; `{tile_id}`/`{tile_name}` over the tiles of
            `Download.tile_index` that meet the bbox; `{bbox}` (`W,S,E,N`), `{west}`, `{south}`,
            `{east}`, `{north}` come from the bbox; `{iso3}` and `{month}` from
            `Download.defaults` or the caller.
        filename: Template of the local file name (same placeholders).
        format: Name of the `Format` the file is in.
    """

    url: str
    filename: str
    format: str

    @field_validator("url", "filename")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class Download(_Model):
    """How to fetch a source over HTTP(S).

    Attributes:
        base_url: Default for `{base}`; `CMRISK_FETCH_BASE_<ID>` or `fetch(base_url=)` override.
        files: The files.
        years: Default years for `{year}` when the caller gives none.
        return_periods: Values of `{rp}`.
        defaults: Default values of other placeholders (`iso3`, `month`, ...).
        checksum: Where a checksum is published, if anywhere.
        auth: How credentials are sent, if any are needed.
        tile_index: A tile index to choose files by bbox.
        hosts: Other hosts the provider's files may come from (e.g. a CDN it redirects to);
            fetch refuses any host but these and those of `base_url` and the file URLs.
        max_bytes: The largest file fetch accepts from this source, bytes.
        notes: Anything a user must know (terms to accept, size).
    """

    base_url: str
    files: list[DownloadFile] = Field(min_length=1)
    years: list[int] = Field(default_factory=list)
    return_periods: list[int] = Field(default_factory=list)
    defaults: dict[str, str] = Field(default_factory=dict)
    checksum: Checksum | None = None
    auth: Auth | None = None
    tile_index: TileIndex | None = None
    hosts: list[str] = Field(default_factory=list)
    max_bytes: int = Field(default=4 * 1024**3, gt=0)
    notes: str = ""


class Source(_Model):
    """One data source as described by its YAML file.

    Attributes:
        id: Source id (also the YAML's file stem).
        title: Human title.
        provider: Who publishes it.
        licence: Licence name and link.
        citation: How to cite it.
        landing_page: The provider's page for it.
        access: `public` or `restricted` (restricted data never leave the data dir unprotected).
        update_frequency: How often the provider updates it.
        reader: Dotted path of the reader that handles every format (detects which).
        formats: The formats and their readers.
        variables: What it provides, with units.
        credentials_env: Environment variables holding credentials (empty when none).
        redistribution: What the licence allows about redistribution.
        download: How to fetch it, or None when it cannot be fetched (e.g. our own template).
        notes: Anything else.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    title: str
    provider: str
    licence: str
    citation: str
    landing_page: str
    access: Literal["public", "restricted"]
    update_frequency: str
    reader: str
    formats: list[Format] = Field(min_length=1)
    variables: list[Variable] = Field(min_length=1)
    credentials_env: list[str] = Field(default_factory=list)
    redistribution: str
    download: Download | None = None
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Source:
        names = {f.name for f in self.formats}
        if self.download is not None:
            for f in self.download.files:
                if f.format not in names:
                    raise ValueError(f"download file format {f.format!r} not in formats {names}")
            auth = self.download.auth
            if auth is not None and auth.env not in self.credentials_env:
                raise ValueError(f"auth env {auth.env} not in credentials_env")
        return self

    def reader_function(self, format: str | None = None) -> Callable[..., Any]:
        """Import and return the reader (of one format, or the all-format one).

        Raises:
            KeyError: For a format the source does not have.
        """
        path = self.reader
        if format is not None:
            match = [f for f in self.formats if f.name == format]
            if not match:
                raise KeyError(f"source {self.id!r} has no format {format!r}; "
                               f"formats: {', '.join(f.name for f in self.formats)}")
            path = match[0].reader
        return import_reader(path)


def import_reader(dotted: str) -> Callable[..., Any]:
    """Import `package.module:function` and return the function."""
    module, _, name = dotted.partition(":")
    func = getattr(importlib.import_module(module), name)
    if not callable(func):
        raise TypeError(f"{dotted} is not callable")
    return func


@cache
def _load(directory: Path) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        source = Source.model_validate(data)
        if source.id != path.stem:
            raise ValueError(f"{path.name}: id {source.id!r} does not match the file name")
        sources[source.id] = source
    return sources


def load_sources(directory: Path | None = None) -> dict[str, Source]:
    """Every source description, by id (read once per directory and cached).

    Args:
        directory: Folder of YAML files; defaults to `data_catalog/sources/`.

    Raises:
        pydantic.ValidationError: A YAML that does not fit the `Source` model.
    """
    return dict(_load((directory or SOURCES_DIR).resolve()))


def get_source(source_id: str, directory: Path | None = None) -> Source:
    """The source with this id.

    Raises:
        UnknownSource: When no YAML defines it (the message lists the known ids).
    """
    sources = load_sources(directory)
    try:
        return sources[source_id]
    except KeyError:
        raise UnknownSource(source_id, sources) from None


def sources_table(directory: Path | None = None) -> list[dict[str, str]]:
    """One flat row per source for `cmrisk sources` (all values are strings).

    Keys: id, title, provider, access, formats, update_frequency, licence, credentials,
    redistribution, fetch (`yes` when it can be downloaded).
    """
    rows = []
    for source in load_sources(directory).values():
        rows.append({
            "id": source.id,
            "title": source.title,
            "provider": source.provider,
            "access": source.access,
            "formats": ", ".join(f.name for f in source.formats),
            "update_frequency": source.update_frequency,
            "licence": source.licence,
            "credentials": ", ".join(source.credentials_env) or "-",
            "redistribution": source.redistribution,
            "fetch": "yes" if source.download is not None else "no",
        })
    return rows
