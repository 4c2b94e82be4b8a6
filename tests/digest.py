"""Digests of the Darién demo: its input files (bytes) and a run's outputs (values).

The refactors of issue 12 (regions and layers as data, a generic demo generator) must change
neither: `tests/pipelines/test_darien_digest.py` compares a fresh demo and run with the digest
stored in `tests/data/darien_digest.json`. Run ids and times are left out of the run's digest;
everything else a run publishes is in it: every raster's values (with CRS, transform, nodata and
tags), every vector table's rows and geometries, and the layer metadata of the STAC items.

Rewriting the stored digest is a deliberate act, for a change that is meant to change the demo
or the method (say so in the commit)::

    .venv/bin/python -m tests.digest --write
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

DIGEST_PATH = Path(__file__).parent / "data" / "darien_digest.json"
VOLATILE_COLUMNS = ("run_id", "as_of")
"""Columns of the scored-area tables that name the run and its time."""
ITEM_FIELDS = ("title", "title_es", "description", "kind", "value_type", "units", "synthetic",
               "access", "classes", "provenance", "attribution", "region")
"""Layer metadata (STAC `cmrisk:` fields, title and description) covered by the digest."""


def _sha(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def input_digest(inputs: Path) -> dict[str, str]:
    """SHA-256 of every file under an inputs folder, by POSIX path relative to it."""
    return {path.relative_to(inputs).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(inputs.rglob("*")) if path.is_file()}


def raster_digest(path: Path) -> str:
    """A digest of a raster's values, grid, nodata and tags (not of its file bytes)."""
    with rasterio.open(path) as src:
        values = src.read(1)
        head = {"dtype": values.dtype.str, "shape": list(values.shape),
                "crs": src.crs.to_wkt() if src.crs else None,
                "transform": list(src.transform)[:6], "nodata": repr(src.nodata),
                "tags": dict(sorted(src.tags().items()))}
    return _sha(_json(head), np.ascontiguousarray(values).tobytes())


def table_digest(path: Path) -> str:
    """A digest of a GeoParquet table's columns, dtypes, values and geometries (WKB)."""
    frame = gpd.read_parquet(path)
    frame = frame.drop(columns=[c for c in VOLATILE_COLUMNS if c in frame.columns])
    plain = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    head = {"columns": list(frame.columns), "dtypes": [str(t) for t in frame.dtypes],
            "crs": frame.crs.to_string() if frame.crs else None, "rows": len(frame)}
    values = pd.util.hash_pandas_object(plain, index=True).to_numpy().tobytes()
    geometries = b"".join(g.wkb if g is not None else b"-" for g in frame.geometry)
    return _sha(_json(head), values, geometries)


def item_digest(path: Path) -> str:
    """A digest of a STAC item's layer metadata (`ITEM_FIELDS`)."""
    properties = json.loads(path.read_text(encoding="utf-8"))["properties"]
    fields = {name: properties.get(name, properties.get(f"cmrisk:{name}"))
              for name in ITEM_FIELDS}
    return _sha(_json(fields))


def run_digest(folder: Path) -> dict[str, dict[str, str]]:
    """Digests of a run folder's rasters, tables and STAC items, by layer id."""
    return {
        "rasters": {p.stem: raster_digest(p) for p in sorted(folder.glob("*.tif"))},
        "tables": {p.stem: table_digest(p) for p in sorted(folder.glob("*.parquet"))},
        "items": {p.stem: item_digest(p) for p in sorted((folder / "items").glob("*.json"))},
    }


def made_with() -> dict[str, str]:
    """Versions of the libraries whose output the digest depends on."""
    import pyproj
    import shapely

    return {"gdal": rasterio.__gdal_version__, "rasterio": rasterio.__version__,
            "numpy": np.__version__, "pandas": pd.__version__, "shapely": shapely.__version__,
            "proj": pyproj.proj_version_str}


def darien_digest(root: Path) -> dict[str, Any]:
    """Write the Darién demo into `root`, run the pipeline on it and digest both."""
    from data_catalog.demo.generate import write_demo
    from data_catalog.paths import DataDir
    from pipelines.config import load_region
    from pipelines.run import run

    data = DataDir(root).ensure()
    write_demo(data.inputs)
    result = run(load_region("darien"), data)
    return {"inputs": input_digest(data.inputs), **run_digest(result.folder)}


def main(argv: list[str]) -> int:
    """`--write`: store the digest of a fresh demo and run; otherwise print it."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        digest = darien_digest(Path(tmp))
    digest["made_with"] = made_with()
    text = json.dumps(digest, indent=1, sort_keys=True) + "\n"
    if "--write" in argv:
        DIGEST_PATH.parent.mkdir(parents=True, exist_ok=True)
        DIGEST_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {DIGEST_PATH}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
