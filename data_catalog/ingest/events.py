"""Event sources that have no coordinates of their own (IDMC GIDD: one row per disaster event
and country), published as user collections on the country outlines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from data_catalog.errors import SourceFormatError
from data_catalog.ingest.install import LayerPublisher, staging
from data_catalog.ingest.refusal import refuse_bad_rows
from data_catalog.ingest.vectors import ingest_vector
from data_catalog.ingest.versions import InputVersion, VersionStore, sha256_file
from data_catalog.paths import REGIONS_FOLDER, DataDir
from data_catalog.sources import get_source

EVENT_LAYERS = {"idmc_gidd": ("idmc_displacement", "Disaster displacement events (IDMC GIDD)")}
"""Source id → (layer id, title) of the collection its events become."""
COUNTRY_FILES = ("natural_earth/countries.parquet", "natural_earth/countries.geojson")


def countries(data: DataDir) -> gpd.GeoDataFrame:
    """The country outlines of every region of the data dir (each region's ingested Natural
    Earth first, else its demo's): the default region's, then the others' by id, a country
    given by several regions kept once (by `iso3`), so an event in any region's country is
    placed (EPSG:4326)."""
    frames = []
    for inputs in _region_inputs(data):
        for relative in COUNTRY_FILES:
            path = inputs / relative
            if path.is_file():
                frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
                frames.append(frame.to_crs("EPSG:4326"))
                break
    if not frames:
        raise SourceFormatError("no country outlines under inputs/natural_earth: run `cmrisk "
                                "demo` or `cmrisk ingest natural_earth FILE` first")
    joined = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    if "iso3" in joined.columns:
        joined = joined.drop_duplicates("iso3", keep="first").reset_index(drop=True)
    return joined


def _region_inputs(data: DataDir) -> list[Path]:
    """The inputs folder of every region of the data dir, the default region's first."""
    folder = data.root / REGIONS_FOLDER
    others = sorted(entry.name for entry in folder.iterdir()) if folder.is_dir() else []
    found = [data.inputs]
    for name in others:
        try:
            region = data.region(name)
        except ValueError:  # not a region's folder
            continue
        if region.inputs != data.inputs:
            found.append(region.inputs)
    return found


def ingest_events(data: DataDir, store: VersionStore, source_id: str, path: Path, *,
                  allow_drops: bool = False, user: str | None = None,
                  publish: LayerPublisher | None = None,
                  ) -> tuple[InputVersion, dict[str, Any]]:
    """Read an event file with its source's reader, place each event on its country and publish
    it as a user collection (a new version of `layer:<layer id>`, as `ingest vector`; with
    `publish` told of it first, as there).

    Returns:
        The new version, and the vector ingest report plus the reader's (`reader`) and what
        `--allow-drops` dropped (`dropped`).

    Raises:
        IngestRefused: rows the reader rejected, without `allow_drops`.
        SourceFormatError: a file the reader cannot read, or no event placed on a country.
    """
    layer_id, title = EVENT_LAYERS[source_id]
    source = get_source(source_id)
    result = source.reader_function()(path, countries=countries(data))
    dropped = refuse_bad_rows(result.report, path, allow_drops=allow_drops)
    frame = result.data
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.notna().sum() == 0:
        raise SourceFormatError("no event could be placed on a country", path=path)
    unplaced = frame.loc[frame.geometry.isna(), "iso3"].astype(str).value_counts(sort=False)
    if len(unplaced):
        named = ", ".join(f"{code} ({count})" for code, count in unplaced.items())
        if not allow_drops:
            raise SourceFormatError(
                f"refused, nothing was stored: events in countries with no outline in any "
                f"region of the data dir: {named}; ingest outlines that cover them (`cmrisk "
                f"ingest natural_earth FILE`), or give --allow-drops to store the others",
                path=path)
        dropped.append(f"events in countries with no outline, not stored: {named}")
    located = frame[frame.geometry.notna()].reset_index(drop=True)
    with staging(data, f"events-{layer_id}") as folder:
        staged = folder / f"{layer_id}.parquet"
        located.to_parquet(staged, index=False)
        version, report = ingest_vector(
            data, store, staged, layer_id=layer_id, title=title, units="people",
            value_type="count", attribution=source.citation, user=user, file_name=path.name,
            file_sha256=sha256_file(path), publish=publish)
    report["reader"] = result.report.to_dict()
    report["dropped"] = dropped
    return version, report
