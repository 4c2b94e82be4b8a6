"""The planning map in headless Chromium (Debian `chromium`, driven by Playwright) against a
live `uvicorn` on loopback, serving the session's demo run."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Request, Response, sync_playwright

from data_catalog.paths import DataDir
from layers.registry import Registry
from tests.live import live_service

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parent / "artifacts"
INFORM_CLASSES_ES = ("Muy bajo", "Bajo", "Medio", "Alto", "Muy alto")
PARK = "Darién National Park"
MAP_JS = ("window[Object.keys(window).find("
          "k => k.startsWith('map_') && window[k] instanceof L.Map)]")
"""The page's Leaflet map (Folium names it `map_<hash>`)."""


@pytest.fixture(scope="module")
def live_server(demo_run: Path) -> Iterator[str]:
    """`uvicorn geo_service.asgi:app` on a free loopback port, serving the demo run."""
    with live_service(demo_run) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium."""
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: run `make debs`"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


@dataclass
class PageLog:
    """Everything the page did on the network and in its console."""

    origin: str
    failed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    tiles: list[Response] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign.append(request.url)

    def on_failed(self, request: Request) -> None:
        self.failed.append(f"{request.url}: {request.failure}")

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url}: HTTP {response.status}")
        elif "/tiles/" in response.url and response.url.endswith(".png"):
            self.tiles.append(response)


@pytest.fixture(scope="module")
def map_page(live_server: str, browser: Browser,
             demo_run: Path) -> Iterator[tuple[Page, PageLog]]:
    """The Spanish planning map, loaded until the network is idle, with two more raster layers
    turned on in the layer control, and its log."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log = PageLog(origin=live_server)
    page.on("request", log.on_request)
    page.on("requestfailed", log.on_failed)
    page.on("response", log.on_response)
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error"
            else None)
    page.on("pageerror", lambda e: log.console_errors.append(str(e)))
    page.goto(f"{live_server}/maps/risk?lang=es", wait_until="networkidle", timeout=60_000)
    # The demo rasters are native to zoom 7, where the region spans 4 tiles: turn on two
    # more raster layers, as a planner would, to load 12.
    registry = Registry(DataDir(demo_run))
    for layer_id in ("hazard", "vulnerability"):
        title = registry.get(layer_id).title_es
        assert title
        page.locator(".leaflet-control-layers-overlays label",
                     has_text=title).first.locator("input").check()
    page.wait_for_function(
        "document.querySelectorAll('.leaflet-tile-loaded').length >= 12 && "
        "document.querySelectorAll('.leaflet-tile:not(.leaflet-tile-loaded)').length === 0",
        timeout=30_000)
    page.wait_for_load_state("networkidle")
    yield page, log
    context.close()


def test_page_loads_offline_without_errors(map_page: tuple[Page, PageLog]) -> None:
    page, log = map_page
    assert page.evaluate("typeof L") == "object"
    assert log.foreign == []
    assert log.failed == []
    assert log.console_errors == []


def test_raster_tiles_load_and_show_data(map_page: tuple[Page, PageLog]) -> None:
    _, log = map_page
    assert len(log.tiles) >= 8, [r.url for r in log.tiles]
    opaque = 0
    for response in log.tiles:
        image = Image.open(io.BytesIO(response.body())).convert("RGBA")
        assert image.size == (256, 256)
        if image.getchannel("A").getextrema()[1] > 0:
            opaque += 1
    assert opaque > 0, "every raster tile is fully transparent"


def test_legend_shows_the_five_inform_classes_in_spanish(
        map_page: tuple[Page, PageLog]) -> None:
    page, _ = map_page
    legend = page.locator("#cmrisk-legend")
    assert legend.is_visible()
    text = legend.inner_text()
    lines = [line.strip() for line in text.splitlines()]
    for label in INFORM_CLASSES_ES:
        assert label in lines, text
    assert "Riesgo clima-movilidad" in text


def test_clicking_darien_national_park_opens_its_score_card(
        map_page: tuple[Page, PageLog], demo_run: Path) -> None:
    page, _ = map_page
    areas = gpd.read_parquet(Registry(DataDir(demo_run)).get("protected_areas").asset)
    inside = areas.loc[areas["name"] == PARK].geometry.iloc[0].representative_point()
    point = page.evaluate(
        f"""([lat, lon]) => {{
            const map = {MAP_JS};
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }}""", [inside.y, inside.x])
    page.mouse.click(point[0], point[1])
    card = page.locator(".leaflet-popup-content .cmrisk-scorecard")
    card.wait_for(state="visible", timeout=5_000)
    text = card.inner_text()
    assert PARK in text
    for label in ("Riesgo", "Muy bajo", "Intervalo de posición 5–95%", "Indicador principal",
                  "Ejecución", "Pesos"):
        assert label in text, text
    bars = card.locator(".cmrisk-dim")
    assert bars.count() == 4
    assert "Vulnerabilidad" in bars.nth(1).inner_text()
    page.keyboard.press("Escape")


def test_screenshot_is_not_blank(map_page: tuple[Page, PageLog]) -> None:
    page, _ = map_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / "risk_map_es.png"
    page.screenshot(path=str(target), full_page=False)
    image = Image.open(target).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "screenshot is (nearly) one colour"


def test_scale_coordinates_fullscreen_and_measure(map_page: tuple[Page, PageLog]) -> None:
    page, log = map_page
    assert page.locator(".leaflet-control-scale").is_visible()
    assert page.locator(".cmrisk-fullscreen").is_visible()
    box = page.locator(".folium-map").bounding_box()
    assert box is not None
    left, top = box["x"] + 300, box["y"] + 700
    page.mouse.move(left, top)
    assert re.fullmatch(r"-?\d+\.\d{4}, -?\d+\.\d{4}",
                        page.locator(".cmrisk-coords").inner_text())
    page.locator(".cmrisk-measure").click()
    page.mouse.click(left, top)
    page.mouse.click(left + 150, top)
    result = page.locator(".cmrisk-measure-result").inner_text()
    match = re.fullmatch(r"(\d+\.\d\d) km", result)
    assert match is not None and float(match.group(1)) > 1, result
    page.locator(".cmrisk-measure").click()
    assert page.locator(".cmrisk-measure-result").inner_text() == ""
    assert log.console_errors == []
    assert log.failed == []
