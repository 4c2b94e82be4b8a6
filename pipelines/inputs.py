"""Reading a region's inputs from the data dir: presence, provenance, the synthetic flag, and
the vector and flow-count inputs as the surfaces and outputs of a run see them."""

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

from data_catalog.stac import sha256_of
from pipelines.config import InputSpec, RegionConfig
from pipelines.disclosure import crossings_features, protect_flows
from pipelines.errors import MissingInput, PipelineError, UnreadableInput

DEMO_MANIFEST = "demo.json"


@dataclass(frozen=True)
class InputRecord:
    """Provenance of one input file as a run used it."""

    name: str
    path: str
    sha256: str
    synthetic: bool

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"name": self.name, "path": self.path, "sha256": self.sha256,
                "synthetic": self.synthetic}


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


def provenance(config: RegionConfig, inputs_dir: Path) -> dict[str, InputRecord]:
    """Provenance of every input: sha256 and whether it is synthetic.

    A file listed in the demo manifest with the same sha256 is the generated demo file and
    takes the manifest's flag; any other file (an ingested real one) is real unless it
    declares itself synthetic.
    """
    paths = check_inputs(config, inputs_dir)
    demo = _demo_hashes(inputs_dir)
    records = {}
    for name, spec in config.inputs.items():
        digest = sha256_of(paths[name])
        relative = paths[name].relative_to(inputs_dir).as_posix()
        listed = demo.get(relative)
        if listed is not None and listed.get("sha256") == digest:
            synthetic = bool(listed.get("synthetic", True))
        else:
            synthetic = _declared_synthetic(paths[name], spec)
        records[name] = InputRecord(name, relative, digest, synthetic)
    return records


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


def read_vectors(config: RegionConfig, paths: Mapping[str, Path], crs: CRS
                 ) -> dict[str, gpd.GeoDataFrame]:
    """Every vector input, and every flow-count input after disclosure control joined to its
    points, in `crs`, by input name.

    Flow counts are used only in their protected form, for surfaces and publication alike.
    """
    vectors = {name: read_input(name, paths[name], read_vector).to_crs(crs)
               for name, spec in config.inputs.items() if spec.kind == "vector"}
    for name, spec in config.inputs.items():
        if spec.kind == "flow_counts":
            table = read_input(name, paths[name], read_flow_counts)
            vectors[name] = published_crossings(table, vectors[str(spec.points)]).to_crs(crs)
    return vectors
