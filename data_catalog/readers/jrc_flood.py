"""Reader for the JRC global river flood hazard maps (Copernicus EMS / GloFAS): water depth.

Inputs: GeoTIFFs of water depth in metres, one per return period (10, 20, 50, 75, 100, 200,
500 years) and, for the ~90 m maps, one per 10° tile: `ID12_N10_W080_RP100_depth.tif`,
`floodMapGL_rp100y.tif` (also inside its `.zip`). The return period comes from the file name
(`RP100`, `rp100y`) or the `return_period` argument.

Output: a float32 DataArray `flood_depth` with dims (return_period, y, x) in EPSG:4326, depth
in m. Tiles of one return period are mosaicked; return periods are stacked in ascending order.

The quirk that matters: **0 and nodata mean different things.** 0 is dry land (no flooding at
that return period); nodata is sea or permanent water, where the map says nothing. Zeros stay 0.0
and nodata becomes NaN (counted in the report). When a file declares no nodata value, pass
`nodata=`; otherwise the report flags that the two cannot be told apart. Negative depths are
impossible and become NaN (reported).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from rioxarray.merge import merge_arrays

from data_catalog.errors import SourceFormatError
from data_catalog.readers._common import BBox, PathLike, as_paths, new_report, provenance
from data_catalog.readers._raster import float_attr, gdal_path, mask_and_scale, open_raster
from data_catalog.readers.report import Action, IngestReport, Issue, ReadResult

SOURCE_ID = "jrc_flood"
READER = "data_catalog.readers.jrc_flood:read_jrc_flood"
RETURN_PERIODS = (10, 20, 50, 75, 100, 200, 500)
"""Return periods (years) that JRC publishes."""

_RP = re.compile(r"(?:^|[^a-z])rp[_\-]?(\d{1,4})(?:y|yr|years?)?(?=[^a-z0-9]|$)", re.IGNORECASE)


def return_period_from_name(name: str) -> int | None:
    """The return period (years) in a JRC file name (`…_RP100_depth.tif`, `…_rp100y.tif`)."""
    m = _RP.search(name)
    return int(m.group(1)) if m else None


def read_jrc_flood(
    paths: PathLike | Sequence[PathLike],
    *,
    return_period: int | None = None,
    nodata: float | None = None,
    bbox: BBox | None = None,
    source_id: str = SOURCE_ID,
) -> ReadResult[xr.DataArray]:
    """Read JRC flood depth GeoTIFFs into a (return_period, y, x) DataArray (see module doc).

    Args:
        paths: One file or several (tiles and/or return periods).
        return_period: Return period in years for files whose names carry none (applies to
            every file given).
        nodata: The raw value meaning sea/permanent water, when the files do not declare one.
        bbox: Optional (west, south, east, north) in degrees to read.
        source_id: Source id written into the provenance.

    Returns:
        Water depth (m) and the ingest report (unit: cell).

    Raises:
        SourceFormatError: Not a raster, no return period, or tiles that cannot be mosaicked.
        MissingCRSError: A raster without CRS.
    """
    files = as_paths(paths)
    report = new_report(source_id, READER, files, unit="cell")
    by_rp: dict[int, list[xr.DataArray]] = {}
    for path in files:
        rp = return_period if return_period is not None else return_period_from_name(path.name)
        if rp is None:
            raise SourceFormatError(
                "no return period in the file name: name it as JRC does, e.g. "
                "'floodMapGL_rp100y.tif' or 'ID_RP100_depth.tif' (or pass return_period=)",
                path=path)
        if rp not in RETURN_PERIODS:
            report.add(Issue.VALUE_NORMALISED, Action.FLAGGED,
                       f"{path.name}: return period {rp} y is not one JRC publishes "
                       f"{RETURN_PERIODS}", count=0)
        by_rp.setdefault(rp, []).append(_read_one(path, nodata, bbox, report))
    layers = []
    for rp in sorted(by_rp):
        tiles = by_rp[rp]
        try:
            mosaic = tiles[0] if len(tiles) == 1 else merge_arrays(tiles, nodata=np.nan)
        except Exception as exc:
            raise SourceFormatError(f"cannot mosaic the RP{rp} tiles ({exc})") from exc
        layers.append(mosaic.expand_dims(return_period=[rp]))
    result = xr.concat(layers, dim="return_period", join="outer") if len(layers) > 1 else layers[0]
    result = result.drop_vars([c for c in result.coords
                               if c not in ("return_period", "y", "x")])
    result = result.sortby("y", ascending=False).astype("float32")
    result.name = "flood_depth"
    report.rows_read = int(result.size)
    result.attrs = provenance(report)
    result.attrs.update({
        "units": "m",
        "long_name": "river flood water depth",
        "return_period_units": "years",
        "nodata_meaning": "NaN: sea or permanent water (nodata in the source); 0: dry land",
    })
    result["return_period"].attrs["units"] = "years"
    result.rio.write_crs("EPSG:4326", inplace=True)
    return ReadResult(result, report)


def _read_one(path: Path, nodata: float | None, bbox: BBox | None,
              report: IngestReport) -> xr.DataArray:
    da = open_raster(gdal_path(path), path, report, bbox)
    if da.sizes.get("band", 1) != 1:
        raise SourceFormatError(f"expected one band, found {da.sizes['band']}", path=path)
    da = da.isel(band=0, drop=True)
    declared = da.rio.nodata
    values = [v for v in (declared, nodata) if v is not None]
    if not values:
        report.add(Issue.NODATA_MASKED, Action.FLAGGED,
                   f"{path.name} declares no nodata value: sea/permanent water cannot be told "
                   "from dry land (0); pass nodata=", count=0)
    out = mask_and_scale(
        da, nodata=[float(v) for v in values],
        scale=float_attr(da.attrs, "scale_factor", default=1.0),
        offset=float_attr(da.attrs, "add_offset", default=0.0),
        report=report, label=path.name, nodata_meaning="sea or permanent water",
    )
    negative = np.asarray(out.values < 0)
    if negative.any():
        n = int(negative.sum())
        report.add(Issue.NEGATIVE_VALUE, Action.MASKED,
                   f"{path.name}: {n} cells with negative depth set to NaN", count=n)
        out = out.where(~negative)
    return out
