"""The embedded Darién demo data set: real files written once per module into tmp_path."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml
from pyproj import Geod
from rio_cogeo.cogeo import cog_validate

from data_catalog.demo import generate, rasters
from data_catalog.demo.flows import apportion
from data_catalog.demo.generate import DemoManifest, write_demo
from data_catalog.demo.spec import known_demos, load_demo

DARIEN = load_demo("darien")
INPUT_PATHS = {name: spec.path for name, spec in DARIEN.spec.files.items()}
NORTH_BOUND_YEARLY_TOTALS = DARIEN.flows.streams[0].yearly_totals

REGION_YAML = Path(__file__).resolve().parents[2] / "pipelines" / "regions" / "darien.yaml"
REAL_TOTALS = {2021: 133_726, 2022: 248_284, 2023: 520_085, 2024: 302_203}
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest]:
    inputs = tmp_path_factory.mktemp("demo_a") / "inputs"
    return inputs, write_demo(inputs)


@pytest.fixture(scope="module")
def inputs(demo: tuple[Path, DemoManifest]) -> Path:
    return demo[0]


@pytest.fixture(scope="module")
def region_inputs() -> dict[str, dict[str, str]]:
    return yaml.safe_load(REGION_YAML.read_text(encoding="utf-8"))["inputs"]


@pytest.fixture(scope="module")
def crossings(inputs: Path) -> pd.DataFrame:
    return pd.read_csv(inputs / INPUT_PATHS["crossings"], dtype={"month": str})


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- The data set as a whole ---------------------------------------------------------------------


def test_paths_match_region_config(region_inputs: dict[str, dict[str, str]]) -> None:
    assert {k: v["path"] for k, v in region_inputs.items()} == INPUT_PATHS


def test_every_input_exists_and_opens(
    inputs: Path, region_inputs: dict[str, dict[str, str]]
) -> None:
    for name, spec in region_inputs.items():
        path = inputs / spec["path"]
        assert path.is_file(), name
        if spec["kind"] == "raster":
            with rasterio.open(path) as src:
                assert src.count == 1
                assert src.read(1, out_shape=(8, 8)).shape == (8, 8)
        elif spec["kind"] == "vector":
            frame = gpd.read_file(path)
            assert len(frame) > 0, name
            assert frame.crs is not None and frame.crs.to_epsg() == 4326, name
        else:
            assert len(pd.read_csv(path)) > 0, name


def test_manifest_lists_every_file_with_its_hash(
    demo: tuple[Path, DemoManifest],
) -> None:
    inputs, manifest = demo
    on_disk = DemoManifest.model_validate_json((inputs / "demo.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert (manifest.seed, manifest.scale) == (20231, 1)
    assert {f.path for f in manifest.files} == set(INPUT_PATHS.values())
    for f in manifest.files:
        assert _sha(inputs / f.path) == f.sha256, f.path
        assert f.synthetic is (f.input != "countries")
    written = {p.relative_to(inputs).as_posix() for p in inputs.rglob("*") if p.is_file()}
    assert written == set(INPUT_PATHS.values()) | {"demo.json"}


def test_same_seed_gives_identical_bytes_and_rewrite_replaces(
    demo: tuple[Path, DemoManifest], tmp_path: Path
) -> None:
    inputs_a, manifest_a = demo
    inputs_b = tmp_path / "inputs"
    manifest_b = write_demo(inputs_b)
    assert manifest_b == manifest_a
    assert (inputs_b / "demo.json").read_bytes() == (inputs_a / "demo.json").read_bytes()
    for f in manifest_a.files:
        assert _sha(inputs_b / f.path) == f.sha256, f.path

    # An earlier demo is replaced as a whole, and no temporary folder is left behind.
    manifest_c = write_demo(inputs_b, seed=7)
    assert manifest_c.seed == 7
    assert manifest_c.file("crossings").sha256 != manifest_a.file("crossings").sha256
    assert manifest_c.file("countries").sha256 == manifest_a.file("countries").sha256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


def test_refuses_to_replace_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "mine.tif").write_bytes(b"real data")
    with pytest.raises(FileExistsError):
        write_demo(inputs)
    assert (inputs / "mine.tif").read_bytes() == b"real data"


def test_interrupted_build_leaves_earlier_data_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "demo.json").write_text("{}", encoding="utf-8")

    def broken_build(root: Path, region: object, scale: int, seed: int) -> DemoManifest:
        (root / "half.tif").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(generate, "_build", broken_build)
    with pytest.raises(KeyboardInterrupt):
        write_demo(inputs)
    assert sorted(p.name for p in inputs.iterdir()) == ["demo.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


@pytest.mark.parametrize("scale", [0, -1, 1.5, True])
def test_scale_must_be_a_positive_integer(tmp_path: Path, scale: object) -> None:
    with pytest.raises(ValueError):
        write_demo(tmp_path / "inputs", scale=scale)  # type: ignore[arg-type]


def test_scale_multiplies_cell_counts() -> None:
    bounds = DARIEN.data_bounds()
    one = rasters.geographic_grid(bounds, 0.0025, 1)
    four = rasters.geographic_grid(bounds, 0.0025, 4)
    assert (four.width, four.height) == (2 * one.width, 2 * one.height)
    one_m = rasters.projected_grid(bounds, 500.0, "EPSG:32618", 1)
    four_m = rasters.projected_grid(bounds, 500.0, "EPSG:32618", 4)
    assert four_m.transform.a == 250.0
    assert (four_m.width, four_m.height) == (2 * one_m.width, 2 * one_m.height)


# --- Rasters -------------------------------------------------------------------------------------

RASTERS = [k for k, v in INPUT_PATHS.items() if v.endswith(".tif")]


@pytest.mark.parametrize("name", RASTERS)
def test_raster_is_a_cog_tagged_synthetic(inputs: Path, name: str) -> None:
    path = inputs / INPUT_PATHS[name]
    valid, errors, _ = cog_validate(str(path))
    assert valid, errors
    with rasterio.open(path) as src:
        tags = src.tags()
        assert tags["synthetic"] == "true"
        assert tags["source"] == "cmrisk demo generator"
        assert tags["units"] and tags["description"]
        assert src.profile["compress"].lower() == "deflate"
        assert src.block_shapes[0] == (512, 512)


def test_raster_formats(inputs: Path) -> None:
    expected = {
        "flood_rp10": ("EPSG:4326", "float32", -9999.0, 0.0025, "m"),
        "landslide": ("EPSG:32618", "float32", -1.0, 500.0, "0-1"),
        "rainfall": ("EPSG:4326", "float32", -9999.0, 0.05, "mm/day"),
        "heat": ("EPSG:4326", "float32", None, 0.1, "days/year"),
        "drought": ("EPSG:4326", "float32", -9999.0, 0.1, "0-1"),
        "forest": ("EPSG:4326", "uint8", 255.0, 0.005, "%"),
    }
    for name, (crs, dtype, nodata, res, units) in expected.items():
        with rasterio.open(inputs / INPUT_PATHS[name]) as src:
            assert src.crs.to_string() == crs, name
            assert src.dtypes[0] == dtype, name
            assert src.nodata == nodata, name
            assert src.res[0] == pytest.approx(res), name
            assert src.tags()["units"] == units, name


def _read(inputs: Path, name: str) -> tuple[np.ndarray, float | None]:
    with rasterio.open(inputs / INPUT_PATHS[name]) as src:
        return src.read(1), src.nodata


def test_flood_depth_monotone_in_return_period(inputs: Path) -> None:
    depths = [_read(inputs, f"flood_rp{rp}")[0] for rp in (10, 50, 100, 500)]
    sea = depths[0] == -9999.0
    assert 0.2 < sea.mean() < 0.8
    land = ~sea
    for d in depths:
        assert ((d == -9999.0) == sea).all()
        assert d[land].min() == 0.0
    for lower, higher in itertools.pairwise(depths):
        assert (higher[land] >= lower[land]).all()
    deep10 = (depths[0][land] >= 0.5).mean()
    deep500 = (depths[-1][land] >= 0.5).mean()
    assert 0.001 < deep10 < 0.05
    assert deep500 > 2 * deep10


def test_heat_has_nan_over_sea_and_no_nodata(inputs: Path) -> None:
    heat, nodata = _read(inputs, "heat")
    assert nodata is None
    assert np.isnan(heat).any()
    valid = heat[~np.isnan(heat)]
    assert valid.min() >= 0.0 and valid.max() <= 90.0
    assert valid.max() > 60.0


def test_value_ranges(inputs: Path) -> None:
    rain, _ = _read(inputs, "rainfall")
    rain = rain[rain != -9999.0]
    assert rain.min() >= 80.0 and rain.max() <= 220.0
    slide, _ = _read(inputs, "landslide")
    slide = slide[slide != -1.0]
    assert slide.min() >= 0.0 and slide.max() <= 1.0 and slide.max() > 0.8
    dry, _ = _read(inputs, "drought")
    dry = dry[dry != -9999.0]
    assert dry.min() >= 0.0 and dry.max() <= 1.0
    forest, _ = _read(inputs, "forest")
    forest = forest[forest != 255]
    assert forest.max() <= 100 and forest.min() < 40 and np.median(forest) > 60


def test_rainfall_wetter_toward_choco(inputs: Path) -> None:
    with rasterio.open(inputs / INPUT_PATHS["rainfall"]) as src:
        choco = next(src.sample([(-77.3, 7.2)]))[0]
        chepo = next(src.sample([(-79.0, 9.1)]))[0]
    assert choco > chepo + 40


def test_landslide_high_on_ridges_low_on_plains(inputs: Path) -> None:
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32618", always_xy=True)
    with rasterio.open(inputs / INPUT_PATHS["landslide"]) as src:
        assert src.crs.to_epsg() == 32618
        ridge = next(src.sample([to_utm.transform(-77.30, 8.17)]))[0]  # Tacarcuna area
        plain = next(src.sample([to_utm.transform(-77.10, 7.80)]))[0]  # Atrato lowlands
    assert ridge > 0.6 > 0.3 > plain


# --- Crossings table -----------------------------------------------------------------------------


def test_crossings_header_and_values(inputs: Path, crossings: pd.DataFrame) -> None:
    header = (inputs / INPUT_PATHS["crossings"]).read_text(encoding="utf-8").splitlines()[0]
    assert header == "point_id,month,direction,nationality,sex,age_group,count"
    assert crossings["month"].min() == "2021-01" and crossings["month"].max() == "2024-12"
    assert set(crossings["direction"]) == {"northbound", "southbound"}
    assert set(crossings["sex"]) == {"F", "M"}
    assert set(crossings["age_group"]) == {"0-4", "5-11", "12-17", "18-59", "60+"}
    assert {"VEN", "HTI", "ECU", "CHN", "COL", "ZZZ"} <= set(crossings["nationality"])
    assert crossings["count"].dtype.kind == "i" and (crossings["count"] >= 0).all()
    south = crossings[crossings["direction"] == "southbound"]
    assert set(south["point_id"]) == {"CO-NEC"}
    assert set(south["month"].str[:4]) == {"2024"}
    assert 0 < south["count"].sum() < 0.05 * REAL_TOTALS[2024]


def test_north_bound_yearly_totals_are_the_real_ones(crossings: pd.DataFrame) -> None:
    north = crossings[crossings["direction"] == "northbound"]
    totals = north.groupby(north["month"].str[:4].astype(int))["count"].sum().to_dict()
    assert totals == REAL_TOTALS == NORTH_BOUND_YEARLY_TOTALS
    assert set(north["point_id"]) == {"PA-BCH", "PA-CAN"}
    by_point = north.groupby("point_id")["count"].sum()
    assert by_point["PA-BCH"] > 10 * by_point["PA-CAN"]


def test_children_share_and_peak(crossings: pd.DataFrame) -> None:
    north = crossings[crossings["direction"] == "northbound"]
    children = north[north["age_group"].isin(["0-4", "5-11", "12-17"])]
    share = children["count"].sum() / north["count"].sum()
    assert 0.17 <= share <= 0.23
    # The children's mass is split 45/35/20 % before rounding: each share within 0.5 %.
    by_age = children.groupby("age_group")["count"].sum() / children["count"].sum()
    assert by_age.to_dict() == pytest.approx({"0-4": 0.45, "5-11": 0.35, "12-17": 0.20},
                                             abs=0.005)
    monthly = north.groupby("month")["count"].sum()
    assert monthly.idxmax() in {"2023-08", "2023-09"}
    assert 70_000 < monthly.max() < 90_000


def test_nationality_mix_changes_by_year(crossings: pd.DataFrame) -> None:
    north = crossings[crossings["direction"] == "northbound"]
    by = north.groupby([north["month"].str[:4], "nationality"])["count"].sum().unstack()
    assert by.loc["2021"].idxmax() == "HTI"
    for year in ("2022", "2023", "2024"):
        assert by.loc[year].idxmax() == "VEN"
    assert by.loc["2023", "CHN"] > 5 * by.loc["2021", "CHN"]


def test_small_cells_occur(crossings: pd.DataFrame) -> None:
    small = crossings["count"].between(1, 4)
    assert small.sum() > 100
    assert crossings.loc[crossings["age_group"] == "60+", "count"].between(1, 4).any()


def test_apportion_is_exact_and_largest_remainder() -> None:
    assert apportion(10, np.array([1.0, 1.0, 1.0])).tolist() == [4, 3, 3]
    assert apportion(7, np.array([0.5, 0.3, 0.2])).tolist() == [4, 2, 1]
    out = apportion(520_085, np.random.default_rng(0).random((12, 7)))
    assert out.sum() == 520_085 and out.shape == (12, 7)


# --- Vectors -------------------------------------------------------------------------------------

VECTORS = [k for k, v in INPUT_PATHS.items() if v.endswith(".geojson")]


@pytest.mark.parametrize("name", VECTORS)
def test_every_feature_carries_synthetic(inputs: Path, name: str) -> None:
    data = json.loads((inputs / INPUT_PATHS[name]).read_text(encoding="utf-8"))
    assert "crs" not in data  # RFC 7946: CRS84
    for feat in data["features"]:
        assert isinstance(feat["properties"]["synthetic"], bool)
        assert feat["properties"]["synthetic"] is (name != "countries")
        if name != "countries":
            assert feat["properties"]["geometry_note"]


@pytest.mark.parametrize("name", ["protected_areas", "indigenous_territories", "countries"])
def test_polygons_valid_and_counter_clockwise(inputs: Path, name: str) -> None:
    frame = gpd.read_file(inputs / INPUT_PATHS[name])
    assert frame.is_valid.all()
    for geom in frame.geometry:
        for poly in getattr(geom, "geoms", [geom]):
            assert poly.exterior.is_ccw
            if name != "countries":
                assert 20 <= len(poly.exterior.coords) - 1 <= 60


def test_protected_area_properties(inputs: Path) -> None:
    data = json.loads((inputs / INPUT_PATHS["protected_areas"]).read_text(encoding="utf-8"))
    keys = [
        "WDPAID", "WDPA_PID", "PA_DEF", "NAME", "ORIG_NAME", "DESIG", "DESIG_ENG", "DESIG_TYPE",
        "IUCN_CAT", "REP_M_AREA", "GIS_M_AREA", "REP_AREA", "GIS_AREA", "NO_TAKE", "STATUS",
        "STATUS_YR", "GOV_TYPE", "ISO3", "synthetic", "geometry_note",
    ]  # fmt: skip
    ids = []
    for feat in data["features"]:
        props = feat["properties"]
        assert list(props) == keys
        assert isinstance(props["WDPAID"], int) and props["WDPAID"] >= 900001
        assert props["WDPA_PID"] == str(props["WDPAID"]) and props["PA_DEF"] == "1"
        assert props["DESIG_TYPE"] in {"National", "International"}
        assert props["STATUS"] == "Designated" and props["ISO3"] in {"PAN", "COL"}
        assert "not from WDPA" in props["geometry_note"]
        assert props["GIS_AREA"] == pytest.approx(props["REP_AREA"], rel=0.15)
        ids.append(props["WDPAID"])
    assert len(set(ids)) == len(ids)
    names = {f["properties"]["NAME"] for f in data["features"]}
    assert {"Darién National Park", "Los Katíos National Park"} <= names


def test_darien_national_park_area_and_extent(inputs: Path) -> None:
    frame = gpd.read_file(inputs / INPUT_PATHS["protected_areas"])
    park = frame[frame["NAME"] == "Darién National Park"]
    assert len(park) == 1
    row = park.iloc[0]
    assert (row["ISO3"], row["IUCN_CAT"], row["STATUS_YR"]) == ("PAN", "II", 1980)
    area_km2 = abs(GEOD.geometry_area_perimeter(row.geometry)[0]) / 1e6
    assert area_km2 == pytest.approx(5790.0, rel=0.10)
    west, south, east, north = row.geometry.bounds
    assert west >= -78.42 and east <= -77.15 and south >= 7.20 and north <= 8.52
    countries = gpd.read_file(inputs / INPUT_PATHS["countries"])
    pan = countries[countries["iso3"] == "PAN"].geometry.iloc[0]
    assert row.geometry.difference(pan).area < 0.001 * row.geometry.area
    katios = frame[frame["NAME"] == "Los Katíos National Park"].geometry.iloc[0]
    assert row.geometry.distance(katios) < 0.05  # adjoining across the border


def test_routes(inputs: Path) -> None:
    routes = gpd.read_file(inputs / INPUT_PATHS["route_segments"])
    assert 5 <= len(routes) <= 10
    assert set(routes["mode"]) == {"boat", "foot", "road"}
    assert set(routes["direction"]) == {"northbound", "southbound"}
    assert routes["segment_id"].is_unique
    for geom in routes.geometry:
        assert 5 <= len(geom.coords) <= 60
    north = routes[routes["direction"] == "northbound"]
    first = north[north["order"] == 1]
    assert set(first["from_place"]) == {"Necoclí"}
    assert first["share"].sum() == pytest.approx(1.0)
    assert sorted(first["share"]) == [0.4, 0.6]
    assert ((routes["share"] > 0) & (routes["share"] <= 1)).all()
    bch = routes[routes["to_place"] == "Bajo Chiquito"]
    assert (bch["mode"] == "foot").all() and bch["share"].sum() == pytest.approx(1.0)


def test_points(inputs: Path) -> None:
    stations = gpd.read_file(inputs / INPUT_PATHS["stations"])
    assert set(stations["kind"]) == {"reception_station", "health_post"}
    reception = stations[stations["kind"] == "reception_station"]
    assert (reception["capacity"] > 0).all()
    assert stations.loc[stations["kind"] == "health_post", "capacity"].isna().all()
    points = gpd.read_file(inputs / INPUT_PATHS["crossing_points"])
    assert sorted(points["point_id"]) == ["CO-NEC", "PA-BCH", "PA-CAN"]
    bch = points[points["point_id"] == "PA-BCH"].geometry.iloc[0]
    assert (round(bch.y, 3), round(bch.x, 3)) == (8.457, -77.679)
    events = gpd.read_file(inputs / INPUT_PATHS["displacement"])
    assert 20 <= len(events) <= 30 and events["event_id"].is_unique
    start, end = pd.to_datetime(events["start_date"]), pd.to_datetime(events["end_date"])
    assert (start <= end).all() and start.dt.year.between(2019, 2024).all()
    incidents = gpd.read_file(inputs / INPUT_PATHS["incidents"])
    assert 60 <= len(incidents) <= 100
    assert (incidents["total_dead_missing"] == incidents["dead"] + incidents["missing"]).all()
    assert (incidents["children"] <= incidents["total_dead_missing"]).all()
    assert (incidents["migration_route"] == "Darien").all()
    assert pd.to_datetime(incidents["date"]).dt.year.between(2021, 2024).all()
    west, south, east, north = (-79.5, 6.8, -76.5, 9.8)
    for frame in (stations, points, events, incidents):
        xs, ys = frame.geometry.x, frame.geometry.y
        assert xs.between(west, east).all() and ys.between(south, north).all()


def test_roads_inside_bounds(inputs: Path) -> None:
    roads = gpd.read_file(inputs / INPUT_PATHS["roads"])
    assert (roads.geom_type == "LineString").all()
    west, south, east, north = roads.total_bounds
    assert west >= -79.5 - 1e-9 and east <= -76.5 + 1e-9
    assert south >= 6.8 - 1e-9 and north <= 9.8 + 1e-9
    assert roads["name"].str.contains("Panamericana").any()


# --- Every region's demo data ----------------------------------------------------------------


@pytest.mark.parametrize("region", known_demos())
def test_demo_data_cite_their_sources_and_match_the_region_file(region: str) -> None:
    from data_catalog.demo.spec import REGIONS_DIR
    from pipelines.config import load_region

    demo = load_demo(region)
    config = load_region(region)
    assert {name: spec.path for name, spec in demo.spec.files.items()} == {
        name: spec.path for name, spec in config.inputs.items()}
    with (REGIONS_DIR / region / "places.csv").open(encoding="utf-8") as handle:
        cited = {row["source"] for row in csv.DictReader(handle)}
    assert cited <= set(demo.spec.sources), cited - set(demo.spec.sources)
    west, south, east, north = demo.bounds
    assert west <= min(p.lon for p in demo.places.values())
    assert east >= max(p.lon for p in demo.places.values())
    assert south <= min(p.lat for p in demo.places.values())
    assert north >= max(p.lat for p in demo.places.values())
    named = set(demo.places)
    for attributes, _ in demo.routes:
        assert {attributes["from_place"], attributes["to_place"]} <= named, attributes
    assert {s["place"] for s in demo.stations} <= named
    assert {p[1] for p in demo.crossing_points} <= named
    assert set(demo.spec.towns) <= named and {s[0] for s in demo.spec.events.sites} <= named
    assert set(demo.spec.incidents.segments) <= {a["segment_id"] for a, _ in demo.routes}


def test_an_unknown_demo_region_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="darien"):
        write_demo(tmp_path / "inputs", region="atlantis")
    assert not (tmp_path / "inputs").exists()
