"""The service imports neither dask nor the pipeline's run: a tile server starts without them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("dask", "distributed", "xarray", "rioxarray", "pipelines.run", "pipelines.score_grid",
         "pipelines.align", "scipy.signal", "scipy.ndimage")
"""Modules of the pipeline's own work (dask scoring, xarray alignment, the FFT blur) the service
never needs. scipy.signal and scipy.ndimage add ~190 MB of address space to a process: in an
analysis work process (768 MiB) that left too little to start pyarrow's threads."""


def _imported_after(code: str) -> list[str]:
    probe = (f"{code}\nimport sys, json\n"
             f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    found: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_importing_the_app_imports_no_dask() -> None:
    assert _imported_after("import geo_service.app") == []


def test_an_analysis_work_process_imports_none_of_them() -> None:
    # What a work process imports to run a drawn-area analysis (geo_service.workpool).
    assert _imported_after("import geo_service.jobs") == []


def test_serving_every_kind_of_request_imports_no_dask(demo_run: Path) -> None:
    code = f"""
from fastapi.testclient import TestClient
from geo_service.app import create_app
from geo_service.settings import Settings
import morecantile
tile = morecantile.tms.get("WebMercatorQuad").tile(-77.8, 8.4, 8)  # inside the Darién run
client = TestClient(create_app(Settings(data_dir={str(demo_run)!r})))
for url in ("/", "/layers", f"/tiles/risk/8/{{tile.x}}/{{tile.y}}.png", "/tiles/risk/tilejson.json",
            "/collections", "/collections/stations/items", "/areas", "/areas/wdpa:900001",
            "/maps/risk", "/stac", "/stac/runs"):
    assert client.get(url).status_code == 200, url
"""
    assert _imported_after(code) == []


def test_the_probe_sees_an_import() -> None:
    # The check above would pass for nothing if the probe could not see a module at all.
    assert "dask" in _imported_after("import dask")
