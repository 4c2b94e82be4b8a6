"""Restricted layers: invisible (404) without a valid, unexpired, in-scope bearer token."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import morecantile
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from fastapi.testclient import TestClient

from data_catalog.paths import DataDir
from geo_service.app import create_app
from geo_service.auth import TokenSpec, authenticate, token_hash
from tests.conftest import FeatureBackend
from tests.ingesting import ingest_raster, ingest_vector

GOOD, OTHER, EXPIRED, STAR = "good-token-1", "other-token-2", "expired-token-3", "star-token-4"
RASTER, VECTOR = "ministry_raster", "ministry_sites"
TILE = morecantile.tms.get("WebMercatorQuad").tile(-77.75, 8.25, 8)
RECT = {"type": "Polygon", "coordinates": [[[-77.9, 8.1], [-77.6, 8.1], [-77.6, 8.4],
                                            [-77.9, 8.4], [-77.9, 8.1]]]}


@pytest.fixture(scope="module")
def data_root(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    root = tmp_path_factory.mktemp("access") / "data"
    shutil.copytree(demo_run, root, symlinks=True)
    data = DataDir(root)
    raster = root.parent / "raster.tif"
    values = np.linspace(0, 100, 50 * 50, dtype="float32").reshape(50, 50)
    with rasterio.open(raster, "w", driver="GTiff", width=50, height=50, count=1,
                       dtype="float32", crs="EPSG:4326",
                       transform=Affine(0.01, 0, -78.0, 0, -0.01, 8.5)) as dst:
        dst.write(values, 1)
    ingest_raster(data, raster, layer_id=RASTER, colormap="viridis", rescale="0,100",
                  access="restricted")
    sites = root.parent / "sites.geojson"
    gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[shapely.Point(-77.8, 8.2),
                                                     shapely.Point(-77.7, 8.3)],
                     crs="EPSG:4326").to_file(sites, driver="GeoJSON")
    ingest_vector(data, sites, layer_id=VECTOR, access="restricted")
    return root


@pytest.fixture(scope="module")
def client(data_root: Path, feature_backend: FeatureBackend) -> TestClient:
    """The service on the embedded store, then on PostGIS (every test runs on both)."""
    now = datetime.now(UTC)
    tokens = [
        TokenSpec(name="ministry", sha256=token_hash(GOOD), scopes=[RASTER, VECTOR],
                  expires=now + timedelta(days=30)),
        TokenSpec(name="other", sha256=token_hash(OTHER), scopes=["something_else"]),
        TokenSpec(name="old", sha256=token_hash(EXPIRED), scopes=["*"],
                  expires=now - timedelta(days=1)),
        TokenSpec(name="admin", sha256=token_hash(STAR), scopes=["*"]),
    ]
    return feature_backend.client(data_root, tokens=tokens)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


REQUESTS = [
    ("GET", f"/layers/{RASTER}"), ("GET", f"/layers/{VECTOR}"),
    ("GET", f"/tiles/{RASTER}/{TILE.z}/{TILE.x}/{TILE.y}.png"),
    ("GET", f"/tiles/{RASTER}/tilejson.json"),
    ("GET", f"/collections/{VECTOR}"), ("GET", f"/collections/{VECTOR}/items"),
    ("GET", f"/collections/{VECTOR}/download?f=geojson"),
    ("GET", f"/stac/user-layers/items/{RASTER}"),
    ("GET", f"/stac/user-layers/items/{RASTER}/data"),
]


@pytest.mark.parametrize("token", [None, "not-a-token", EXPIRED, OTHER])
@pytest.mark.parametrize(("method", "url"), REQUESTS)
def test_invisible_without_a_valid_scoped_token(client: TestClient, method: str, url: str,
                                                token: str | None) -> None:
    response = client.request(method, url, headers=bearer(token))
    assert response.status_code == 404, (url, token)
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("token", [GOOD, STAR])
@pytest.mark.parametrize(("method", "url"), REQUESTS)
def test_served_with_a_scoped_token(client: TestClient, method: str, url: str,
                                    token: str) -> None:
    response = client.request(method, url, headers=bearer(token))
    assert response.status_code == 200, (url, response.text[:300])
    assert response.headers["cache-control"].startswith("private")
    assert "Authorization" in response.headers["vary"]


@pytest.mark.parametrize("token", [None, OTHER])
def test_lists_do_not_name_restricted_layers(client: TestClient, token: str | None) -> None:
    headers = bearer(token)
    for url in ("/layers", "/collections", "/stac/user-layers", "/api"):
        text = client.get(url, headers=headers).text
        assert RASTER not in text and VECTOR not in text, url
    layers = {layer["id"] for layer in client.get("/layers", headers=bearer(GOOD)).json()[
        "layers"]}
    assert {RASTER, VECTOR} <= layers


def test_analysis_of_a_restricted_layer(client: TestClient) -> None:
    body = {"geometry": RECT, "layers": [RASTER]}
    anonymous = client.post("/analysis", json=body)
    assert anonymous.status_code == 400 and anonymous.json()["parameter"] == "layers"
    allowed = client.post("/analysis", json=body, headers=bearer(GOOD))
    assert allowed.status_code == 200, allowed.text[:300]
    assert allowed.headers["cache-control"].startswith("private")


def test_tile_cache_never_serves_another_scope(client: TestClient) -> None:
    url = f"/tiles/{RASTER}/{TILE.z}/{TILE.x}/{TILE.y}.png"
    first = client.get(url, headers=bearer(GOOD))
    assert first.status_code == 200
    again = client.get(url, headers={**bearer(GOOD), "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304  # it is cached
    for token in (None, OTHER, EXPIRED):
        response = client.get(url, headers={**bearer(token),
                                            "If-None-Match": first.headers["etag"]})
        assert response.status_code == 404, token


def test_public_answers_vary_on_authorization(client: TestClient) -> None:
    response = client.get("/layers/risk")
    assert response.status_code == 200
    assert "Authorization" in response.headers["vary"]
    assert "private" not in response.headers.get("cache-control", "")


def test_tokens_are_configured_as_hashes_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sha256"):
        TokenSpec(name="clear", sha256=GOOD, scopes=["*"])
    spec = TokenSpec(name="x", sha256=token_hash(GOOD), scopes=[RASTER])
    assert authenticate(f"Bearer {GOOD}", [spec]).scopes == frozenset({RASTER})
    assert authenticate(f"Bearer {GOOD}x", [spec]).scopes == frozenset()
    assert authenticate(f"Basic {GOOD}", [spec]).scopes == frozenset()
    assert authenticate(None, [spec]).scopes == frozenset()


def test_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    spec = {"name": "env", "sha256": token_hash(GOOD), "scopes": [RASTER]}
    monkeypatch.setenv("CMRISK_TOKENS", json.dumps([spec]))
    monkeypatch.setenv("CMRISK_DATA_DIR", str(data_root))
    client = TestClient(create_app())
    assert client.get(f"/layers/{RASTER}", headers=bearer(GOOD)).status_code == 200
    assert client.get(f"/layers/{RASTER}").status_code == 404
