"""Hazard levels and environmental-pressure figures of the demo run, as `/areas`, the score
card and downloads show them (issue 13, items 4 and 5)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from data_catalog.i18n import language
from data_catalog.paths import DataDir
from geo_service.app import create_app
from geo_service.areas_store import AreasStore
from geo_service.maps.cards import score_card_html
from geo_service.settings import Settings
from layers.registry import Registry

PARK = "wdpa:900001"
KATIOS = "wdpa:900002"
CROSSED_2023 = 520_085
"""People Panama's migration service counted crossing the Darién northbound in 2023."""


@pytest.fixture(scope="module")
def client(demo_run: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=demo_run)))


def test_the_park_record_carries_capacity_ratio_and_waste_load(client: TestClient) -> None:
    area = client.get(f"/areas/{PARK}").json()
    # Every northbound walker of 2023 crosses the park (the foot stages inside it).
    assert area["people_crossing"] == CROSSED_2023
    assert area["carrying_capacity"] == 102
    # 520,085 / 365 days = 1,424.9 people a day over 102 (published with 2 decimals).
    assert area["capacity_ratio"] == pytest.approx(CROSSED_2023 / 365 / 102, abs=0.005)
    # 520,085 people × 9.07 kg = 4,717.2 t a year (published with 1 decimal).
    assert area["waste_load"] == pytest.approx(CROSSED_2023 * 9.07 / 1000, abs=0.05)
    # Ratio 14.0 is past the bound (10) → 10; waste log10(4717.2) / log10(10,000) → 9.18.
    assert area["pressure_capacity_ratio"] == 10.0
    assert area["pressure_waste_load"] == pytest.approx(
        10 * math.log10(CROSSED_2023 * 9.07 / 1000) / 4, abs=1e-3)
    cells = area["environmental_pressure_cells"]
    assert area["environmental_pressure"] == pytest.approx(
        (0.4 * cells + 0.3 * 10.0 + 0.3 * area["pressure_waste_load"]) / 1.0, abs=1e-3)


def test_hazard_levels_are_served_per_area(client: TestClient) -> None:
    park = client.get(f"/areas/{PARK}").json()
    katios = client.get(f"/areas/{KATIOS}").json()
    assert set(park["hazard_levels"]) == {"flood", "landslide", "rainfall", "heat", "drought"}
    # At the flood rasters' native 0.0025° cells: the park floods ≥ 0.5 m on 1.3 % of its
    # land only at RP500 (low); Los Katíos on 6 % at RP50 (medium).
    assert park["hazard_levels"]["flood"] == "low"
    assert park["flood_shares"]["low"] >= 0.01 > park["flood_shares"]["medium"]
    assert katios["hazard_levels"]["flood"] == "medium"
    assert katios["flood_shares"]["medium"] >= 0.01 > katios["flood_shares"]["high"]


def test_the_card_shows_levels_and_pressure_figures_in_spanish(demo_run: Path) -> None:
    registry = Registry(DataDir(demo_run))
    store = AreasStore(registry)
    classes = registry.run_manifest()["config"]["classes"]  # type: ignore[index]
    card = store.as_json(store.frame().loc[PARK], classes)
    html = score_card_html(card, registry.layers(), classes, language("es-CO"))
    flood = registry.get("flood").title_es
    assert "Niveles de amenaza" in html and f"{flood} Bajo" in html
    assert "Presión ambiental: 5,86" in html and "Personas que cruzan" not in html
    assert "Capacidad de carga: 102 personas/día" in html
    assert "Cruces sobre capacidad de carga: 13,97" in html
    assert "Desechos que dejan las personas que cruzan: 4.717,20 t/año" in html


def test_downloads_carry_levels_and_figures(client: TestClient) -> None:
    response = client.get("/collections/protected_areas/download", params={"f": "csv"})
    assert response.status_code == 200
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert rows[PARK]["hazard_level_flood"] == "low"
    assert rows[KATIOS]["hazard_level_flood"] == "medium"
    assert float(rows[PARK]["capacity_ratio"]) == pytest.approx(13.97, abs=0.005)
    assert float(rows[PARK]["carrying_capacity"]) == 102
