"""The planning map as a Spanish- or Portuguese-speaking analyst sees it, in headless Chromium,
at the three screen sizes of the issue (1366×768 laptop, 1024×640 small laptop, 390×844
phone): no visible control covers another, nothing English is left on the Spanish page,
`<html lang>` and `<title>` are set, search finds a park without its accent, Escape closes
what it opened, keyboard focus is visible, the print view keeps only the map's content; the
area brief passes axe-core; `/docs` and `/redoc` render offline. Screenshots go to
`tests/e2e/artifacts/` (git-ignored) for a person to look at."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from data_catalog.i18n import language
from data_catalog.paths import DataDir
from layers.registry import Registry, by_role
from tests.e2e.test_map_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PageLog, wait_until
from tests.live import live_service

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SIZES = [(1366, 768), (1024, 640), (390, 844)]
LANGS = {"es": ("es-PA", "Tapón del Darién"), "pt": ("pt-BR", "Tampão de Darién")}
ENGLISH_UI = (
    "Full screen", "Zoom in", "Zoom out", "Layers", "Legend", "Search", "Measure",
    "Draw an area", "Monthly crossings", "people", "Very low", "Medium", "Very high",
    "Outside the analysed region", "Demonstration data", "synthetic", "Drowning",
    "reception_station", "reception station", "health post", "Leaflet", "Weights", "Rank",
    "withheld", "Move the mouse", "Print", "Save the current view", "National Park",
    "Protected areas", "Countries", "Planning units", "Risk", "Scores", "Map data",
)
"""English words of the map's interface that must not appear on the Spanish page (text,
titles, labels, placeholders, alt texts)."""
CONTROLS = (".cmrisk-header, .leaflet-top > .leaflet-control, "
            ".leaflet-bottom > .leaflet-control")
"""Every control of the page: the header (title, banner, search) and Leaflet's corners."""


@pytest.fixture(scope="module")
def live_server(demo_run: Path) -> Iterator[str]:
    with live_service(demo_run) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: run `make debs`"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


def _open(browser: Browser, url: str, size: tuple[int, int], locale: str
          ) -> tuple[Page, PageLog]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  locale=locale, is_mobile=size[0] < 600,
                                  has_touch=size[0] < 600)
    page = context.new_page()
    log = PageLog(origin=url.split("/maps/")[0] if "/maps/" in url else url)
    page.on("request", log.on_request)
    page.on("requestfailed", log.on_failed)
    page.on("response", log.on_response)
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error"
            else None)
    page.on("pageerror", lambda e: log.console_errors.append(str(e)))
    page.goto(url, wait_until="networkidle", timeout=60_000)
    wait_until(page, "document.querySelectorAll('.leaflet-tile-loaded').length >= 1 && "
               "document.querySelectorAll('.leaflet-tile:not(.leaflet-tile-loaded)').length "
               "=== 0", timeout_s=30)
    return page, log


@pytest.fixture(scope="module", params=[(lang, size) for lang in LANGS for size in SIZES],
                ids=lambda p: f"{p[0]}-{p[1][0]}x{p[1][1]}")
def layout(request: pytest.FixtureRequest, browser: Browser,
           live_server: str) -> Iterator[tuple[Page, PageLog, str, tuple[int, int]]]:
    lang, size = request.param
    page, log = _open(browser, f"{live_server}/maps/risk?lang={lang}", size, LANGS[lang][0])
    yield page, log, lang, size
    page.context.close()


def _boxes(page: Page) -> list[dict[str, float | str]]:
    """Bounding boxes (CSS pixels) of the visible controls, named by their classes."""
    return page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector))
            .filter(e => { const s = getComputedStyle(e), r = e.getBoundingClientRect();
                           return s.display !== 'none' && s.visibility !== 'hidden' &&
                                  r.width > 0 && r.height > 0; })
            .map(e => { const r = e.getBoundingClientRect();
                        return {name: e.className || e.id, left: r.left, top: r.top,
                                right: r.right, bottom: r.bottom}; })""", CONTROLS)


def _overlap(a: dict[str, float | str], b: dict[str, float | str]) -> float:
    width = min(float(a["right"]), float(b["right"])) - max(float(a["left"]), float(b["left"]))
    height = min(float(a["bottom"]), float(b["bottom"])) - max(float(a["top"]),
                                                               float(b["top"]))
    return max(0.0, width) * max(0.0, height)


def test_no_visible_control_covers_another(layout: tuple[Page, PageLog, str, tuple[int, int]]
                                           ) -> None:
    page, log, lang, (width, height) = layout
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map_{lang}_{width}x{height}.png"))
    boxes = _boxes(page)
    names = " ".join(str(b["name"]) for b in boxes)
    for needed in ("cmrisk-header", "leaflet-control-zoom", "leaflet-control-layers",
                   "leaflet-control-scale", "leaflet-control-attribution", "cmrisk-legend",
                   "cmrisk-slider"):
        assert needed in names, f"{needed} is not visible at {width}x{height}"
    for a, b in itertools.combinations(boxes, 2):
        assert _overlap(a, b) == 0, f"{a['name']} covers {b['name']} at {width}x{height}"
    for box in boxes:  # and everything is on the screen
        assert float(box["left"]) >= 0 and float(box["right"]) <= width + 0.5, box
        assert float(box["top"]) >= 0 and float(box["bottom"]) <= height + 0.5, box
    assert log.console_errors == [] and log.failed == [] and log.foreign == []


def test_language_and_title_are_set(layout: tuple[Page, PageLog, str, tuple[int, int]]) -> None:
    page, _, lang, _ = layout
    tag, region = LANGS[lang]
    assert page.evaluate("document.documentElement.lang") == tag
    assert page.title().startswith(region)
    assert page.locator(".cmrisk-header h1").inner_text().startswith(region)


def _all_text(page: Page) -> str:
    """Every text node of the page (hidden ones too: a folded panel is still the page's) and
    every title, label, placeholder and alt text; not the code of scripts."""
    return page.evaluate(
        """() => {
            const parts = [document.title];
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
                const parent = walker.currentNode.parentElement;
                if (parent && !['SCRIPT', 'STYLE'].includes(parent.tagName)) {
                    parts.push(walker.currentNode.textContent);
                }
            }
            const named = ['title', 'aria-label', 'placeholder', 'alt'];
            for (const e of document.querySelectorAll(named.map(a => `[${a}]`).join(','))) {
                for (const a of named) {
                    if (e.getAttribute(a)) { parts.push(e.getAttribute(a)); }
                }
            }
            return parts.join('\\n');
        }""")


def test_the_spanish_page_has_no_english_left(
        layout: tuple[Page, PageLog, str, tuple[int, int]]) -> None:
    page, _, lang, _ = layout
    if lang != "es":
        text = _all_text(page)
        assert "Muito baixo" in text and "Fora da região analisada" in text
        return
    text = _all_text(page)
    assert "Muy bajo" in text and "Fuera de la región analizada" in text
    found = [word for word in ENGLISH_UI if word in text]
    assert found == [], f"English on the Spanish map: {found}"


def _card_by_search(page: Page, query: str) -> tuple[str, Locator, dict[str, float | str]]:
    """Search `query`, open the first result's card and wait until the map stops moving:
    (the first result's text, the card, the card's box as `_boxes` gives boxes)."""
    search = page.locator("#cmrisk-search-input")
    search.fill(query)
    results = page.locator("#cmrisk-search-results .cmrisk-search-result")
    results.first.wait_for(state="visible", timeout=5_000)
    first = results.all_inner_texts()[0]
    search.press("Enter")
    card = page.locator(".leaflet-popup-content .cmrisk-scorecard")
    card.wait_for(state="visible", timeout=5_000)
    wait_until(page, "!document.querySelector('.leaflet-map-pane').style.transition && "
               "!document.querySelector('.leaflet-pan-anim')", timeout_s=10)
    popup = page.locator(".leaflet-popup-content-wrapper").bounding_box()
    assert popup is not None
    return first, card, {"name": "popup", "left": popup["x"], "top": popup["y"],
                         "right": popup["x"] + popup["width"],
                         "bottom": popup["y"] + popup["height"]}


def test_search_finds_the_park_without_its_accent(
        layout: tuple[Page, PageLog, str, tuple[int, int]]) -> None:
    page, log, _, _ = layout
    search = page.locator("#cmrisk-search-input")
    first, card, box = _card_by_search(page, "darien")
    assert "Parque Nacional Darién" in first
    assert card.inner_text().startswith("Parque Nacional Darién")
    # the card opens where no control covers it (on a phone too), its close button included
    for control in _boxes(page):
        if "cmrisk-header" not in str(control["name"]):
            assert _overlap(box, control) == 0, f"{control['name']} covers the card"
    assert page.locator(".leaflet-popup-close-button").is_visible()
    page.keyboard.press("Escape")
    # Leaflet fades a closed popup out before removing it: wait for it to go
    page.locator(".leaflet-popup").wait_for(state="detached", timeout=5_000)
    search.fill("")
    assert log.console_errors == []


def test_keyboard_focus_is_visible(layout: tuple[Page, PageLog, str, tuple[int, int]]) -> None:
    page, _, _, _ = layout
    page.locator("body").click(position={"x": 2, "y": 2})
    page.keyboard.press("Tab")
    style = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
                                     return [document.activeElement.tagName, s.outlineStyle,
                                             s.outlineWidth, s.outlineColor]; }""")
    assert style[0] != "BODY" and style[1] != "none" and style[2] == "2px", style


def test_small_screens_fold_the_layer_panel(
        layout: tuple[Page, PageLog, str, tuple[int, int]]) -> None:
    page, _, _, (width, height) = layout
    expanded = page.evaluate("document.querySelector('.leaflet-control-layers')"
                             ".classList.contains('leaflet-control-layers-expanded')")
    assert expanded == (width >= 1200 and height >= 700)
    legend_open = page.evaluate("document.querySelector('#cmrisk-legend details').open")
    assert legend_open == (width >= 700 and height >= 560)


def test_print_view_keeps_title_legend_scale_and_attribution(
        layout: tuple[Page, PageLog, str, tuple[int, int]]) -> None:
    page, _, lang, (width, height) = layout
    if (width, height) != (1024, 640):
        return
    page.emulate_media(media="print")
    try:
        for hidden in (".leaflet-control-zoom", ".leaflet-control-layers", "#cmrisk-search",
                       ".cmrisk-slider", ".cmrisk-draw"):
            assert not page.locator(hidden).first.is_visible(), hidden
        for shown in (".cmrisk-header h1", "#cmrisk-legend", ".leaflet-control-scale",
                      ".leaflet-control-attribution"):
            assert page.locator(shown).first.is_visible(), shown
        page.screenshot(path=str(ARTIFACTS / f"map_{lang}_print.png"))
    finally:
        page.emulate_media(media="screen")


def test_the_area_brief_passes_axe(browser: Browser, live_server: str) -> None:
    """axe-core (shipped in axe-playwright-python, loaded from disk) finds no serious or
    critical violation on the Spanish brief."""
    context = browser.new_context(viewport={"width": 900, "height": 1200}, locale="es-PA")
    page = context.new_page()
    page.goto(f"{live_server}/areas/wdpa:900001/brief?lang=es", wait_until="networkidle")
    results = Axe().run(page)
    violations = results.response["violations"]
    serious = [(v["id"], v["impact"], v["help"]) for v in violations
               if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
    assert page.evaluate("document.documentElement.lang") == "es-PA"
    page.screenshot(path=str(ARTIFACTS / "brief_es.png"), full_page=True)
    context.close()


@pytest.mark.parametrize(("path", "ready"), [
    ("/docs", "document.querySelectorAll('.opblock').length >= 10"),
    ("/redoc", "document.querySelectorAll('[data-section-id]').length >= 10"),
])
def test_api_documentation_renders_offline(browser: Browser, live_server: str, path: str,
                                           ready: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log = PageLog(origin=live_server)
    page.on("request", log.on_request)
    page.on("requestfailed", log.on_failed)
    page.on("response", log.on_response)
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error"
            else None)
    page.on("pageerror", lambda e: log.console_errors.append(str(e)))
    page.goto(f"{live_server}{path}", wait_until="networkidle", timeout=60_000)
    wait_until(page, ready, timeout_s=30)
    assert "/analysis" in page.locator("body").inner_text()
    assert log.foreign == [] and log.failed == [] and log.console_errors == []
    page.screenshot(path=str(ARTIFACTS / f"api{path.replace('/', '_')}.png"))
    context.close()


def test_admin_units_turned_on_leave_panel_legend_and_card_on_screen(
        layout: tuple[Page, PageLog, str, tuple[int, int]], demo_run: Path) -> None:
    """At 1366×768 and on the phone, with ADM1 and ADM2 turned on in the layer panel (opened
    by a tap on the phone), the panel and the open legend stay on the screen and clear of each
    other, and an admin unit's card, opened by search, is covered by no control.
    Screenshots: `map_<lang>_<size>_admin_panel.png`, `…_admin_card.png`."""
    page, log, lang, (width, height) = layout
    if (width, height) not in ((1366, 768), (390, 844)):
        return
    registry = Registry(DataDir(demo_run))
    admin = by_role(registry.layers(), "scored_outlines")
    assert [layer.id for layer in admin] == ["admin1", "admin2"]
    control = page.locator(".leaflet-control-layers")
    control.hover()  # folded on the phone, the panel opens as the pointer (or finger) enters
    assert "leaflet-control-layers-expanded" in str(control.get_attribute("class"))
    toggles = []
    for layer in admin:
        toggle = page.locator(".leaflet-control-layers-overlays label",
                              has_text=layer.name_in(language(lang))).first.locator("input")
        toggle.check()
        toggles.append(toggle)
    page.evaluate("document.querySelector('#cmrisk-legend details').open = true")
    for layer in admin:
        assert page.locator(f'#cmrisk-legend [data-layer="{layer.id}"]').is_visible()
    page.screenshot(path=str(ARTIFACTS / f"map_{lang}_{width}x{height}_admin_panel.png"))
    boxes = {str(b["name"]): b for b in _boxes(page)}
    panel = next(b for name, b in boxes.items() if "leaflet-control-layers" in name)
    legend = next(b for name, b in boxes.items() if "cmrisk-legend" in name)
    for box in (panel, legend):
        assert float(box["left"]) >= 0 and float(box["right"]) <= width + 0.5, box
        assert float(box["top"]) >= 0 and float(box["bottom"]) <= height + 0.5, box
    assert _overlap(panel, legend) == 0, (panel, legend)
    # The card of a district, opened by search (on the phone the panel folds as the pointer
    # leaves it, and the legend is folded as the page opened it).
    if width < 600:
        page.evaluate("document.querySelector('#cmrisk-legend details').open = false")
    page.locator("#cmrisk-search-input").click()
    search = page.locator("#cmrisk-search-input")
    _, card, box = _card_by_search(page, "pinogana")
    assert card.inner_text().startswith("Pinogana")
    page.screenshot(path=str(ARTIFACTS / f"map_{lang}_{width}x{height}_admin_card.png"))
    for other in _boxes(page):
        if "cmrisk-header" not in str(other["name"]):
            assert _overlap(box, other) == 0, f"{other['name']} covers the card"
    assert card.locator(".cmrisk-brief-link").is_visible()
    page.keyboard.press("Escape")
    page.locator(".leaflet-popup").wait_for(state="detached", timeout=5_000)
    search.fill("")
    control.hover()
    for toggle in toggles:
        toggle.uncheck()
    page.evaluate("document.querySelector('#cmrisk-legend details').open = "
                  f"{'true' if width >= 700 and height >= 560 else 'false'}")
    assert log.console_errors == [] and log.failed == []
