"""Submission round trip: a country submits → its collection serves the rows (OGC API -
Features) → the next `cmrisk run` reads the new crossings version and its transit pressure
changes; a withdrawal takes the months out again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from fastapi.testclient import TestClient

from data_catalog.exchange.store import layer_id
from data_catalog.ingest.versions import FileVersionStore
from data_catalog.paths import DataDir
from geo_service.app import create_app
from geo_service.auth import SUBMIT_SCOPE, token_file
from geo_service.settings import Settings
from pipelines.config import load_region
from pipelines.run import run

HEADER = ("country,point_id,admin_area,month,direction,nationality,sex,age_group,route_class,"
          "country_role,provider,count")
PEOPLE = 90_000
"""Persons per month submitted for PA-BCH in 2023 (more than the demo counts there)."""


def transit_pressure(folder: Path) -> np.ndarray:
    path = folder / "transit.tif"  # the transit pressure layer
    with rasterio.open(path) as src:
        return np.asarray(src.read(1, masked=True).filled(np.nan))


def test_submit_features_and_next_run(demo_run: Path,
                                      copy_data_dir: Callable[[Path], Path]) -> None:
    root = copy_data_dir(demo_run)
    before = transit_pressure((root / "current").resolve())
    token, _ = token_file(root).issue(name="SNM Panamá", scopes=[SUBMIT_SCOPE, layer_id("PAN")],
                                      country="PAN")
    lines = [f"PAN,PA-BCH,,2023-{m:02d},northbound,VEN,F,18-59,regional,transit,SNM,{PEOPLE}"
             for m in range(1, 13)]
    client = TestClient(create_app(Settings(data_dir=root)))
    response = client.post("/exchange/submissions", content="\n".join([HEADER, *lines]),
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "text/csv"})
    assert response.status_code == 201, response.text

    items = client.get("/collections/exchange_pan/items",
                       headers={"Authorization": f"Bearer {token}"},
                       params={"filter": "total > 1000 AND nationality = 'VEN'", "limit": 100})
    assert items.status_code == 200
    assert items.json()["numberMatched"] == 12
    assert {f["properties"]["total"] for f in items.json()["features"]} == {PEOPLE}

    result = run(load_region("darien"), DataDir(root))
    after = transit_pressure(result.folder)
    # The submitted year is larger than the demo's: more people along the route, so the
    # transit indicator (0-10, log of people per km² per year) rises wherever it was below
    # its cap and falls nowhere.
    assert np.nansum(after) > np.nansum(before)
    assert np.all((after >= before - 1e-6) | np.isnan(before))
    flows = FileVersionStore(DataDir(root)).versions("flow_counts")
    assert flows[-1].action == "exchange"
    manifest = json.loads((result.folder / "run.json").read_text(encoding="utf-8"))
    crossings = next(i for i in manifest["inputs"] if i["name"] == "crossings")
    assert crossings["synthetic"] is False
    assert str(crossings["version"]) == str(flows[-1].version), crossings

    withdrawn = client.post("/exchange/withdrawals", json={"months": ["2023-01", "2023-02"]},
                            headers={"Authorization": f"Bearer {token}"})
    assert withdrawn.status_code == 201
    items = client.get("/collections/exchange_pan/items",
                       headers={"Authorization": f"Bearer {token}"}).json()
    assert items["numberMatched"] == 10
