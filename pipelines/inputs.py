"""Reading a region's inputs from the data dir: presence, provenance (with the ingested version
of each file), the synthetic flag, the checks that tell what to fix in an input the run cannot
use, and the vector and flow-count inputs as the surfaces and outputs of a run see them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import rasterio
from pyproj import CRS

from data_catalog.ingest.versions import version_store
from data_catalog.paths import DataDir
from data_catalog.stac import sha256_of
from data_catalog.vocabulary import (
    AGE_GROUPS,
    COLUMNS,
    DIRECTIONS,
    SEXES,
    is_point_id,
    nationality_codes,
)
from pipelines.config import InputSpec, RegionConfig
from pipelines.disclosure import crossings_features, protect_flows
from pipelines.errors import MissingInput, PipelineError, UnreadableInput, UnusableInput

DEMO_MANIFEST = "demo.json"


@dataclass(frozen=True)
class InputRecord:
    """Provenance of one input file as a run used it.

    Attributes:
        name: The input's name in the region config.
        path: The file, relative to `inputs/`.
        sha256: Its SHA-256 (hex).
        synthetic: Whether it is generated demo data.
        source: The versioned input the file belongs to (`flow_counts`, ...), when it was
            ingested or recorded as a baseline (`cmrisk inputs list`).
        version: That input's version holding these exact bytes.
        synthetic_parts: What in it is made up (`data_catalog.provenance.PARTS` codes), as
            the demo manifest says; empty when it does not say.
        real_parts: What in it is real (same codes).
    """

    name: str
    path: str
    sha256: str
    synthetic: bool
    source: str | None = None
    version: int | None = None
    synthetic_parts: tuple[str, ...] = ()
    real_parts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"name": self.name, "path": self.path, "sha256": self.sha256,
                "synthetic": self.synthetic, "source": self.source, "version": self.version,
                "synthetic_parts": list(self.synthetic_parts),
                "real_parts": list(self.real_parts)}


def input_versions(records: dict[str, InputRecord]) -> dict[str, int]:
    """The version of each versioned input a run used: {source: version}."""
    return {r.source: r.version for r in records.values()
            if r.source is not None and r.version is not None}


def read_vector(path: Path) -> gpd.GeoDataFrame:
    """A vector file (GeoParquet by suffix, anything else through GDAL)."""
    if path.suffix == ".parquet":
        return gpd.read_parquet(path)
    return gpd.read_file(path)


def _demo_hashes(inputs_dir: Path) -> dict[str, dict[str, object]]:
    manifest = inputs_dir / DEMO_MANIFEST
    if not manifest.is_file():
        return {}
    files = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
    return {str(f["path"]): f for f in files}


def _codes(value: object) -> tuple[str, ...]:
    """A demo manifest's list of provenance part codes as a tuple (empty when absent)."""
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def _declared_synthetic(path: Path, spec: InputSpec) -> bool:
    """What the file itself says: a raster tag `synthetic`, or a `synthetic` column."""
    if spec.kind == "raster":
        with rasterio.open(path) as src:
            return src.tags().get("synthetic", "false").lower() == "true"
    if spec.kind == "vector":
        frame = read_vector(path)
        return "synthetic" in frame.columns and bool(frame["synthetic"].fillna(False).any())
    frame = pd.read_csv(path, nrows=1)
    return "synthetic" in frame.columns


def resolve_input(inputs_dir: Path, spec: InputSpec) -> Path:
    """The file the pipeline reads for one input: an ingested GeoParquet beside a generated
    vector (same stem) wins, so real inputs are used where present and generated ones only
    where absent. Rasters and tables are ingested in place (same path)."""
    path = inputs_dir / spec.path
    if spec.kind == "vector":
        ingested = path.with_suffix(".parquet")
        if ingested.is_file():
            return ingested
    return path


def check_inputs(config: RegionConfig, inputs_dir: Path) -> dict[str, Path]:
    """The path of every input of the region; raises `MissingInput` naming all absent ones."""
    paths = {name: resolve_input(inputs_dir, spec) for name, spec in config.inputs.items()}
    missing = [f"{name} ({spec.path})" for name, spec in config.inputs.items()
               if not paths[name].is_file()]
    if missing:
        raise MissingInput(
            f"inputs missing under {inputs_dir}: {', '.join(missing)}; "
            "run `cmrisk demo` for the embedded demo or `cmrisk ingest` for real files"
        )
    return paths


def provenance(config: RegionConfig, inputs_dir: Path, data: DataDir) -> dict[str, InputRecord]:
    """Provenance of every input: sha256 and whether it is synthetic.

    A file listed in the demo manifest with the same sha256 is the generated demo file and
    takes the manifest's flag; any other file (an ingested real one) is real unless it
    declares itself synthetic. The version of each file comes from the data dir's version
    store, by its path under the data dir (`cmrisk inputs list`).
    """
    paths = check_inputs(config, inputs_dir)
    demo = _demo_hashes(inputs_dir)
    store = version_store(data)
    records = {}
    for name, spec in config.inputs.items():
        digest = sha256_of(paths[name])
        relative = paths[name].relative_to(inputs_dir).as_posix()
        listed = demo.get(relative)
        parts: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        if listed is not None and listed.get("sha256") == digest:
            synthetic = bool(listed.get("synthetic", True))
            parts = (_codes(listed.get("synthetic_parts")) if synthetic else (),
                     _codes(listed.get("real_parts")))
        else:
            synthetic = _declared_synthetic(paths[name], spec)
        found = store.find(paths[name].relative_to(data.root).as_posix(), digest)
        records[name] = InputRecord(name, relative, digest, synthetic,
                                    found.input if found else None,
                                    found.version if found else None, *parts)
    return records


MAX_LISTED = 5
"""Most distinct bad values named per column."""


def check_flow_table(config: RegionConfig, name: str, table: pd.DataFrame,
                     points: gpd.GeoDataFrame, record: InputRecord) -> None:
    """Check a flow-count input against the flow vocabulary and its crossing points, and that
    it holds every year a surface of the region reads from it.

    Raises:
        UnusableInput: naming the file, each bad column, its bad values (with how many rows
            and the first line, the header being line 1) and the allowed ones; or the year
            the region needs and the months the file holds.
    """
    where = f"inputs/{record.path}"
    spec = config.inputs[name]
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise UnusableInput(f"{where}: column(s) {', '.join(missing)} missing; the flow "
                            f"counts template has {', '.join(COLUMNS)}")
    known = set(points["point_id"].astype(str)) if "point_id" in points.columns else set()
    checks = {
        "point_id": (lambda v: v in known and is_point_id(v),
                     f"the crossing points of inputs/{config.inputs[str(spec.points)].path}: "
                     f"{', '.join(sorted(known))}"),
        "direction": (lambda v: v in DIRECTIONS, ", ".join(DIRECTIONS)),
        "nationality": (lambda v: v in nationality_codes(), "ISO 3166-1 alpha-3, ZZZ unknown"),
        "sex": (lambda v: v in SEXES, ", ".join(SEXES)),
        "age_group": (lambda v: v in AGE_GROUPS, ", ".join(AGE_GROUPS)),
        "count": (_is_count, "a whole number of persons, 0 or more"),
    }
    problems = []
    for column, (ok, allowed) in checks.items():
        values = table[column].astype(str)
        bad = values[~values.map(ok)]
        if bad.empty:
            continue
        shown = []
        for value, rows in bad.groupby(bad).groups.items():
            first = int(min(rows)) + 2  # the header is line 1
            shown.append(f"{value!r} ({len(rows)} rows, first on line {first})")
        listed = "; ".join(shown[:MAX_LISTED]) + (" ..." if len(shown) > MAX_LISTED else "")
        problems.append(f"column {column}: {listed}; allowed: {allowed}")
    if problems:
        remedy = ("it was generated by an older `cmrisk demo`: run `cmrisk demo --force`"
                  if record.synthetic else "ingest the counts with `cmrisk ingest flow_counts "
                  "FILE`, which checks every row, or fix these rows")
        raise UnusableInput(f"{where} cannot be used: " + " | ".join(problems) + f". {remedy}")
    months = sorted(set(table["month"].astype(str)))
    for surface, year in flow_years(config, name):
        if not any(m.startswith(f"{year}-") for m in months):
            span = f"{months[0]} to {months[-1]}" if months else "no month at all"
            raise UnusableInput(
                f"{where} has no counts for {year}, the year surface {surface} of region "
                f"{config.id} uses (surfaces.{surface}.parameters.year); it holds {span}. "
                f"Ingest counts for {year} (`cmrisk ingest flow_counts FILE` merges them by "
                "month) or set that year in the region file")


def flow_years(config: RegionConfig, name: str) -> list[tuple[str, int]]:
    """(surface, year) of every surface that reads the flow-count input `name` for one year."""
    return [(surface, int(spec.parameters["year"]))
            for surface, spec in config.surfaces.items()
            if name in spec.inputs.values() and "year" in spec.parameters]


def _is_count(value: str) -> bool:
    return value.isdigit()


def read_input(name: str, path: Path, read: Callable[[Path], Any]) -> Any:
    """Read one input; a file that cannot be read fails the run, naming the input."""
    try:
        return read(path)
    except PipelineError:
        raise
    except Exception as exc:  # rasterio, GDAL, pyogrio and pandas each raise their own
        raise UnreadableInput(f"input {name} ({path.name}) cannot be read: "
                              f"{exc.__class__.__name__}: {str(exc)[:300]}") from exc


def read_flow_counts(path: Path) -> pd.DataFrame:
    """A flow-count table (point ids and months kept as text)."""
    return pd.read_csv(path, dtype={"month": str, "point_id": str})


def published_crossings(flows: pd.DataFrame, points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The protected crossings table (`pipelines.disclosure`) with each point's direction."""
    published = crossings_features(protect_flows(flows), points)
    directions = dict(zip(points["point_id"].astype(str),
                          points.get("direction_default", pd.Series(dtype=str)), strict=False))
    published["direction"] = published["point_id"].map(directions)
    return published


def read_vectors(config: RegionConfig, paths: Mapping[str, Path], crs: CRS,
                 records: Mapping[str, InputRecord]) -> dict[str, gpd.GeoDataFrame]:
    """Every vector input, and every flow-count input after disclosure control joined to its
    points, in `crs`, by input name.

    Flow counts are checked against the vocabulary first (`check_flow_table`) and used only in
    their protected form, for surfaces and publication alike.
    """
    vectors = {name: read_input(name, paths[name], read_vector).to_crs(crs)
               for name, spec in config.inputs.items() if spec.kind == "vector"}
    for name, spec in config.inputs.items():
        if spec.kind == "flow_counts":
            table = read_input(name, paths[name], read_flow_counts)
            points = vectors[str(spec.points)]
            check_flow_table(config, name, table, points, records[name])
            vectors[name] = published_crossings(table, points).to_crs(crs)
    return vectors
