"""The orchestrator on the demo inputs: outputs, reproducibility, atomic switch, killed runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from data_catalog.paths import DataDir
from pipelines.config import load_region
from pipelines.errors import MissingInput, RunValidationError
from pipelines.run import RUN_MANIFEST, run, validate_run
from tests.faults import SWITCHED, run_stopped_at, served_after

CONFIG = load_region("darien")


def test_outputs_are_valid_cogs_with_provenance(demo_run: Path) -> None:
    data = DataDir(demo_run)
    current = data.current_run()
    assert current is not None and (current / RUN_MANIFEST).is_file()
    for name in ("risk", "hazard", "vulnerability", "coping", "environment", "risk_class",
                 "environmental_pressure", "flood", "transit"):
        path = current / f"{name}.tif"
        valid, errors, _ = cog_validate(str(path), quiet=True)
        assert valid, (name, errors)
        with rasterio.open(path) as src:
            assert src.overviews(1), name
            assert src.tags()["synthetic"] == "true"
    with rasterio.open(current / "risk.tif") as src:
        risk = src.read(1, masked=True)
    assert float(risk.min()) >= 0.0 and float(risk.max()) <= 10.0
    assert risk.count() > 10_000  # land cells scored
    manifest = json.loads((current / RUN_MANIFEST).read_text())
    assert manifest["synthetic"] is True
    assert set(manifest["timings_s"]) >= {"align", "score", "areas", "sensitivity"}
    assert manifest["weights"]["V"] == CONFIG.weights["V"]
    item = json.loads((current / "items" / "risk.json").read_text())
    assert item["properties"]["cmrisk:synthetic"] is True
    assert {p["name"] for p in item["properties"]["cmrisk:provenance"]} == set(CONFIG.inputs)
    assert item["assets"]["data"]["href"] == "../risk.tif"


def test_darien_national_park_is_scored(demo_run: Path) -> None:
    current = DataDir(demo_run).current_run()
    assert current is not None
    parks = gpd.read_parquet(current / "protected_areas.parquet")
    darien = parks[parks["name"] == "Darién National Park"].iloc[0]
    assert darien["area_km2"] == pytest.approx(5790, rel=0.15)
    # The demo's values (they move only with the demo or the method: rewrite them with the
    # digest). A third of the park is exposed; ranked by the mean over those cells it is "low"
    # and second of seven, where the diluted mean over the whole park (1.22) said "very low".
    assert darien["ranking_statistic"] == "mean_exposed"
    assert darien["exposed_share"] == pytest.approx(0.356, abs=0.001)
    assert darien["ranking_value"] == darien["risk_mean_exposed"] == pytest.approx(3.416,
                                                                                  abs=0.001)
    assert darien["risk"] == pytest.approx(1.217, abs=0.001)
    assert darien["risk_p90"] == pytest.approx(3.654, abs=0.001)
    assert darien["risk_max"] == pytest.approx(6.023, abs=0.001)
    assert darien["risk_class"] == "low"  # [2.0, 3.5)
    assert darien["rank"] == 2.0
    assert (darien["rank_p05"], darien["rank_median"], darien["rank_p95"]) == (2.0, 2.0, 3.0)
    assert darien["top_indicator"] == "station_distance"
    # Each park is ranked: every one has exposed cells; ranks are 1..7 without ties.
    assert sorted(parks["rank"]) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    units = gpd.read_parquet(current / "planning_units.parquet")
    assert len(units) > 500 and units["id"].str.startswith("h3:").all()
    quiet = units["exposed_share"] == 0
    assert (units.loc[quiet, "risk_class"] == "not_exposed").all()
    assert units.loc[quiet, "rank"].isna().all() and units.loc[quiet, "top_indicator"].isna().all()
    ranks = units["rank"].dropna()
    assert ranks.min() == 1 and ranks.max() <= (~quiet).sum()


def test_same_inputs_give_identical_outputs(demo_run: Path, copy_data_dir) -> None:
    root = copy_data_dir(demo_run)
    data = DataDir(root)
    first = data.current_run()
    assert first is not None
    second = run(CONFIG, data, now=datetime(2030, 1, 1, tzinfo=UTC)).folder
    for name in ("risk", "risk_class", "vulnerability", "flood"):
        with rasterio.open(first / f"{name}.tif") as a, rasterio.open(second / f"{name}.tif") as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))
    table_a = gpd.read_parquet(first / "protected_areas.parquet")
    table_b = gpd.read_parquet(second / "protected_areas.parquet")
    assert list(table_a.columns) == list(table_b.columns)
    volatile = ["run_id", "as_of"]
    assert table_a.drop(columns=volatile).equals(table_b.drop(columns=volatile))
    assert data.current_run() == second.resolve()


def test_missing_input_fails_and_leaves_current(demo_run: Path, copy_data_dir) -> None:
    root = copy_data_dir(demo_run)
    data = DataDir(root)
    before = data.current_run()
    (data.inputs / CONFIG.inputs["heat"].path).unlink()
    with pytest.raises(MissingInput, match="heat"):
        run(CONFIG, data)
    assert data.current_run() == before


def test_corrupt_output_never_becomes_current(demo_run: Path, tmp_path: Path) -> None:
    current = DataDir(demo_run).current_run()
    assert current is not None
    broken = tmp_path / "risk.tif"
    broken.write_bytes((current / "risk.tif").read_bytes()[:5000])
    from pipelines.outputs import published_layers

    risk = next(layer for layer in published_layers(CONFIG) if layer.id == "risk")
    with pytest.raises(RunValidationError, match="risk"):
        validate_run(tmp_path, {"risk": (risk, broken)})


@pytest.mark.parametrize("checkpoint", ["inputs:start", "write:end", "validate:end",
                                        "manifest:end", SWITCHED])
def test_a_run_killed_at_a_stage_boundary(demo_run: Path, copy_data_dir,
                                          checkpoint: str) -> None:
    root = copy_data_dir(demo_run)
    data = DataDir(root)
    before = data.current_run()
    existing = set(data.runs.iterdir())
    run_stopped_at(checkpoint, root)
    (new,) = set(data.runs.iterdir()) - existing
    complete = (new / RUN_MANIFEST).is_file()
    if served_after(checkpoint):
        assert data.current_run() == new.resolve()
    else:
        assert data.current_run() == before
        # run.json is written last: the folder is complete exactly from "manifest:end" on.
        assert complete == (checkpoint == "manifest:end")
    # The next run removes what the killed one left incomplete, and serves itself.
    result = run(CONFIG, data)
    assert data.current_run() == result.folder.resolve()
    assert not [p for p in data.runs.iterdir() if not (p / RUN_MANIFEST).exists()]
    assert new.exists() == complete
