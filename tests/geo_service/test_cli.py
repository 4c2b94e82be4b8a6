"""The `cmrisk` command line: clear messages instead of tracebacks, runs list and rollback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from data_catalog.paths import DataDir
from data_catalog.runs import complete_runs
from geo_service.app import create_app
from geo_service.settings import Settings
from pipelines.config import load_region
from pipelines.run import run


def cmrisk(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "geo_service.cli", *args]
    if data_dir is not None:
        argv += ["--data-dir", str(data_dir)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def test_serve_without_a_data_dir_says_so(tmp_path: Path) -> None:
    result = cmrisk("serve", "--port", "1", data_dir=tmp_path / "absent")
    assert result.returncode == 2
    assert "cmrisk demo" in result.stderr and "Traceback" not in result.stderr


def test_unknown_region_lists_the_known_ones(tmp_path: Path) -> None:
    result = cmrisk("run", "atlantis", data_dir=tmp_path)
    assert result.returncode == 2
    assert "darien" in result.stderr and "Traceback" not in result.stderr


def test_run_without_inputs_names_them(tmp_path: Path) -> None:
    result = cmrisk("run", "darien", data_dir=tmp_path)
    assert result.returncode == 2
    assert "cmrisk demo" in result.stderr and "flood_rp10" in result.stderr


def test_empty_service_answers_with_problems_not_crashes(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    assert client.get("/healthz").json()["status"] == "no-data"
    assert client.get("/layers").json()["layers"] == []
    for url in ("/areas", "/maps/risk"):
        response = client.get(url)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"


def test_runs_list_and_rollback(demo_run: Path, copy_data_dir) -> None:
    root = copy_data_dir(demo_run)
    data = DataDir(root)
    first = data.current_run()
    assert first is not None
    second = run(load_region("darien"), data).folder
    assert data.current_run() == second.resolve()
    listing = cmrisk("runs", "list", data_dir=root)
    assert first.name in listing.stdout and second.name in listing.stdout
    back = cmrisk("runs", "rollback", first.name, data_dir=root)
    assert back.returncode == 0, back.stderr
    assert data.current_run() == first
    assert len(complete_runs(data)) == 2
    missing = cmrisk("runs", "rollback", "19990101t000000-000000", data_dir=root)
    assert missing.returncode == 2 and first.name in missing.stderr


def test_serve_with_a_file_for_a_data_dir_says_so(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("oops")
    result = cmrisk("serve", "--port", "1", data_dir=not_a_dir)
    assert result.returncode == 2
    assert "unreadable" in result.stderr and "Traceback" not in result.stderr


def test_ingest_from_the_command_line(demo_inputs: Path, copy_data_dir, tmp_path: Path) -> None:
    root = copy_data_dir(demo_inputs)
    wrong = tmp_path / "parks.csv"
    wrong.write_text("a,b\n1,2\n")
    result = cmrisk("ingest", "wdpa", str(wrong), data_dir=root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    unknown = cmrisk("ingest", "nonsense", str(wrong), data_dir=root)
    assert unknown.returncode == 2 and "wdpa" in unknown.stderr
    listing = subprocess.run([sys.executable, "-m", "geo_service.cli", "sources"],
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0 and "missing_migrants" in listing.stdout


def test_truncated_input_raster_fails_the_run_clearly(demo_run: Path, copy_data_dir) -> None:
    root = copy_data_dir(demo_run)
    data = DataDir(root)
    before = data.current_run()
    heat = data.inputs / "heat" / "heat_days.tif"
    heat.write_bytes(heat.read_bytes()[:3000])
    result = cmrisk("run", "darien", data_dir=root)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "heat" in result.stderr and "Traceback" not in result.stderr
    assert data.current_run() == before
