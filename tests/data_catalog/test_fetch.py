"""fetch() against a real HTTP server on 127.0.0.1: resume, retries, checksums, cache, auth.

The server (ThreadingHTTPServer in a thread) serves bytes the test gives it, supports Range,
If-Range and If-None-Match, and can fail the first N requests with 503 or cut a response
half-way. Nothing here reaches the internet.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from data_catalog.errors import ChecksumMismatchError, FetchError, MissingCredentialsError
from data_catalog.fetch import fetch, parse_checksum, plan
from data_catalog.sources import Source, get_source

BODY = os.urandom(200_000)


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int
    body_bytes: int


@dataclass
class Server:
    files: dict[str, bytes] = field(default_factory=dict)
    fail_first: dict[str, int] = field(default_factory=dict)
    cut: dict[str, int] = field(default_factory=dict)
    require_header: tuple[str, str] | None = None
    redirects: dict[str, str] = field(default_factory=dict)
    hide_length: set[str] = field(default_factory=set)
    seen: list[Seen] = field(default_factory=list)
    base: str = ""

    def etag(self, path: str) -> str:
        return '"' + hashlib.md5(self.files[path]).hexdigest() + '"'

    def gets(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def bodies(self, path: str) -> int:
        return sum(s.body_bytes for s in self.gets(path))


def make_handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        seen: Seen

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
                  *, cut: bool = False) -> None:
            sent = body[: len(body) // 2] if cut else body
            # Recorded before the reply goes out: the client may be done before we return.
            self.seen.status = status
            self.seen.body_bytes = len(sent)
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(sent)
            self.wfile.flush()
            if cut:
                self.close_connection = True

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            self.seen = Seen(path, parse_qs(parts.query), dict(self.headers.items()), 0, 0)
            server.seen.append(self.seen)
            if server.fail_first.get(path, 0) > 0:
                server.fail_first[path] -= 1
                self._send(503, b"", {"Retry-After": "0"})
                return
            if path in server.redirects:
                self._send(302, b"", {"Location": server.redirects[path]})
                return
            if path in server.hide_length:  # a body of unknown length, ended by closing
                self.seen.status, self.seen.body_bytes = 200, len(server.files[path])
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(server.files[path])
                self.close_connection = True
                return
            if path not in server.files:
                self._send(404, b"not found")
                return
            if server.require_header is not None:
                name, value = server.require_header
                if self.headers.get(name) != value:
                    self._send(401, b"no")
                    return
            content = server.files[path]
            etag = server.etag(path)
            headers = {"ETag": etag, "Accept-Ranges": "bytes"}
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", {"ETag": etag})
                return
            cut = server.cut.get(path, 0) > 0
            if cut:
                server.cut[path] -= 1
            rng = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            if rng and (if_range is None or if_range == etag):
                start = int(re.match(r"bytes=(\d+)-", rng).group(1))  # type: ignore[union-attr]
                if start >= len(content):
                    self._send(416, b"", {"Content-Range": f"bytes */{len(content)}"})
                    return
                headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
                self._send(206, content[start:], headers, cut=cut)
                return
            self._send(200, content, headers, cut=cut)

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops a kept-alive connection (or one we cut) resets it: not a failure.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    httpd = QuietServer(("127.0.0.1", 0), make_handler(state))
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


NE_PATH = "/10m/cultural/ne_10m_admin_0_countries.zip"
FAST = {"backoff_s": 0.001, "progress": False}


def custom_source(**download: Any) -> Source:
    data = {
        "id": "test_source", "title": "t", "provider": "p", "licence": "l", "citation": "c",
        "landing_page": "https://example.org", "access": "public", "update_frequency": "never",
        "reader": "data_catalog.readers.chirps:read_chirps", "redistribution": "yes",
        "formats": [{"name": "geotiff", "media_type": "image/tiff",
                     "reader": "data_catalog.readers.chirps:read_chirps"}],
        "variables": [{"name": "precip", "units": "mm"}],
        "credentials_env": ["CMRISK_TEST_TOKEN"],
        "download": {"base_url": "http://unused.invalid", "files": [
            {"url": "{base}/data/rain_{year}.tif", "filename": "rain_{year}.tif",
             "format": "geotiff"}], "years": [2024], **download},
    }
    return Source.model_validate(data)


def test_download_with_base_from_environment(server: Server, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    server.files[NE_PATH] = BODY
    monkeypatch.setenv("CMRISK_FETCH_BASE_NATURAL_EARTH", server.base)
    (path,) = fetch("natural_earth", tmp_path, **FAST)
    assert path == tmp_path / "ne_10m_admin_0_countries.zip"
    assert path.read_bytes() == BODY
    assert not list(tmp_path.glob("*.part"))
    record = json.loads((tmp_path / ".ne_10m_admin_0_countries.zip.fetch.json").read_text())
    assert record["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert record["etag"] == server.etag(NE_PATH) and record["size"] == len(BODY)
    assert server.gets(NE_PATH)[0].headers["User-Agent"].startswith("cmrisk-fetch")


def test_cache_hit_by_etag_downloads_nothing(server: Server, tmp_path: Path) -> None:
    server.files[NE_PATH] = BODY
    (path,) = fetch("natural_earth", tmp_path, base_url=server.base, **FAST)
    mtime = path.stat().st_mtime_ns
    fetch("natural_earth", tmp_path, base_url=server.base, **FAST)
    second = server.gets(NE_PATH)[-1]
    assert second.status == 304 and second.headers["If-None-Match"] == server.etag(NE_PATH)
    assert server.bodies(NE_PATH) == len(BODY)  # the body went over the wire once
    assert path.stat().st_mtime_ns == mtime


def test_changed_remote_file_is_downloaded_again(server: Server, tmp_path: Path) -> None:
    server.files[NE_PATH] = BODY
    fetch("natural_earth", tmp_path, base_url=server.base, **FAST)
    server.files[NE_PATH] = b"new release"
    (path,) = fetch("natural_earth", tmp_path, base_url=server.base, **FAST)
    assert path.read_bytes() == b"new release"


def test_locally_damaged_file_is_downloaded_again(server: Server, tmp_path: Path) -> None:
    server.files[NE_PATH] = BODY
    (path,) = fetch("natural_earth", tmp_path, base_url=server.base, **FAST)
    path.write_bytes(b"truncated")
    fetch("natural_earth", tmp_path, base_url=server.base, **FAST)
    assert "If-None-Match" not in server.gets(NE_PATH)[-1].headers
    assert path.read_bytes() == BODY


def test_retries_on_503(server: Server, tmp_path: Path) -> None:
    server.files[NE_PATH] = BODY
    server.fail_first[NE_PATH] = 2
    (path,) = fetch("natural_earth", tmp_path, base_url=server.base, retries=3, **FAST)
    assert [s.status for s in server.gets(NE_PATH)] == [503, 503, 200]
    assert path.read_bytes() == BODY


def test_gives_up_after_retries(server: Server, tmp_path: Path) -> None:
    server.files[NE_PATH] = BODY
    server.fail_first[NE_PATH] = 5
    with pytest.raises(FetchError, match="HTTP 503"):
        fetch("natural_earth", tmp_path, base_url=server.base, retries=2, **FAST)
    assert len(server.gets(NE_PATH)) == 3
    assert not (tmp_path / "ne_10m_admin_0_countries.zip").exists()


def test_client_errors_fail_at_once(server: Server, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch("natural_earth", tmp_path, base_url=server.base, retries=4, **FAST)
    assert len(server.gets(NE_PATH)) == 1


def test_connection_refused_is_retried_then_fails(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="ConnectError"):
        fetch("natural_earth", tmp_path, base_url="http://127.0.0.1:9", retries=1, **FAST)


def test_resume_after_a_cut(server: Server, tmp_path: Path) -> None:
    server.files[NE_PATH] = BODY
    server.cut[NE_PATH] = 1
    (path,) = fetch("natural_earth", tmp_path, base_url=server.base, **FAST)
    first, second = server.gets(NE_PATH)
    assert first.status == 200 and first.body_bytes == len(BODY) // 2
    assert second.status == 206
    assert second.headers["Range"] == f"bytes={len(BODY) // 2}-"
    assert second.headers["If-Range"] == server.etag(NE_PATH)
    assert path.read_bytes() == BODY
    assert server.bodies(NE_PATH) == len(BODY)  # nothing downloaded twice


def test_resume_from_a_part_file_left_by_an_earlier_run(server: Server, tmp_path: Path) -> None:
    server.files[NE_PATH] = BODY
    server.cut[NE_PATH] = 1
    with pytest.raises(FetchError, match="kept for resume"):
        fetch("natural_earth", tmp_path, base_url=server.base, retries=0, **FAST)
    part = tmp_path / "ne_10m_admin_0_countries.zip.part"
    assert part.stat().st_size == len(BODY) // 2
    (path,) = fetch("natural_earth", tmp_path, base_url=server.base, **FAST)
    assert server.gets(NE_PATH)[-1].status == 206 and path.read_bytes() == BODY
    assert not part.exists()


def test_part_of_an_older_version_restarts(server: Server, tmp_path: Path) -> None:
    server.files[NE_PATH] = b"old" * 1000
    server.cut[NE_PATH] = 1
    with pytest.raises(FetchError):
        fetch("natural_earth", tmp_path, base_url=server.base, retries=0, **FAST)
    server.files[NE_PATH] = BODY  # a new release since: If-Range no longer matches
    (path,) = fetch("natural_earth", tmp_path, base_url=server.base, **FAST)
    assert server.gets(NE_PATH)[-1].status == 200
    assert path.read_bytes() == BODY


def test_whole_part_file_is_completed_on_416(server: Server, tmp_path: Path) -> None:
    server.files[NE_PATH] = BODY
    (tmp_path / "ne_10m_admin_0_countries.zip.part").write_bytes(BODY)
    (path,) = fetch("natural_earth", tmp_path, base_url=server.base, **FAST)
    assert server.gets(NE_PATH)[-1].status == 416
    assert path.read_bytes() == BODY


def test_checksum_verified_and_used_as_cache(server: Server, tmp_path: Path) -> None:
    server.files["/data/rain_2024.tif"] = BODY
    digest = hashlib.sha256(BODY).hexdigest()
    server.files["/data/rain_2024.tif.sha256"] = f"{digest}  rain_2024.tif\n".encode()
    source = custom_source(checksum={"algorithm": "sha256", "url": "{url}.sha256"})
    (path,) = fetch(source, tmp_path, base_url=server.base, **FAST)
    assert path.read_bytes() == BODY
    fetch(source, tmp_path, base_url=server.base, **FAST)
    assert len(server.gets("/data/rain_2024.tif")) == 1  # second time: only the sidecar
    assert len(server.gets("/data/rain_2024.tif.sha256")) == 2


def test_checksum_mismatch_leaves_no_file(server: Server, tmp_path: Path) -> None:
    server.files["/data/rain_2024.tif"] = BODY
    server.files["/data/rain_2024.tif.md5"] = b"0" * 32
    source = custom_source(checksum={"algorithm": "md5", "url": "{url}.md5"})
    with pytest.raises(ChecksumMismatchError) as info:
        fetch(source, tmp_path, base_url=server.base, **FAST)
    assert info.value.expected == "0" * 32
    assert info.value.actual == hashlib.md5(BODY).hexdigest()
    assert list(tmp_path.iterdir()) == []


def test_credentials_header_from_environment(server: Server, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    server.files["/data/rain_2024.tif"] = BODY
    server.require_header = ("Authorization", "Bearer s3cret")
    source = custom_source(auth={"env": "CMRISK_TEST_TOKEN", "location": "header",
                                 "name": "Authorization", "template": "Bearer {value}"})
    monkeypatch.setenv("CMRISK_TEST_TOKEN", "s3cret")
    (path,) = fetch(source, tmp_path, base_url=server.base, **FAST)
    assert path.read_bytes() == BODY
    assert server.gets("/data/rain_2024.tif")[0].headers["Authorization"] == "Bearer s3cret"
    monkeypatch.setenv("CMRISK_TEST_TOKEN", "wrong")
    with pytest.raises(FetchError, match=r"401.*credentials"):
        fetch(source, tmp_path, base_url=server.base, force=True, **FAST)


def test_missing_credentials_before_any_request(server: Server, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CMRISK_IDMC_CLIENT_ID", raising=False)
    with pytest.raises(MissingCredentialsError) as info:
        fetch("idmc_gidd", tmp_path, base_url=server.base, **FAST)
    assert info.value.env == "CMRISK_IDMC_CLIENT_ID"
    assert server.seen == []


def test_query_credentials_and_years(server: Server, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    api = "/external-api/gidd/disasters/"
    server.files[api] = b"[]"
    monkeypatch.setenv("CMRISK_IDMC_CLIENT_ID", "client-123")
    paths = fetch("idmc_gidd", tmp_path, base_url=server.base, years=[2022, 2023], **FAST)
    assert [p.name for p in paths] == ["idmc_gidd_disasters_2022.json",
                                       "idmc_gidd_disasters_2023.json"]
    first = server.gets(api)[0]
    assert first.query["client_id"] == ["client-123"]
    assert first.query["iso3__in"] == ["PAN,COL"] and first.query["start_year"] == ["2022"]
    assert first.query["release_environment"] == ["RELEASE"]
    for record in tmp_path.glob(".*.fetch.json"):
        assert "client-123" not in record.read_text()


def test_tiles_chosen_by_bbox(server: Server, tmp_path: Path) -> None:
    index = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": 64, "name": "N10_W080"},
         "geometry": {"type": "Polygon", "coordinates": [[[-80, 0], [-70, 0], [-70, 10],
                                                          [-80, 10], [-80, 0]]]}},
        {"type": "Feature", "properties": {"id": 65, "name": "N10_E000"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10],
                                                          [0, 10], [0, 0]]]}},
    ]}
    server.files["/tile_extents.geojson"] = json.dumps(index).encode()
    for rp in (10, 50, 100, 500):
        server.files[f"/RP{rp}/ID64_N10_W080_RP{rp}_depth.tif"] = f"rp{rp}".encode()
    paths = fetch("jrc_flood", tmp_path, base_url=server.base, bbox=(-79.5, 6.8, -76.5, 9.8),
                  **FAST)
    assert [p.name for p in paths] == [f"ID64_N10_W080_RP{rp}_depth.tif"
                                       for rp in (10, 50, 100, 500)]
    assert not [s for s in server.seen if "E000" in s.path]
    with pytest.raises(FetchError, match="bbox"):
        fetch("jrc_flood", tmp_path / "other", base_url=server.base, **FAST)


def test_progress_bar(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.files[NE_PATH] = BODY
    fetch("natural_earth", tmp_path, base_url=server.base, backoff_s=0.001, progress=True)
    assert "ne_10m_admin_0_countries.zip" in capsys.readouterr().err


def test_source_without_download(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="cmrisk ingest"):
        fetch("flow_counts", tmp_path, **FAST)


def test_plan_expands_years_and_filters_formats() -> None:
    source = get_source("missing_migrants")
    planned = plan(source, base="http://h", years=[2023, 2024])
    assert [p.filename for p in planned] == ["Missing_Migrants_Global_Figures_allData.csv",
                                             "missing_migrants_2023.json",
                                             "missing_migrants_2024.json"]
    assert planned[1].url == "http://h/global-figures/2023/json"
    only_json = plan(source, base="http://h", years=[2024], formats=["website_json"])
    assert [p.filename for p in only_json] == ["missing_migrants_2024.json"]
    wdpa = plan(get_source("wdpa"), base="http://h", years=[2024], params={"month": "Nov"})
    assert [p.filename for p in wdpa] == ["WDPA_Nov2024_Public_PAN_shp.zip",
                                          "WDPA_Nov2024_Public_COL_shp.zip"]


def test_parse_checksum_forms() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert parse_checksum(digest, "f.tif") == digest
    assert parse_checksum(f"{digest} *f.tif\n{'1' * 64}  g.tif", "f.tif") == digest
    assert parse_checksum(f"SHA256 (f.tif) = {digest.upper()}", "f.tif") == digest
    with pytest.raises(FetchError):
        parse_checksum("nothing here", "f.tif")


def test_redirects_within_the_source_are_followed(server: Server, tmp_path: Path) -> None:
    server.files["/data/rain_2024.tif"] = BODY
    server.redirects["/old/rain_2024.tif"] = "/moved/rain_2024.tif"
    server.redirects["/moved/rain_2024.tif"] = f"{server.base}/data/rain_2024.tif"
    source = custom_source(files=[{"url": "{base}/old/rain_{year}.tif",
                                   "filename": "rain_{year}.tif", "format": "geotiff"}])
    [path] = fetch(source, tmp_path, base_url=server.base, **FAST)
    assert path.read_bytes() == BODY


def test_redirects_to_other_hosts_are_refused(server: Server, tmp_path: Path) -> None:
    server.files["/data/rain_2024.tif"] = BODY
    port = server.base.rsplit(":", 1)[1]
    elsewhere = f"http://localhost:{port}/data/rain_2024.tif"  # the same server, another name
    server.redirects["/data/rain_2024.tif"] = elsewhere
    with pytest.raises(FetchError, match="'localhost', which is not a host of this source"):
        fetch(custom_source(), tmp_path, base_url=server.base, **FAST)
    assert len(server.gets("/data/rain_2024.tif")) == 1  # asked once, never followed
    assert list(tmp_path.glob("rain_*")) == []
    # A host the source lists is allowed (credentials stay with the first host).
    server.redirects.clear()
    server.redirects["/cdn/rain_2024.tif"] = elsewhere
    source = custom_source(hosts=["localhost"], files=[
        {"url": "{base}/cdn/rain_{year}.tif", "filename": "rain_{year}.tif",
         "format": "geotiff"}])
    [path] = fetch(source, tmp_path, base_url=server.base, **FAST)
    assert path.read_bytes() == BODY


def test_redirect_loops_stop(server: Server, tmp_path: Path) -> None:
    server.redirects["/data/rain_2024.tif"] = "/loop"
    server.redirects["/loop"] = "/data/rain_2024.tif"
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(custom_source(), tmp_path, base_url=server.base, **FAST)
    assert len(server.seen) == 6


def test_files_over_the_size_cap_are_refused(server: Server, tmp_path: Path) -> None:
    server.files["/data/rain_2024.tif"] = BODY  # 200,000 bytes
    with pytest.raises(FetchError, match="200000 bytes, over the source's limit of 1000"):
        fetch(custom_source(max_bytes=1000), tmp_path, base_url=server.base, **FAST)
    assert server.bodies("/data/rain_2024.tif") <= 200_000
    assert list(tmp_path.glob("rain_*")) == []
    server.hide_length.add("/data/rain_2024.tif")  # no Content-Length: counted as it arrives
    with pytest.raises(FetchError, match="more than the source's limit of 100000 bytes"):
        fetch(custom_source(), tmp_path, base_url=server.base, max_bytes=100_000, **FAST)
    assert list(tmp_path.glob("rain_*")) == []


def test_every_source_names_its_hosts() -> None:
    from data_catalog.fetch import source_hosts
    from data_catalog.sources import load_sources

    for source in load_sources().values():
        if source.download is None:
            continue
        hosts = source_hosts(source, source.download.base_url)
        assert hosts and all("{" not in h and "/" not in h for h in hosts), source.id
    wdpa = get_source("wdpa")
    assert wdpa.download is not None
    assert source_hosts(wdpa, wdpa.download.base_url) == {"d1gam3xoknrgr2.cloudfront.net"}
