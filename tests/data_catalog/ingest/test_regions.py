"""Ingest into a region: the file becomes that region's input, versioned as `<source>@<region>`,
and the other region's inputs are not touched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from data_catalog.ingest import version_store
from data_catalog.paths import DataDir
from data_catalog.runs import RUN_MANIFEST
from tests.conftest import CORRIDOR_5KM
from tests.data_catalog.ingest.test_all_or_nothing import TABLE, cmrisk, month_rows, write_counts


def test_flow_counts_ingested_into_the_corridor(two_regions: Path, copy_data_dir,
                                                tmp_path: Path,
                                                version_backend: str | None) -> None:
    # With a database, the run finds the version there (and loads the corridor into it).
    data = DataDir(copy_data_dir(two_regions))
    corridor = data.region("corridor")
    table = corridor.inputs / "flows" / "crossings_monthly.csv"
    before, darien_before = table.read_bytes(), (data.root / TABLE).read_bytes()
    rows = month_rows("2025-01", points=("HN-DAN",))
    counts = write_counts(tmp_path / "honduras-2025-01.csv", rows)

    done = cmrisk("ingest", "flow_counts", str(counts), "--region", "corridor", data=data)

    assert done.exit_code == 0, done.output
    after = table.read_bytes()
    assert after.startswith(before)  # merged by month: every earlier row as it was
    assert len(after.splitlines()) == len(before.splitlines()) + len(rows)
    assert (data.root / TABLE).read_bytes() == darien_before
    store = version_store(data)
    assert store.versions("flow_counts") == []  # Darién's input has no new version
    (baseline, ingested) = store.versions("flow_counts@corridor")
    assert (baseline.action, ingested.action) == ("baseline", "ingest")
    assert set(ingested.files) == {"regions/corridor/inputs/flows/crossings_monthly.csv",
                                   "regions/corridor/inputs/flow_counts/ingest.json"}
    listed = cmrisk("inputs", "list", "flow_counts@corridor", data=data)
    assert listed.exit_code == 0 and "honduras-2025-01.csv" in listed.output

    # The corridor's next run records the version it used.
    ran = subprocess.run([sys.executable, "-m", "geo_service.cli", "run", str(CORRIDOR_5KM),
                          "--data-dir", str(data.root)], capture_output=True, text=True,
                         timeout=900)
    assert ran.returncode == 0, ran.stderr[-2000:]
    served = corridor.current_run()
    assert served is not None
    manifest = json.loads((served / RUN_MANIFEST).read_text(encoding="utf-8"))
    assert manifest["input_versions"]["flow_counts@corridor"] == 2
