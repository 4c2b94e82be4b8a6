"""Download a source's files over HTTP(S), as its YAML describes (`Source.download`).

`fetch("chirps", dest, years=[2023, 2024])` downloads each file into `dest`:

- **resume**: bytes arrive in `<name>.part`; a later attempt asks for the rest with
  `Range: bytes=<size>-` (and `If-Range: <ETag>`, so a file changed meanwhile restarts);
- **retries**: 5xx, 429 and connection errors (refused, reset, cut mid-body, timeouts) are
  retried with exponential back-off (`backoff_s · 2^attempt`, honouring `Retry-After`); other
  4xx fail at once;
- **checksums**: where the provider publishes a sidecar (`.sha256`/`.md5`, per the YAML), the
  bytes are checked before the file gets its final name; a mismatch removes the partial file and
  raises `ChecksumMismatchError`;
- **cache**: a file already present is not downloaded again when its checksum matches the
  sidecar, or (no sidecar) when the server answers 304 to `If-None-Match`/`If-Modified-Since`
  with the ETag/Last-Modified recorded at download time (`.<name>.fetch.json` beside the file;
  the local bytes are re-hashed against the record first);
- **credentials** come only from the environment variables named in the YAML (`auth.env`),
  sent as a header or query parameter; they never appear in file names, records or messages;
- **base URL**: `base_url=` or the environment variable `CMRISK_FETCH_BASE_<SOURCE_ID>` (upper
  case) replaces the YAML's `base_url`, so tests can point at a loopback server;
- **hosts**: every request, and every redirect it is sent on, must go to the host of the base
  URL, of a file URL, or one the YAML lists under `hosts`; redirects are followed by hand, at
  most `MAX_REDIRECTS`, never from https to http, and credentials go only to the first host;
- **size**: a file larger than the source's `max_bytes` (declared or as it arrives) is refused
  and its partial bytes removed; a checksum sidecar may hold `MAX_SIDECAR_BYTES`.

httpx is used (imported when `fetch` runs): it gives streaming, timeouts and an injectable
`client` (tests pass a `httpx.Client` or a mock transport).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_catalog.errors import (
    ChecksumMismatchError,
    FetchError,
    MissingCredentialsError,
)
from data_catalog.sources import Auth, Download, Source, get_source

if TYPE_CHECKING:
    import httpx
    from rich.progress import Progress

BASE_ENV_PREFIX = "CMRISK_FETCH_BASE_"
"""Prefix of the environment variable that overrides a source's base URL."""

USER_AGENT = "cmrisk-fetch/0.1"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0
MAX_REDIRECTS = 5
"""Redirects followed per request."""
MAX_SIDECAR_BYTES = 1024 * 1024
"""Largest checksum sidecar read, bytes."""
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Planned:
    """One file to download.

    Attributes:
        url: Full URL without credentials.
        filename: Local file name (no folders).
    """

    url: str
    filename: str


def base_url_for(source: Source, override: str | None = None) -> str:
    """The base URL: the argument, else `CMRISK_FETCH_BASE_<ID>`, else the YAML's (no final /)."""
    assert source.download is not None
    env = os.environ.get(BASE_ENV_PREFIX + source.id.upper())
    return (override or env or source.download.base_url).rstrip("/")


def _bbox_values(bbox: Sequence[float] | None) -> dict[str, str]:
    if bbox is None:
        return {}
    west, south, east, north = (float(v) for v in bbox)
    if not (west < east and south < north):
        raise FetchError(f"bbox must be west,south,east,north with west<east, south<north: {bbox}")
    return {"bbox": f"{west:g},{south:g},{east:g},{north:g}", "west": f"{west:g}",
            "south": f"{south:g}", "east": f"{east:g}", "north": f"{north:g}"}


def _fields(template: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", template))


def plan(
    source: Source,
    *,
    base: str,
    bbox: Sequence[float] | None = None,
    years: Iterable[int] | None = None,
    params: Mapping[str, str] | None = None,
    tiles: Sequence[tuple[str, str]] | None = None,
    formats: Iterable[str] | None = None,
    now: datetime | None = None,
) -> list[Planned]:
    """Expand a source's URL templates into the files to download.

    A list-valued placeholder (`year`, `rp`, tiles, a comma-separated `iso3`) that appears in
    the file name gives one file per value; one that appears only in the URL is sent as a single
    comma-separated value.

    Args:
        source: The source (must have a `download`).
        base: Base URL for `{base}`.
        bbox: (west, south, east, north) in degrees, for `{bbox}` and friends.
        years: Values of `{year}`; default: the YAML's `years`, else the current year.
        params: Values of other placeholders (`iso3`, `month`), over the YAML's `defaults`.
        tiles: (tile_id, tile_name) pairs for `{tile_id}`/`{tile_name}`.
        formats: Only the files in these formats.
        now: The clock for the default year/month (UTC now).

    Raises:
        FetchError: A placeholder without a value.
    """
    download: Download | None = source.download
    if download is None:
        raise FetchError(f"source {source.id!r} has no download; put its files in the data dir "
                         "with `cmrisk ingest`")
    now = now or datetime.now(UTC)
    scalars: dict[str, str] = {"base": base, "month": now.strftime("%b")}
    scalars.update(download.defaults)
    scalars.update(params or {})
    scalars.update(_bbox_values(bbox))
    lists: dict[str, list[str]] = {
        "year": [str(y) for y in (years if years is not None else download.years
                                  or [now.year])],
        "rp": [str(r) for r in download.return_periods],
    }
    if "iso3" in scalars:
        lists["iso3"] = [c.strip() for c in scalars.pop("iso3").split(",") if c.strip()]
    wanted = set(formats) if formats is not None else None
    out: list[Planned] = []
    for spec in download.files:
        if wanted is not None and spec.format not in wanted:
            continue
        used = _fields(spec.url) | _fields(spec.filename)
        in_name = _fields(spec.filename)
        axes: list[list[dict[str, str]]] = []
        values = dict(scalars)
        for name, items in lists.items():
            if name not in used:
                continue
            if name in in_name:
                axes.append([{name: v} for v in items])
            else:
                values[name] = ",".join(items)
        if {"tile_id", "tile_name"} & used:
            if tiles is None:
                raise FetchError(f"source {source.id!r} is tiled: give a bbox to choose tiles")
            axes.append([{"tile_id": i, "tile_name": n} for i, n in tiles])
        for combo in itertools.product(*axes):
            fill = dict(values)
            for part in combo:
                fill.update(part)
            missing = sorted(used - set(fill))
            if missing:
                raise FetchError(f"source {source.id!r}: no value for {', '.join(missing)} "
                                 f"(give bbox=, years= or params=)")
            filename = spec.filename.format(**fill)
            if Path(filename).name != filename or filename in {"", ".", ".."}:
                raise FetchError(f"unsafe file name {filename!r}")
            out.append(Planned(url=spec.url.format(**fill), filename=filename))
    return out


def _auth_value(source: Source) -> tuple[Auth, str] | None:
    assert source.download is not None
    auth = source.download.auth
    if auth is None:
        return None
    secret = os.environ.get(auth.env)
    if not secret:
        if auth.required:
            raise MissingCredentialsError(source.id, auth.env)
        return None
    return auth, auth.template.format(value=secret)


class _Downloader:
    """Downloads with resume, retries, checksums and a cache (see the module doc)."""

    def __init__(self, client: httpx.Client, *, credential: tuple[Auth, str] | None,
                 retries: int, backoff_s: float, progress: Progress | None,
                 hosts: frozenset[str] = frozenset(), max_bytes: int | None = None) -> None:
        self.client = client
        self.credential = credential
        self.retries = retries
        self.backoff_s = backoff_s
        self.progress = progress
        self.hosts = hosts
        self.max_bytes = max_bytes

    @contextlib.contextmanager
    def _get(self, url: str, headers: Mapping[str, str]) -> Iterator[httpx.Response]:
        """A streamed GET of `url`, redirects followed by hand within the source's hosts.

        Raises:
            FetchError: a host outside the source's, a redirect from https to http, or more
                than `MAX_REDIRECTS` redirects.
        """

        target, sent = self._request(url, headers)
        first_host = target.host
        for _ in range(MAX_REDIRECTS + 1):
            if self.hosts and target.host not in self.hosts:
                raise FetchError(f"{url}: refused to fetch from {target.host!r}, which is not "
                                 f"a host of this source ({', '.join(sorted(self.hosts))})")
            request = self.client.build_request("GET", target, headers=sent)
            response = self.client.send(request, stream=True, follow_redirects=False)
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUS or not location:
                try:
                    yield response
                finally:
                    response.close()
                return
            response.close()
            following = target.join(location)
            if target.scheme == "https" and following.scheme != "https":
                raise FetchError(f"{url}: refused a redirect from https to {following.scheme}")
            if following.host == first_host:
                target, sent = self._request(str(following), headers)
            else:  # credentials are for the first host only
                target, sent = following, dict(headers)
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")

    # -- requests -----------------------------------------------------------------------------
    def _request(self, url: str, headers: Mapping[str, str]) -> tuple[httpx.URL, dict[str, str]]:
        """The URL and headers of a request, with the credential added (never logged)."""
        import httpx

        target = httpx.URL(url)
        out = dict(headers)
        if self.credential is not None:
            auth, value = self.credential
            if auth.location == "header":
                out[auth.name] = value
            else:
                # Merge: httpx's `params=` would replace the URL's own query string.
                target = target.copy_merge_params({auth.name: value})
        return target, out

    def _sleep(self, attempt: int, retry_after: str | None = None) -> None:
        delay = self.backoff_s * (2 ** attempt)
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER_S))
        time.sleep(delay)

    def get_text(self, url: str) -> str:
        """GET a small text resource (a checksum sidecar), with retries."""
        import httpx

        for attempt in range(self.retries + 1):
            try:
                with self._get(url, {}) as response:
                    status = response.status_code
                    retry_after = response.headers.get("retry-after")
                    body = b""
                    if status == 200:
                        for chunk in response.iter_bytes():
                            body += chunk
                            if len(body) > MAX_SIDECAR_BYTES:
                                raise FetchError(f"{url}: a checksum file over "
                                                 f"{MAX_SIDECAR_BYTES} bytes")
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise FetchError(f"{url}: {type(exc).__name__} after {attempt + 1} tries") \
                        from exc
                self._sleep(attempt)
                continue
            if status in RETRY_STATUS and attempt < self.retries:
                self._sleep(attempt, retry_after)
                continue
            if status != 200:
                raise FetchError(f"{url}: HTTP {status}")
            return body.decode("utf-8", errors="replace")
        raise FetchError(f"{url}: gave up after {self.retries + 1} tries")  # pragma: no cover

    # -- one file -------------------------------------------------------------------------
    def download(self, planned: Planned, dest: Path, *, expected: tuple[str, str] | None,
                 force: bool) -> Path:
        """Download one file into `dest` (or keep the cached one); returns its path."""
        import httpx

        final = dest / planned.filename
        part = dest / (planned.filename + ".part")
        record_path = dest / f".{planned.filename}.fetch.json"
        record = _read_record(record_path)

        if final.exists() and not force:
            if expected is not None:
                if _digest(final, expected[0]) == expected[1]:
                    return final
            elif record.get("sha256") and _digest(final, "sha256") != record["sha256"]:
                record = {}  # the local copy changed: download again, unconditionally
        conditional: dict[str, str] = {}
        if final.exists() and not force and expected is None:
            if record.get("etag"):
                conditional["If-None-Match"] = record["etag"]
            if record.get("last_modified"):
                conditional["If-Modified-Since"] = record["last_modified"]

        task = None
        retry_after: str | None = None
        if self.progress is not None:
            task = self.progress.add_task(planned.filename, total=None)
        last_error = "no attempt"
        done = False
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(attempt - 1, retry_after)
            retry_after = None
            have = part.stat().st_size if part.exists() else 0
            headers = {"Accept-Encoding": "identity", **conditional}
            if have and record.get("part_resumable", True):
                headers["Range"] = f"bytes={have}-"
                if record.get("part_etag"):
                    headers["If-Range"] = record["part_etag"]
            try:
                with self._get(planned.url, headers) as r:
                    status = r.status_code
                    if status == 304 and conditional:
                        if task is not None and self.progress is not None:
                            self.progress.update(task, description=f"{planned.filename} (cached)")
                        return final
                    if status in RETRY_STATUS:
                        last_error = f"HTTP {status}"
                        retry_after = r.headers.get("retry-after")
                        continue
                    if status == 416 and have:
                        if _content_range_total(r.headers.get("content-range")) == have:
                            done = True  # the .part file is already whole
                            break
                        part.unlink()
                        last_error = "HTTP 416 (stale partial file discarded)"
                        continue
                    if status not in (200, 206):
                        hint = (" (check the credentials in the environment)"
                                if status in (401, 403) else "")
                        raise FetchError(f"{planned.url}: HTTP {status}{hint}")
                    if status == 206:
                        start = _content_range_start(r.headers.get("content-range"))
                        if start != have:
                            part.unlink(missing_ok=True)
                            last_error = f"server resumed at byte {start}, not {have}"
                            continue
                        mode = "ab"
                    else:
                        mode = "wb"  # a full body: start over (also when the file changed)
                        have = 0
                    # Bytes as sent (identity was asked for), so that Range offsets match the
                    # file; a server that encodes anyway gets its encoding undone, and a cut
                    # transfer then restarts instead of resuming.
                    encoded = r.headers.get("content-encoding", "identity") != "identity"
                    if encoded:
                        mode, have = "wb", 0
                    record["part_etag"] = r.headers.get("etag")
                    record["part_resumable"] = not encoded
                    record["etag"] = r.headers.get("etag")
                    record["last_modified"] = r.headers.get("last-modified")
                    _write_record(record_path, record)
                    length = r.headers.get("content-length")
                    total = (have + int(length) if length and length.isdigit() and not encoded
                             else None)
                    if self.max_bytes is not None and total is not None \
                            and total > self.max_bytes:
                        part.unlink(missing_ok=True)
                        raise FetchError(f"{planned.url}: {total} bytes, over the source's "
                                         f"limit of {self.max_bytes}")
                    if task is not None and self.progress is not None:
                        self.progress.update(task, total=total, completed=have)
                    chunks = r.iter_bytes() if encoded else r.iter_raw()
                    with part.open(mode) as fh:
                        for chunk in chunks:
                            fh.write(chunk)
                            if self.max_bytes is not None and fh.tell() > self.max_bytes:
                                fh.close()
                                part.unlink(missing_ok=True)
                                raise FetchError(f"{planned.url}: more than the source's "
                                                 f"limit of {self.max_bytes} bytes")
                            if task is not None and self.progress is not None:
                                self.progress.advance(task, len(chunk))
                    if total is not None and part.stat().st_size != total:
                        last_error = f"short body: {part.stat().st_size} of {total} bytes"
                        continue
                    done = True
                    break
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                continue
        if not done:
            kept = f"; {part.name} kept for resume" if part.exists() else ""
            raise FetchError(f"{planned.url}: failed after {self.retries + 1} tries "
                             f"({last_error}){kept}")

        if expected is not None:
            actual = _digest(part, expected[0])
            if actual != expected[1]:
                part.unlink()
                record_path.unlink(missing_ok=True)
                raise ChecksumMismatchError(planned.url, expected[0], expected[1], actual)
        os.replace(part, final)
        record.pop("part_etag", None)
        record.pop("part_resumable", None)
        record.update({
            "url": planned.url,
            "sha256": _digest(final, "sha256"),
            "size": final.stat().st_size,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        })
        _write_record(record_path, record)
        return final


def source_hosts(source: Source, base: str) -> frozenset[str]:
    """The hosts a source's files may come from: the base URL's, the file URLs' own, and the
    YAML's `hosts`."""
    import httpx

    assert source.download is not None
    urls = [base, *(f.url for f in source.download.files if not f.url.startswith("{base}"))]
    for extra in (source.download.tile_index, source.download.checksum):
        if extra is not None and not extra.url.startswith("{"):
            urls.append(extra.url)
    found = {httpx.URL(re.sub(r"{\w+}", "x", url)).host for url in urls}
    return frozenset(h for h in found | set(source.download.hosts) if h)


def _read_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_record(path: Path, record: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _content_range_start(value: str | None) -> int | None:
    m = re.match(r"bytes\s+(\d+)-\d+/(?:\d+|\*)", value or "")
    return int(m.group(1)) if m else None


def _content_range_total(value: str | None) -> int | None:
    m = re.match(r"bytes\s+(?:\*|\d+-\d+)/(\d+)", value or "")
    return int(m.group(1)) if m else None


def parse_checksum(text: str, filename: str) -> str:
    """The hex digest in a checksum sidecar (`<hex>`, `<hex>  name`, or a `sha256sum` listing).

    Raises:
        FetchError: When no digest for `filename` can be found.
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in lines:
        parts = line.split()
        name = parts[-1].lstrip("*") if len(parts) > 1 else None
        if re.fullmatch(r"[0-9a-fA-F]{32,128}", parts[0]) and name in (None, filename):
            return parts[0].lower()
    for line in lines:  # BSD style: SHA256 (name) = hex
        m = re.match(r"\w+\s*\((.+)\)\s*=\s*([0-9a-fA-F]{32,128})$", line)
        if m and m.group(1) == filename:
            return m.group(2).lower()
    raise FetchError(f"no checksum for {filename} in the sidecar")


def _tiles(downloader: _Downloader, source: Source, base: str, dest: Path,
           bbox: Sequence[float] | None, force: bool) -> list[tuple[str, str]] | None:
    assert source.download is not None
    index = source.download.tile_index
    if index is None:
        return None
    if bbox is None:
        raise FetchError(f"source {source.id!r} is tiled: give a bbox to choose tiles")
    from shapely.geometry import box, shape

    url = index.url.format(base=base)
    path = downloader.download(Planned(url, Path(url.split("?")[0]).name or "tile_index.json"),
                               dest, expected=None, force=force)
    area = box(*bbox)
    out: list[tuple[str, str]] = []
    for feature in json.loads(path.read_text(encoding="utf-8")).get("features", []):
        props = feature.get("properties") or {}
        geom = feature.get("geometry")
        if geom and shape(geom).intersects(area):
            out.append((str(props[index.id_property]), str(props[index.name_property])))
    if not out:
        raise FetchError(f"no tile of {source.id!r} meets bbox {tuple(bbox)}")
    return out


def fetch(
    source_id: str | Source,
    dest_dir: str | Path,
    *,
    bbox: Sequence[float] | None = None,
    years: Iterable[int] | None = None,
    client: httpx.Client | None = None,
    base_url: str | None = None,
    params: Mapping[str, str] | None = None,
    formats: Iterable[str] | None = None,
    retries: int = 4,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
    progress: bool = True,
    force: bool = False,
    max_bytes: int | None = None,
) -> list[Path]:
    """Download a source's files into `dest_dir` (see the module doc for resume, cache, ...).

    Args:
        source_id: A source id (`cmrisk sources` lists them), or a `Source` itself.
        dest_dir: Folder for the files (created if needed).
        bbox: (west, south, east, north) in degrees, where the source can use one.
        years: Years to fetch, where the source is per year.
        client: An httpx client to use (not closed here); default: a new one.
        base_url: Replace the YAML's base URL (also `CMRISK_FETCH_BASE_<SOURCE_ID>`).
        params: Values for other URL placeholders (e.g. `{"iso3": "PAN,COL"}`).
        formats: Only files in these formats (e.g. `["website_json"]`).
        retries: Retries per file after the first attempt.
        backoff_s: First back-off delay in seconds (doubles each retry).
        timeout_s: Connect/read timeout in seconds for a new client.
        progress: Show a rich progress bar on stderr.
        force: Download even when a cached copy is valid.
        max_bytes: Largest file accepted, bytes (default: the source's `max_bytes`).

    Returns:
        The local paths, in the order of the source's file list.

    Raises:
        UnknownSource: Unknown id.
        MissingCredentialsError: A required credential variable is unset (before any request).
        ChecksumMismatchError: Bytes that do not match the published checksum.
        FetchError: Anything else that stops a download.
    """
    import httpx

    source = source_id if isinstance(source_id, Source) else get_source(source_id)
    if source.download is None:
        raise FetchError(f"source {source.id!r} has no download; put its files in the data dir "
                         "with `cmrisk ingest`")
    credential = _auth_value(source)
    base = base_url_for(source, base_url)
    hosts = source_hosts(source, base)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    http = client or httpx.Client(
        follow_redirects=False, timeout=httpx.Timeout(timeout_s),
        headers={"User-Agent": USER_AGENT},
    )
    try:
        with _progress(progress) as bar:
            loader = _Downloader(http, credential=credential, retries=retries,
                                 backoff_s=backoff_s, progress=bar, hosts=hosts,
                                 max_bytes=max_bytes or source.download.max_bytes)
            tiles = _tiles(loader, source, base, dest, bbox, force)
            planned = plan(source, base=base, bbox=bbox, years=years, params=params,
                           tiles=tiles, formats=formats)
            checksum = source.download.checksum
            paths: list[Path] = []
            for item in planned:
                expected = None
                if checksum is not None:
                    sidecar = checksum.url.format(url=item.url, filename=item.filename, base=base)
                    expected = (checksum.algorithm,
                                parse_checksum(loader.get_text(sidecar), item.filename))
                paths.append(loader.download(item, dest, expected=expected, force=force))
            return paths
    finally:
        if own_client:
            http.close()


class _progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Progress | None = None

    def __enter__(self) -> Progress | None:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
        )
        self.bar.__enter__()
        return self.bar

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

