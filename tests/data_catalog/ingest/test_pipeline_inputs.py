"""`cmrisk ingest SOURCE`: real files become pipeline inputs; the next run uses them."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from data_catalog.errors import MissingColumnError, MissingCRSError, SourceFormatError
from data_catalog.ingest import IngestOptions, IngestOutcome, ingest
from data_catalog.paths import DataDir
from data_catalog.readers.missing_migrants import CSV_HEADER
from pipelines.config import load_region
from pipelines.run import run

CONFIG = load_region("darien")
BBOX = CONFIG.grid.bounds_lonlat


def ingest_source(data: DataDir, source: str, path: Path, *,
                  bbox: tuple[float, float, float, float] | None = None,
                  **options: object) -> IngestOutcome:
    return ingest(data, source, path, IngestOptions(bbox=bbox, **options))  # type: ignore[arg-type]


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def write_missing_migrants_csv(path: Path, *, swap_first: bool = False,
                               drop: str | None = None) -> None:
    """Incidents of the real CSV layout along the jungle path near Bajo Chiquito."""
    header = [h for h in CSV_HEADER if h != drop]
    rows = []
    for index in range(30):
        lat, lon = 8.40 + 0.01 * (index % 6), -77.60 - 0.01 * (index // 6)
        coords = f"{lon}, {lat}" if swap_first and index == 0 else f"{lat}, {lon}"
        row = {
            "Main ID": f"2023.MMP{index:04d}", "Incident ID": f"2023.MMP{index:04d}",
            "Incident Type": "Incident", "Region of Incident": "Central America",
            "Incident Date": f"2023-0{1 + index % 9}-15", "Incident Year": "2023",
            "Month": f"{1 + index % 9}", "Number of Dead": "12",
            "Minimum Estimated Number of Missing": "", "Total Number of Dead and Missing": "12",
            "Number of Survivors": "", "Number of Females": "4", "Number of Males": "8",
            "Number of Children": "3", "Country of Origin": "Venezuela",
            "Region of Origin": "South America", "Cause of Death": "Drowning",
            "Country of Incident": "Panama", "Migration Route": "Darien",
            "Location of Incident": "Río Tuquesa, Darién", "Coordinates": coords,
            "UNSD Geographical Grouping": "Central America",
            "Information Source": "SENAFRONT", "URL": "", "Source Quality": "3",
        }
        rows.append([row[h] for h in header])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_wdpa_geojson(path: Path, demo_parks: Path) -> None:
    """A WDPA-format file: the demo outlines re-labelled, Darién NP now category Ia."""
    parks = gpd.read_file(demo_parks)
    parks.loc[parks["NAME"] == "Darién National Park", "IUCN_CAT"] = "Ia"
    parks.loc[parks["NAME"] != "Darién National Park", "IUCN_CAT"] = "Not Reported"
    parks = parks.drop(columns=[c for c in ("synthetic", "geometry_note") if c in parks])
    parks.to_file(path, driver="GeoJSON")


@pytest.fixture
def data(demo_run: Path, copy_data_dir) -> DataDir:
    return DataDir(copy_data_dir(demo_run))


def test_ingested_files_drive_the_next_run(data: DataDir, tmp_path: Path) -> None:
    before_run = data.current_run()
    assert before_run is not None
    before = gpd.read_parquet(before_run / "protected_areas.parquet").set_index("name")
    mmp, wdpa = tmp_path / "mmp.csv", tmp_path / "wdpa.geojson"
    write_missing_migrants_csv(mmp)
    write_wdpa_geojson(wdpa, data.inputs / CONFIG.inputs["protected_areas"].path)

    ingested_mmp = ingest_source(data, "missing_migrants", mmp, bbox=BBOX)
    ingested_wdpa = ingest_source(data, "wdpa", wdpa, bbox=BBOX)
    assert set(ingested_mmp.version.files) == {"inputs/missing_migrants/incidents.parquet",
                                               "inputs/missing_migrants/ingest.json"}
    assert set(ingested_wdpa.version.files) == {"inputs/wdpa/protected_areas.parquet",
                                                "inputs/wdpa/ingest.json"}
    assert (ingested_mmp.version.version, ingested_wdpa.version.version) == (2, 2)

    result = run(CONFIG, data)
    assert result.summary["inputs"]["incidents"] == "real"
    assert result.summary["inputs"]["protected_areas"] == "real"
    assert result.summary["inputs"]["heat"] == "synthetic"
    item = json.loads((result.folder / "items" / "risk.json").read_text())
    provenance = {p["name"]: p for p in item["properties"]["cmrisk:provenance"]}
    assert provenance["incidents"]["synthetic"] is False
    assert provenance["incidents"]["path"] == "missing_migrants/incidents.parquet"
    assert provenance["protected_areas"]["synthetic"] is False
    assert provenance["rainfall"]["synthetic"] is True
    # Real WDPA data may not be redistributed: the layer republishing it is restricted.
    parks_item = json.loads((result.folder / "items" / "protected_areas.json").read_text())
    assert parks_item["properties"]["cmrisk:access"] == "restricted"
    assert item["properties"]["cmrisk:access"] == "public"

    after = result.areas[result.areas["kind"] == "protected_area"].set_index("name")
    park = "Darién National Park"
    assert after.loc[park, "ind_deaths"] != pytest.approx(before.loc[park, "ind_deaths"])
    assert after.loc[park, "risk"] != pytest.approx(before.loc[park, "risk"])
    # Other parks lost their category ("Not Reported" scores 0): E goes down there.
    other = "Los Katíos National Park"
    assert after.loc[other, "ind_iucn"] < before.loc[other, "ind_iucn"]


def test_swapped_coordinates_are_fixed_and_reported(data: DataDir, tmp_path: Path) -> None:
    mmp = tmp_path / "mmp.csv"
    write_missing_migrants_csv(mmp, swap_first=True)
    result = ingest_source(data, "missing_migrants", mmp, bbox=BBOX)
    incidents = gpd.read_parquet(data.inputs / "missing_migrants/incidents.parquet")
    assert len(incidents) == 30  # the swapped one is fixed, not dropped
    assert incidents.geometry.within(shapely.box(*BBOX)).all()
    assert result.report is not None
    assert any("swap" in code for code in result.report.issues())


def test_bad_inputs_leave_the_data_dir_unchanged(data: DataDir, tmp_path: Path) -> None:
    before = tree_digest(data.root)
    mmp = tmp_path / "mmp.csv"
    write_missing_migrants_csv(mmp)
    with pytest.raises(SourceFormatError):
        ingest_source(data, "wdpa", mmp)              # a CSV is not a WDPA file
    broken = tmp_path / "broken.csv"
    write_missing_migrants_csv(broken, drop="Number of Dead")
    with pytest.raises(MissingColumnError) as caught:
        ingest_source(data, "missing_migrants", broken)
    assert caught.value.column == "Number of Dead"
    flood = tmp_path / "flood_rp100.tif"
    with rasterio.open(flood, "w", driver="GTiff", width=8, height=8, count=1,
                       dtype="float32", transform=Affine(0.01, 0, -78, 0, -0.01, 8.5)) as dst:
        dst.write(np.ones((8, 8), dtype="float32"), 1)
    with pytest.raises(MissingCRSError):
        ingest_source(data, "jrc_flood", flood)
    far = tmp_path / "far.csv"
    write_missing_migrants_csv(far)
    text = far.read_text().replace("8.4", "48.4")  # in the Alps, not in the region
    far.write_text(text)
    with pytest.raises(SourceFormatError, match="region"):
        ingest_source(data, "missing_migrants", far, bbox=BBOX)
    assert tree_digest(data.root) == before


def test_a_source_that_cannot_be_ingested(data: DataDir, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from data_catalog.ingest import pipeline_inputs

    monkeypatch.delitem(pipeline_inputs.ADAPTERS, "chirps")
    path = tmp_path / "x.tif"
    path.write_text("x")
    with pytest.raises(SourceFormatError, match=r"cannot be ingested; what can: .*raster"):
        ingest_source(data, "chirps", path)


def _gidd_event(iso3: str, name: str, people: int) -> dict[str, object]:
    """One flood event of the IDMC GIDD disasters API in a country."""
    return {"iso3": iso3, "country_name": name, "year": 2022, "start_date": "2022-11-06",
            "start_date_accuracy": "Day", "end_date": "2022-11-20", "end_date_accuracy": "Day",
            "event_name": f"{name}: Floods", "new_displacement": people,
            "new_displacement_rounded": people, "total_displacement": None,
            "total_displacement_rounded": None, "hazard_category": 1,
            "hazard_category_name": "Weather related", "hazard_sub_category": 4,
            "hazard_sub_category_name": "Hydrological", "hazard_type": 9,
            "hazard_type_name": "Flood", "hazard_sub_type": 21,
            "hazard_sub_type_name": "Riverine flood", "glide_numbers": []}


def test_idmc_events_are_served_as_a_collection(data: DataDir, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from geo_service.app import create_app
    from geo_service.settings import Settings

    events = [_gidd_event(iso3, name, people)
              for iso3, name, people in (("PAN", "Panama", 1234), ("COL", "Colombia", 5000))]
    path = tmp_path / "gidd.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    report = ingest(data, "idmc_gidd", path).details
    assert report["id"] == "idmc_displacement" and report["features_written"] == 2
    client = TestClient(create_app(Settings(data_dir=data.root)))
    page = client.get("/collections/idmc_displacement/items").json()
    assert page["numberMatched"] == 2
    people = {f["properties"]["iso3"]: f["properties"]["new_displacement"]
              for f in page["features"]}
    assert people == {"PAN": 1234, "COL": 5000}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in page["features"])


def test_events_are_placed_on_the_countries_of_every_region(data: DataDir,
                                                            tmp_path: Path) -> None:
    # Honduras is a country of the corridor region only, Panama of both: with the corridor's
    # demo inputs beside Darién's, an event in each is placed (on its own outline, once).
    from data_catalog.demo.generate import write_demo
    from data_catalog.ingest.events import countries

    events = [_gidd_event(iso3, name, people)
              for iso3, name, people in (("PAN", "Panama", 1234), ("HND", "Honduras", 700))]
    path = tmp_path / "gidd.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    # Darién's countries only: the Honduran event has no outline; the file is refused (not
    # stored without it, as it once was, silently), or stored without it when told to.
    assert "HND" not in set(countries(data)["iso3"])
    before = tree_digest(data.root)
    with pytest.raises(SourceFormatError, match=r"no outline .*: HND \(1\).*--allow-drops"):
        ingest(data, "idmc_gidd", path)
    assert tree_digest(data.root) == before
    kept = ingest_source(data, "idmc_gidd", path, allow_drops=True).details
    assert kept["features_written"] == 1 and any("HND (1)" in d for d in kept["dropped"])
    write_demo(data.region("corridor").ensure().inputs, region="corridor")
    outlines = countries(data)
    assert {"PAN", "COL", "HND"} <= set(outlines["iso3"])
    assert outlines["iso3"].is_unique
    report = ingest(data, "idmc_gidd", path).details
    assert report["features_written"] == 2
