"""Hostile and unlucky requests: ids that try to reach files, slow raster reads, crashes and
cross-origin callers all get a clear answer that reveals nothing."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import geo_service.routers.layers as layers_router
import geo_service.routers.tiles as tiles_router
from geo_service.app import create_app
from geo_service.settings import Settings

# Literal "../" is collapsed by every HTTP client before it is sent; the encoded forms reach us.
HOSTILE_IDS = [
    "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%2e%2e%2f%2e%2e", "%2Fetc%2Fpasswd",
    "%2Fvsicurl%2Fhttp%3A%2F%2Fexample.com%2Fa.tif", "http%3A%2F%2Fexample.com%2Fx.tif",
    "risk%00", "a%00b", "secret", "..%2Fsecret", "a" * 5000, "RISK", "risk.tif",
]
TEMPLATES = [
    "/layers/{id}", "/tiles/{id}/7/36/61.png", "/tiles/{id}/tilejson.json",
    "/collections/{id}", "/collections/{id}/items", "/collections/{id}/queryables",
    "/collections/{id}/download?f=csv", "/areas/{id}", "/stac/runs/{id}",
    "/stac/sources/{id}", "/stac/user-layers/items/{id}/data",
]


@pytest.fixture(scope="module")
def data_root(demo_run: Path) -> Path:
    # A file a path-traversal attempt would like to reach.
    (demo_run / "secret").write_text("do not serve")
    return demo_run


@pytest.fixture(scope="module")
def client(data_root: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_root)), raise_server_exceptions=False)


@pytest.mark.parametrize("template", TEMPLATES)
def test_hostile_ids_are_plain_404s(client: TestClient, template: str) -> None:
    for hostile in HOSTILE_IDS:
        response = client.get(template.format(id=hostile))
        assert response.status_code == 404, (template, hostile[:40], response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
        body = response.text
        assert "do not serve" not in body and "/tmp/" not in body and "Traceback" not in body
        assert len(body) < 1500  # a 5,000-character id is not echoed back


def test_slow_raster_reads_are_cut_off(data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tiles_router.tile_response
    release, finished = threading.Event(), threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=120)  # held until the client has its answer
        finished.set()
        return real(*args, **kwargs)

    monkeypatch.setattr(tiles_router, "tile_response", slow)
    client = TestClient(create_app(Settings(data_dir=data_root, raster_timeout_s=0.2)))
    try:
        response = client.get("/tiles/risk/7/36/61.png")
        # Answered while the raster work was still held: the limit, not the work, ended it.
        assert not finished.is_set()
    finally:
        release.set()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "0.2 s" in response.json()["detail"]


def test_crashes_are_problems_with_a_request_id(data_root: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"cannot open {data_root}/runs/x/risk.tif")

    monkeypatch.setattr(layers_router, "layer_json", broken)
    client = TestClient(create_app(Settings(data_dir=data_root)),
                        raise_server_exceptions=False)
    response = client.get("/layers/risk")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    assert str(data_root) not in response.text and "RuntimeError" not in response.text


def test_cors_is_an_explicit_allowlist(data_root: Path) -> None:
    allowed = "https://ministerio.example"
    client = TestClient(create_app(Settings(data_dir=data_root, cors_origins=[allowed])))
    ok = client.get("/layers", headers={"Origin": allowed})
    assert ok.headers["access-control-allow-origin"] == allowed
    other = client.get("/layers", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = client.options("/analysis", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    closed = TestClient(create_app(Settings(data_dir=data_root)))
    assert "access-control-allow-origin" not in closed.get(
        "/layers", headers={"Origin": allowed}).headers


def test_oversized_bodies_are_413(client: TestClient) -> None:
    huge = b'{"geometry": {"type": "Polygon", "coordinates": [' + b" " * (6 * 1024 * 1024) + b"]}}"
    response = client.post("/analysis", content=huge,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["parameter"] == "body"
