"""Write the embedded, deterministic, offline demo data set of a region (Darién by default).

:func:`write_demo` writes every file of the region's ``demo.yaml`` (the inputs of its region
file, ``pipelines/regions/<region>.yaml``) into an inputs folder, plus ``demo.json`` (the
:class:`DemoManifest`). The same region, ``seed`` and ``scale`` give byte-identical files. The
code is the same for every region: places, routes, stations, outlines and crossings come from
the region's data files (``data_catalog/demo/regions/<region>/``), and the hazards are generated
for its bounds. Nothing is downloaded: the only other source file is the committed Natural
Earth extract (``data/ne_admin0_americas.geojson``).

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

from data_catalog.demo import admin_units, flows, rasters, vectors
from data_catalog.demo.spec import RegionDemo, load_demo

MANIFEST_NAME: Final[str] = "demo.json"
"""Name of the manifest written next to the inputs."""

GENERATOR: Final[str] = rasters.SOURCE_TAG
FORMAT_VERSION: Final[int] = 1
DEFAULT_DEMO: Final[str] = "darien"


class DemoFile(BaseModel):
    """One file of the demo data set.

    Attributes:
        input: Input name in the region config (``manifest`` for nothing else).
        path: Path relative to the inputs folder, POSIX separators.
        sha256: SHA-256 of the file's bytes, hex.
        size_bytes: File size, bytes.
        synthetic: True if any of its content was made up for the demo.
        note: What is real and what is not.
        synthetic_parts: What is made up, as `data_catalog.provenance.PARTS` codes.
        real_parts: What is real, as the same codes.
    """

    model_config = ConfigDict(frozen=True)

    input: str
    path: str
    sha256: str
    size_bytes: int
    synthetic: bool
    note: str
    synthetic_parts: tuple[str, ...] = ()
    real_parts: tuple[str, ...] = ()


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

    region: str
    generator: str = GENERATOR
    format_version: int = FORMAT_VERSION
    seed: int
    scale: int
    bounds_lonlat: tuple[float, float, float, float]
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


def _build(root: Path, region: RegionDemo, scale: int, seed: int) -> DemoManifest:
    """Write every file of the region's demo under ``root`` and return the manifest (also
    written there)."""
    countries = vectors.load_countries(region.countries_bounds())
    land_geoms = [geom for _, _, geom in countries]
    land = shapely.union_all(land_geoms)

    rasters.write_rasters(root, region, land_geoms, seed, scale)

    writers = {
        "countries": lambda: vectors.country_features(countries),
        "protected_areas": lambda: vectors.protected_area_features(region, land),
        "territories": lambda: vectors.territory_features(region),
        "routes": lambda: vectors.route_features(region),
        "stations": lambda: vectors.station_features(region),
        "crossing_points": lambda: vectors.crossing_point_features(region),
        "displacement": lambda: vectors.displacement_features(region, seed, land),
        "incidents": lambda: vectors.incident_features(region, seed),
        "roads": lambda: vectors.road_features(region),
        "admin1": lambda: admin_units.admin_features(region, countries, 1),
        "admin2": lambda: admin_units.admin_features(region, countries, 2),
    }
    files = region.spec.files
    for spec in files.values():
        if spec.product in writers:
            vectors.write_geojson(root / spec.path, writers[spec.product]())
        elif spec.product == "crossings":
            table = flows.crossings_table(region.flows, seed)
            (root / spec.path).parent.mkdir(parents=True, exist_ok=True)
            table.to_csv(root / spec.path, index=False, lineterminator="\n", encoding="utf-8")

    entries = tuple(
        DemoFile(
            input=name,
            path=spec.path,
            sha256=_sha256(root / spec.path),
            size_bytes=(root / spec.path).stat().st_size,
            synthetic=spec.synthetic,
            note=spec.note,
            synthetic_parts=spec.synthetic_parts,
            real_parts=spec.real_parts,
        )
        for name, spec in sorted(files.items(), key=lambda kv: kv[1].path)
    )
    manifest = DemoManifest(region=region.spec.region, seed=seed, scale=scale,
                            bounds_lonlat=region.bounds, files=entries)
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


def write_demo(inputs_dir: Path, scale: int = 1, seed: int = 20231,
               region: str = DEFAULT_DEMO) -> DemoManifest:
    """Write a region's demo data set into ``inputs_dir``.

    Every file of the region's ``demo.yaml`` (the inputs of its region file) is written at its
    path under ``inputs_dir``, plus ``demo.json`` (the returned manifest). An existing earlier
    demo in ``inputs_dir`` is replaced as a whole; the switch is a rename, so readers never see
    a partial data set.

    Args:
        inputs_dir: The region's inputs folder (`DataDir.region(region).inputs`; created if
            missing).
        scale: Raster cell-count multiplier, >= 1 (cell sizes are divided by ``sqrt(scale)``);
            1 gives the resolutions of ``demo.yaml`` (Darién: flood 0.0025°, landslide 500 m).
        seed: Seed of every synthetic field, table and point set.
        region: The region whose demo to write.

    Returns:
        The manifest: files with their SHA-256, seed, scale and synthetic flags.

    Raises:
        ValueError: ``scale`` is not a positive integer.
        LookupError: no demo data for ``region``.
        FileExistsError: ``inputs_dir`` holds something that is not an earlier demo.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    demo = load_demo(region)
    inputs_dir = Path(inputs_dir).absolute()
    _check_replaceable(inputs_dir)
    parent = inputs_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f".{inputs_dir.name}.*.demo-tmp"):
        shutil.rmtree(stale, ignore_errors=True)

    tmp = Path(tempfile.mkdtemp(prefix=f".{inputs_dir.name}.", suffix=".demo-tmp", dir=parent))
    try:
        os.chmod(tmp, 0o755)
        manifest = _build(tmp, demo, scale, seed)
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
