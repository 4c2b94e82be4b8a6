"""The planning map page and the static assets it loads (offline: no other host)."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import pytest
from fastapi.testclient import TestClient

from geo_service.app import create_app
from geo_service.settings import Settings
from geo_service.static_assets import UnknownAsset, localize

BASE = "http://testserver"
URL = re.compile(r"""(?:https?:)?//[^\s"'`<>()\\]+""", re.IGNORECASE)
ASSET_URL = re.compile(r"""(?:src|href)="([^"]+)\"""")


@pytest.fixture(scope="module")
def client(demo_run: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=demo_run)))


@pytest.fixture(scope="module")
def page_es(client: TestClient) -> str:
    response = client.get("/maps/risk", params={"lang": "es"})
    assert response.status_code == 200
    return response.text


def _hosts(html: str) -> set[str]:
    return {re.sub(r"^(?:https?:)?//", "", url).split("/")[0].lower()
            for url in URL.findall(html)}


def test_page_names_no_host_but_the_service(page_es: str) -> None:
    assert _hosts(page_es) == {"testserver"}


def test_every_script_and_stylesheet_is_served_by_us(client: TestClient, page_es: str) -> None:
    assets = [url for url in ASSET_URL.findall(page_es) if url.endswith((".js", ".css"))]
    assert {url.rsplit("/", 1)[1] for url in assets} >= {"leaflet.js", "leaflet.css"}
    for url in assets:
        assert url.startswith(f"{BASE}/static/"), url
        response = client.get(url.removeprefix(BASE))
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith(
            "text/javascript" if url.endswith(".js") else "text/css")
        assert len(response.content) > 1000


def test_leaflet_css_images_are_served(client: TestClient) -> None:
    response = client.get("/static/leaflet/images/layers.png")
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("path", [
    "/static/leaflet/../../../__init__.py",
    "/static/leaflet/%2e%2e/__init__.py",
    "/static/leaflet/missing.js",
    "/static/nopackage/leaflet.js",
    "/static/leaflet/",
])
def test_static_refuses_unknown_files_and_escapes(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_spanish_page_has_spanish_legend_and_banner(page_es: str) -> None:
    for label in ("Muy bajo", "Bajo", "Medio", "Alto", "Muy alto", "Riesgo clima-movilidad",
                  "Datos de demostración"):
        assert label in page_es


def test_score_cards_in_both_languages(client: TestClient, page_es: str) -> None:
    assert "Darién National Park" in page_es
    for label in ("Intervalo de posición 5–95%", "Indicador principal", "Ejecución", "Pesos",
                  "Vulnerabilidad", "Falta de capacidad de respuesta", "Sensibilidad ambiental"):
        assert label in page_es, label
    english = client.get("/maps/risk").text
    for label in ("5–95% rank interval", "Top indicator", "Weights", "Vulnerability"):
        assert label in english, label


def test_raster_overlays_use_native_zoom_of_their_tilejson(
        client: TestClient, page_es: str) -> None:
    tilejson = client.get("/tiles/risk/tilejson.json").json()
    match = re.search(r'L\.tileLayer\(\s*"[^"]*/tiles/risk/[^"]*",\s*(\{.*?\})\s*\)', page_es,
                      re.DOTALL)
    assert match is not None
    options = match.group(1)
    assert re.search(rf'"maxNativeZoom": {tilejson["maxzoom"]}\b', options), options
    assert re.search(rf'"minNativeZoom": {tilejson["minzoom"]}\b', options), options


def test_online_basemap_is_an_opt_in(client: TestClient, page_es: str) -> None:
    assert "openstreetmap" not in page_es.lower()
    online = client.get("/maps/risk", params={"basemaps": "online"}).text
    assert "tile.openstreetmap.org" in online
    assert _hosts(online) - {"testserver"} <= {"tile.openstreetmap.org", "openstreetmap.org",
                                               "www.openstreetmap.org"}


def test_localize_rewrites_and_refuses_unknown_assets() -> None:
    fmap = folium.Map(tiles=None)
    localize(fmap, BASE)
    assert fmap.default_js == [("leaflet", f"{BASE}/static/leaflet/leaflet.js"),
                               ("jquery", f"{BASE}/static/jquery/jquery.min.js")]
    element = folium.Map(tiles=None)
    element.default_js = [("some_plugin", "https://cdn.example.org/plugin.js")]
    with pytest.raises(UnknownAsset, match="some_plugin"):
        localize(element, BASE)
