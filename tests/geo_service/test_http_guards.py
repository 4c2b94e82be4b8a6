"""What every request passes: trusted hosts, links from the public URL, security headers and
policies, HEAD on tiles, /healthz without counts for anonymous callers, and /metrics behind
a token scope."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from geo_service.app import create_app
from geo_service.auth import TokenSpec, token_hash
from geo_service.guards import DEFAULT_CSP, host_of, page_csp
from geo_service.settings import Settings

METRICS_TOKEN, LAYER_TOKEN = "metrics-token", "layer-token"


@pytest.fixture(scope="module")
def settings(demo_run: Path) -> Settings:
    return Settings(data_dir=demo_run, tokens=[
        TokenSpec(name="prometheus", sha256=token_hash(METRICS_TOKEN), scopes=["metrics"]),
        TokenSpec(name="ministry", sha256=token_hash(LAYER_TOKEN), scopes=["risk"])])


@pytest.fixture(scope="module")
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


def test_hosts_outside_the_allowlist_are_refused(client: TestClient) -> None:
    for host in ("evil.example", "evil.example:8000", "[::2]", "127.0.0.1.evil.example"):
        response = client.get("/layers", headers={"host": host})
        assert response.status_code == 400, host
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["parameter"] == "Host"
    ok = client.get("/", headers={"host": "127.0.0.1:8000", "accept": "application/json"})
    assert ok.status_code == 200
    assert ok.json()["links"][0]["href"] == "http://127.0.0.1:8000/"
    assert client.get("/healthz", headers={"host": "[::1]:8000"}).status_code == 200


def test_host_of_by_hand() -> None:
    assert host_of("Example.org:8080") == "example.org"
    assert host_of("[::1]:8000") == "::1"
    assert host_of("[::1]") == "::1"
    assert host_of("localhost") == "localhost"


def test_the_public_url_sets_every_link_and_one_map_page(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"public_url": "https://risk.example/"}))
    client = TestClient(app)
    for host in ("testserver", "localhost", "127.0.0.1", "risk.example"):
        body = client.get("/", headers={"host": host, "accept": "application/json"}).json()
        assert {link["href"].split("/")[2] for link in body["links"]} == {"risk.example"}
        page = client.get("/maps/risk", headers={"host": host})
        assert page.status_code == 200
        assert "https://risk.example/tiles/risk/" in page.text
    assert len(app.state.map_pages.pages) == 1  # not one page per Host header
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def inline_script_hashes(html: str) -> set[str]:
    bodies = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)
    return {"'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
            for b in bodies}


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


@pytest.mark.parametrize("path", ["/maps/risk", "/maps/risk?lang=es", "/docs"])
def test_pages_allow_exactly_their_own_scripts(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    scripts = set(policy["script-src"]) - {"'self'"}
    assert scripts == inline_script_hashes(response.text) and scripts
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    # Every script the page loads comes from this service.
    sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", response.text)
    assert sources and all(s.startswith("http://testserver/static/") for s in sources)


def test_other_html_gets_the_strict_policy(client: TestClient) -> None:
    page = client.get("/", headers={"accept": "text/html"})
    assert page.headers["content-security-policy"] == DEFAULT_CSP
    assert "<script" not in page.text


def test_online_basemaps_add_only_their_image_host(client: TestClient) -> None:
    policy = directives(client.get("/maps/risk?basemaps=online"
                                   ).headers["content-security-policy"])
    assert policy["img-src"] == ["'self'", "data:", "blob:", "https://tile.openstreetmap.org"]
    assert policy["connect-src"] == ["'self'"]


def test_page_csp_by_hand() -> None:
    html = "<html><script>alert(1)</script><script src='/x.js'></script></html>"
    digest = base64.b64encode(hashlib.sha256(b"alert(1)").digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in page_csp(html)


@pytest.mark.parametrize("path", ["/layers", "/tiles/risk/7/36/61.png", "/collections",
                                  "/nope", "/static/leaflet/leaflet.js"])
def test_nosniff_everywhere(client: TestClient, path: str) -> None:
    assert client.get(path).headers["x-content-type-options"] == "nosniff"


def test_head_on_tiles(client: TestClient) -> None:
    get = client.get("/tiles/risk/7/36/61.png")
    head = client.head("/tiles/risk/7/36/61.png")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "image/png"
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == str(len(get.content))
    assert client.head("/tiles/nope/7/36/61.png").status_code == 404
    assert client.head("/tiles/risk/30/0/0.png").status_code == 404
    assert "head" not in client.get("/api").json()["paths"]["/tiles/{layer}/{z}/{x}/{y}.png"]


def test_healthz_counts_only_for_token_holders(client: TestClient) -> None:
    anonymous = client.get("/healthz").json()
    assert set(anonymous) == {"status", "run_id"} and anonymous["status"] == "ok"
    scoped = client.get("/healthz", headers={"Authorization": f"Bearer {LAYER_TOKEN}"}).json()
    public = len(client.get("/layers").json()["layers"])
    assert scoped["layers"] == public  # what this token may see: the public layers


def test_metrics_need_the_metrics_scope(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {LAYER_TOKEN}"}
                      ).status_code == 404
    client.get("/tiles/risk/7/36/62.png")
    client.get("/tiles/risk/7/36/62.png")
    client.get("/collections/incidents/items?limit=1")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    text = response.text
    assert 'route="/tiles/{layer}/{z}/{x}/{y}.png"' in text  # the template, not the path
    assert "/tiles/risk/7/36/62.png" not in text
    assert re.search(r'cmrisk_tile_cache_total\{layer="risk",result="hit"\} [1-9]', text)
    assert re.search(r'cmrisk_http_request_duration_seconds_count\{method="GET",'
                     r'route="/collections/\{collectionId\}/items"\} [1-9]', text)
    assert re.search(r'cmrisk_run_stage_seconds\{region="darien",run_id="[^"]+",'
                     r'stage="score"\}', text)
    assert "/metrics" not in client.get("/api").json()["paths"]


def test_head_on_stac_downloads(client: TestClient) -> None:
    run_id = client.get("/healthz").json()["run_id"]
    path = f"/stac/runs/{run_id}/items/risk/data"
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]
    assert client.head(f"/stac/runs/{run_id}/items/nope/data").status_code == 404


def test_stale_metrics_folders_are_removed(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import subprocess
    import sys
    import tempfile

    from geo_service.cli import METRICS_DIR_PREFIX, remove_stale_metrics_dirs

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = tmp_path / f"{METRICS_DIR_PREFIX}{finished.stdout.strip()}-abc"
    live = tmp_path / f"{METRICS_DIR_PREFIX}{os.getpid()}-def"
    other = tmp_path / "cmrisk-download-xyz"
    for folder in (dead, live, other):
        folder.mkdir()
    assert remove_stale_metrics_dirs() == [dead]
    assert not dead.exists() and live.exists() and other.exists()
