"""Write the embedded, deterministic, offline demo data set of the Darién region.

:func:`write_demo` writes every input listed under ``inputs:`` in
``pipelines/regions/darien.yaml`` into an inputs folder, plus ``demo.json`` (the
:class:`DemoManifest`). The same ``seed`` and ``scale`` give byte-identical files. Nothing is
downloaded: the only source file is the committed Natural Earth extract
(``data/ne_admin0_americas.geojson``).

The data set is built in a hidden sibling folder and renamed into place at the end, so an
interrupted run never leaves a half-written inputs folder (a stale hidden folder is removed by the
next run).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Final

import shapely
from pydantic import BaseModel, ConfigDict

from data_catalog.demo import flows, places, rasters, vectors

MANIFEST_NAME: Final[str] = "demo.json"
"""Name of the manifest written next to the inputs."""

GENERATOR: Final[str] = rasters.SOURCE_TAG
FORMAT_VERSION: Final[int] = 1

INPUT_PATHS: Final[dict[str, str]] = {
    "flood_rp10": "jrc_flood/flood_depth_rp10.tif",
    "flood_rp50": "jrc_flood/flood_depth_rp50.tif",
    "flood_rp100": "jrc_flood/flood_depth_rp100.tif",
    "flood_rp500": "jrc_flood/flood_depth_rp500.tif",
    "landslide": "landslide/landslide_susceptibility.tif",
    "rainfall": "chirps/rx1day.tif",
    "heat": "heat/heat_days.tif",
    "drought": "drought/drought_index.tif",
    "forest": "forest/forest_cover.tif",
    "protected_areas": "wdpa/protected_areas.geojson",
    "indigenous_territories": "territories/indigenous_territories.geojson",
    "route_segments": "routes/route_segments.geojson",
    "stations": "stations/reception_stations.geojson",
    "crossing_points": "flows/crossing_points.geojson",
    "crossings": "flows/crossings_monthly.csv",
    "displacement": "idmc/displacement_events.geojson",
    "incidents": "missing_migrants/incidents.geojson",
    "roads": "roads/roads.geojson",
    "countries": "natural_earth/countries.geojson",
}
"""Input name -> path under the inputs folder, as ``inputs:`` in darien.yaml."""

_NOTES: Final[dict[str, str]] = {
    "flood_rp10": "synthetic flood depth along approximate real rivers",
    "flood_rp50": "synthetic flood depth along approximate real rivers",
    "flood_rp100": "synthetic flood depth along approximate real rivers",
    "flood_rp500": "synthetic flood depth along approximate real rivers",
    "landslide": "synthetic susceptibility, high on approximate real ridges",
    "rainfall": "synthetic Rx1day",
    "heat": "synthetic hot days",
    "drought": "synthetic drought index",
    "forest": "synthetic tree cover",
    "protected_areas": "approximate outlines drawn for the demo, demo WDPAIDs (not WDPA)",
    "indigenous_territories": "approximate outlines drawn for the demo",
    "route_segments": "approximate paths through real waypoints",
    "stations": "real places, illustrative capacities",
    "crossing_points": "real places",
    "crossings": "northbound yearly totals real (Panama SNM); monthly and breakdowns synthetic",
    "displacement": "synthetic events near real towns",
    "incidents": "synthetic incidents along the demo route",
    "roads": "approximate alignments of real roads",
    "countries": "Natural Earth admin-0 (public domain), clipped",
}


class DemoFile(BaseModel):
    """One file of the demo data set.

    Attributes:
        input: Input name in the region config (``manifest`` for nothing else).
        path: Path relative to the inputs folder, POSIX separators.
        sha256: SHA-256 of the file's bytes, hex.
        size_bytes: File size, bytes.
        synthetic: True if any of its content was made up for the demo.
        note: What is real and what is not.
    """

    model_config = ConfigDict(frozen=True)

    input: str
    path: str
    sha256: str
    size_bytes: int
    synthetic: bool
    note: str


class DemoManifest(BaseModel):
    """What :func:`write_demo` wrote (saved as ``demo.json`` in the inputs folder).

    Attributes:
        region: Region id.
        generator: Name of the generator (also the ``source`` tag of the rasters).
        format_version: Version of this manifest's layout.
        seed: Seed used.
        scale: Raster cell-count multiplier used.
        bounds_lonlat: Demo bounds, west, south, east, north (degrees).
        files: The files written, sorted by path.
    """

    model_config = ConfigDict(frozen=True)

    region: str = "darien"
    generator: str = GENERATOR
    format_version: int = FORMAT_VERSION
    seed: int
    scale: int
    bounds_lonlat: tuple[float, float, float, float] = places.DEMO_BOUNDS
    files: tuple[DemoFile, ...]

    def file(self, input_name: str) -> DemoFile:
        """Return the entry of one input by its config name.

        Raises:
            KeyError: No such input.
        """
        for f in self.files:
            if f.input == input_name:
                return f
        raise KeyError(input_name)


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _build(root: Path, scale: int, seed: int) -> DemoManifest:
    """Write every input under ``root`` and return the manifest (also written there)."""
    countries = vectors.load_countries(vectors.countries_bounds())
    land_geoms = [geom for _, _, geom in countries]
    land = shapely.union_all(land_geoms)

    rasters.write_rasters(root, land_geoms, seed, scale)

    p = INPUT_PATHS
    vectors.write_geojson(root / p["countries"], vectors.country_features(countries))
    vectors.write_geojson(root / p["protected_areas"], vectors.protected_area_features(land))
    vectors.write_geojson(root / p["indigenous_territories"], vectors.territory_features())
    vectors.write_geojson(root / p["route_segments"], vectors.route_features())
    vectors.write_geojson(root / p["stations"], vectors.station_features())
    vectors.write_geojson(root / p["crossing_points"], vectors.crossing_point_features())
    vectors.write_geojson(root / p["displacement"], vectors.displacement_features(seed, land))
    vectors.write_geojson(root / p["incidents"], vectors.incident_features(seed))
    vectors.write_geojson(root / p["roads"], vectors.road_features())

    table = flows.crossings_table(seed)
    (root / p["crossings"]).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(root / p["crossings"], index=False, lineterminator="\n", encoding="utf-8")

    files = tuple(
        DemoFile(
            input=name,
            path=rel,
            sha256=_sha256(root / rel),
            size_bytes=(root / rel).stat().st_size,
            synthetic=name != "countries",
            note=_NOTES[name],
        )
        for name, rel in sorted(INPUT_PATHS.items(), key=lambda kv: kv[1])
    )
    manifest = DemoManifest(seed=seed, scale=scale, files=files)
    (root / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest


def _check_replaceable(inputs_dir: Path) -> None:
    """Refuse to replace anything but nothing, an empty folder or an earlier demo."""
    if not inputs_dir.exists():
        return
    if not inputs_dir.is_dir():
        raise FileExistsError(f"{inputs_dir} exists and is not a folder")
    if any(inputs_dir.iterdir()) and not (inputs_dir / MANIFEST_NAME).is_file():
        raise FileExistsError(
            f"{inputs_dir} holds files but no {MANIFEST_NAME}: not a cmrisk demo, not replacing it"
        )


def write_demo(inputs_dir: Path, scale: int = 1, seed: int = 20231) -> DemoManifest:
    """Write the Darién demo data set into ``inputs_dir``.

    Every input of ``pipelines/regions/darien.yaml`` is written at its path under
    ``inputs_dir``, plus ``demo.json`` (the returned manifest). An existing earlier demo in
    ``inputs_dir`` is replaced as a whole; the switch is a rename, so readers never see a partial
    data set.

    Args:
        inputs_dir: The data dir's ``inputs/`` folder (created if missing).
        scale: Raster cell-count multiplier, >= 1 (cell sizes are divided by ``sqrt(scale)``);
            1 gives the documented resolutions (flood 0.0025°, landslide 500 m, ...).
        seed: Seed of every synthetic field, table and point set.

    Returns:
        The manifest: files with their SHA-256, seed, scale and synthetic flags.

    Raises:
        ValueError: ``scale`` is not a positive integer.
        FileExistsError: ``inputs_dir`` holds something that is not an earlier demo.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    inputs_dir = Path(inputs_dir).absolute()
    _check_replaceable(inputs_dir)
    parent = inputs_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f".{inputs_dir.name}.*.demo-tmp"):
        shutil.rmtree(stale, ignore_errors=True)

    tmp = Path(tempfile.mkdtemp(prefix=f".{inputs_dir.name}.", suffix=".demo-tmp", dir=parent))
    try:
        os.chmod(tmp, 0o755)
        manifest = _build(tmp, scale, seed)
        if inputs_dir.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{inputs_dir.name}.", suffix=".demo-tmp", dir=parent)
            )
            old.rmdir()
            inputs_dir.rename(old)
            tmp.rename(inputs_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(inputs_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
