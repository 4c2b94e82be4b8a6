"""Map tiles and TileJSON on real GeoTIFFs written by the tests into a temporary data dir.

Layers: a run (written here, without the pipeline) with a 0–10 score drawn in the INFORM class
colours and a uint8 class raster; user rasters ingested with `ingest_raster`: one in EPSG:4326,
one in UTM with a nodata value, and a COG with a NaN block and no nodata tag.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import morecantile
import numpy as np
import pytest
import rasterio
from affine import Affine
from fastapi.testclient import TestClient
from rasterio.crs import CRS
from rasterio.warp import transform as transform_points
from rio_tiler.colormap import cmap as rio_colormaps
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from shapely.geometry import Point

from data_catalog.paths import DataDir, switch_symlink
from data_catalog.stac import COG_MEDIA_TYPE, GEOPARQUET_MEDIA_TYPE, layer_item, write_catalog
from geo_service.app import create_app
from geo_service.auth import TokenSpec, token_hash
from geo_service.settings import Settings
from geo_service.tiles import (
    TILE_SIZE,
    RasterSource,
    TileData,
    TileStyle,
    draw,
    encode_png,
)
from layers.labels import NOT_EXPOSED_COLOR
from layers.registry import USER_LAYER_ITEM, Registry
from layers.styles import rgba
from pipelines.config import load_region
from pipelines.grid import Grid
from pipelines.publish import write_cog
from tests.ingesting import ingest_raster
from tests.pngs import decode

TMS = morecantile.tms.get("WebMercatorQuad")
UTM = CRS.from_epsg(32618)
CLASSES = [c.model_dump() for c in load_region("darien").classes]
RUN_ID = "20260101t000000-000000"
X0, Y0 = 200_000.0, 1_000_000.0
"""North-west corner of the UTM test rasters (EPSG:32618, near 77.7° W, 9.0° N)."""


# --- helpers --------------------------------------------------------------------------------


def tile_at(lon: float, lat: float, z: int) -> morecantile.Tile:
    return TMS.tile(lon, lat, z)


def utm_lonlat(x: float, y: float) -> tuple[float, float]:
    lons, lats = transform_points(UTM, "EPSG:4326", [x], [y])
    return lons[0], lats[0]


def viridis(value: float, low: float, high: float) -> tuple[int, ...]:
    index = int((min(max(value, low), high) - low) / (high - low) * 255)
    return tuple(rio_colormaps.get("viridis")[index])


def write_tif(path: Path, array: np.ndarray, crs: CRS | str, transform: Affine, *,
              nodata: float | None = None, driver: str = "GTiff") -> Path:
    profile: dict[str, Any] = {"driver": driver, "width": array.shape[1],
                               "height": array.shape[0], "count": 1,
                               "dtype": array.dtype.name, "crs": crs, "transform": transform}
    if nodata is not None:
        profile["nodata"] = nodata
    if driver == "COG":
        profile["blocksize"] = 256
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path


def write_run(data: DataDir, layers: dict[str, tuple[np.ndarray, float | int, dict[str, Any]]]
              ) -> None:
    """A minimal completed run (UTM rasters written like the pipeline's) made current."""
    folder = data.runs / RUN_ID
    folder.mkdir(parents=True)
    items = []
    for layer_id, (array, nodata, fields) in layers.items():
        grid = Grid(UTM, Affine(500.0, 0, X0, 0, -500.0, Y0), *array.shape)
        path = folder / f"{layer_id}.tif"
        resampling = "average" if array.dtype.kind == "f" else "nearest"
        write_cog(path, array, grid, nodata=nodata, tags={}, resampling=resampling)
        items.append(layer_item(
            layer_id=layer_id, asset_path=path, bbox=(-77.8, 7.1, -75.9, 9.0),
            when=datetime(2026, 1, 1), media_type=COG_MEDIA_TYPE,
            fields={"title": layer_id.title(), "kind": "raster", "units": "score",
                    "synthetic": True, "access": "public", "run_id": RUN_ID,
                    "classes": CLASSES, "attribution": "cmrisk test run", **fields}))
    write_catalog(folder, RUN_ID, "test run", items)
    (folder / "run.json").write_text(json.dumps({"run_id": RUN_ID}), encoding="utf-8")
    switch_symlink(data.current, folder)


def write_vector_layer(data: DataDir, layer_id: str) -> None:
    folder = data.layers / layer_id
    folder.mkdir(parents=True)
    frame = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(-77.5, 8.5)], crs="OGC:CRS84")
    frame.to_parquet(folder / "data.parquet")
    item = layer_item(layer_id=layer_id, asset_path=folder / "data.parquet",
                      bbox=(-77.5, 8.5, -77.5, 8.5),
                      when=datetime(2026, 1, 1),
                      media_type=GEOPARQUET_MEDIA_TYPE,
                      fields={"title": "Stations", "kind": "vector", "value_type": "class"})
    (folder / USER_LAYER_ITEM).write_text(json.dumps(item.to_dict(include_self_link=False)),
                                          encoding="utf-8")


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    root = tmp_path_factory.mktemp("tiles-data")
    data = DataDir(root).ensure()
    sources = tmp_path_factory.mktemp("tiles-sources")

    # Run layers, 500 m cells (200 × 200 km): score 1 (west half) and 9 (east half), a NaN
    # block in the north-west corner; classes 0 (west) and 4 (east), 255 = nodata in the north.
    score = np.where(np.arange(400) < 200, 1.0, 9.0)[None, :].repeat(400, 0).astype("float32")
    score[:100, :100] = np.nan
    classes = np.where(np.arange(400) < 200, 0, 4)[None, :].repeat(400, 0).astype("uint8")
    classes[:100, :] = 255
    write_run(data, {"score": (score, float("nan"), {"value_type": "continuous"}),
                     "risk-class": (classes, 255, {"value_type": "class"}),
                     "secret-score": (score, float("nan"), {"value_type": "continuous",
                                                            "access": "restricted"})})

    # EPSG:4326, 0.005° cells over 78–77° W, 8–9° N: value 5, nodata -9999 in the south half.
    lonlat = np.full((200, 200), 5.0, dtype="float32")
    lonlat[100:, :] = -9999
    ingest_raster(data, write_tif(sources / "lonlat.tif", lonlat, "EPSG:4326",
                                  Affine(0.005, 0, -78.0, 0, -0.005, 9.0), nodata=-9999),
                  layer_id="lonlat", title="Flood depth", units="m", rescale="0,10")

    # UTM int16, 200 m cells (100 × 100 km): nodata -9999 in the west 40 %, 300 elsewhere.
    counts = np.full((500, 500), 300, dtype="int16")
    counts[:, :200] = -9999
    ingest_raster(data, write_tif(sources / "utm.tif", counts, UTM,
                                  Affine(200.0, 0, X0, 0, -200.0, Y0), nodata=-9999),
                  layer_id="utm-nodata", rescale="0,600")

    # A valid COG (kept as is) with NaN in its north-west quarter and no nodata tag.
    field = np.full((512, 512), 2.5, dtype="float32")
    field[:256, :256] = np.nan
    ingest_raster(data, write_tif(sources / "nan.tif", field, UTM,
                                  Affine(200.0, 0, X0, 0, -200.0, Y0), driver="COG"),
                  layer_id="nan-block", rescale="0,5")
    write_vector_layer(data, "stations")
    return data


@pytest.fixture(scope="module")
def client(data_dir: DataDir) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=data_dir.root))) as test_client:
        yield test_client


def get_png(client: TestClient, url: str, **params: str) -> np.ndarray:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = decode(response.content)
    assert image.shape == (TILE_SIZE, TILE_SIZE, 4)
    return image


# --- tiles ----------------------------------------------------------------------------------


def test_epsg4326_raster_tile(client: TestClient) -> None:
    # A z=10 tile across 8.5° N: value 5 (north) and nodata (south) in the same tile.
    tile = tile_at(-77.5, 8.5, 10)
    image = get_png(client, f"/tiles/lonlat/{tile.z}/{tile.x}/{tile.y}.png")
    alpha = image[..., 3]
    assert (alpha == 255).any() and (alpha == 0).any()
    opaque = {tuple(p) for p in image[alpha == 255]}
    assert opaque == {viridis(5.0, 0, 10)}
    # North is up: opaque rows above transparent ones.
    rows = (alpha == 255).any(axis=1)
    assert rows[0] and not rows[-1]


def test_utm_raster_with_nodata(client: TestClient) -> None:
    lon, lat = utm_lonlat(X0 + 40_000, Y0 - 50_000)  # on the nodata edge
    tile = tile_at(lon, lat, 10)
    image = get_png(client, f"/tiles/utm-nodata/{tile.z}/{tile.x}/{tile.y}.png")
    alpha = image[..., 3]
    assert set(np.unique(alpha)) == {0, 255}
    assert {tuple(p) for p in image[alpha == 255]} == {viridis(300, 0, 600)}
    cols = (alpha == 255).any(axis=0)
    assert not cols[0] and cols[-1]  # nodata (west) transparent, data (east) drawn


def test_nan_block_without_nodata_tag_is_transparent(client: TestClient,
                                                     data_dir: DataDir) -> None:
    asset = data_dir.layers / "nan-block" / "data.tif"
    with rasterio.open(asset) as src:
        assert src.nodata is None  # kept as is: no nodata tag
    inside = tile_at(*utm_lonlat(X0 + 25_600, Y0 - 25_600), 11)
    image = get_png(client, f"/tiles/nan-block/{inside.z}/{inside.x}/{inside.y}.png")
    assert (image[..., 3] == 0).all()
    edge = tile_at(*utm_lonlat(X0 + 51_200, Y0 - 51_200), 10)
    image = get_png(client, f"/tiles/nan-block/{edge.z}/{edge.x}/{edge.y}.png")
    alpha = image[..., 3]
    assert (alpha == 0).any() and (alpha == 255).any()
    assert {tuple(p) for p in image[alpha == 255]} == {viridis(2.5, 0, 5)}


@pytest.mark.parametrize("layer", ["lonlat", "utm-nodata", "score", "nan-block"])
def test_outside_the_data_is_a_transparent_tile(client: TestClient, layer: str) -> None:
    tile = tile_at(20.0, 0.0, 8)  # central Africa, inside the matrix set
    response = client.get(f"/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.png")
    assert response.status_code == 200
    image = decode(response.content)
    assert image.shape == (256, 256, 4) and (image[..., 3] == 0).all()
    assert response.headers["etag"] and response.headers["cache-control"]


def test_score_layer_uses_the_class_colours(client: TestClient) -> None:
    east = tile_at(*utm_lonlat(X0 + 150_000, Y0 - 150_000), 10)
    image = get_png(client, f"/tiles/score/{east.z}/{east.x}/{east.y}.png")
    assert {tuple(p) for p in image.reshape(-1, 4)} == {rgba(CLASSES[4]["color"])}
    west = tile_at(*utm_lonlat(X0 + 50_000, Y0 - 150_000), 10)
    image = get_png(client, f"/tiles/score/{west.z}/{west.x}/{west.y}.png")
    assert {tuple(p) for p in image.reshape(-1, 4)} == {rgba(CLASSES[0]["color"])}
    nan = tile_at(*utm_lonlat(X0 + 25_000, Y0 - 25_000), 11)
    assert (get_png(client, f"/tiles/score/{nan.z}/{nan.x}/{nan.y}.png")[..., 3] == 0).all()
    # The same layer stretched on request.
    image = get_png(client, f"/tiles/score/{east.z}/{east.x}/{east.y}.png",
                    colormap="viridis", rescale="0,10")
    assert {tuple(p) for p in image.reshape(-1, 4)} == {viridis(9.0, 0, 10)}


def test_class_raster_and_its_nodata(client: TestClient) -> None:
    tile = tile_at(*utm_lonlat(X0 + 150_000, Y0 - 50_000), 9)  # across the 255 edge
    image = get_png(client, f"/tiles/risk-class/{tile.z}/{tile.x}/{tile.y}.png")
    alpha = image[..., 3]
    assert (alpha == 0).any()
    assert {tuple(p) for p in image[alpha == 255]} == {rgba(CLASSES[4]["color"])}


def test_tiles_are_cached_and_bounded(data_dir: DataDir) -> None:
    app = create_app(Settings(data_dir=data_dir.root, tile_cache_items=3))
    with TestClient(app) as small:
        tile = tile_at(-77.5, 8.5, 9)
        first = small.get(f"/tiles/lonlat/{tile.z}/{tile.x}/{tile.y}.png")
        again = small.get(f"/tiles/lonlat/{tile.z}/{tile.x}/{tile.y}.png")
        assert first.content == again.content
        for dx in range(5):
            small.get(f"/tiles/lonlat/{tile.z}/{tile.x + dx}/{tile.y}.png")
        assert len(app.state.tile_renderer.tiles) == 3


# --- caching headers ------------------------------------------------------------------------


def test_etag_cache_control_and_304(client: TestClient, data_dir: DataDir) -> None:
    tile = tile_at(-77.5, 8.5, 9)
    url = f"/tiles/lonlat/{tile.z}/{tile.x}/{tile.y}.png"
    first = client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"] == "public, max-age=3600"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    for header in (f'W/{etag}', f'"nope", {etag}', "*"):
        assert client.get(url, headers={"If-None-Match": header}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    restyled = client.get(url, params={"colormap": "magma"})
    assert restyled.headers["etag"] != etag
    # The ETag names (layer, version, style, z, x, y): a fresh worker agrees without rendering.
    with TestClient(create_app(Settings(data_dir=data_dir.root))) as fresh:
        response = fresh.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 304
        assert len(fresh.app.state.tile_renderer.tiles) == 0  # type: ignore[attr-defined]


def test_datetime_is_validated_and_ignored_by_layers_without_time(client: TestClient) -> None:
    tile = tile_at(-77.5, 8.5, 9)
    url = f"/tiles/lonlat/{tile.z}/{tile.x}/{tile.y}.png"
    plain = client.get(url)
    for value in ("2024-05-01T00:00:00Z", "2024-01-01/2024-12-31", "../2024-12-31",
                  "2024-01-01"):
        response = client.get(url, params={"datetime": value})
        assert response.status_code == 200, value
        assert response.headers["etag"] == plain.headers["etag"]
    for value in ("yesterday", "2024-13-01", "2024-12-31/2024-01-01", "../..", "a/b/c"):
        response = client.get(url, params={"datetime": value})
        assert response.status_code == 400, value
        assert response.json()["parameter"] == "datetime"


# --- TileJSON -------------------------------------------------------------------------------


def test_tilejson(client: TestClient) -> None:
    body = client.get("/tiles/lonlat/tilejson.json").json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"] == ["http://testserver/tiles/lonlat/{z}/{x}/{y}.png"]
    assert body["name"] == "Flood depth" and isinstance(body["description"], str)
    assert isinstance(body["attribution"], str)
    west, south, east, north = body["bounds"]
    assert west == pytest.approx(-78.0, abs=1e-3) and east == pytest.approx(-77.0, abs=1e-3)
    assert south == pytest.approx(8.0, abs=1e-3) and north == pytest.approx(9.0, abs=1e-3)
    lon, lat, zoom = body["center"]
    assert west < lon < east and south < lat < north and zoom == body["minzoom"]
    assert 0 <= body["minzoom"] <= body["maxzoom"] <= 24
    assert isinstance(body["legend"], str)
    assert "http://testserver/layers/lonlat" in body["legend"] and "m" in body["legend"]
    assert {"href": "http://testserver/layers/lonlat", "rel": "describedby",
            "type": "application/json",
            "title": "Layer metadata and JSON legend"} in body["links"]
    styled = client.get("/tiles/score/tilejson.json",
                        params={"colormap": "magma", "rescale": "0,5"}).json()
    assert styled["tiles"][0].endswith("/tiles/score/{z}/{x}/{y}.png?colormap=magma&rescale=0%2C5")
    score = client.get("/tiles/score/tilejson.json").json()
    assert "Very high" in score["legend"] and score["attribution"] == "cmrisk test run"


def test_tilejson_uses_the_public_url(data_dir: DataDir) -> None:
    app = create_app(Settings(data_dir=data_dir.root, public_url="https://risk.example/api/"))
    with TestClient(app) as proxied:
        body = proxied.get("/tiles/lonlat/tilejson.json").json()
    assert body["tiles"][0].startswith("https://risk.example/api/tiles/lonlat/")
    assert "https://risk.example/api/layers/lonlat" in body["legend"]


def test_layers_link_to_tiles(client: TestClient) -> None:
    links = {link["rel"]: link["href"] for link in client.get("/layers/lonlat").json()["links"]}
    tilejson = client.get(links["tilejson"].replace("http://testserver", ""))
    assert tilejson.status_code == 200


# --- bad input ------------------------------------------------------------------------------


def assert_problem(response: Any, status: int, parameter: str | None = None) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    if parameter is not None:
        assert parameter in body["parameter"]


BAD_IDS = ["..", "%2e%2e", "%2E%2e", ".%2e", "a%2Fb", "..%2F..%2Fetc%2Fpasswd",
           "http%3A%2F%2Fexample.com%2Fx.tif", "https:%2F%2Fexample.com", "file:%2F%2F%2Fetc",
           "%2Ftmp%2Fx.tif", "a%00b", "%00", "LONLAT", "nope", "a" * 300]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_bad_layer_ids_are_404_without_touching_files(client: TestClient, bad: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []

    def no_open(*args: Any, **kwargs: Any) -> None:
        opened.append(str(args[:1]))
        raise AssertionError("a bad id reached rasterio.open")

    monkeypatch.setattr(rasterio, "open", no_open)
    looked_up: list[str] = []
    original = Registry.layers

    def spy(self: Registry) -> Any:
        looked_up.append("layers")
        return original(self)

    monkeypatch.setattr(Registry, "layers", spy)
    for url in (f"/tiles/{bad}/1/0/0.png", f"/tiles/{bad}/tilejson.json"):
        assert_problem(client.get(url), 404)
    assert opened == []
    if bad not in ("nope",):  # ids that cannot be ids never reach the registry's files
        assert looked_up == []


def test_restricted_layers_need_a_scoped_token(data_dir: DataDir) -> None:
    tokens = [TokenSpec(name="ministry", sha256=token_hash("s3cret"),
                        scopes=["secret-score"])]
    tile = tile_at(*utm_lonlat(X0 + 150_000, Y0 - 150_000), 10)
    url = f"/tiles/secret-score/{tile.z}/{tile.x}/{tile.y}.png"
    with TestClient(create_app(Settings(data_dir=data_dir.root, tokens=tokens))) as app:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            assert_problem(app.get(url, headers=headers), 404, "layer")
            assert_problem(app.get("/tiles/secret-score/tilejson.json", headers=headers), 404)
        allowed = app.get(url, headers={"Authorization": "Bearer s3cret"})
        assert allowed.status_code == 200
        assert allowed.headers["cache-control"].startswith("private")
        # A cached tile is not served to the anonymous caller either.
        assert_problem(app.get(url), 404, "layer")
        assert app.get("/tiles/secret-score/tilejson.json",
                       headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_a_vector_layer_has_no_tiles(client: TestClient) -> None:
    assert_problem(client.get("/tiles/stations/1/0/0.png"), 404, "layer")
    assert_problem(client.get("/tiles/stations/tilejson.json"), 404, "layer")


@pytest.mark.parametrize("path,parameter", [
    ("a/0/0", "z"), ("1/b/0", "x"), ("1/0/c", "y"), ("1.5/0/0", "z"), ("1/0.0/0", "x"),
    ("1/0/1e3", "y"), ("%20/0/0", "z"),
])
def test_non_integer_zxy_is_422(client: TestClient, path: str, parameter: str) -> None:
    assert_problem(client.get(f"/tiles/lonlat/{path}.png"), 422, parameter)


@pytest.mark.parametrize("path,parameter", [
    ("-1/0/0", "z"), ("25/0/0", "z"), ("30/0/0", "z"), ("3/8/0", "x"), ("3/-1/0", "x"),
    ("3/0/8", "y"), ("3/0/-1", "y"), (f"9/{2 ** 40}/0", "x"), (f"{2 ** 70}/0/0", "z"),
])
def test_outside_the_matrix_set_is_404(client: TestClient, path: str, parameter: str) -> None:
    assert_problem(client.get(f"/tiles/lonlat/{path}.png"), 404, parameter)


def test_deeper_than_max_zoom_plus_4_is_404(client: TestClient, data_dir: DataDir) -> None:
    maxzoom = client.get("/tiles/lonlat/tilejson.json").json()["maxzoom"]
    deepest = tile_at(-77.5, 8.7, maxzoom + 4)
    assert client.get(f"/tiles/lonlat/{deepest.z}/{deepest.x}/{deepest.y}.png"
                      ).status_code == 200
    deeper = tile_at(-77.5, 8.7, maxzoom + 5)
    assert_problem(client.get(f"/tiles/lonlat/{deeper.z}/{deeper.x}/{deeper.y}.png"), 404, "z")


@pytest.mark.parametrize("params,parameter", [
    ({"colormap": "jet"}, "colormap"), ({"colormap": "../../etc/passwd"}, "colormap"),
    ({"colormap": "VIRIDIS"}, "colormap"), ({"colormap": ""}, "colormap"),
    ({"colormap": "x" * 500}, "colormap"), ({"rescale": "1" * 500}, "rescale"),
    ({"rescale": "1"}, "rescale"), ({"rescale": "a,b"}, "rescale"),
    ({"rescale": "5,1"}, "rescale"), ({"rescale": "1,1"}, "rescale"),
    ({"rescale": "nan,1"}, "rescale"), ({"rescale": "-inf,2"}, "rescale"),
    ({"rescale": "1,2,3"}, "rescale"), ({"rescale": ""}, "rescale"),
    ({"rescale": "1e999,2"}, "rescale"),
])
def test_bad_style_parameters_are_400(client: TestClient, params: dict[str, str],
                                      parameter: str) -> None:
    tile = tile_at(-77.5, 8.5, 9)
    for url in (f"/tiles/lonlat/{tile.z}/{tile.x}/{tile.y}.png", "/tiles/lonlat/tilejson.json"):
        assert_problem(client.get(url, params=params), 400, parameter)


def test_accepted_style_parameters(client: TestClient) -> None:
    tile = tile_at(-77.5, 8.5, 9)
    for params in ({"rescale": "0,10"}, {"rescale": " -1.5e0 , 2.5 "}, {"colormap": "rdbu_r"},
                   {"colormap": "ylorrd", "rescale": "-10,10"}):
        get_png(client, f"/tiles/lonlat/{tile.z}/{tile.x}/{tile.y}.png", **params)


# --- the renderer ---------------------------------------------------------------------------


def test_fast_reader_equals_rio_tiler(data_dir: DataDir, tmp_path: Path) -> None:
    """The tile reader gives rio-tiler's pixels (values and mask) on every test raster."""
    rng = np.random.default_rng(3)
    noisy = rng.random((700, 900)).astype("float32") * 10
    noisy[100:300, 200:400] = np.nan
    extra = [
        write_tif(tmp_path / "noisy.tif", noisy, UTM, Affine(120.0, 0, X0, 0, -120.0, Y0),
                  nodata=float("nan"), driver="COG"),
        write_tif(tmp_path / "int.tif", rng.integers(0, 50, (600, 800)).astype("int16"),
                  "EPSG:4326", Affine(0.002, 0, -78.3, 0, -0.002, 9.2), driver="COG"),
        # Already in Web Mercator: rio-tiler's own path.
        write_tif(tmp_path / "mercator.tif", rng.random((500, 500)).astype("float32"),
                  "EPSG:3857", Affine(150.0, 0, -8_650_000, 0, -150.0, 1_000_000),
                  nodata=-1.0, driver="COG"),
    ]
    rgb = tmp_path / "rgb.tif"  # several bands: band 1 is drawn, through rio-tiler's path
    with rasterio.open(rgb, "w", driver="COG", width=600, height=600, count=3, dtype="uint8",
                       crs=UTM, transform=Affine(150.0, 0, X0, 0, -150.0, Y0)) as dst:
        dst.write(rng.integers(0, 255, (3, 600, 600)).astype("uint8"))
    extra.append(rgb)
    paths = [*(data_dir.layers / name / "data.tif" for name in ("lonlat", "utm-nodata",
                                                                  "nan-block")),
             *(data_dir.current / f"{name}.tif" for name in ("score", "risk-class")), *extra]
    compared = 0
    for path in paths:
        source = RasterSource(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = Reader(str(path))
            west, south, east, north = reader.get_geographic_bounds("EPSG:4326")
            for z in range(6, 14):
                tiles = list(TMS.tiles(west - 0.1, south - 0.1, east + 0.1, north + 0.1, [z]))
                for tile in tiles[:: max(1, len(tiles) // 8)]:
                    try:
                        image = reader.tile(tile.x, tile.y, tile.z, tilesize=256, indexes=1)
                    except TileOutsideBounds:
                        image = None
                    ours = source.read(tile.x, tile.y, tile.z)
                    if image is None:
                        assert ours is None or not ours.valid.any(), (path.name, tile)
                        continue
                    assert ours is not None, (path.name, tile)
                    values = image.array.data[0].astype("float64")
                    valid = ~np.ma.getmaskarray(image.array)[0] & np.isfinite(values)
                    assert np.array_equal(valid, ours.valid), (path.name, tile)
                    assert np.array_equal(values[valid], ours.values[valid]), (path.name, tile)
                    compared += 1
    assert compared > 200


def test_palette_and_rgba_pngs_decode_to_the_drawn_colours() -> None:
    # All 256 stretch colours plus transparent cells: no free palette slot, so RGBA.
    values = np.tile(np.linspace(0, 10, 256), (256, 1))
    valid = np.ones_like(values, dtype=bool)
    valid[:10] = False
    tile = TileData(values, valid, np.dtype("float64"))
    image = decode(draw(tile, TileStyle(colormap="viridis", rescale=(0.0, 10.0))))
    assert (image[:10, :, 3] == 0).all()
    assert tuple(image[100, 255]) == viridis(10.0, 0, 10)
    assert tuple(image[100, 0]) == viridis(0.0, 0, 10)
    # A few colours: an 8-bit palette PNG with tRNS.
    indices = np.zeros((256, 256), np.uint8)
    indices[:, 128:] = 1
    palette = np.array([[10, 20, 30, 255], [0, 0, 0, 0]], np.uint8)
    body = encode_png(indices, palette)
    assert body[25] == 3  # colour type: palette
    image = decode(body)
    assert tuple(image[0, 0]) == (10, 20, 30, 255) and image[0, 200, 3] == 0


def test_ingested_user_raster_is_listed(client: TestClient) -> None:
    body = client.get("/layers/utm-nodata").json()
    assert body["kind"] == "raster" and body["access"] == "public"
    assert body["synthetic"] is False
    assert [c["color"] for c in body["legend"]["classes"]]
    assert "/tmp" not in json.dumps(body)


def test_demo_run_risk_tiles(demo_run: Path) -> None:
    """The pipeline's own risk layer tiles in its INFORM class colours, and grey where no one
    on the move is exposed (not "very low")."""
    with TestClient(create_app(Settings(data_dir=demo_run))) as demo:
        colours = {rgba(c.color) for c in load_region("darien").classes}
        grey = rgba(NOT_EXPOSED_COLOR)
        drawn: set[tuple[int, ...]] = set()
        for tile in TMS.tiles(-78.4, 7.9, -77.6, 8.6, [8]):
            image = get_png(demo, f"/tiles/risk/{tile.z}/{tile.x}/{tile.y}.png")
            drawn |= {tuple(p) for p in image[image[..., 3] == 255]}
        assert drawn and drawn <= colours | {grey}
        assert grey in drawn and drawn & colours
        legend = demo.get("/layers/risk").json()["legend"]["classes"]
        assert legend[-1]["label"] == "Not exposed" and legend[-1]["color"] == NOT_EXPOSED_COLOR
