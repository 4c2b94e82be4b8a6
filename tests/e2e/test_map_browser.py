"""The planning map in headless Chromium (Debian `chromium`, driven by Playwright): served by a
live `uvicorn` on loopback (the session's demo run), and as the self-contained file of
`cmrisk map --embed` opened by `file://` with no service. Every check runs on both pages but
drawing an area, which needs the service (the file shows a notice instead)."""

from __future__ import annotations

import base64
import io
import itertools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import pytest
import shapely
from PIL import Image
from playwright.sync_api import Browser, Page, Request, Response, sync_playwright
from typer.testing import CliRunner

from data_catalog.i18n import language
from data_catalog.paths import DataDir
from geo_service.areas_store import AreasStore
from geo_service.cli import app as cli_app
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
    mode: str = "service"
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
def embed_file(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cmrisk map --out FILE.html --embed --lang es` of the demo run."""
    target = tmp_path_factory.mktemp("embed") / "risk_map_es.html"
    result = CliRunner().invoke(cli_app, ["map", "--out", str(target), "--embed", "--lang", "es",
                                          "--data-dir", str(demo_run)])
    assert result.exit_code == 0, result.output
    return target


def wait_until(page: Page, expression: str, timeout_s: float) -> None:
    """Poll a JavaScript expression until it is true. (Playwright's `wait_for_function`
    evaluates its predicate with `eval` inside the page, which the page's Content Security
    Policy rightly forbids; `evaluate` goes through the DevTools protocol instead.)"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        time.sleep(0.05)


@pytest.fixture(scope="module", params=["service", "file"])
def map_page(request: pytest.FixtureRequest, browser: Browser,
             demo_run: Path) -> Iterator[tuple[Page, PageLog]]:
    """The Spanish planning map and its log: served by the live service (loaded until the
    network is idle, with two more raster layers turned on in the layer control), or the
    `--embed` file opened by `file://`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    if request.param == "service":
        live_server = request.getfixturevalue("live_server")
        log = PageLog(origin=live_server)
        url = f"{live_server}/maps/risk?lang=es"
    else:
        embed = request.getfixturevalue("embed_file")
        log = PageLog(origin="file://", mode="file")
        url = embed.as_uri()
    page.on("request", log.on_request)
    page.on("requestfailed", log.on_failed)
    page.on("response", log.on_response)
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error"
            else None)
    page.on("pageerror", lambda e: log.console_errors.append(str(e)))
    page.goto(url, wait_until="networkidle", timeout=60_000)
    if log.mode == "service":
        # The demo rasters are native to zoom 7, where the region spans 4 tiles: turn on two
        # more raster layers, as a planner would, to load 12.
        registry = Registry(DataDir(demo_run))
        # Leaflet ignores clicks in its layer panel for one tick after the pointer enters it
        # (against ghost clicks on touch screens): enter first, as a person's mouse does.
        page.locator(".leaflet-control-layers").hover()
        for layer_id in ("hazard", "vulnerability"):
            title = registry.get(layer_id).title_es
            assert title
            page.locator(".leaflet-control-layers-overlays label",
                         has_text=title).first.locator("input").check()
    wait_until(page, "document.querySelectorAll('.leaflet-tile-loaded').length >= 8 && "
               "document.querySelectorAll('.leaflet-tile:not(.leaflet-tile-loaded)').length "
               "=== 0", timeout_s=30)
    page.wait_for_load_state("networkidle")
    yield page, log
    context.close()


def _page_point(page: Page, lat: float, lon: float) -> tuple[float, float]:
    """Page coordinates (CSS pixels) of a point of the map."""
    x, y = page.evaluate(
        f"""([lat, lon]) => {{
            const map = {MAP_JS};
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }}""", [lat, lon])
    return float(x), float(y)


def _tile_images(page: Page, log: PageLog) -> list[bytes]:
    """The PNG bytes of the raster tiles the page loaded (responses, or inlined data: URIs)."""
    if log.mode == "service":
        return [response.body() for response in log.tiles]
    sources: list[str] = page.evaluate(
        "Array.from(document.querySelectorAll('img.leaflet-tile-loaded')).map(i => i.src)")
    assert all(src.startswith("data:image/png;base64,") for src in sources), sources[:3]
    return [base64.b64decode(src.split(",", 1)[1]) for src in sources]


def test_page_loads_offline_without_errors(map_page: tuple[Page, PageLog]) -> None:
    page, log = map_page
    assert page.evaluate("typeof L") == "object"
    assert log.foreign == []
    assert log.failed == []
    assert log.console_errors == []


def test_raster_tiles_load_and_show_data(map_page: tuple[Page, PageLog]) -> None:
    page, log = map_page
    images = _tile_images(page, log)
    assert len(images) >= 8, len(images)
    opaque = 0
    for body in images:
        image = Image.open(io.BytesIO(body)).convert("RGBA")
        assert image.size == (256, 256)
        high = image.getchannel("A").getextrema()[1]
        if isinstance(high, int | float) and high > 0:
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
    point = _page_point(page, inside.y, inside.x)
    page.mouse.click(point[0], point[1])
    card = page.locator(".leaflet-popup-content .cmrisk-scorecard")
    card.wait_for(state="visible", timeout=5_000)
    text = card.inner_text()
    assert text.startswith("Parque Nacional Darién") and PARK in text  # official, then WDPA
    # Ranked by the mean over its exposed cells the park is "low" (its diluted mean said
    # "very low"); the card says so and what the score is made of.
    for label in ("Riesgo: 3.42 / 10 (Bajo)", "Clasificada por: riesgo medio en las celdas "
                  "expuestas", "Proporción expuesta: 36%", "Riesgo, percentil 90: 3.65",
                  "Riesgo máximo: 6.02", "Intervalo de posición 5–95%: 2 (2–3)",
                  "Indicador principal", "Ejecución", "Pesos"):
        assert label in text, text
    bars = card.locator(".cmrisk-dim")
    assert bars.count() == 4
    assert "Vulnerabilidad" in bars.nth(1).inner_text()
    page.keyboard.press("Escape")
    # Leaflet fades a closed popup out before removing it: wait for it to go
    page.locator(".leaflet-popup").wait_for(state="detached", timeout=5_000)


def test_screenshot_is_not_blank(map_page: tuple[Page, PageLog]) -> None:
    page, log = map_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / ("risk_map_es.png" if log.mode == "service"
                          else "risk_map_es_embed.png")
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
    # Mid-height: clear of the slider at the bottom (its lines per direction) and of the
    # header's banner, whatever their heights.
    left, top = box["x"] + 300, box["y"] + box["height"] / 2
    page.mouse.move(left, top)
    # es-PA writes a decimal point; the two coordinates are separated by " ; "
    assert re.fullmatch(r"-?\d+\.\d{4} ; -?\d+\.\d{4}",
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


def _crossing_symbols(page: Page) -> tuple[str, str, list[str]]:
    """The slider's month and total, and the outline of every crossing circle."""
    month, total, shapes = page.evaluate(
        """() => [document.querySelector('.cmrisk-month').textContent,
                  document.querySelector('.cmrisk-month-total').textContent,
                  Array.from(document.querySelectorAll('path.cmrisk-crossing'))
                       .map(p => p.getAttribute('d'))]""")
    return month, total, shapes


def test_moving_the_time_slider_changes_the_crossing_symbols(
        map_page: tuple[Page, PageLog]) -> None:
    page, log = map_page
    month, total, shapes = _crossing_symbols(page)
    assert month == "dic. 2024"  # as es-PA writes it (CLDR, with the RAE's period)
    assert len(shapes) == 3
    slider = page.locator(".cmrisk-month-slider")
    slider.focus()
    page.keyboard.press("Home")
    first = _crossing_symbols(page)
    assert first[0] == "ene. 2021"
    assert first[2] != shapes, "the circles did not change with the month"
    # Each direction apart; nobody was counted going south in January 2021.
    assert first[1] != total, first[1]
    assert first[1] == ("Hacia el norte: 575 personas · "
                        "Hacia el sur (retorno): reservado o sin datos"), first[1]
    page.keyboard.press("ArrowRight")
    assert _crossing_symbols(page)[0] == "feb. 2021"
    page.keyboard.press("End")
    assert _crossing_symbols(page) == (month, total, shapes)
    assert log.console_errors == []


def test_slider_sums_each_direction_apart_and_the_banner_names_what_is_synthetic(
        map_page: tuple[Page, PageLog]) -> None:
    """At December 2024 the slider's yearly line gives the north-bound 2024 total of
    Panama's SNM (302,203) and the south-bound return flow (2,800) apart, never their sum
    (305,003); each month's line too. The banner names the synthetic parts of the inputs
    (deaths, monthly breakdowns, station capacities, outlines…) and the real ones."""
    page, log = map_page
    page.locator(".cmrisk-month-slider").focus()
    page.keyboard.press("End")
    year = page.locator(".cmrisk-year-total")
    assert year.get_attribute("data-year") == "2024"
    assert year.get_attribute("data-northbound") == "302203"
    assert year.get_attribute("data-southbound") == "2800"
    text = year.inner_text()
    assert text.startswith("Año 2024: Hacia el norte: 302,203 personas"), text
    assert "Hacia el sur (retorno): 2,800 personas" in text and "305" not in text
    month = page.locator(".cmrisk-month-total").inner_text()
    assert month.startswith("Hacia el norte: ") and " · Hacia el sur (retorno): " in month
    page.keyboard.press("Home")
    assert page.locator(".cmrisk-year-total").get_attribute("data-northbound") == "133726"
    banner = page.locator("#cmrisk-synthetic").inner_text()
    synthetic, real = banner.split(" Real: ")
    assert synthetic.startswith("Datos de demostración. Sintético: ")
    for part in ("rásteres de amenazas y clima", "muertes y desapariciones", "cruces mensuales",
                 "capacidades de las estaciones de recepción",
                 "contornos de áreas protegidas y territorios"):
        assert part in synthetic, part
    assert "totales anuales de cruces" in real and "totales anuales" not in synthetic
    assert log.console_errors == []


def test_drawing_a_polygon_shows_its_analysis(map_page: tuple[Page, PageLog]) -> None:
    page, log = map_page
    if log.mode == "file":
        page.locator(".cmrisk-draw").click()
        notice = page.locator("#cmrisk-analysis .cmrisk-draw-disabled")
        assert notice.is_visible()
        assert "requiere el servicio" in notice.inner_text()
        page.keyboard.press("Escape")
        assert not page.locator("#cmrisk-analysis").is_visible()
        return
    corners = [(8.0, -78.2), (8.0, -77.6), (8.5, -77.6), (8.5, -78.2)]
    page.locator(".cmrisk-draw").click()
    for lat, lon in corners:
        page.mouse.click(*_page_point(page, lat, lon))
    with page.expect_response(lambda r: r.url.endswith("/analysis")) as answer:
        page.locator(".cmrisk-draw").click()
    assert answer.value.status == 200
    assert answer.value.request.method == "POST"
    sent = answer.value.request.post_data_json
    assert sent is not None
    ring = sent["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    assert all(abs(lon - c[1]) < 0.01 and abs(lat - c[0]) < 0.01
               for (lon, lat), c in zip(ring, corners, strict=False))
    risk = page.locator('#cmrisk-analysis .cmrisk-analysis-layer[data-layer="risk"]')
    risk.wait_for(state="visible", timeout=10_000)
    body = answer.value.json()
    assert page.locator("#cmrisk-analysis .cmrisk-area").inner_text() == \
        f"{body['area_km2']:,.1f}"  # es-PA groups thousands with a comma
    assert risk.locator(".cmrisk-mean").inner_text() == f"{body['layers']['risk']['mean']:.2f}"
    assert risk.locator(".cmrisk-max").inner_text() == f"{body['layers']['risk']['max']:.2f}"
    assert "Muy bajo" in risk.locator(".cmrisk-shares").inner_text()
    panel = page.locator("#cmrisk-analysis").inner_text()
    assert "Análisis del área dibujada" in panel and "Superficie (km²)" in panel, panel
    assert "undefined" not in panel and "NaN" not in panel, panel
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "risk_map_es_analysis.png"))
    page.locator(".cmrisk-analysis-close").click()
    assert not page.locator("#cmrisk-analysis").is_visible()
    assert log.console_errors == []
    assert log.failed == []


def test_incidents_cluster_and_planning_units_have_their_legend(
        map_page: tuple[Page, PageLog], demo_run: Path) -> None:
    page, _ = map_page
    assert page.locator(".marker-cluster").count() > 0
    title = Registry(DataDir(demo_run)).get("planning_units").title_es
    assert title
    block = page.locator('#cmrisk-legend [data-layer="planning_units"]')
    assert not block.is_visible()
    toggle = page.locator(".leaflet-control-layers-overlays label",
                          has_text=title).first.locator("input")
    page.locator(".leaflet-control-layers").hover()
    toggle.check()
    assert block.is_visible()
    assert "Muy bajo" in block.inner_text()
    # Planning units are outlined in their class's colour, so the raster below stays visible.
    strokes = set(page.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-overlay-pane path'))"
        ".map(p => p.getAttribute('stroke'))"))
    assert {"#1a9641", "#a6d96a"} <= strokes, strokes
    toggle.uncheck()
    assert not block.is_visible()
    assert page.locator('#cmrisk-legend [data-layer="risk"]').is_visible()


def test_api_docs_work_offline_under_their_policy(browser: Browser, live_server: str) -> None:
    """`/docs` (Swagger UI served by the service, under a CSP that allows only its own
    scripts) renders every operation with no foreign request and no console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log = PageLog(origin=live_server)
    page.on("request", log.on_request)
    page.on("requestfailed", log.on_failed)
    page.on("response", log.on_response)
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error"
            else None)
    page.on("pageerror", lambda e: log.console_errors.append(str(e)))
    response = page.goto(f"{live_server}/docs", wait_until="networkidle", timeout=60_000)
    assert response is not None and "frame-ancestors 'none'" in response.headers[
        "content-security-policy"]
    wait_until(page, "document.querySelectorAll('.opblock').length >= 10", timeout_s=30)
    text = page.locator("#swagger-ui").inner_text()
    assert "/analysis" in text and "/collections/{collectionId}/items" in text
    assert log.console_errors == [] and log.failed == [] and log.foreign == []
    context.close()


def _clickable_point(page: Page, area: shapely.Geometry, pane: str) -> tuple[float, float]:
    """A page point inside `area` where a click reaches a shape of `pane` (not a park, a
    route, a cluster or a control above it): the first such point of a grid over the area."""
    west, south, east, north = area.bounds
    for i, j in itertools.product(range(1, 12), range(1, 12)):
        lon, lat = west + (east - west) * i / 12, south + (north - south) * j / 12
        if not area.contains(shapely.Point(lon, lat)):
            continue
        x, y = _page_point(page, lat, lon)
        if page.evaluate(
                """([x, y, pane]) => { const e = document.elementFromPoint(x, y);
                       return !!e && e.tagName === 'path' &&
                              !!e.closest('.leaflet-' + pane + '-pane'); }""", [x, y, pane]):
            return x, y
    raise AssertionError(f"no point of the area reaches the {pane} pane")


def test_clicking_an_admin_unit_opens_its_card_in_spanish(
        map_page: tuple[Page, PageLog], demo_run: Path) -> None:
    """ADM1 and ADM2 are off until turned on in the layer control; then a click inside a unit
    (outside the parks, whose cards stay on top) opens its card: the name, the score and class
    of its ranking value in Spanish, the ADM1 roll-up of hazard levels, what is synthetic, and
    (served) the link to its brief."""
    page, log = map_page
    registry = Registry(DataDir(demo_run))
    records = AreasStore(registry).frame()
    labels = {str(c["name"]): str(c["label_es"]) for c in registry.classes()}
    parks = gpd.read_parquet(registry.get("protected_areas").asset).geometry.union_all()
    for layer_id, area_id in (("admin2", "adm2:PAN-ADM2-Pinogana"),
                              ("admin1", "adm1:PAN-ADM1-Darien")):
        layer = registry.get(layer_id)
        units = gpd.read_parquet(layer.asset)
        unit = units.loc[units["id"] == area_id].geometry.iloc[0]
        toggle = page.locator(".leaflet-control-layers-overlays label",
                              has_text=layer.name_in(language("es"))).first.locator("input")
        block = page.locator(f'#cmrisk-legend [data-layer="{layer_id}"]')
        assert not toggle.is_checked() and not block.is_visible()
        page.locator(".leaflet-control-layers").hover()
        toggle.check()
        assert block.is_visible()
        assert "sintético: contornos de las unidades administrativas" in block.inner_text()
        strokes = page.evaluate(
            "Array.from(document.querySelectorAll('.leaflet-outlines-pane path'))"
            ".map(p => [p.getAttribute('stroke'), p.getAttribute('stroke-width'),"
            " p.getAttribute('fill-opacity')])")
        assert {tuple(s) for s in strokes} == {
            (layer.style.color, f"{layer.style.weight:g}", "0")}, strokes
        page.mouse.click(*_clickable_point(page, unit.difference(parks), "outlines"))
        card = page.locator(".leaflet-popup-content .cmrisk-scorecard")
        card.wait_for(state="visible", timeout=5_000)
        text = card.inner_text()
        record = records.loc[area_id]
        assert text.startswith(str(record["name"])), text
        assert (f"Riesgo: {record['ranking_value']:.2f} / 10 "
                f"({labels[str(record['risk_class'])]})") in text, text
        assert "Niveles de amenaza" in text and "unidades administrativas" in text
        if layer_id == "admin1":
            assert "el más alto de sus unidades en «Distritos, municipios (ADM2)»" in text
        link = card.locator("a.cmrisk-brief-link")
        if log.mode == "service":
            assert link.inner_text() == "Ficha del área"
            assert link.get_attribute("href") == (
                f"{log.origin}/areas/{area_id}/brief?lang=es-PA")
        else:
            assert link.count() == 0  # no service behind the file
        page.keyboard.press("Escape")
        page.locator(".leaflet-popup").wait_for(state="detached", timeout=5_000)
        page.locator(".leaflet-control-layers").hover()
        toggle.uncheck()
        assert not block.is_visible()
    assert log.console_errors == []
    assert log.failed == []
