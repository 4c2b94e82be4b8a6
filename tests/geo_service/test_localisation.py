"""The service in Spanish and Portuguese: `lang` everywhere, `Accept-Language` on `/`, search
without accents, API labels in every language, the PNG export, ReDoc offline, the command
line's help and sources table."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from geo_service.app import create_app
from geo_service.cli import app as cli_app
from geo_service.maps.search import fold, matches
from geo_service.settings import Settings

PARK = "wdpa:900001"


@pytest.fixture(scope="module")
def client(demo_run: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=demo_run)))


def test_fold_removes_accents_and_case() -> None:
    assert fold("Parque Nacional  DARIÉN") == "parque nacional darien"
    assert fold("Acandí, Playón y Playona") == "acandi, playon y playona"
    assert matches("darien", ["Darién National Park"])
    assert not matches("katios", ["Parque Nacional Darién", None])


@pytest.mark.parametrize("query", ["darien", "Darien", "DARIÉN", "parque nacional darién"])
def test_areas_search_ignores_accents_and_case(client: TestClient, query: str) -> None:
    body = client.get("/areas", params={"q": query}).json()
    # The park, and the province of Darién (an admin unit) for the bare name.
    expected = [PARK] if "parque" in query.lower() else ["adm1:PAN-ADM1-Darien", PARK]
    assert [a["id"] for a in body["areas"]] == expected, query
    park = next(a for a in body["areas"] if a["id"] == PARK)
    assert park["official_name"] == "Parque Nacional Darién"


def test_areas_search_reads_official_names(client: TestClient) -> None:
    # "Natural" is in the official Spanish name of Los Katíos only ("Parque Nacional Natural").
    body = client.get("/areas", params={"q": "nacional natural"}).json()
    assert [a["name"] for a in body["areas"]] == ["Los Katíos National Park"]
    assert client.get("/areas", params={"q": "zzz"}).json()["numberMatched"] == 0


def test_area_labels_and_class_come_in_every_language(client: TestClient) -> None:
    area = client.get(f"/areas/{PARK}").json()
    assert area["labels"]["risk"] == {"en": "Risk", "es": "Riesgo", "pt": "Risco"}
    assert area["risk_class_labels"] == {"en": "Low", "es": "Bajo", "pt": "Baixo"}


@pytest.mark.parametrize("path", ["/maps/risk", f"/areas/{PARK}/brief", "/"])
def test_an_unsupported_language_is_a_400_naming_lang(client: TestClient, path: str) -> None:
    response = client.get(path, params={"lang": "fr"})
    assert response.status_code == 400
    assert response.json()["parameter"] == "lang"
    assert "fr" in response.json()["detail"]


def test_the_map_speaks_portuguese(client: TestClient) -> None:
    response = client.get("/maps/risk", params={"lang": "pt"})
    assert response.status_code == 200
    page = response.text
    assert '<html lang="pt-BR">' in page
    assert re.search(r"<title>Tampão de Darién \(Panamá–Colômbia\) · Risco clima-mobilidade",
                     page)
    for text in ("Muito baixo", "Fora da região analisada", "Áreas protegidas (pontuadas)",
                 "estação de acolhida"):
        assert text in page or json.dumps(text)[1:-1] in page, text


def test_the_landing_page_follows_accept_language(client: TestClient) -> None:
    html = {"Accept": "text/html"}
    spanish = client.get("/", headers=html | {"Accept-Language": "es-CO,es;q=0.9,en;q=0.5"})
    assert '<html lang="es-CO">' in spanish.text and "Abrir el mapa de planificación" in \
        spanish.text
    assert spanish.headers["content-language"] == "es-CO"
    assert "/maps/risk?lang=es" in spanish.text
    portuguese = client.get("/", headers=html | {"Accept-Language": "pt"})
    assert '<html lang="pt-BR">' in portuguese.text and "Tampão de Darién" in portuguese.text
    other = client.get("/", headers=html | {"Accept-Language": "de-DE"})
    assert '<html lang="en">' in other.text
    assert client.get("/", headers={"Accept-Language": "es"}).json()["links"]


def test_the_view_exports_as_a_png(client: TestClient) -> None:
    response = client.get("/maps/risk.png", params={
        "bbox": "-78.5,7.2,-77.0,8.6", "width": 640, "height": 480, "lang": "es"})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (640, 480)
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 20
    bad = client.get("/maps/risk.png", params={"bbox": "1,2,3"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "bbox"
    huge = client.get("/maps/risk.png", params={"bbox": "-78,7,-77,8", "width": 100000})
    assert huge.status_code == 422 and huge.json()["parameter"] == "width"


def test_redoc_is_served_from_the_service(client: TestClient) -> None:
    response = client.get("/redoc")
    assert response.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', response.text)
    assert scripts == ["http://testserver/static/redoc/redoc.standalone.js"]
    asset = client.get("/static/redoc/redoc.standalone.js")
    assert asset.status_code == 200 and len(asset.content) > 500_000
    assert "fonts.googleapis" not in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_cli_help_shows_flags_as_flags() -> None:
    result = CliRunner().invoke(cli_app, ["map", "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    assert "--embed" in result.output and "<bool>" not in result.output
    assert "<str>" in result.output  # options that take a value still say so


def test_cli_sources_fit_80_columns() -> None:
    from data_catalog.sources import sources_table

    result = CliRunner().invoke(cli_app, ["sources"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    ids = {row["id"] for row in sources_table()}
    first_cells = {line.split("│")[1].strip() for line in lines if line.startswith("│")}
    assert ids <= first_cells  # every id whole, on one line


def test_cli_map_refuses_an_unknown_language(demo_run: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["map", "--out", str(tmp_path / "m.html"), "--lang",
                                          "fr", "--data-dir", str(demo_run)])
    assert result.exit_code == 2
    assert "--lang" in result.output and "'fr'" in result.output
    assert not (tmp_path / "m.html").exists()


def test_cli_messages_follow_cmrisk_lang(demo_run: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["map", "--out", str(tmp_path / "m.html"), "--lang",
                                          "es", "--data-dir", str(demo_run)],
                                env={"CMRISK_LANG": "pt"})
    assert result.exit_code == 0, result.output
    # the map in Spanish; the messages of the command line in the reader's language
    assert "foi escrito" in result.output


def test_cli_messages_follow_the_posix_locale(demo_run: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["map", "--out", str(tmp_path / "m.html"),
                                          "--data-dir", str(demo_run)],
                                env={"CMRISK_LANG": "", "LC_ALL": "", "LC_MESSAGES": "",
                                     "LANG": "es_CO.UTF-8"})
    assert result.exit_code == 0, result.output
    assert "se escribió" in result.output
    german = CliRunner().invoke(cli_app, ["map", "--out", str(tmp_path / "n.html"),
                                          "--data-dir", str(demo_run)],
                                env={"CMRISK_LANG": "", "LC_ALL": "de_DE.UTF-8"})
    assert german.exit_code == 0 and "wrote" in german.output  # not spoken: English
