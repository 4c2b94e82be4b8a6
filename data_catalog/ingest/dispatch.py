"""The one dispatcher of `cmrisk ingest SOURCE PATH`: every file comes in through `ingest`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from data_catalog.errors import SourceFormatError
from data_catalog.ingest.events import EVENT_LAYERS, ingest_events
from data_catalog.ingest.install import LayerPublisher, install, staging
from data_catalog.ingest.pipeline_inputs import (
    ADAPTERS,
    REPORT_NAME,
    AdaptContext,
    empty_outputs,
    reader_options,
    report_counts,
    write_output,
)
from data_catalog.ingest.rasters import Access, ingest_raster
from data_catalog.ingest.refusal import refuse_bad_rows
from data_catalog.ingest.vectors import ingest_vector
from data_catalog.ingest.versions import InputVersion, version_store
from data_catalog.limits import IngestLimits, current_limits, use_limits
from data_catalog.paths import DEFAULT_REGION, DataDir
from data_catalog.readers._common import BBox, sha256_file
from data_catalog.readers.report import IngestReport
from data_catalog.sources import get_source, load_sources

USER_LAYER_KINDS = ("raster", "vector")
"""The SOURCE of a user's own layer."""


@dataclass(frozen=True)
class IngestOptions:
    """How to ingest a file (the options of `cmrisk ingest`).

    Attributes:
        layer_id: The layer id (user layers).
        title: The layer title (user layers).
        units: Units of the values (user layers).
        colormap: Colormap (user rasters).
        rescale: `MIN,MAX` of the colour stretch (user rasters).
        access: `public` or `restricted` (user layers).
        value_type: `continuous`, `class` or `count` (user vector layers).
        region: The region whose pipeline input the file becomes (sources; default the
            data dir's default region). Its versions are kept as `<source>@<region>`.
        bbox: Keep only what intersects (west, south, east, north), degrees (sources).
        allow_drops: Store the good rows of a file with bad ones, on purpose.
        replace: Replace the whole input instead of merging into it (flow counts).
        level: The admin level of boundaries (`admin_units`): 1 or 2.
        limits: The ingest limits (default: the environment's `CMRISK_INGEST_*`).
        user: Who ingests (default: the account running the command).
        now: The time of a user layer's STAC item (default: the clock).
        publish: Told of a user layer's (or event collection's) new folder before it is
            recorded or swapped in (`install.LayerPublisher`: the command line passes the
            PostGIS load when the service has a database); if it raises, nothing changes.
    """

    layer_id: str | None = None
    title: str | None = None
    units: str | None = None
    colormap: str | None = None
    rescale: str | None = None
    access: Access = "public"
    value_type: Literal["continuous", "class", "count"] = "class"
    region: str = DEFAULT_REGION
    bbox: BBox | None = None
    allow_drops: bool = False
    replace: bool = False
    level: int | None = None
    limits: IngestLimits | None = None
    user: str | None = None
    now: datetime | None = None
    publish: LayerPublisher | None = None


@dataclass(frozen=True)
class IngestOutcome:
    """What an ingest stored.

    Attributes:
        input: The input id (`flow_counts`, `layer:<id>`, ...).
        version: The new version of it.
        report: The reader's report (sources; None for user layers).
        lines: What to tell the person, one line each.
        details: More about a user layer (features read, written, repaired, ...).
    """

    input: str
    version: InputVersion
    report: IngestReport | None
    lines: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def ingest(data: DataDir, source: str, path: Path,
           options: IngestOptions | None = None) -> IngestOutcome:
    """Ingest one file: a pipeline input (SOURCE = a source id), an event collection
    (`idmc_gidd`) or a user layer (`raster` / `vector`, `options.layer_id` required).

    All or nothing: a file the reader finds bad rows in is refused whole (`IngestRefused`,
    with every bad field named) unless `options.allow_drops`; a file beyond the ingest limits
    is refused (`IngestLimitError`). A refused file leaves the data dir byte for byte as it
    was. Otherwise the file becomes a new version of its input (`data_catalog.ingest.versions`).

    Raises:
        UnknownSource: An unknown SOURCE (the message lists the known ones).
        IngestRefused: Bad rows, without `allow_drops`.
        SourceFormatError: A file the reader cannot read (a `MissingColumnError`,
            `MissingCRSError`, `IngestLimitError`, ...).
        ValueError: A bad option (layer id, colormap, rescale).
    """
    options = options or IngestOptions()
    with use_limits(options.limits or current_limits()):
        if source in USER_LAYER_KINDS:
            return _user_layer(data, source, path, options)
        if source in EVENT_LAYERS:
            version, details = ingest_events(data, version_store(data), source, path,
                                             allow_drops=options.allow_drops,
                                             user=options.user, publish=options.publish)
            report = IngestReport.from_dict(details["reader"])
            return IngestOutcome(version.input, version, report, [
                *details["dropped"],
                f"collection {details['id']!r}: {details['features_written']} events "
                f"({report.summary()})"], details)
        return _pipeline_input(data, source, path, options)


def _user_layer(data: DataDir, kind: str, path: Path, options: IngestOptions) -> IngestOutcome:
    if options.layer_id is None:
        raise ValueError(f"--id is required for `ingest {kind}`")
    store = version_store(data)
    if kind == "raster":
        version, details = ingest_raster(
            data, store, path, layer_id=options.layer_id, title=options.title,
            units=options.units, colormap=options.colormap, rescale=options.rescale,
            access=options.access, now=options.now, user=options.user,
            publish=options.publish)
        line = f"raster layer {options.layer_id!r} added (COG {details['cog']})"
    else:
        version, details = ingest_vector(
            data, store, path, layer_id=options.layer_id, title=options.title,
            units=options.units or "", value_type=options.value_type, access=options.access,
            now=options.now, user=options.user, publish=options.publish)
        line = (f"vector layer {options.layer_id!r} added: {details['features_written']} of "
                f"{details['features_read']} features ({details['geometries_repaired']} "
                f"repaired, {details['features_dropped']} without geometry)")
    return IngestOutcome(version.input, version, None, [line, *details.get("notes", [])],
                         details)


def _pipeline_input(data: DataDir, source_id: str, path: Path,
                    options: IngestOptions) -> IngestOutcome:
    source = get_source(source_id)
    adapter = ADAPTERS.get(source.id)
    if adapter is None:
        takes = sorted({*ADAPTERS, *EVENT_LAYERS, *USER_LAYER_KINDS})
        raise SourceFormatError(
            f"source {source.id!r} cannot be ingested; what can: {', '.join(takes)}")
    inputs = data.region(options.region).inputs
    result = source.reader_function()(path, **reader_options(source.id, inputs, options.level))
    dropped = refuse_bad_rows(result.report, path, allow_drops=options.allow_drops)
    adapted = adapter(result, AdaptContext(inputs, path, options.bbox, options.replace))
    if empty_outputs(adapted):
        raise SourceFormatError("nothing of it lies in the region", path=path)
    data.ensure()
    store = version_store(data)
    input_id = source_input(source.id, options.region)

    def under_data_dir(relative: str) -> str:
        return (inputs / relative).relative_to(data.root).as_posix()

    with staging(data, f"ingest-{source.id}") as folder:
        staged: dict[str, Path] = {}
        for relative, value in adapted.outputs.items():
            write_output(folder / relative, value)
            staged[under_data_dir(relative)] = folder / relative
        report_path = folder / source.id / REPORT_NAME
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(result.report.to_json(), encoding="utf-8")
        staged[under_data_dir(f"{source.id}/{REPORT_NAME}")] = report_path
        version = install(
            data, store, input_id, staged, whole=False,
            file_name=path.name, file_sha256=sha256_file(path), user=options.user,
            rows=report_counts(result.report) | adapted.rows,
            note="; ".join(adapted.notes) or result.report.summary(),
            report=store_report(store, result.report))
    lines = [*dropped, f"{input_id} version {version.version}: {path.name} "
             f"({result.report.summary()})", *adapted.notes]
    return IngestOutcome(input_id, version, result.report, lines)


def source_input(source_id: str, region: str) -> str:
    """The input id of a source's pipeline input in a region: the source id in the default
    region, `<source>@<region>` in any other."""
    return source_id if region == DEFAULT_REGION else f"{source_id}@{region}"


def store_report(store: Any, report: IngestReport) -> str | None:
    """Keep the reader's report in the store (when it can keep bytes); its SHA-256."""
    keep = getattr(store, "keep_bytes", None)
    return keep(report.to_json().encode("utf-8")) if keep is not None else None


def ingestible() -> list[str]:
    """Every SOURCE `ingest` takes, sorted."""
    known = set(load_sources())
    return sorted({*(s for s in ADAPTERS if s in known), *EVENT_LAYERS, *USER_LAYER_KINDS})
