"""The Observatory exchange through the service: the template in three languages, country
tokens, whole-file validation (each kind of bad row → its report line, nothing stored),
versions (resubmission supersedes, the old one stays readable), withdrawal, currency, the
per-country collection with CQL2, and the command line's tokens."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from data_catalog.exchange import store as exchange
from data_catalog.ingest.versions import FileVersionStore
from data_catalog.paths import DataDir
from geo_service.app import create_app
from geo_service.auth import SUBMIT_SCOPE, token_file
from geo_service.settings import Settings
from tests.conftest import FeatureBackend

PROBLEM = "application/problem+json"
HEADER = ("country,point_id,admin_area,month,direction,nationality,sex,age_group,route_class,"
          "country_role,provider,count")
GOOD = [
    "PAN,PA-BCH,,2023-01,northbound,VEN,F,18-59,regional,transit,SNM,1500",
    "PAN,PA-BCH,,2023-01,northbound,VEN,M,18-59,regional,transit,SNM,2500",
    "PAN,PA-BCH,,2023-01,northbound,VEN,_T,18-59,regional,transit,SNM,4000",
    "PAN,PA-BCH,,2023-01,northbound,CHN,M,18-59,extracontinental,transit,SNM,300",
    "PAN,PA-CAN,,2023-02,northbound,HTI,F,0-4,regional,transit,SNM,40",
    "PAN,,PA-5,2023-02,northbound,ECU,M,18-59,regional,destination,SNM,12",
]


def csv_of(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


@pytest.fixture
def data_root(demo_inputs: Path, copy_data_dir: Callable[[Path], Path]) -> Path:
    return copy_data_dir(demo_inputs)


@pytest.fixture
def tokens(data_root: Path) -> dict[str, str]:
    """A submit token for PAN and one for COL, issued as `cmrisk tokens issue` does."""
    issued = {}
    for country in ("PAN", "COL"):
        token, _ = token_file(data_root).issue(
            name=f"ministry {country}", scopes=[SUBMIT_SCOPE, exchange.layer_id(country)],
            country=country)
        issued[country] = token
    return issued


@pytest.fixture
def client(data_root: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_root)))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post(client: TestClient, token: str, body: bytes, **params: str) -> Any:
    return client.post("/exchange/submissions", content=body, params=params,
                       headers=auth(token) | {"Content-Type": "text/csv"})


def state(root: Path) -> dict[str, str]:
    """Every file of the data dir with its SHA-256 (what a refusal must leave as it was)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".lock" not in p.name}


# --- template -----------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["Reference period", "Route class", "Country role"]),
    ("es", ["Período de referencia", "Clase de ruta", "Papel del país"]),
    ("pt", ["Período de referência", "Classe de rota", "Papel do país"]),
])
def test_template_page_explains_every_field(client: TestClient, lang: str,
                                            words: list[str]) -> None:
    page = client.get("/exchange/template", params={"lang": lang})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for word in words:
        assert word in page.text
    for name in HEADER.split(","):
        assert f"<code>{name}</code>" in page.text


def test_template_csv_and_table_schema(client: TestClient) -> None:
    template = client.get("/exchange/template", params={"f": "csv"})
    assert template.text.splitlines()[0] == HEADER
    schema = client.get("/exchange/template", params={"f": "json", "lang": "es"}).json()
    assert [f["name"] for f in schema["fields"]] == HEADER.split(",")
    by_name = {f["name"]: f for f in schema["fields"]}
    assert by_name["route_class"]["constraints"]["enum"] == ["regional", "extracontinental"]
    assert by_name["count"]["type"] == "integer"
    assert by_name["month"]["title"] == "Período de referencia"
    displacement = client.get("/exchange/template",
                              params={"f": "json", "kind": "displacement"}).json()
    assert "hazard" in [f["name"] for f in displacement["fields"]]
    assert client.get("/exchange/template", params={"kind": "x"}).json()["parameter"] == "kind"


# --- submissions ---------------------------------------------------------------------------


def test_submission_is_stored_as_a_version(client: TestClient, tokens: dict[str, str],
                                           data_root: Path) -> None:
    body = csv_of(GOOD)
    response = post(client, tokens["PAN"], body)
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["checksum"] == hashlib.sha256(body).hexdigest()
    assert record["user"] == "token:ministry PAN"
    assert record["months"] == {"2023-01": "current", "2023-02": "current"}
    assert record["timeliness"] == "late"  # 2023's months were due long ago
    assert datetime.fromisoformat(record["created"]) <= datetime.now(UTC)
    detail = client.get(f"/exchange/submissions/{record['id']}", headers=auth(tokens["PAN"]))
    assert detail.json()["row_count"] == 5  # the total row is checked, not stored
    # The pipeline's crossings table holds the submitted counts (summed over the new columns).
    table = pd.read_csv(data_root / "inputs/flows/crossings_monthly.csv", dtype=str)
    cell = table[(table.point_id == "PA-BCH") & (table.month == "2023-01")]
    assert sorted(cell["count"].astype(int)) == [300, 1500, 2500]


def test_collection_is_the_countrys_own_and_takes_cql2(client: TestClient,
                                                       tokens: dict[str, str]) -> None:
    assert post(client, tokens["PAN"], csv_of(GOOD)).status_code == 201
    url = "/collections/exchange_pan/items"
    assert client.get(url).status_code == 404
    assert client.get(url, headers=auth(tokens["COL"])).status_code == 404
    mine = client.get(url, headers=auth(tokens["PAN"]),
                      params={"filter": "total > 1000 AND nationality = 'VEN'"})
    assert mine.status_code == 200, mine.text
    features = mine.json()["features"]
    assert [(f["properties"]["total"], f["properties"]["female"]) for f in features] == \
        [(4000, 1500)]
    assert client.get(url, headers=auth(tokens["PAN"])).json()["numberMatched"] == 3


BAD_ROWS = [
    ("PAN,PA-BCH,,2023-03,northbound,VEN,F,18-59,regional,transit,SNM,many",
     "invalid_number", "count"),
    ("PAN,PA-BCH,,2023-03,northbound,XYZ,F,18-59,regional,transit,SNM,1",
     "unknown_code", "nationality"),
    ("PAN,PA-BCH,,March 2023,northbound,VEN,F,18-59,regional,transit,SNM,1",
     "invalid_date", "month"),
    ("PAN,PA-BCH,,2023-13,northbound,VEN,F,18-59,regional,transit,SNM,1",
     "out_of_range", "month"),
    ("PAN,PA-BCH,,2099-01,northbound,VEN,F,18-59,regional,transit,SNM,1",
     "out_of_range", "month"),
    ("PAN,PA-BCH,,2023-03,northbound,VEN,F,18-59,regional,transit,SNM,-3",
     "out_of_range", "count"),
    ("PAN,PA-BCH,,2023-03,northbound,VEN,F,18-59,regional,transit,SNM,100001",
     "out_of_range", "count"),
    ("PAN,PA-BCH,,2023-01,northbound,VEN,F,18-59,regional,transit,SNM,7",
     "duplicate_key", "country, point_id, admin_area, month, direction, nationality, sex, "
     "age_group, route_class, country_role, provider"),
    ("PAN,PA-BCH,,2023-01,northbound,CHN,_T,18-59,extracontinental,transit,SNM,301",
     "total_mismatch", "count"),
    ("PAN,CO-NEC,,2023-03,northbound,VEN,F,18-59,regional,transit,SNM,1",
     "outside_region", "point_id"),
    ("PAN,PA-ZZZ,,2023-03,northbound,VEN,F,18-59,regional,transit,SNM,1",
     "unknown_code", "point_id"),
    ("PAN,,CO-ANT,2023-03,northbound,VEN,F,18-59,regional,transit,SNM,1",
     "outside_region", "admin_area"),
    ("PAN,PA-BCH,,2023-03,,VEN,F,18-59,regional,transit,SNM,1", "missing_value", "direction"),
    ("PAN,PA-BCH,PA-5,2023-03,northbound,VEN,F,18-59,regional,transit,SNM,1",
     "missing_value", "point_id"),
    ("PAN,PA-BCH,,2023-03,northbound,VEN,F,18-59,overland,transit,SNM,1",
     "unknown_code", "route_class"),
    ("PAN,PA-BCH,,2023-03,northbound,ZZZ,F,18-59,regional,origin,SNM,900",
     "validation_rule", "count"),
]


@pytest.mark.parametrize(("line", "issue", "column"), BAD_ROWS,
                         ids=[f"{b[1]}-{b[2][:20]}" for b in BAD_ROWS])
def test_each_bad_row_is_its_report_line_and_nothing_is_stored(
        client: TestClient, tokens: dict[str, str], data_root: Path, line: str, issue: str,
        column: str) -> None:
    before = state(data_root)
    response = post(client, tokens["PAN"], csv_of([*GOOD, line]))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    bad_line = len(GOOD) + 2  # the header is line 1
    hits = [e for e in body["errors"] if e["line"] == bad_line]
    assert hits, body
    assert (hits[0]["issue"], hits[0]["column"]) == (issue, column)
    assert all(e["line"] == bad_line or issue == "validation_rule" for e in body["errors"])
    assert any(f"line {bad_line}" in p or f"lines {bad_line}" in p for p in body["problems"])
    assert state(data_root) == before


def test_json_submissions_are_checked_by_record(client: TestClient,
                                                tokens: dict[str, str]) -> None:
    names = HEADER.split(",")
    records = [dict(zip(names, line.split(","), strict=True)) for line in GOOD]
    records[1]["sex"] = "X"
    response = client.post("/exchange/submissions", content=json.dumps({"rows": records}),
                           headers=auth(tokens["PAN"]) | {"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["positions"] == "record"
    # The bad record, and the total its detail rows no longer add up to.
    assert [(e["line"], e["column"]) for e in response.json()["errors"]] == \
        [(2, "sex"), (3, "count")]
    records[1]["sex"] = "M"
    ok = client.post("/exchange/submissions", content=json.dumps(records),
                     headers=auth(tokens["PAN"]) | {"Content-Type": "application/json"})
    assert ok.status_code == 201, ok.text


def test_tokens_are_scoped_to_one_country(client: TestClient, tokens: dict[str, str],
                                          data_root: Path) -> None:
    before = state(data_root)
    foreign = post(client, tokens["COL"], csv_of(GOOD))
    assert foreign.status_code == 403
    assert foreign.json()["parameter"] == "country"
    assert state(data_root) == before
    assert post(client, "", csv_of(GOOD)).status_code == 401
    assert post(client, "not-a-token", csv_of(GOOD)).status_code == 401
    record = post(client, tokens["PAN"], csv_of(GOOD)).json()
    url = f"/exchange/submissions/{record['id']}"
    assert client.get(url, headers=auth(tokens["PAN"])).status_code == 200
    for headers in (auth(tokens["COL"]), {}):
        other = client.get(url, headers=headers)
        assert other.status_code == 404
        assert "rows" not in other.json()
    listed = client.get("/exchange/submissions", headers=auth(tokens["COL"])).json()
    assert listed["country"] == "COL" and listed["submissions"] == []


def test_a_revoked_token_is_refused(client: TestClient, tokens: dict[str, str],
                                    data_root: Path) -> None:
    file = token_file(data_root)
    spec = next(s for s in file.specs() if s.country == "PAN")
    file.revoke(spec.id)
    response = post(client, tokens["PAN"], csv_of(GOOD))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)
    assert client.get("/collections/exchange_pan/items",
                      headers=auth(tokens["PAN"])).status_code == 404


def test_resubmission_supersedes_and_the_old_version_stays_readable(
        client: TestClient, tokens: dict[str, str]) -> None:
    first = post(client, tokens["PAN"], csv_of(GOOD)).json()
    again = [line.replace(",1500", ",1600").replace(",4000", ",4100") for line in GOOD[:4]]
    second = post(client, tokens["PAN"], csv_of(again)).json()
    assert second["months"] == {"2023-01": "current"}
    old = client.get(f"/exchange/submissions/{first['id']}", headers=auth(tokens["PAN"])).json()
    assert old["status"] == "current"  # its 2023-02 is still current
    assert old["months"] == {"2023-01": "superseded", "2023-02": "current"}
    assert sorted(r["count"] for r in old["rows"] if r["month"] == "2023-01") == [300, 1500, 2500]
    third = post(client, tokens["PAN"], csv_of(GOOD[4:])).json()
    oldest = client.get(f"/exchange/submissions/{first['id']}",
                        headers=auth(tokens["PAN"])).json()
    assert oldest["status"] == "superseded"
    history = client.get("/exchange/submissions", headers=auth(tokens["PAN"])).json()
    assert [h["id"] for h in history["submissions"]] == [first["id"], second["id"], third["id"]]
    items = client.get("/collections/exchange_pan/items", headers=auth(tokens["PAN"]),
                       params={"filter": "month = '2023-01' AND nationality = 'VEN'"}).json()
    assert [f["properties"]["total"] for f in items["features"]] == [4100]


def test_a_withdrawn_month_leaves_the_published_series(client: TestClient,
                                                       tokens: dict[str, str],
                                                       data_root: Path) -> None:
    first = post(client, tokens["PAN"], csv_of(GOOD)).json()
    response = client.post("/exchange/withdrawals", headers=auth(tokens["PAN"]),
                           json={"months": ["2023-02"]})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "withdrawal"
    old = client.get(f"/exchange/submissions/{first['id']}", headers=auth(tokens["PAN"])).json()
    assert old["months"] == {"2023-01": "current", "2023-02": "withdrawn"}
    assert len(old["rows"]) == 5  # kept
    table = pd.read_csv(data_root / "inputs/flows/crossings_monthly.csv", dtype=str)
    assert not ((table.point_id == "PA-CAN") & (table.month == "2023-02")).any()
    assert ((table.point_id == "PA-BCH") & (table.month == "2023-01")).any()
    items = client.get("/collections/exchange_pan/items", headers=auth(tokens["PAN"])).json()
    assert {f["properties"]["month"] for f in items["features"]} == {"2023-01"}
    again = client.post("/exchange/withdrawals", headers=auth(tokens["PAN"]),
                        json={"months": ["2023-02"]})
    assert again.status_code == 400 and again.json()["parameter"] == "months"


def test_status_tells_currency_timeliness_and_staleness(client: TestClient,
                                                        tokens: dict[str, str],
                                                        data_root: Path) -> None:
    assert post(client, tokens["PAN"], csv_of(GOOD)).status_code == 201
    body = client.get("/exchange/status").json()
    assert body["deadline_days"] == 30
    (pan,) = body["countries"]
    assert (pan["country"], pan["last_month"], pan["timeliness"], pan["stale"]) == \
        ("PAN", "2023-02", "late", True)
    store = FileVersionStore(DataDir(data_root))
    fresh = exchange.status(store, today=datetime(2023, 3, 10, tzinfo=UTC).date())
    assert fresh[0]["stale"] is False and fresh[0]["age_days"] == 10
    assert exchange.month_due("2023-02", exchange.load_config()).isoformat() == "2023-03-30"
    assert exchange.timeliness(["2023-02"], datetime(2023, 3, 30, 23, tzinfo=UTC),
                               exchange.load_config()) == "on_time"
    assert exchange.timeliness(["2023-02"], datetime(2023, 3, 31, tzinfo=UTC),
                               exchange.load_config()) == "late"


def test_stale_data_are_marked_in_layers_and_the_map(demo_run: Path,
                                                     copy_data_dir: Callable[[Path], Path]
                                                     ) -> None:
    root = copy_data_dir(demo_run)
    token, _ = token_file(root).issue(name="SNM", scopes=[SUBMIT_SCOPE, "exchange_pan"],
                                      country="PAN")
    client = TestClient(create_app(Settings(data_dir=root)))
    assert "currency" not in client.get("/layers/transit").json()
    assert "cmrisk-stale" not in client.get("/maps/risk").text
    assert post(client, token, csv_of(GOOD)).status_code == 201
    transit = client.get("/layers/transit").json()  # made from the crossings
    assert transit["stale"] is True
    assert [(c["country"], c["last_month"]) for c in transit["currency"]] == [("PAN", "2023-02")]
    own = next(layer for layer in client.get("/layers", headers=auth(token)).json()["layers"]
               if layer["id"] == "exchange_pan")
    assert own["stale"] is True and own["currency"][0]["timeliness"] == "late"
    page = client.get("/maps/risk", params={"lang": "es"}).text
    assert 'id="cmrisk-stale"' in page and "Datos del intercambio desactualizados" in page
    assert "PAN (feb. 2023)" in page


def test_collection_on_both_feature_stores(data_root: Path, tokens: dict[str, str],
                                           feature_backend: FeatureBackend) -> None:
    """With PostGIS as the feature store, a submission loads the country's collection there
    before it is swapped in (as `cmrisk ingest` does)."""
    client = feature_backend.client(data_root)
    assert post(client, tokens["PAN"], csv_of(GOOD)).status_code == 201
    page = client.get("/collections/exchange_pan/items", headers=auth(tokens["PAN"]),
                      params={"filter": "total > 1000 AND nationality = 'VEN'"})
    assert page.status_code == 200, page.text
    assert [f["properties"]["total"] for f in page.json()["features"]] == [4000]
    assert client.get("/collections/exchange_pan/items").status_code == 404
