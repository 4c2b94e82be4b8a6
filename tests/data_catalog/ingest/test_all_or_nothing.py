"""Ingest that never loses data: all or nothing, reports by line, versions, merge by month.

Everything goes through the real command line (`cmrisk ingest`, `cmrisk inputs`, `cmrisk run`)
on a copy of the generated demo data dir.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from typer.testing import CliRunner, Result

from data_catalog.ingest import version_store
from data_catalog.paths import DataDir
from data_catalog.readers.flow_counts import SCHEMA_PATH
from geo_service.cli import app as cli

TABLE = "inputs/flows/crossings_monthly.csv"
HEADER = "point_id,month,direction,nationality,sex,age_group,count"
TEMPLATE = SCHEMA_PATH.parent / "flow_counts_template.csv"

BAD_ROWS = [
    "PA-BCH,2024-01,northbound,VEN,F,18-59,-3",              # line 2: negative count
    "PA-BCH,2024-01,northbound,VEN,M,18-59,doce",            # line 3: not a number
    "PA-BCH,2024-13,northbound,VEN,F,0-4,4",                 # line 4: no month 13
    "PA-BCH,2024-02,north,Venezuela,female,0-17,12",         # line 5: four bad codes
]
"""The data officer's file of issue 11, in the template's columns."""


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root, with the SHA-256 of each file."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(folder, name), root)] = "dir"
        for name in files:
            path = Path(folder, name)
            if path.is_symlink():
                found[os.path.relpath(path, root)] = f"-> {os.readlink(path)}"
                continue
            found[os.path.relpath(path, root)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def cmrisk(*args: str, data: DataDir) -> Result:
    return CliRunner().invoke(cli, [*args, "--data-dir", str(data.root)])


def write_counts(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def month_rows(month: str, points: tuple[str, ...] = ("PA-BCH", "PA-CAN"),
               people: int = 100) -> list[str]:
    """A full breakdown of one month at each point: 2 nationalities × F/M × five ages."""
    rows = []
    for point in points:
        for nationality in ("VEN", "HTI"):
            for sex in ("F", "M"):
                for age in ("0-4", "5-11", "12-17", "18-59", "60+"):
                    rows.append(f"{point},{month},northbound,{nationality},{sex},{age},{people}")
    return rows


@pytest.fixture
def data(demo_inputs: Path, copy_data_dir) -> DataDir:
    return DataDir(copy_data_dir(demo_inputs))


def test_the_bad_file_is_refused_whole_and_every_bad_field_named(data: DataDir,
                                                                 tmp_path: Path) -> None:
    bad = write_counts(tmp_path / "bad.csv", BAD_ROWS)
    before = snapshot(data.root)
    report = tmp_path / "report.json"
    result = cmrisk("ingest", "flow_counts", str(bad), "--report", str(report), data=data)
    assert result.exit_code == 1
    text = result.output
    assert "bad.csv: refused, nothing was stored: 4 of 4 rows are bad (lines 2-5)" in text
    for expected in ("line 2, count '-3': a count cannot be negative",
                     "line 3, count 'doce': not a whole number",
                     "line 4, month '2024-13': month 13 does not exist",
                     "line 5, direction 'north'", "write northbound",
                     "line 5, nationality 'Venezuela': not an ISO 3166-1 alpha-3 code",
                     "line 5, sex 'female'", "allowed: F, M, U",
                     "line 5, age_group '0-17'", "0-4, 5-11 and 12-17"):
        assert expected in text, expected
    assert snapshot(data.root) == before  # byte for byte: no version, no scratch folder
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["refused"] is True and document["file"] == "bad.csv"
    fields = [(e["line"], e["column"], e["value"]) for e in document["entries"]
              if e["action"] == "rejected"]
    assert fields == [(2, "count", "-3"), (3, "count", "doce"), (4, "month", "2024-13"),
                      (5, "direction", "north"), (5, "nationality", "Venezuela"),
                      (5, "sex", "female"), (5, "age_group", "0-17")]
    assert all(e["allowed"] for e in document["entries"] if e["action"] == "rejected")


def test_allow_drops_keeps_exactly_the_good_rows(data: DataDir, tmp_path: Path) -> None:
    old = (data.root / TABLE).read_text(encoding="utf-8").splitlines()
    good = month_rows("2025-01", points=("PA-BCH",))
    mixed = write_counts(tmp_path / "mixed.csv", good[:10] + BAD_ROWS + good[10:])
    result = cmrisk("ingest", "flow_counts", str(mixed), "--allow-drops", data=data)
    assert result.exit_code == 0, result.output
    assert "--allow-drops: 4 bad row(s) dropped on purpose (lines 12-15); 20 kept" in result.output
    new = (data.root / TABLE).read_text(encoding="utf-8").splitlines()
    assert new == old + good  # every old line, then exactly the good rows, in file order


def test_a_new_month_merges_and_every_other_cell_is_unchanged(data: DataDir,
                                                              tmp_path: Path) -> None:
    old = (data.root / TABLE).read_text(encoding="utf-8").splitlines()
    january = write_counts(tmp_path / "2025-01.csv", month_rows("2025-01"))
    result = cmrisk("ingest", "flow_counts", str(january), data=data)
    assert result.exit_code == 0, result.output
    assert ("merged by (point, month): 2 point-month(s) added, 0 replaced, 108 unchanged; "
            f"{len(old) - 1} → {len(old) - 1 + 40} rows") in result.output
    merged = (data.root / TABLE).read_text(encoding="utf-8").splitlines()
    assert merged[:len(old)] == old  # every 2021-2024 line byte for byte, in order
    assert merged[len(old):] == month_rows("2025-01")

    # A correction of one cell replaces that cell's rows only.
    fix = write_counts(tmp_path / "fix.csv", month_rows("2024-12", points=("PA-BCH",), people=7))
    result = cmrisk("ingest", "flow_counts", str(fix), data=data)
    assert result.exit_code == 0, result.output
    assert "0 point-month(s) added, 1 replaced (PA-BCH 2024-12), 109 unchanged" in result.output
    fixed = pd.read_csv(data.root / TABLE, dtype=str, keep_default_na=False)
    before = pd.DataFrame([line.split(",") for line in merged[1:]], columns=fixed.columns)
    cell = (before["point_id"] == "PA-BCH") & (before["month"] == "2024-12")
    untouched = before[~cell].reset_index(drop=True)
    now_cell = (fixed["point_id"] == "PA-BCH") & (fixed["month"] == "2024-12")
    pd.testing.assert_frame_equal(fixed[~now_cell].reset_index(drop=True), untouched)
    assert fixed.loc[now_cell, "count"].astype(int).tolist() == [7] * 20


def test_replace_makes_the_file_the_whole_table(data: DataDir, tmp_path: Path) -> None:
    january = write_counts(tmp_path / "only.csv", month_rows("2025-01"))
    result = cmrisk("ingest", "flow_counts", str(january), "--replace", data=data)
    assert result.exit_code == 0, result.output
    assert "--replace: the table is now this file: 40 rows" in result.output
    assert (data.root / TABLE).read_text().splitlines() == [HEADER, *month_rows("2025-01")]


def test_versions_are_listed_and_rollback_restores_bytes(data: DataDir, tmp_path: Path,
                                                         version_backend: str | None) -> None:
    demo_bytes = (data.root / TABLE).read_bytes()
    cmrisk("ingest", "flow_counts", str(write_counts(tmp_path / "a.csv",
                                                     month_rows("2025-01"))), data=data)
    second_bytes = (data.root / TABLE).read_bytes()
    cmrisk("ingest", "flow_counts", str(write_counts(tmp_path / "b.csv",
                                                     month_rows("2025-02"))), data=data)
    assert (data.root / TABLE).read_bytes() not in (demo_bytes, second_bytes)

    listing = cmrisk("inputs", "list", "flow_counts", data=data)
    assert listing.exit_code == 0, listing.output
    versions = version_store(data).versions("flow_counts")
    assert [(v.version, v.action, v.file_name) for v in versions] == [
        (1, "baseline", None), (2, "ingest", "a.csv"), (3, "ingest", "b.csv")]
    assert versions[2].rows["cells_added"] == 2 and versions[2].user
    assert versions[1].file_sha256 == hashlib.sha256((tmp_path / "a.csv").read_bytes()).hexdigest()
    assert "a.csv" in listing.output and "b.csv" in listing.output

    back = cmrisk("inputs", "rollback", "flow_counts", "1", data=data)
    assert back.exit_code == 0, back.output
    assert (data.root / TABLE).read_bytes() == demo_bytes
    assert not (data.root / "inputs/flow_counts/ingest.json").exists()  # not in version 1
    cmrisk("inputs", "rollback", "flow_counts", "2", data=data)
    assert (data.root / TABLE).read_bytes() == second_bytes
    history = version_store(data).versions("flow_counts")
    assert [(v.action, v.restores) for v in history[3:]] == [("rollback", 1), ("rollback", 2)]
    missing = cmrisk("inputs", "rollback", "flow_counts", "9", data=data)
    assert missing.exit_code == 2 and "versions: 1, 2, 3, 4, 5" in missing.output
    # The store the variable chose holds the history: the data dir's folder, or the database.
    assert (data.root / "versions" / "flow_counts").is_dir() == (version_backend is None)


def test_a_file_built_from_the_template_runs_through_cmrisk_run(demo_run: Path, copy_data_dir,
                                                                tmp_path: Path) -> None:
    data = DataDir(copy_data_dir(demo_run))
    header, *examples = TEMPLATE.read_text(encoding="utf-8").splitlines()
    point, _, direction, nationality, sex, age, _ = examples[0].split(",")
    rows = []
    for month in range(1, 13):
        for s in ("F", "M"):
            for a, people in (("0-4", 700), ("5-11", 900), ("12-17", 400), ("18-59", 9000),
                              ("60+", 3)):
                rows.append(f"{point},2023-{month:02d},{direction},{nationality},{s},{a},"
                            f"{people}")
    built = tmp_path / "built.csv"
    built.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert (point, direction, nationality, sex, age) == ("PA-BCH", "northbound", "VEN", "F",
                                                         "18-59")
    ingested = cmrisk("ingest", "flow_counts", str(built), "--replace", data=data)
    assert ingested.exit_code == 0, ingested.output
    ran = cmrisk("run", data=data)
    assert ran.exit_code == 0, ran.output
    folder = data.current_run()
    assert folder is not None
    crossings = gpd.read_parquet(folder / "crossings.parquet")
    assert set(crossings["point_id"]) == {"PA-BCH"} and len(crossings) == 12
    # Per month: 2 sexes × (700 + 900 + 400 + 9,000 + 3) people.
    assert set(crossings["total"]) == {22_006}
    assert set(crossings["age_group_0_4"]) == {1400} and set(crossings["age_group_12_17"]) == {800}
    assert set(crossings["age_group_60plus"]) == {6} and set(crossings["age_group_U"]) == {0}
    assert set(crossings["sex_F"]) == {11_003}
    manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert manifest["input_versions"]["flow_counts"] == 2
    used = {i["name"]: i for i in manifest["inputs"]}
    assert used["crossings"]["source"] == "flow_counts" and used["crossings"]["version"] == 2
    assert used["crossings"]["sha256"] == hashlib.sha256(
        (data.root / TABLE).read_bytes()).hexdigest()
    item = json.loads((folder / "items" / "risk.json").read_text(encoding="utf-8"))
    provenance = {p["name"]: p for p in item["properties"]["cmrisk:provenance"]}
    assert (provenance["crossings"]["source"], provenance["crossings"]["version"]) == (
        "flow_counts", 2)
    assert provenance["heat"]["version"] is None  # generated, never ingested


def test_a_run_says_what_to_fix_in_the_table(demo_run: Path, copy_data_dir) -> None:
    data = DataDir(copy_data_dir(demo_run))
    current = data.current_run()
    table = data.root / TABLE
    text = table.read_text(encoding="utf-8").replace(",northbound,", ",north-bound,", 3)
    table.write_text(text.replace(",PA-CAN,", ",lajas-blancas,"), encoding="utf-8")
    ran = cmrisk("run", data=data)
    assert ran.exit_code == 2
    message = " ".join(ran.output.split())
    assert "inputs/flows/crossings_monthly.csv cannot be used" in message
    assert "column direction: 'north-bound' (3 rows, first on line 2)" in message
    assert "allowed: northbound, southbound" in message
    assert data.current_run() == current

    rows = "\n".join(month_rows("2024-01"))
    table.write_text(f"{HEADER}\n{rows}\n", encoding="utf-8")
    ran = cmrisk("run", data=data)
    assert ran.exit_code == 2
    message = " ".join(ran.output.split())
    assert ("has no counts for 2023, the year surface transit_pressure of region darien uses"
            in message)
    assert "it holds 2024-01 to 2024-01" in message


# --- The same all or nothing for every reader and for user layers ------------------------------


def _wdpa(folder: Path) -> Path:
    path = folder / "wdpa.geojson"
    gpd.GeoDataFrame({"WDPAID": ["555", "abc"], "NAME": ["A", "B"], "DESIG_ENG": ["NP", "NP"],
                      "DESIG_TYPE": ["National"] * 2, "IUCN_CAT": ["II", "II"],
                      "REP_AREA": [10.0, 10.0], "ISO3": ["PAN", "PAN"]},
                     geometry=[shapely.box(-78, 8, -77.9, 8.1), shapely.box(-77, 8, -76.9, 8.1)],
                     crs="EPSG:4326").to_file(path)
    return path


def _missing_migrants(folder: Path) -> Path:
    from tests.data_catalog.ingest.test_pipeline_inputs import write_missing_migrants_csv

    path = folder / "mmp.csv"
    write_missing_migrants_csv(path)
    text = path.read_text(encoding="utf-8").splitlines()
    text[3] = text[3].replace(",12,", ",doce,", 1)  # Number of Dead on line 4
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def _idmc(folder: Path) -> Path:
    path = folder / "gidd.json"
    events = [{"iso3": iso3, "year": 2022, "start_date": "2022-11-06", "end_date": "2022-11-20",
               "new_displacement": 10, "new_displacement_rounded": 10} for iso3 in ("PAN", "")]
    path.write_text(json.dumps(events), encoding="utf-8")
    return path


def _tif(path: Path, *, crs: str | None) -> Path:
    profile = {"driver": "GTiff", "width": 8, "height": 8, "count": 1, "dtype": "float32",
               "transform": Affine(0.01, 0, -78, 0, -0.01, 8.5)}
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ones((8, 8), dtype="float32"), 1)
    return path


def _natural_earth(folder: Path) -> Path:
    path = folder / "ne.geojson"
    gpd.GeoDataFrame({"ADM0_A3": ["PAN"], "ISO_A3": ["PAN"], "NAME": ["Panama"],
                      "POP_EST": ["many"]}, geometry=[shapely.box(-80, 7, -77, 9)],
                     crs="EPSG:4326").to_file(path)
    return path


def _vector(folder: Path) -> Path:
    shp = folder / "nocrs" / "sites.shp"
    shp.parent.mkdir()
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(-77.5, 8.2)],
                     crs="EPSG:4326").to_file(shp)
    shp.with_suffix(".prj").unlink()
    return shp


REFUSED = {
    "wdpa": (_wdpa, "feature 2, WDPAID 'abc': not a WDPA id"),
    "missing_migrants": (_missing_migrants, "line 4, Number of Dead 'doce': not a whole number"),
    "idmc_gidd": (_idmc, "record 2, iso3 '': no ISO3 country code"),
    "jrc_flood": (lambda f: _tif(f / "flood_rp100.tif", crs=None), "no coordinate reference"),
    "chirps": (lambda f: _tif(f / "chirps-v2.0.2024.01.tif", crs="EPSG:4326"),
               "these are mm/month totals"),
    "natural_earth": (_natural_earth, "feature 1, POP_EST 'many': not a whole number"),
    "raster": (lambda f: _tif(f / "plain.tif", crs=None), "no coordinate reference"),
    "vector": (_vector, "no coordinate reference"),
}


@pytest.mark.parametrize("source", sorted(REFUSED))
def test_a_refused_file_leaves_the_data_dir_byte_identical(data: DataDir, tmp_path: Path,
                                                           source: str) -> None:
    build, message = REFUSED[source]
    path = build(tmp_path)
    before = snapshot(data.root)
    extra = ["--id", "mine"] if source in ("raster", "vector") else []
    result = cmrisk("ingest", source, str(path), *extra, data=data)
    assert result.exit_code != 0
    assert path.name in result.output and message in " ".join(result.output.split())
    assert snapshot(data.root) == before
