"""`/stac`: valid STAC 1.1 (core, offline) with service URLs only, and working downloads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from data_catalog.stac_validation import OfflineValidator, validate
from geo_service.app import create_app
from geo_service.settings import Settings

BASE = "http://testserver"


@pytest.fixture(scope="module")
def client(demo_run: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=demo_run)))


def crawl(client: TestClient) -> dict[str, dict[str, Any]]:
    """Every STAC document reachable from /stac through child and item links."""
    seen: dict[str, dict[str, Any]] = {}
    queue = [f"{BASE}/stac"]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        seen[url] = response.json()
        for link in seen[url]["links"]:
            if link["rel"] in ("child", "item") and link["href"].startswith(BASE):
                queue.append(link["href"])
    return seen


def test_every_document_is_valid_core_stac(client: TestClient) -> None:
    documents = crawl(client)
    kinds = {doc["type"] for doc in documents.values()}
    assert kinds == {"Catalog", "Collection", "Feature"}
    assert len([d for d in documents.values() if d["type"] == "Feature"]) > 25
    validator = OfflineValidator()
    for url, doc in documents.items():
        validate(doc, validator, extensions=False)
        assert doc["stac_version"] == "1.1.0", url


def test_no_file_paths_only_service_urls(client: TestClient, demo_run: Path) -> None:
    documents = crawl(client)
    text = json.dumps(documents)
    assert str(demo_run) not in text and "/tmp/" not in text
    for doc in documents.values():
        for asset in doc.get("assets", {}).values():
            assert asset["href"].startswith(f"{BASE}/stac/")


def test_raster_items_carry_extension_fields(client: TestClient) -> None:
    run_id = client.get("/healthz").json()["run_id"]
    item = client.get(f"/stac/runs/{run_id}/items/risk").json()
    assert {"https://stac-extensions.github.io/projection/v2.0.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/file/v2.1.0/schema.json"} <= set(
        item["stac_extensions"])
    assert item["properties"]["proj:code"] == "EPSG:32618"
    assert len(item["properties"]["proj:shape"]) == 2
    band = item["assets"]["data"]["raster:bands"][0]
    assert band["data_type"] == "float32" and band["nodata"] == "nan"
    assert item["properties"]["cmrisk:synthetic"] is True


def test_asset_download_matches_its_checksum(client: TestClient) -> None:
    run_id = client.get("/healthz").json()["run_id"]
    for item_id in ("risk", "protected_areas"):
        item = client.get(f"/stac/runs/{run_id}/items/{item_id}").json()
        asset = item["assets"]["data"]
        body = client.get(asset["href"]).content
        assert len(body) == asset["file:size"]
        assert asset["file:checksum"] == "1220" + hashlib.sha256(body).hexdigest()


def test_sources_are_collections(client: TestClient) -> None:
    wdpa = client.get("/stac/sources/wdpa").json()
    assert wdpa["type"] == "Collection" and wdpa["cmrisk:access"] in ("public", "restricted")
    assert any(link["rel"] == "license" for link in wdpa["links"])


def test_bad_ids_are_problems(client: TestClient) -> None:
    for url in ("/stac/runs/..%2F..", "/stac/runs/nope", "/stac/sources/nope",
                "/stac/runs/20000101t000000-000000/items/risk/data", "/stac/user-layers/items/x"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.headers["content-type"] == "application/problem+json"
