"""Event sources that have no coordinates of their own (IDMC GIDD: one row per disaster event
and country), published as user collections on the country outlines."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd

from data_catalog.errors import SourceFormatError
from data_catalog.paths import DataDir
from data_catalog.sources import get_source
from layers.user_vectors import ingest_vector

EVENT_LAYERS = {"idmc_gidd": ("idmc_displacement", "Disaster displacement events (IDMC GIDD)")}
"""Source id → (layer id, title) of the collection its events become."""
COUNTRY_FILES = ("natural_earth/countries.parquet", "natural_earth/countries.geojson")


def countries(data: DataDir) -> gpd.GeoDataFrame:
    """The country outlines among the inputs (ingested Natural Earth first, else the demo's)."""
    for relative in COUNTRY_FILES:
        path = data.inputs / relative
        if path.is_file():
            frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
            return frame.to_crs("EPSG:4326")
    raise SourceFormatError("no country outlines under inputs/natural_earth: run `cmrisk demo` "
                            "or `cmrisk ingest natural_earth FILE` first")


def ingest_events(data: DataDir, source_id: str, path: Path) -> dict[str, Any]:
    """Read an event file with its source's reader, place each event on its country and publish
    it as a user collection (same atomic write as `cmrisk ingest vector`).

    Returns:
        The vector ingest report plus the reader's (`reader`).
    """
    layer_id, title = EVENT_LAYERS[source_id]
    source = get_source(source_id)
    result = source.reader_function()(path, countries=countries(data))
    frame = result.data
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.notna().sum() == 0:
        raise SourceFormatError(f"{path.name}: no event could be placed on a country",
                                path=path)
    located = frame[frame.geometry.notna()].reset_index(drop=True)
    with tempfile.TemporaryDirectory(dir=data.root) as tmp:
        staged = Path(tmp) / f"{layer_id}.parquet"
        located.to_parquet(staged, index=False)
        report = ingest_vector(data, staged, layer_id=layer_id, title=title, units="people",
                               value_type="count", attribution=source.citation)
    report["reader"] = result.report.to_dict()
    return report
