"""The service slice on a real demo run: landing, health, layers, areas, the planning map;
on both feature stores (areas come from the store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipelines.config import load_region
from tests.conftest import FeatureBackend

CONFIG = load_region("darien")


@pytest.fixture(scope="module")
def client(demo_run: Path, feature_backend: FeatureBackend) -> TestClient:
    """The service on the embedded store, then on PostGIS (every test runs on both)."""
    return feature_backend.client(demo_run)


def test_landing_json_and_html(client: TestClient) -> None:
    body = client.get("/", headers={"accept": "application/json"}).json()
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels
    page = client.get("/", headers={"accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "/maps/risk" in page.text


def test_healthz_reports_the_run(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["run_id"]
    assert "layers" not in body  # no counts for anonymous callers


def test_layers_shape_and_legend(client: TestClient) -> None:
    layers = client.get("/layers").json()["layers"]
    ids = {layer["id"] for layer in layers}
    assert {"risk", "hazard", "vulnerability", "coping", "environment", "protected_areas",
            "route_segments", "planning_units"} <= ids
    risk = client.get("/layers/risk").json()
    for key in ("id", "title", "kind", "value_type", "units", "synthetic", "access", "run_id",
                "legend", "links"):
        assert key in risk, key
    assert risk["kind"] == "raster" and risk["synthetic"] is True
    *classes, quiet = risk["legend"]["classes"]
    # After the classes, "not exposed": the risk is 0 there by construction, drawn grey.
    assert (quiet["label"], quiet["label_es"], quiet["color"]) == (
        "Not exposed", "Sin exposición", "#bdbdbd")
    assert [c["label"] for c in classes] == [c.label for c in CONFIG.classes]
    assert [c["label_es"] for c in classes] == [c.label_es for c in CONFIG.classes]
    assert [(c["min"], c["max"]) for c in classes] == [(c.min, c.max) for c in CONFIG.classes]
    assert all(not str(v).startswith("/") for v in risk.values() if isinstance(v, str))
    assert "asset" not in risk and "/tmp" not in client.get("/layers").text


def test_unknown_layer_is_a_problem(client: TestClient) -> None:
    for bad in ("nope", "..%2F..%2Fetc", "RISK", "a" * 5000):
        response = client.get(f"/layers/{bad}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404


def test_darien_national_park_score_card(client: TestClient) -> None:
    found = client.get("/areas", params={"kind": "protected_area", "q": "Darién National"})
    assert found.status_code == 200
    [area] = found.json()["areas"]
    assert area["id"].startswith("wdpa:")
    card = client.get(f"/areas/{area['id']}").json()
    assert 0 <= card["risk"] <= 10
    assert card["risk_class"] in {c.name for c in CONFIG.classes}
    assert set(card["dimensions"]) == {"H", "V", "C", "E"}
    assert all(0 <= v <= 10 for v in card["dimensions"].values() if v is not None)
    assert card["rank"] >= 1 and card["rank_p05"] <= card["rank_median"] <= card["rank_p95"]
    # The sensitivity audit, for the risk and for the environmental pressure.
    assert 0 <= card["class_change_share"] <= 1
    pressure = card["pressure_audit"]
    assert pressure["rank_p05"] <= pressure["rank_median"] <= pressure["rank_p95"]
    assert 0 <= pressure["class_change_share"] <= 1
    assert card["weights"]["H_nat"] == CONFIG.weights["H_nat"]
    assert card["run_id"] and card["as_of"][:4].isdigit()
    assert card["area_km2"] == pytest.approx(5790, rel=0.15)
    assert card["top_indicator"] in CONFIG.indicators
    # Every indicator's drop when neutralised, largest first: the top indicator's first, and
    # those of environmental sensitivity (E, not in the risk) 0.
    assert set(card["drops"]) == set(CONFIG.indicators)
    assert next(iter(card["drops"])) == card["top_indicator"]
    assert list(card["drops"].values()) == sorted(card["drops"].values(), reverse=True)
    assert all(card["drops"][name] == 0 for name, spec in CONFIG.indicators.items()
               if spec.dimension == "E")
    # What the card is made of: the ranking statistic, exposed share, p90, max, rank interval.
    assert card["ranking_statistic"] == "mean_exposed"
    assert card["ranking_statistic_labels"]["es"] == "riesgo medio en las celdas expuestas"
    assert card["ranking_value"] == card["risk_mean_exposed"] == pytest.approx(3.4164, abs=1e-4)
    assert card["exposed_share"] == pytest.approx(0.3563, abs=1e-4)
    assert card["risk_p90"] == pytest.approx(3.6544, abs=1e-4)
    assert card["risk_max"] == pytest.approx(6.0232, abs=1e-4)
    assert card["risk_class"] == "low" and card["rank"] == 2
    assert (card["rank_p05"], card["rank_p95"]) == (2, 3)


def test_areas_are_ranked_within_kind(client: TestClient) -> None:
    body = client.get("/areas", params={"kind": "planning_unit", "limit": 50}).json()
    assert body["numberMatched"] > 500 and body["numberReturned"] == 50
    ranks = [a["rank"] for a in body["areas"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    # Ranked by the region's ranking statistic, named in every record.
    assert {a["ranking_statistic"] for a in body["areas"]} == {"mean_exposed"}
    scores = [a["ranking_value"] for a in body["areas"]]
    assert scores == sorted(scores, reverse=True)
    assert scores == [a["risk_mean_exposed"] for a in body["areas"]]


def test_not_exposed_areas_come_last_without_rank(client: TestClient) -> None:
    body = client.get("/areas", params={"kind": "planning_unit", "limit": 10000}).json()
    quiet = [a for a in body["areas"] if a["risk_class"] == "not_exposed"]
    assert quiet and all(a["rank"] is None and a["exposed_share"] == 0 for a in quiet)
    assert body["areas"][-len(quiet):] == quiet  # unranked areas sort last
    assert quiet[0]["risk_class_labels"] == {"en": "Not exposed", "es": "Sin exposición",
                                             "pt": "Sem exposição"}
    ranked = [a for a in body["areas"] if a["rank"] is not None]
    assert all(a["exposed_share"] > 0 for a in ranked)


def test_area_bad_input(client: TestClient) -> None:
    assert client.get("/areas/wdpa:0").status_code == 404
    bad_kind = client.get("/areas", params={"kind": "volcano"})
    assert bad_kind.status_code == 400 and bad_kind.json()["parameter"] == "kind"
    bad_limit = client.get("/areas", params={"limit": 0})
    assert bad_limit.status_code == 422 and "limit" in bad_limit.json()["parameter"]


def test_planning_map_page(client: TestClient) -> None:
    page = client.get("/maps/risk")
    assert page.status_code == 200 and "leaflet" in page.text.lower()
    assert "/tiles/risk/{z}/{x}/{y}.png" in page.text
    assert "Darién National Park" in page.text
    assert "synthetic" in page.text.lower()
    spanish = client.get("/maps/risk", params={"lang": "es"}).text
    assert "Muy alto" in spanish and "Sintético: " in spanish
    assert "muertes y desapariciones" in spanish    # the banner names what is synthetic


def test_score_card_labels_come_with_the_area(client: TestClient) -> None:
    [area] = client.get("/areas", params={"q": "Darién National"}).json()["areas"]
    labels = client.get(f"/areas/{area['id']}").json()["labels"]
    for key in ("risk", "risk_class", "rank", "rank_interval", "top_indicator", "area_km2",
                "as_of", "weights"):
        assert labels[key]["en"] and labels[key]["es"], key
    spanish_map = client.get("/maps/risk", params={"lang": "es"}).text
    assert labels["rank_interval"]["es"] in spanish_map
    assert labels["top_indicator"]["es"] in spanish_map
    assert labels["drops"]["es"] in spanish_map  # the popups list the drivers by drop
    # The park's popup names what it is ranked by, its exposed share, p90 and max.
    for key in ("ranking_statistic", "exposed_share", "risk_p90", "risk_max"):
        assert labels[key]["es"] in spanish_map, key
    assert "riesgo medio en las celdas expuestas" in spanish_map
