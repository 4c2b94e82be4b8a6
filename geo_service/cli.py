"""The `cmrisk` command line: demo data, pipeline runs, the service, maps, sources, ingest."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperOption

from data_catalog.errors import CatalogError
from data_catalog.exchange.formats import DEFAULT_KIND
from data_catalog.i18n import Language, UnsupportedLanguage, language
from data_catalog.paths import (
    DATA_DIR_ENV,
    DEFAULT_REGION,
    REGIONS_FOLDER,
    DataDir,
    RegionDir,
    default_data_dir,
    switch_symlink,
)
from pipelines import area_record as col
from pipelines.errors import PipelineError

if TYPE_CHECKING:  # psycopg is imported only when a database is configured
    from data_catalog.ingest import LayerPublisher, VersionStore
    from geo_service.features.postgis_load import LoadHook, LoadReport


def _flags_without_type(option: TyperOption, ctx: Any) -> str | None:
    """Typer's help shows `<bool>` after flags (`--embed <bool>`): a flag takes no value, so
    its help shows none."""
    return None if option.is_flag else _option_type(option, ctx)


_option_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flags_without_type  # type: ignore[method-assign,assignment]

app = typer.Typer(help="cmrisk: climate-mobility risk maps of the Darién and beyond.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
runs_app = typer.Typer(help="The kept pipeline runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
inputs_app = typer.Typer(help="The versions of ingested inputs.", no_args_is_help=True)
app.add_typer(inputs_app, name="inputs")
db_app = typer.Typer(help="The PostGIS feature store (CMRISK_DATABASE_URL).",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")
tokens_app = typer.Typer(help="Bearer tokens of the data dir (the exchange's country tokens).",
                         no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
console = Console(stderr=True)
out = Console()

KEEP_ALIVE_S = 75
"""Seconds uvicorn keeps an idle HTTP connection open."""

DataOption = Annotated[Path | None, typer.Option(
    "--data-dir", help=f"Data dir (default ${DATA_DIR_ENV} or ./data).")]


def _data(data_dir: Path | None) -> DataDir:
    return DataDir((data_dir or default_data_dir()).resolve())


def _fail(message: str, code: int = 2) -> typer.Exit:
    prefix = cli_language()._("error:")
    console.print(f"[bold red]{prefix}[/] ", end="")
    console.print(message, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


RegionOption = Annotated[str, typer.Option(
    "--region", help=f"Region id (default {DEFAULT_REGION}).")]
LangOption = Annotated[str, typer.Option(
    "--lang", help="Language (en, es, pt) or locale (es-CO, pt-BR) of every word and number; "
    "a bare language takes the locale of CMRISK_LOCALES (default es-PA, pt-BR).")]


def cli_language() -> Language:
    """The language of the command line's own messages: `CMRISK_LANG`, else the POSIX locale
    (`LC_ALL`, `LC_MESSAGES`, `LANG`, e.g. `es_PA.UTF-8`), else English."""
    from geo_service.settings import Settings

    for name in ("CMRISK_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").split(".", 1)[0].split("@", 1)[0]
        if value and value not in ("C", "POSIX"):
            try:
                return language(value, Settings().locales)
            except UnsupportedLanguage:
                continue
    return language("en")


def _language(tag: str) -> Language:
    """The `Language` of `--lang`, or a clear error (exit 2) naming `--lang`."""
    from geo_service.settings import Settings

    try:
        return language(tag, Settings().locales)
    except UnsupportedLanguage as exc:
        raise _fail(f"--lang: {exc.detail}") from None


def _region(data: DataDir, region: str) -> RegionDir:
    try:
        return data.region(region)
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _database_url() -> str | None:
    from geo_service.settings import Settings

    return Settings().database_url


def _publish(load: Callable[[str, LoadHook], LoadReport], *, url: str | None = None,
             stop_at: str | None = None) -> None:
    """Run one PostGIS load (`load(url, hook)`) when a database is configured, and say what
    it did; `stop_at` stops this process (SIGSTOP) at that load event (fault tests).

    Raises:
        LoadError: the load failed; the database still serves what it served.
    """
    url = url or _database_url()
    if not url:
        return

    def hook(event: str) -> None:
        if event == stop_at:
            os.kill(os.getpid(), signal.SIGSTOP)

    report = load(url, hook)
    console.print(f"PostGIS: {report.summary()}")


def _publish_region(data: DataDir, region: str, run: Path, *, url: str | None = None) -> None:
    """Load a region's run folder `run` into PostGIS (its other regions and the user layers
    stay), when a database is configured; before `current` moves."""
    from geo_service.features.postgis_load import publish_region

    _publish(lambda url, hook: publish_region(url, data, region, run=run, hook=hook), url=url)


def _layer_publisher(stop_at: str | None = None) -> LayerPublisher | None:
    """What the ingest package calls with a user layer's new folder before it swaps it in:
    the PostGIS load of that layer, when a database is configured (else None)."""
    url = _database_url()
    if not url:
        return None
    if stop_at is not None:
        from geo_service.features.postgis_load import LOAD_EVENTS

        if stop_at not in LOAD_EVENTS:
            raise _fail(f"--stop-at must be one of: {', '.join(LOAD_EVENTS)}")

    def publish(layer_id: str, folder: Path | None) -> None:
        from geo_service.features.postgis_load import publish_user_layer

        _publish(lambda url, hook: publish_user_layer(url, layer_id, folder, hook=hook),
                 url=url, stop_at=stop_at)

    return publish


@app.command()
def demo(
    data_dir: DataOption = None,
    scale: Annotated[int, typer.Option(min=1, help="Multiply raster cell counts by N.")] = 1,
    force: Annotated[bool, typer.Option(help="Rewrite the demo inputs even if present.")] = False,
    region: RegionOption = DEFAULT_REGION,
) -> None:
    """Write a region's embedded demo inputs into the data dir (offline, deterministic)."""
    from data_catalog.demo.generate import MANIFEST_NAME, write_demo

    data = _data(data_dir).ensure()
    inputs = _region(data, region).inputs
    if (inputs / MANIFEST_NAME).is_file() and not force:
        console.print(cli_language()._("demo inputs already present in {folder} (use --force "
                                       "to rewrite)").format(folder=inputs))
        return
    try:
        with console.status(f"writing the {region} demo inputs"):
            manifest = write_demo(inputs, scale=scale, region=region)
    except (LookupError, FileExistsError) as exc:
        raise _fail(str(exc)) from None
    console.print(cli_language()._("wrote {count} demo inputs to {folder}").format(
        count=len(manifest.files), folder=inputs))


@app.command("run")
def run_pipeline(
    region: Annotated[str, typer.Argument(help="Region id or YAML path.")] = DEFAULT_REGION,
    data_dir: DataOption = None,
    scale: Annotated[int, typer.Option(min=1, help="Multiply the grid's cells by N.")] = 1,
    scheduler: Annotated[str | None, typer.Option(
        help="Address of an existing Dask scheduler, e.g. tcp://host:8786.")] = None,
    stop_at: Annotated[str | None, typer.Option(
        hidden=True, help="Fault injection: stop this process (SIGSTOP) at a stage boundary "
        "such as 'manifest:end', so that a test knows where its kill lands.")] = None,
) -> None:
    """Run the pipeline for REGION and make the result current."""
    from geo_service.features.errors import LoadError
    from pipelines.config import load_region
    from pipelines.run import CHECKPOINTS, STAGES, run

    if stop_at is not None and stop_at not in CHECKPOINTS:
        raise _fail(cli_language()._("--stop-at must be one of: {checkpoints}").format(
            checkpoints=", ".join(CHECKPOINTS)))
    client = None
    data = _data(data_dir)
    url = _database_url()
    try:
        config = load_region(region)
        if scheduler:
            from dask.distributed import Client

            client = Client(scheduler)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=console) as progress:
            task = progress.add_task(f"run {config.id}", total=len(STAGES))

            def hook(stage: str, event: str) -> None:
                if event == "start":
                    progress.update(task, description=f"run {config.id}: {stage}")
                else:
                    progress.advance(task)
                if f"{stage}:{event}" == stop_at:
                    os.kill(os.getpid(), signal.SIGSTOP)

            # With a database, the run's vectors are loaded (one transaction) before it
            # becomes current: a failed load fails the run and nothing moves.
            result = run(config, data, scale=scale, hook=hook,
                         publish=(lambda folder: _publish_region(data, config.id, folder,
                                                                 url=url)) if url else None)
    except (PipelineError, LoadError, CatalogError) as exc:
        raise _fail(str(exc)) from None
    finally:
        if client is not None:
            client.close()
    _print_summary(result.run_id, result.summary, result.timings_s)


def _print_summary(run_id: str, summary: dict[str, Any], timings: dict[str, float]) -> None:
    lang = cli_language()
    _ = lang.gettext
    for kind, areas in summary["top"].items():
        table = Table(title=_("run {run}: {kind} areas by risk (top {count})").format(
            run=run_id, kind=kind, count=len(areas)))
        for column in (_("Rank"), _("Name"), _("Risk"), _("Class")):
            table.add_column(column)
        for area in areas:  # the score it is ranked by (older runs: the mean risk)
            rank = float(area[col.RANK])
            table.add_row(lang.integer(rank) if rank.is_integer() else lang.number(rank, 1),
                          area[col.NAME],
                          lang.number(area.get(col.RANKING_VALUE, area[col.RISK])),
                          str(area[col.RISK_CLASS]))
        out.print(table)
    classes = Table(title=_("areas by class"))
    classes.add_column(_("kind/class"))
    classes.add_column(_("areas"), justify="right")
    for key, count in sorted(summary["classes"].items()):
        classes.add_row(key, lang.integer(count))
    out.print(classes)
    inputs = Table(title=_("inputs"))
    inputs.add_column(_("input"))
    inputs.add_column(_("data"))
    for name, origin in summary["inputs"].items():
        inputs.add_row(name, origin)
    out.print(inputs)
    stages = Table(title=_("timings"))
    stages.add_column(_("stage"))
    stages.add_column(_("seconds"), justify="right")
    for stage, seconds in timings.items():
        stages.add_row(stage, lang.number(seconds))
    stages.add_row(_("total"), lang.number(sum(timings.values())))
    out.print(stages)


@runs_app.command("list")
def runs_list(data_dir: DataOption = None, region: RegionOption = DEFAULT_REGION) -> None:
    """The kept runs of a region, newest first; the current one is marked."""
    from data_catalog.runs import complete_runs, read_manifest

    store = _region(_data(data_dir), region)
    current = store.current_run()
    _ = cli_language().gettext
    table = Table()
    for column in ("", _("run id"), _("region"), _("created"), _("synthetic")):
        table.add_column(column)
    for folder in reversed(complete_runs(store)):
        manifest = read_manifest(folder)
        mark = "*" if current is not None and folder.resolve() == current else ""
        table.add_row(mark, folder.name, manifest.get("region", ""), manifest.get("created", ""),
                      str(manifest.get("synthetic")))
    out.print(table)


@runs_app.command("rollback")
def runs_rollback(run_id: str, data_dir: DataOption = None,
                  region: RegionOption = DEFAULT_REGION) -> None:
    """Serve RUN_ID of a region again (an atomic switch of the region's `current`)."""
    from data_catalog.runs import complete_runs
    from geo_service.features.errors import LoadError

    data = _data(data_dir)
    store = _region(data, region)
    runs = {folder.name: folder for folder in complete_runs(store)}
    if run_id not in runs:
        raise _fail(cli_language()._("no completed run {run} of {region}; kept runs: {runs}")
                    .format(run=repr(run_id), region=region,
                            runs=", ".join(sorted(runs)) or "–"))
    try:  # the database first: if its load fails, nothing moves
        _publish_region(data, region, runs[run_id])
    except LoadError as exc:
        raise _fail(str(exc)) from None
    switch_symlink(store.current, runs[run_id])
    console.print(cli_language()._("current run of {region} is now {run}").format(
        region=region, run=run_id))


METRICS_DIR_PREFIX = "cmrisk-metrics-"
"""Temporary folders of the workers' metrics: `cmrisk-metrics-<pid of serve>-<random>`."""


def remove_stale_metrics_dirs() -> list[Path]:
    """Remove the metrics folders of `cmrisk serve` processes that no longer run."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{METRICS_DIR_PREFIX}*-*"):
        pid = folder.name[len(METRICS_DIR_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with the service's own loggers (`cmrisk.*`) written the same way."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["cmrisk"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@db_app.command("load")
def db_load(
    data_dir: DataOption = None,
    region: Annotated[str | None, typer.Option(
        "--region", help="Load only this region's current run (default: every region with a "
        "run, and the user layers).")] = None,
    stop_at: Annotated[str | None, typer.Option(
        hidden=True, help="Fault injection: stop this process (SIGSTOP) when the load reaches "
        "an event such as 'switched', so that a test knows where its kill lands.")] = None,
) -> None:
    """Load the current run of every region and the user vector layers into PostGIS, in one
    transaction (`cmrisk run`, `runs rollback` and `ingest` load what they change
    themselves)."""
    from geo_service.features.postgis_load import (
        LOAD_EVENTS,
        LoadError,
        publish_layers,
        publish_region,
    )

    if stop_at is not None and stop_at not in LOAD_EVENTS:
        raise _fail(f"--stop-at must be one of: {', '.join(LOAD_EVENTS)}")
    if not _database_url():
        raise _fail("set CMRISK_DATABASE_URL to a PostGIS database, e.g. "
                    "postgresql://cmrisk@localhost:5432/cmrisk")
    data = _data(data_dir)
    if region is not None and _region(data, region).current_run() is None:
        raise _fail(f"region {region!r} has no run; regions with one: "
                    f"{', '.join(data.served_regions()) or 'none'}")
    try:
        if region is None:
            _publish(lambda url, hook: publish_layers(url, data, hook=hook), stop_at=stop_at)
        else:
            _publish(lambda url, hook: publish_region(url, data, region, hook=hook),
                     stop_at=stop_at)
    except LoadError as exc:
        raise _fail(str(exc)) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
    data_dir: DataOption = None,
) -> None:
    """Serve tiles, features, areas and maps over HTTP."""
    import uvicorn

    from geo_service.settings import METRICS_DIR_ENV

    data = _data(data_dir)
    if not data.root.is_dir() or not os.access(data.root, os.R_OK | os.X_OK):
        raise _fail(cli_language()._("data dir {folder} is missing or unreadable; run `cmrisk "
                                     "demo` and `cmrisk run` first, or set CMRISK_DATA_DIR")
                    .format(folder=data.root))
    if data.current_run() is None:
        console.print("[yellow]" + cli_language()._("no pipeline run yet: the service starts "
                                                    "empty; run `cmrisk run`"))
    os.environ[DATA_DIR_ENV] = str(data.root)
    # Two malloc arenas, not eight per core: memory freed by one request thread is reused by
    # the next instead of staying with its thread (workers then keep less after peaks).
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    # Metrics of all workers meet in one folder (prometheus-client's multiprocess mode); it
    # must start empty and is removed when the service stops (or, when a signal ends the
    # process before that, by the next `serve`).
    metrics_dir = None
    if not os.environ.get(METRICS_DIR_ENV):
        remove_stale_metrics_dirs()
        metrics_dir = tempfile.mkdtemp(prefix=f"{METRICS_DIR_PREFIX}{os.getpid()}-")
        os.environ[METRICS_DIR_ENV] = metrics_dir
    try:
        # Keep-alive above the usual 60 s of load balancers, so an idle connection is closed
        # by the client side first, never under a request it is sending.
        uvicorn.run("geo_service.asgi:app", host=host, port=port, workers=workers,
                    log_level="info", log_config=log_config(),
                    timeout_keep_alive=KEEP_ALIVE_S)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@app.command("map")
def make_map(
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    base_url: Annotated[str, typer.Option(help="Service URL the map loads tiles from.")]
    = "http://127.0.0.1:8000",
    lang: LangOption = "en",
    embed: Annotated[bool, typer.Option(
        "--embed", help="One self-contained file that opens from disk with no service: "
                        "assets and data inlined, every raster overlay pre-rendered, "
                        "drawing and PNG export disabled.")] = False,
    data_dir: DataOption = None,
    region: RegionOption = DEFAULT_REGION,
) -> None:
    """Write the planning map of a region's current run as an HTML file."""
    from geo_service.maps import NothingToMap, page_html, risk_map
    from geo_service.maps.embed import EmbedError, embedded_map
    from layers.registry import Registry

    language = _language(lang)
    _ = cli_language().gettext
    data = _data(data_dir)
    _region(data, region)
    registry = Registry(data, region)
    if not registry.layers():
        raise _fail(_("no pipeline run of {region} is current; run `cmrisk run "
                               "{region}` first").format(region=region))
    try:
        if embed:
            html = embedded_map(registry, language)
            out_file.write_text(html, encoding="utf-8")
            console.print(_("wrote {file} ({size} MB, self-contained)").format(
                file=out_file, size=language.number(len(html.encode()) / 1e6, 1)),
                markup=False, highlight=False)
            return
        service = base_url.rstrip("/")
        prefix = "" if region == DEFAULT_REGION else f"/{REGIONS_FOLDER}/{region}"
        fmap = risk_map(registry, service + prefix, language, static_url=service)
        out_file.write_text(page_html(fmap, language), encoding="utf-8")
    except (EmbedError, NothingToMap) as exc:
        raise _fail(str(exc)) from None
    console.print(_("wrote {file}").format(file=out_file), markup=False,
                  highlight=False)


@app.command()
def brief(
    area: Annotated[str, typer.Argument(
        metavar="AREA", help="An area id (wdpa:900001) or a name, without regard to accents or "
        "case (darien finds Parque Nacional Darién).")],
    out_file: Annotated[Path, typer.Option(
        "--out", help="File to write: .pdf (one A4 page) or .html.")],
    lang: LangOption = "en",
    data_dir: DataOption = None,
    region: RegionOption = DEFAULT_REGION,
) -> None:
    """Write the one-page brief of an area (map extract, score, rank interval, dimensions,
    drivers, people crossing by month, deaths and disappearances by year, what is synthetic,
    sources) as a PDF or an HTML page."""
    from geo_service.areas_store import AreasStore
    from geo_service.briefs.content import AreaNotFound, gather
    from geo_service.briefs.render import brief_html, brief_pdf
    from geo_service.maps.search import fold
    from layers.registry import Registry

    language = _language(lang)
    _ = cli_language().gettext
    if out_file.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise _fail(_("--out: the file must end in .pdf or .html"))
    data = _data(data_dir)
    _region(data, region)
    registry = Registry(data, region)
    store = AreasStore(registry)
    frame = store.frame()
    if frame.empty:
        raise _fail(_("no pipeline run of {region} is current; run `cmrisk run "
                               "{region}` first").format(region=region))
    area_id = area
    if area not in frame.index:
        wanted = fold(area)
        names = [c for c in (col.NAME, col.OFFICIAL_NAME) if c in frame.columns]
        found = [i for i, row in frame[names].iterrows()
                 if any(isinstance(v, str) and wanted in fold(v) for v in row)]
        if len(found) != 1:
            raise _fail(_("AREA: {count} areas match {area!r}; give one of their ids: "
                                   "{ids}").format(count=len(found), area=area,
                                                   ids=", ".join(found[:10]) or "–"))
        area_id = found[0]
    try:
        content = gather(registry, store, area_id, language)
    except AreaNotFound:
        raise _fail(_("AREA: no area {area!r}").format(area=area)) from None
    if out_file.suffix.lower() == ".pdf":
        out_file.write_bytes(brief_pdf(content))
    else:
        out_file.write_text(brief_html(content), encoding="utf-8")
    console.print(_("wrote {file}").format(file=out_file), markup=False,
                  highlight=False)


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(
        help="A source id from `cmrisk sources`, or `raster` / `vector` for a user layer.")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="File to ingest.")],
    layer_id: Annotated[str | None, typer.Option("--id", help="Layer id (raster/vector).")]
    = None,
    title: Annotated[str | None, typer.Option(help="Layer title.")] = None,
    units: Annotated[str | None, typer.Option(help="Units of the values.")] = None,
    colormap: Annotated[str | None, typer.Option(help="Colormap name (raster).")] = None,
    rescale: Annotated[str | None, typer.Option(help="MIN,MAX of the colour stretch.")] = None,
    region: Annotated[str | None, typer.Option(
        help=f"The region whose input this becomes (default {DEFAULT_REGION}); the file is "
        "clipped to its bounds.")] = None,
    access: Annotated[str, typer.Option(
        help="public, or restricted: served only to tokens scoped to the layer.")] = "public",
    allow_drops: Annotated[bool, typer.Option(
        "--allow-drops", help="Store the good rows of a file that has bad ones (without it, "
        "a file with any bad row is refused whole).")] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Flow counts: make this file the whole table instead of merging it "
        "by (point, month).")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write the reader's report as JSON to this file (also when the file "
        "is refused).")] = None,
    admin_level: Annotated[int | None, typer.Option(
        "--level", help="admin_units: 1 (provinces, departments) or 2 (districts, "
        "municipios).")] = None,
    data_dir: DataOption = None,
    stop_at: Annotated[str | None, typer.Option(
        hidden=True, help="Fault injection: stop this process (SIGSTOP) when the PostGIS load "
        "of a user layer reaches an event such as 'switched'.")] = None,
) -> None:
    """Add a file: a pipeline input (SOURCE = source id) or a user layer (raster/vector).

    All or nothing: a file with any bad row is refused, nothing is stored, and every bad field
    is listed by its line (the header is line 1). Every ingest is a new version of its input
    (`cmrisk inputs list`); flow counts merge by (point, month).
    """
    from data_catalog.ingest import IngestOptions, IngestRefused, ingest, report_document
    from geo_service.features.errors import LoadError

    if access not in ("public", "restricted"):
        raise _fail(cli_language()._("--access must be public or restricted"))
    level: Literal["public", "restricted"] = "restricted" if access == "restricted" else "public"
    data = _data(data_dir).ensure()
    try:
        bbox = None
        if region:
            from pipelines.config import load_region

            bbox = load_region(region).grid.bounds_lonlat
        options = IngestOptions(layer_id=layer_id, title=title, units=units, colormap=colormap,
                                rescale=rescale, access=level, bbox=bbox,
                                region=region or DEFAULT_REGION,
                                allow_drops=allow_drops, replace=replace, level=admin_level,
                                publish=_layer_publisher(stop_at))
        outcome = ingest(data, source, path, options)
    except IngestRefused as exc:
        if report is not None:
            _write_json(report, report_document(exc.report, path, refused=True))
        prefix = cli_language()._("error:")
        console.print(f"[bold red]{prefix}[/] ", end="")
        console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except (ValueError, LookupError, OSError, PipelineError, CatalogError) as exc:
        raise _fail(str(exc)) from None
    except LoadError as exc:
        raise _fail(f"{exc}; the data dir and the input versions are unchanged") from None
    if report is not None and outcome.report is not None:
        _write_json(report, report_document(outcome.report, path, refused=False))
    for line in outcome.lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(cli_language()._("stored as {input} version {version} (`cmrisk inputs list "
                                   "{input}`)").format(input=outcome.input,
                                                       version=outcome.version.version),
                  markup=False, highlight=False, soft_wrap=True)
    if outcome.report is not None and not outcome.input.startswith("layer:"):
        console.print(cli_language()._("the next `cmrisk run` uses it"))


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@inputs_app.command("list")
def inputs_list(
    input_id: Annotated[str | None, typer.Argument(
        metavar="SOURCE", help="One input (a source id, or layer:<id>); all when omitted.")]
    = None,
    data_dir: DataOption = None,
) -> None:
    """The versions of the ingested inputs, oldest first; `*` marks the one in use.

    One line per version: input, number, time, who, what (ingest of which file and its
    SHA-256, baseline, rollback), row counts and a note.
    """
    from data_catalog.ingest.versions import version_store

    data = _data(data_dir)
    store = version_store(data)
    try:
        _list_versions(store, data, input_id)
    except CatalogError as exc:  # e.g. the version store's database cannot be reached
        raise _fail(str(exc)) from None


def _list_versions(store: VersionStore, data: DataDir, input_id: str | None) -> None:
    """Print the versions of one input (or of all), marking the one whose files are in use."""
    from data_catalog.ingest.versions import matching_version

    ids = [input_id] if input_id else store.inputs()
    if input_id and not store.versions(input_id):
        raise _fail(cli_language()._("no versions of {input}; inputs with versions: {inputs}")
                    .format(input=repr(input_id), inputs=", ".join(store.inputs()) or "–"))
    for name in ids:
        current = matching_version(store, data, name)
        for v in store.versions(name):
            mark = "*" if current is not None and v.version == current.version else " "
            action = v.action if v.restores is None else f"{v.action} to version {v.restores}"
            source = f" {v.file_name} (sha256 {v.file_sha256[:12]})" if v.file_name and \
                v.file_sha256 else ""
            rows = ", ".join(f"{k} {n:,}" for k, n in v.rows.items())
            out.print(f"{mark} {v.input} version {v.version}  {v.created:%Y-%m-%d %H:%M:%S} UTC"
                      f"  {v.user}  {action}{source}" + (f"  [{rows}]" if rows else "")
                      + (f"  {v.note}" if v.note else ""),
                      markup=False, highlight=False, soft_wrap=True)
        if current is None and store.versions(name):
            console.print(cli_language()._("{input}: the files in use match no version "
                                           "(changed outside `cmrisk ingest`?)").format(
                input=name), style="yellow", soft_wrap=True)


@inputs_app.command("rollback")
def inputs_rollback(
    input_id: Annotated[str, typer.Argument(metavar="SOURCE", help="A source id or layer:<id>.")],
    version: Annotated[int, typer.Argument(help="The version to restore.")],
    data_dir: DataOption = None,
) -> None:
    """Restore VERSION of SOURCE byte for byte (recorded as a new version)."""
    from data_catalog.ingest import UnknownVersion, rollback, version_store
    from geo_service.features.errors import LoadError

    data = _data(data_dir)
    try:
        restored = rollback(data, version_store(data), input_id, version,
                            publish=_layer_publisher())
    except (UnknownVersion, CatalogError) as exc:
        raise _fail(str(exc)) from None
    except LoadError as exc:
        raise _fail(cli_language()._("{error}; the data dir and the input versions are "
                                     "unchanged").format(error=exc)) from None
    console.print(cli_language()._("{input}: version {version} restored as version {new}; "
                                   "the next `cmrisk run` uses it").format(
        input=input_id, version=version, new=restored.version))


@app.command()
def sources() -> None:
    """The known data sources: id (what `cmrisk ingest` and `fetch` take), title, provider,
    access, formats and licence; readable at 80 columns."""
    from data_catalog.sources import sources_table

    language = cli_language()
    table = Table(show_lines=True, expand=False)
    # Ids are what users type next: never wrapped or cut.
    table.add_column(language._("id"), no_wrap=True, style="bold")
    table.add_column(language._("source"), overflow="fold")
    provider, access = language._("provider"), language._("access")
    formats, licence = language._("formats"), language._("licence")
    for row in sources_table():
        details = [row.get("title", ""), f"{provider}: {row.get('provider', '')}",
                   f"{access}: {row.get('access', '')} · {formats}: {row.get('formats', '')}",
                   f"{licence}: {row.get('licence', '')}"]
        table.add_row(row.get("id", ""), "\n".join(details))
    out.print(table)


@app.command()
def fetch(
    source: Annotated[str, typer.Argument(help="A source id from `cmrisk sources`.")],
    bbox: Annotated[str | None, typer.Option(help="W,S,E,N in degrees.")] = None,
    years: Annotated[str | None, typer.Option(help="A-B, e.g. 2021-2024.")] = None,
    dest: Annotated[Path | None, typer.Option(help="Folder (default: the data dir's "
                                                   "downloads/<source>).")] = None,
    data_dir: DataOption = None,
) -> None:
    """Download a real source over HTTP (online machines only; never in tests)."""
    from data_catalog.fetch import fetch as fetch_source

    box = tuple(float(v) for v in bbox.split(",")) if bbox else None
    span = None
    if years:
        first, _, last = years.partition("-")
        span = list(range(int(first), int(last or first) + 1))
    folder = dest or _data(data_dir).root / "downloads" / source
    try:
        paths = fetch_source(source, folder, bbox=box, years=span)
    except CatalogError as exc:
        raise _fail(str(exc)) from None
    console.print(cli_language()._("fetched {count} files into {folder}").format(
        count=len(paths), folder=folder))


@tokens_app.command("issue")
def tokens_issue(
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-3 of the country the token "
                                         "speaks for, e.g. PAN.")],
    scope: Annotated[list[str], typer.Option(help="What it may do: submit (the exchange).")],
    name: Annotated[str | None, typer.Option(help="Who holds it (default: the country).")]
    = None,
    days: Annotated[int | None, typer.Option(help="Days until it expires (default: never).",
                                             min=1)] = None,
    data_dir: DataOption = None,
) -> None:
    """Issue a country token: printed once (stdout), only its hash is kept."""
    from datetime import UTC, datetime, timedelta

    from data_catalog.exchange.store import layer_id
    from data_catalog.vocabulary import country_codes
    from geo_service.auth import SUBMIT_SCOPE, token_file

    country = country.upper()
    if country not in country_codes():
        raise _fail(f"--country {country!r} is not an ISO 3166-1 alpha-3 code")
    if set(scope) - {SUBMIT_SCOPE}:
        raise _fail(f"--scope must be {SUBMIT_SCOPE}")
    data = _data(data_dir)
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    token, spec = token_file(data.root).issue(
        name=name or country, scopes=[SUBMIT_SCOPE, layer_id(country)], country=country,
        expires=expires)
    console.print(f"token {spec.id} for {country} ({', '.join(spec.scopes)}); keep it "
                  "secret, it is shown once:")
    out.print(token, soft_wrap=True)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (tokens list).")],
                  data_dir: DataOption = None) -> None:
    """Revoke a token: refused from now on (kept in the file, marked revoked)."""
    from geo_service.auth import token_file

    try:
        spec = token_file(_data(data_dir).root).revoke(token_id)
    except LookupError as exc:
        raise _fail(str(exc)) from None
    console.print(f"revoked token {spec.id} ({spec.name}, {spec.country})")


@tokens_app.command("list")
def tokens_list(data_dir: DataOption = None) -> None:
    """The tokens of the data dir: id, holder, country, scopes, issued, expires, revoked."""
    from geo_service.auth import token_file

    for spec in token_file(_data(data_dir).root).specs():
        out.print(f"{spec.id}  {spec.name}  {spec.country or '-'}  {','.join(spec.scopes)}  "
                  f"issued {spec.issued or '-'}  expires {spec.expires or 'never'}  "
                  f"{'REVOKED ' + str(spec.revoked) if spec.revoked else 'active'}")


@app.command()
def submit(
    file: Annotated[Path | None, typer.Argument(help="The CSV or JSON file to submit.")] = None,
    token: Annotated[str, typer.Option(help="The country token (or CMRISK_TOKEN).",
                                       envvar="CMRISK_TOKEN")] = "",
    url: Annotated[str, typer.Option(help="The service's base URL.")] = "http://127.0.0.1:8000",
    kind: Annotated[str, typer.Option(help="crossings or displacement.")] = DEFAULT_KIND,
    withdraw: Annotated[list[str] | None, typer.Option(
        help="Withdraw this month (YYYY-MM) instead of submitting; repeatable.")] = None,
) -> None:
    """Submit a file to the Observatory exchange over HTTP (POST /exchange/submissions), or
    withdraw months; prints the stored version, or every problem by line (exit 1)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    try:
        if withdraw:
            response = httpx.post(f"{url.rstrip('/')}/exchange/withdrawals", headers=headers,
                                  json={"kind": kind, "months": withdraw}, timeout=600)
        else:
            if file is None or not file.is_file():
                raise _fail("give the FILE to submit (or --withdraw MONTH)")
            media = "application/json" if file.suffix.lower() == ".json" else "text/csv"
            response = httpx.post(f"{url.rstrip('/')}/exchange/submissions",
                                  params={"kind": kind}, content=file.read_bytes(),
                                  headers=headers | {"Content-Type": media,
                                                     "X-File-Name": file.name}, timeout=600)
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach {url}: {exc}") from None
    body = response.json() if response.content else {}
    if response.status_code >= 400:
        console.print(f"refused ({response.status_code}): {body.get('detail', '')}")
        for line in body.get("problems", []):
            console.print(f"  {line}")
        raise typer.Exit(1)
    out.print(json.dumps({k: body.get(k) for k in ("id", "status", "months", "created",
                                                   "user", "checksum", "timeliness")
                          if k in body}, ensure_ascii=False))


@app.command("clean-partial", hidden=True)
def clean_partial(data_dir: DataOption = None, region: RegionOption = DEFAULT_REGION) -> None:
    """Remove folders of killed runs (also done at the start of every run)."""
    from data_catalog.runs import clean_partial_runs

    removed = clean_partial_runs(_region(_data(data_dir), region))
    console.print(cli_language()._("removed {count} partial run folders").format(
        count=len(removed)))


def main() -> None:  # pragma: no cover - console entry point
    """Entry point."""
    app()




if __name__ == "__main__":  # pragma: no cover - `python -m geo_service.cli`
    main()
