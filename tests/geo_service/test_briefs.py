"""One-page area briefs: a real PDF (WeasyPrint) read back with pypdf, the HTML page, the
command line, and the sections a run's record provides."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader
from typer.testing import CliRunner

from data_catalog.i18n import language
from data_catalog.paths import DataDir
from geo_service.app import create_app
from geo_service.areas_store import AreasStore
from geo_service.briefs.content import gather
from geo_service.briefs.render import brief_html
from geo_service.cli import app as cli_app
from geo_service.settings import Settings
from layers.registry import Registry

PARK = "wdpa:900001"
SPANISH_NAME = "Parque Nacional Darién"
A4_POINTS = (595.28, 841.89)
OFFICIAL_TOTALS = {"2021": 133_726, "2022": 248_284, "2023": 520_085, "2024": 302_203}
"""People counted by Panama's migration service, all crossing Darién NP on the demo route."""


@pytest.fixture(scope="module")
def colombia(demo_run: Path) -> TestClient:
    """A deployment that writes Spanish as Colombia does (6.369,25)."""
    return TestClient(create_app(Settings(data_dir=demo_run, locales={"es": "es-CO"})))


@pytest.fixture(scope="module")
def panama(demo_run: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=demo_run)))


@pytest.fixture(scope="module")
def pdf_es(colombia: TestClient) -> bytes:
    response = colombia.get(f"/areas/{PARK}/brief", params={"lang": "es", "f": "pdf"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-language"] == "es-CO"
    return response.content


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_is_one_a4_page(pdf_es: bytes) -> None:
    assert pdf_es.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf_es))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=0.5)


def test_the_pdf_names_the_park_in_spanish_with_its_score_in_the_locale(
        pdf_es: bytes, colombia: TestClient) -> None:
    text = _text(pdf_es)
    risk = colombia.get(f"/areas/{PARK}").json()["ranking_value"]  # the score it is ranked by
    assert SPANISH_NAME in text
    # Colombia writes the decimal comma: 3.4164 → "3,42" (formatted here without Babel).
    assert f"{risk:.2f}".replace(".", ",") in text
    assert f"{risk:.2f}" not in text
    assert "sintético" in text.lower()
    assert "Qué es sintético" in text
    # What the inputs' provenance says is made up (hazards, deaths, monthly breakdowns…) and
    # what is real (Natural Earth's borders, the yearly crossing totals)
    words = " ".join(text.split())                  # lines wrap anywhere in the PDF's text
    synthetic = words[words.index("Qué es sintético"):words.index("Riesgo")]
    assert "rásteres de amenazas y clima" in synthetic and "muertes y desapariciones" in synthetic
    assert "cruces mensuales" in synthetic and "totales anuales" not in synthetic
    assert "fronteras de países (Natural Earth)" not in synthetic
    assert "totales anuales de cruces" in words and "fronteras de países (Natural Earth)" in words
    for year, total in OFFICIAL_TOTALS.items():
        assert f"{year}: {total:,}".replace(",", ".") in text, (year, text)


def test_panama_writes_the_score_with_a_point(panama: TestClient) -> None:
    html = panama.get(f"/areas/{PARK}/brief", params={"lang": "es"}).text
    risk = panama.get(f"/areas/{PARK}").json()["ranking_value"]
    assert f'class="score-value">{risk:.2f}<' in html
    assert f"2023: {OFFICIAL_TOTALS['2023']:,}" in html  # 520,085
    assert '<html lang="es-PA">' in html


def test_the_html_brief_is_one_file_with_its_map_and_charts(panama: TestClient) -> None:
    response = panama.get(f"/areas/{PARK}/brief", params={"lang": "pt"})
    assert response.status_code == 200
    html = response.text
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert '<html lang="pt-BR">' in html and "O que é sintético" in html
    assert SPANISH_NAME in html  # no Portuguese name: the official one
    match = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', html)
    assert match is not None and SPANISH_NAME in match.group(2)
    assert html.count('role="img"') >= 3  # crossings by month, and two yearly series
    assert "dez. 2024" in html or "jan. 2021" in html  # months as Brazil writes them


def test_the_map_extract_is_drawn_from_the_run(panama: TestClient) -> None:
    import base64

    html = panama.get(f"/areas/{PARK}/brief").text
    data = re.search(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert data is not None
    image = Image.open(io.BytesIO(base64.b64decode(data.group(1)))).convert("RGB")
    assert image.size == (760, 540)
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20) or []}
    assert (26, 150, 65) in colours or any(c[1] > 120 and c[0] < 80 for c in colours)
    # The area's outline in black and the north arrow are drawn on it.
    assert (0, 0, 0) in colours


def test_bad_requests_are_problems_naming_the_parameter(panama: TestClient) -> None:
    bad = panama.get(f"/areas/{PARK}/brief", params={"lang": "fr"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "lang"
    assert bad.headers["content-type"].startswith("application/problem+json")
    missing = panama.get("/areas/wdpa:1/brief")
    assert missing.status_code == 404 and missing.json()["parameter"] == "area_id"
    wrong = panama.get(f"/areas/{PARK}/brief", params={"f": "docx"})
    assert wrong.status_code == 422 and wrong.json()["parameter"] == "f"


def test_cli_writes_the_pdf_by_name(demo_run: Path, tmp_path: Path) -> None:
    target = tmp_path / "darien.pdf"
    # "darien" alone also names the province (an ADM1 area): the park by its name.
    result = CliRunner().invoke(cli_app, ["brief", "parque nacional darien", "--lang", "es",
                                          "--out",
                                          str(target), "--data-dir", str(demo_run)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(str(target))
    assert len(reader.pages) == 1 and SPANISH_NAME in reader.pages[0].extract_text()


def test_cli_refuses_unknown_language_and_ambiguous_names(demo_run: Path,
                                                          tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["brief", PARK, "--lang", "fr", "--out",
                                     str(tmp_path / "x.pdf"), "--data-dir", str(demo_run)])
    assert result.exit_code == 2 and "--lang" in result.output and "fr" in result.output
    result = runner.invoke(cli_app, ["brief", "national park", "--out",
                                     str(tmp_path / "x.pdf"), "--data-dir", str(demo_run)])
    assert result.exit_code == 2 and "wdpa:900001" in result.output
    assert not (tmp_path / "x.pdf").exists()


class RecordWithScoresOfIssue13(AreasStore):
    """The area records a run with hazard levels and a sensitivity audit provides."""

    def as_json(self, row: pd.Series, classes: list[dict[str, Any]]) -> dict[str, Any]:
        record = super().as_json(row, classes)
        record["hazard_levels"] = {"flood": "medium", "landslide": "high"}
        record["class_change_share"] = 0.235
        return record


def test_sections_appear_when_the_record_has_them(demo_run: Path) -> None:
    registry = Registry(DataDir(demo_run))
    plain = brief_html(gather(registry, AreasStore(registry), PARK, language("es-CO")))
    assert "Niveles de amenaza" in plain
    assert "Simulaciones que cambian su clase" in plain  # the run's sensitivity audit has it
    brief = gather(registry, RecordWithScoresOfIssue13(registry), PARK, language("es-CO"))
    html = brief_html(brief)
    flood = registry.get("flood").title_es
    assert "Niveles de amenaza" in html and f"{flood}</th><td>Medio" in html
    assert "Simulaciones que cambian su clase" in html and "23,5%" not in html
    assert '<dd class="class-change">24%</dd>' in html  # 0.235 → 24 % (es-CO, half-even)


def _top_planning_unit(client: TestClient) -> str:
    body = client.get("/areas", params={"kind": "planning_unit", "limit": 1}).json()
    return str(body["areas"][0]["id"])


def test_the_drivers_follow_the_drops_with_the_top_indicator_first(demo_run: Path,
                                                                    panama: TestClient) -> None:
    registry = Registry(DataDir(demo_run))
    store = AreasStore(registry)
    for area_id in (PARK, _top_planning_unit(panama)):
        record = panama.get(f"/areas/{area_id}").json()
        drops = record["drops"]
        assert list(drops.values()) == sorted(drops.values(), reverse=True)  # largest first
        assert next(iter(drops)) == record["top_indicator"]
        brief = gather(registry, store, area_id, language("es-CO"))
        assert brief.drivers, area_id
        listed = [d.indicator for d in brief.drivers]
        assert listed[0] == record["top_indicator"]
        assert listed == [k for k, v in drops.items() if v > 0][:len(listed)]
        assert all(d.text.startswith("−") and d.text.endswith(" puntos") for d in brief.drivers)
        html = brief_html(brief)
        assert "Factores: lo que baja la puntuación al neutralizar cada indicador" in html
        assert "los indicadores más altos" not in html
        # The page lists them in that order, the top indicator's title beside "Indicador
        # principal".
        assert re.findall(r'<tr data-indicator="([^"]+)">', html) == listed
        assert f"<dd>{brief.drivers[0].name}</dd>" in html
        assert f"{brief.drivers[0].text}</td>" in html


@pytest.mark.parametrize("lang", ["es", "pt"])
def test_a_planning_unit_and_the_park_brief_stay_on_one_a4_page(
        colombia: TestClient, lang: str) -> None:
    areas = [_top_planning_unit(colombia)] + ([PARK] if lang == "pt" else [])  # es: pdf_es
    for area_id in areas:
        response = colombia.get(f"/areas/{area_id}/brief", params={"lang": lang, "f": "pdf"})
        assert response.status_code == 200, response.text
        reader = PdfReader(io.BytesIO(response.content))
        assert len(reader.pages) == 1, (area_id, lang)
        words = " ".join(_text(response.content).split())
        assert ("Factores:" if lang == "es" else "Fatores:") in words


class RecordWithoutDrops(AreasStore):
    """An area none of whose indicators lowers its score (every drop 0)."""

    def as_json(self, row: pd.Series, classes: list[dict[str, Any]]) -> dict[str, Any]:
        record = super().as_json(row, classes)
        record["drops"] = {name: 0.0 for name in record["drops"]}
        record["top_indicator"] = None
        return record


def test_a_brief_says_when_no_indicator_lowers_the_score(demo_run: Path) -> None:
    registry = Registry(DataDir(demo_run))
    brief = gather(registry, RecordWithoutDrops(registry), PARK, language("es-CO"))
    assert brief.drivers == []
    html = brief_html(brief)
    assert '<p class="no-driver">Ningún indicador baja la puntuación</p>' in html
    assert "<dd>–</dd>" in html and 'data-indicator="' not in html
