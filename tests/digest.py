"""Digests of the Darién demo: its input files (bytes) and a run's outputs (values).

The refactors of issue 12 (regions and layers as data, a generic demo generator) must change
neither: `tests/pipelines/test_darien_digest.py` compares a fresh demo and run with the digest
stored in `tests/data/darien_digest.json`. Run ids and times are left out of the run's digest;
everything else a run publishes is in it: every raster's values (with CRS, transform, nodata and
tags), every vector table's rows and geometries, and the layer metadata of the STAC items.

Floating-point values are not hashed: the last bits of a float depend on the CPU that computed
it (numpy picks SIMD kernels for exp, log and sums at run time), and a test that depends on the
machine is a defect. A float raster or column is kept as a *fingerprint* instead — where its
cells are missing (hashed), and its nan-mean over an 8 × 8 grid of blocks, its minimum, maximum,
mean and an index-weighted mean — compared with a relative tolerance of 1e-6
(`FLOAT_RTOL`). A change of 0.01 in one cell of a Darién block (about 1,700 cells) moves that
block's mean by 6e-6 of a typical value of 1, so a change to the method still fails; a
difference in the last bits does not. Everything else (grids, tags, dtypes, integers, text,
geometries) is hashed exactly.

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


FLOAT_RTOL = 1e-6
"""Relative tolerance of a float fingerprint (see the module docstring)."""
FLOAT_ATOL = 1e-9
"""Absolute tolerance of a float fingerprint, for values at or near zero."""
BLOCKS = 8
"""Blocks per side of a float raster's fingerprint."""

Digest = str | dict[str, Any]
"""A layer's digest: a SHA-256, or for floats a hash of the exact parts and a fingerprint."""


def float_fingerprint(values: np.ndarray) -> dict[str, Any]:
    """Where a float array's values are missing (hashed) and its block means and moments.

    A 2-D array is cut into `BLOCKS` × `BLOCKS` blocks; a 1-D one (a table column) is one row of
    `BLOCKS` blocks. Missing means NaN or ±inf. Numbers are kept with 9 significant digits.
    """
    data = np.asarray(values, dtype="float64")
    grid = data if data.ndim == 2 else data.reshape(1, -1)
    finite = np.isfinite(grid)
    rows = np.array_split(np.arange(grid.shape[0]), min(BLOCKS, max(grid.shape[0], 1)))
    cols = np.array_split(np.arange(grid.shape[1]), min(BLOCKS, max(grid.shape[1], 1)))
    means = []
    for r in rows:
        for c in cols:
            block = grid[np.ix_(r, c)]
            ok = np.isfinite(block)
            means.append(float(block[ok].mean()) if ok.any() else None)
    kept = grid[finite]
    weights = np.arange(1, grid.size + 1, dtype="float64").reshape(grid.shape)[finite]
    moments = ([float(kept.min()), float(kept.max()), float(kept.mean()),
                float((kept * weights).sum() / weights.sum())] if kept.size else [])
    return {"missing": _sha(np.packbits(~finite).tobytes()),
            "blocks": [None if m is None else float(f"{m:.9g}") for m in means],
            "moments": [float(f"{m:.9g}") for m in moments]}


def same_fingerprint(stored: dict[str, Any], now: dict[str, Any]) -> bool:
    """Whether two float fingerprints agree within `FLOAT_RTOL` (missing cells exactly)."""
    if stored["missing"] != now["missing"]:
        return False
    for key in ("blocks", "moments"):
        a, b = stored[key], now[key]
        if len(a) != len(b) or [x is None for x in a] != [y is None for y in b]:
            return False
        pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None]
        if pairs and not np.allclose([x for x, _ in pairs], [y for _, y in pairs],
                                     rtol=FLOAT_RTOL, atol=FLOAT_ATOL):
            return False
    return True


def same_digest(stored: Digest, now: Digest) -> bool:
    """Whether a layer's stored digest and a fresh one agree (floats within tolerance)."""
    if isinstance(stored, str) or isinstance(now, str):
        return stored == now
    if stored.keys() != now.keys() or stored["exact"] != now["exact"]:
        return False
    return all(same_fingerprint(stored["floats"][k], now["floats"][k]) for k in stored["floats"])


def raster_digest(path: Path) -> Digest:
    """A digest of a raster's values, grid, nodata and tags (not of its file bytes)."""
    with rasterio.open(path) as src:
        values = src.read(1)
        head = {"dtype": values.dtype.str, "shape": list(values.shape),
                "crs": src.crs.to_wkt() if src.crs else None,
                "transform": list(src.transform)[:6], "nodata": repr(src.nodata),
                "tags": dict(sorted(src.tags().items()))}
    if values.dtype.kind != "f":
        return _sha(_json(head), np.ascontiguousarray(values).tobytes())
    return {"exact": _sha(_json(head)), "floats": {"values": float_fingerprint(values)}}


def table_digest(path: Path) -> Digest:
    """A digest of a GeoParquet table's columns, dtypes, values and geometries (WKB)."""
    frame = gpd.read_parquet(path)
    frame = frame.drop(columns=[c for c in VOLATILE_COLUMNS if c in frame.columns])
    plain = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    head = {"columns": list(frame.columns), "dtypes": [str(t) for t in frame.dtypes],
            "crs": frame.crs.to_string() if frame.crs else None, "rows": len(frame)}
    floats = [c for c in plain.columns if pd.api.types.is_float_dtype(plain[c].dtype)]
    values = pd.util.hash_pandas_object(plain.drop(columns=floats), index=True).to_numpy()
    geometries = b"".join(g.wkb if g is not None else b"-" for g in frame.geometry)
    exact = _sha(_json(head), values.tobytes(), geometries)
    if not floats:
        return exact
    return {"exact": exact,
            "floats": {c: float_fingerprint(plain[c].to_numpy(dtype="float64", na_value=np.nan))
                       for c in floats}}


def item_digest(path: Path) -> str:
    """A digest of a STAC item's layer metadata (`ITEM_FIELDS`)."""
    properties = json.loads(path.read_text(encoding="utf-8"))["properties"]
    fields = {name: properties.get(name, properties.get(f"cmrisk:{name}"))
              for name in ITEM_FIELDS}
    return _sha(_json(fields))


def run_digest(folder: Path) -> dict[str, dict[str, Digest]]:
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
