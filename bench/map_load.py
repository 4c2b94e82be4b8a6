"""Map load benchmark: a region's planning map with every layer on, in headless Chromium.

Serves a data dir with a live `uvicorn` on loopback, opens `/regions/<region>/maps/risk` in
Debian's Chromium (Playwright) in a fresh browser context each time, and measures: the time
to the page's `load` event, and the time until every overlay of the layer control is on and
every tile and vector drawn has loaded (network idle). Also the page's size and the vertices
of the vector layers embedded in it (`geo_service.maps.budget`). Target (issue 16): the
corridor's map with every layer on loads in ≤ 3 s. Writes the `## Map load` section of
bench/RESULTS.md when run on its own; `bench/scale.py` calls `measure` on its corridor run.

    .venv/bin/python bench/map_load.py --data-dir DIR [--region corridor]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
from results import replace_section  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TARGET_S = 3.0
REPEATS = 3
ALL_ON = """() => {
  let added = 0;
  for (const input of document.querySelectorAll(
      '.leaflet-control-layers-overlays input[type=checkbox]')) {
    if (!input.checked) { input.click(); added++; }
  }
  return added;
}"""
"""Turns on every overlay of the layer control, as a reader ticking each box would."""
ALL_CHECKED = ("Array.from(document.querySelectorAll("
               "'.leaflet-control-layers-overlays input[type=checkbox]')).every(i => i.checked)")
SETTLED = ("document.querySelectorAll('.leaflet-tile:not(.leaflet-tile-loaded)').length === 0")


def measure(root: Path, region: str) -> dict[str, Any]:
    """Serve `root` and time `region`'s map in Chromium (median of `REPEATS` fresh loads)."""
    from playwright.sync_api import sync_playwright

    from data_catalog.paths import DataDir
    from geo_service.maps import risk_map
    from geo_service.maps.budget import embedded_vertices
    from layers.registry import Registry
    from tests.live import live_service

    vertices = embedded_vertices(risk_map(Registry(DataDir(root), region), ""))
    with live_service(root) as url:
        page_url = f"{url}/regions/{region}/maps/risk"
        size = len(httpx.get(page_url, timeout=120).content)
        loads, all_on, added = [], [], 0
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                 headless=True)
            page = browser.new_page()  # once, so that the first timed load is not a cold one
            page.goto(page_url, wait_until="load", timeout=120_000)
            page.close()
            for _ in range(REPEATS):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                started = time.perf_counter()
                page.goto(page_url, wait_until="load", timeout=120_000)
                loads.append(time.perf_counter() - started)
                # Leaflet ignores clicks in its layer panel for one tick after the pointer
                # enters it (against ghost clicks): enter first, as a person's mouse does.
                page.locator(".leaflet-control-layers").hover()
                page.wait_for_timeout(50)
                added = int(page.evaluate(ALL_ON))
                page.wait_for_function(f"() => {ALL_CHECKED}", timeout=120_000)
                page.wait_for_function(f"() => {SETTLED}", timeout=120_000)
                page.wait_for_load_state("networkidle", timeout=120_000)
                page.wait_for_function(f"() => {SETTLED}", timeout=120_000)
                all_on.append(time.perf_counter() - started)
                context.close()
            browser.close()
    return {"region": region, "page_bytes": size, "vertices": vertices,
            "load_s": statistics.median(loads), "all_on_s": statistics.median(all_on),
            "overlays_added": added, "load": os.getloadavg()}


def lines(result: dict[str, Any]) -> list[str]:
    """The result as Markdown lines."""
    met = "met" if result["all_on_s"] <= TARGET_S else "NOT met"
    load = result["load"]
    return [
        f"Planning map of `{result['region']}` (`/regions/{result['region']}/maps/risk`, "
        "served by a live uvicorn on loopback) in headless Chromium, 1280×900, a fresh "
        f"browser context per load, median of {REPEATS} (after one warm-up load).",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| page size | {result['page_bytes'] / 1e6:.2f} MB |",
        f"| vertices of the embedded vector layers | {sum(result['vertices'].values()):,} |",
        f"| to the `load` event | {result['load_s']:.2f} s |",
        f"| every layer on ({result['overlays_added']} overlays turned on), tiles loaded, "
        f"network idle | **{result['all_on_s']:.2f} s** (target ≤ {TARGET_S:.0f} s: {met}) |",
        "",
        "Vertices by layer: " + ", ".join(f"{k} {v:,}" for k, v in
                                          sorted(result["vertices"].items())) + ".",
        f"Load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        f"({os.cpu_count()} cores, shared).",
    ]


def main() -> None:
    """Measure a data dir's map and write the section."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--region", default="corridor")
    args = parser.parse_args()
    result = measure(Path(args.data_dir), args.region)
    replace_section(HERE / "RESULTS.md", "Map load", "\n".join(lines(result)))
    print("\n".join(lines(result)))


if __name__ == "__main__":
    main()
