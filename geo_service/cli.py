"""The `cmrisk` command line: demo data, pipeline runs, the service, maps, sources, ingest."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from data_catalog.errors import CatalogError
from data_catalog.paths import DATA_DIR_ENV, DataDir, default_data_dir, switch_symlink
from layers.events import EVENT_LAYERS
from pipelines.errors import PipelineError

app = typer.Typer(help="cmrisk: climate-mobility risk maps of the Darién and beyond.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
runs_app = typer.Typer(help="The kept pipeline runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
db_app = typer.Typer(help="The PostGIS feature store (CMRISK_DATABASE_URL).",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True)
out = Console()

KEEP_ALIVE_S = 75
"""Seconds uvicorn keeps an idle HTTP connection open."""

DataOption = Annotated[Path | None, typer.Option(
    "--data-dir", help=f"Data dir (default ${DATA_DIR_ENV} or ./data).")]


def _data(data_dir: Path | None) -> DataDir:
    return DataDir((data_dir or default_data_dir()).resolve())


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _database_url() -> str | None:
    from geo_service.settings import Settings

    return Settings().database_url


def _publish(data: DataDir, run: Path | None = None, *, url: str | None = None,
             stop_at: str | None = None) -> None:
    """Load the vector layers to be served (`run`'s, default the current run's, and the user
    layers) into PostGIS in one transaction, when a database is configured.

    Raises:
        LoadError: the load failed; the database still serves what it served.
    """
    url = url or _database_url()
    if not url:
        return
    from geo_service.features.postgis_load import publish_layers

    def hook(event: str) -> None:
        if event == stop_at:
            os.kill(os.getpid(), signal.SIGSTOP)

    report = publish_layers(url, data, run=run, hook=hook)
    console.print(f"PostGIS: {report.summary()}")


@app.command()
def demo(
    data_dir: DataOption = None,
    scale: Annotated[int, typer.Option(min=1, help="Multiply raster cell counts by N.")] = 1,
    force: Annotated[bool, typer.Option(help="Rewrite the demo inputs even if present.")] = False,
) -> None:
    """Write the embedded Darién demo inputs into the data dir (offline, deterministic)."""
    from data_catalog.demo.generate import write_demo

    data = _data(data_dir).ensure()
    if (data.inputs / "demo.json").is_file() and not force:
        console.print(f"demo inputs already present in {data.inputs} (use --force to rewrite)")
        return
    with console.status("writing the Darién demo inputs"):
        manifest = write_demo(data.inputs, scale=scale)
    console.print(f"wrote {len(manifest.files)} demo inputs to {data.inputs}")


@app.command("run")
def run_pipeline(
    region: Annotated[str, typer.Argument(help="Region id or YAML path.")] = "darien",
    data_dir: DataOption = None,
    scale: Annotated[int, typer.Option(min=1, help="Multiply the grid's cells by N.")] = 1,
    scheduler: Annotated[str | None, typer.Option(
        help="Address of an existing Dask scheduler, e.g. tcp://host:8786.")] = None,
    stop_at: Annotated[str | None, typer.Option(
        hidden=True, help="Fault injection: stop this process (SIGSTOP) at a stage boundary "
        "such as 'manifest:end', so that a test knows where its kill lands.")] = None,
) -> None:
    """Run the pipeline for REGION and make the result current."""
    from pipelines.config import load_region
    from pipelines.run import CHECKPOINTS, STAGES, run

    if stop_at is not None and stop_at not in CHECKPOINTS:
        raise _fail(f"--stop-at must be one of: {', '.join(CHECKPOINTS)}")
    from geo_service.features.postgis_load import LoadError

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
                         publish=(lambda folder: _publish(data, folder, url=url)) if url
                         else None)
    except (PipelineError, LoadError) as exc:
        raise _fail(str(exc)) from None
    finally:
        if client is not None:
            client.close()
    _print_summary(result.run_id, result.summary, result.timings_s)


def _print_summary(run_id: str, summary: dict[str, Any], timings: dict[str, float]) -> None:
    table = Table(title=f"run {run_id}: protected areas by risk")
    for column in ("rank", "name", "risk", "class"):
        table.add_column(column)
    for area in summary["protected_areas"]:
        table.add_row(str(area["rank"]), area["name"], f"{area['risk']:.2f}",
                      str(area["risk_class"]))
    out.print(table)
    classes = Table(title="areas by class")
    classes.add_column("kind/class")
    classes.add_column("areas", justify="right")
    for key, count in sorted(summary["classes"].items()):
        classes.add_row(key, str(count))
    out.print(classes)
    inputs = Table(title="inputs")
    inputs.add_column("input")
    inputs.add_column("data")
    for name, origin in summary["inputs"].items():
        inputs.add_row(name, origin)
    out.print(inputs)
    stages = Table(title="timings")
    stages.add_column("stage")
    stages.add_column("seconds", justify="right")
    for stage, seconds in timings.items():
        stages.add_row(stage, f"{seconds:.2f}")
    stages.add_row("total", f"{sum(timings.values()):.2f}")
    out.print(stages)


@runs_app.command("list")
def runs_list(data_dir: DataOption = None) -> None:
    """The kept runs, newest first; the current one is marked."""
    from pipelines.run import complete_runs

    data = _data(data_dir)
    current = data.current_run()
    table = Table()
    for column in ("", "run id", "region", "created", "synthetic"):
        table.add_column(column)
    for folder in reversed(complete_runs(data)):
        manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        mark = "*" if current is not None and folder.resolve() == current else ""
        table.add_row(mark, folder.name, manifest.get("region", ""), manifest.get("created", ""),
                      str(manifest.get("synthetic")))
    out.print(table)


@runs_app.command("rollback")
def runs_rollback(run_id: str, data_dir: DataOption = None) -> None:
    """Serve RUN_ID again (an atomic switch of `current`)."""
    from pipelines.run import complete_runs

    data = _data(data_dir)
    runs = {folder.name: folder for folder in complete_runs(data)}
    if run_id not in runs:
        raise _fail(f"no completed run {run_id!r}; kept runs: {', '.join(sorted(runs)) or 'none'}")
    from geo_service.features.postgis_load import LoadError

    try:
        _publish(data, runs[run_id])  # the database first: if it fails, nothing moves
    except LoadError as exc:
        raise _fail(str(exc)) from None
    switch_symlink(data.current, runs[run_id])
    console.print(f"current run is now {run_id}")


@db_app.command("load")
def db_load(
    data_dir: DataOption = None,
    stop_at: Annotated[str | None, typer.Option(
        hidden=True, help="Fault injection: stop this process (SIGSTOP) when the load reaches "
        "an event such as 'switched', so that a test knows where its kill lands.")] = None,
) -> None:
    """Load the current run's vector layers and the user vector layers into PostGIS, in one
    transaction (`cmrisk run` and `cmrisk ingest` do this themselves)."""
    from geo_service.features.postgis_load import LOAD_EVENTS, LoadError

    if stop_at is not None and stop_at not in LOAD_EVENTS:
        raise _fail(f"--stop-at must be one of: {', '.join(LOAD_EVENTS)}")
    if not _database_url():
        raise _fail("set CMRISK_DATABASE_URL to a PostGIS database, e.g. "
                    "postgresql://cmrisk@localhost:5432/cmrisk")
    try:
        _publish(_data(data_dir), stop_at=stop_at)
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

    data = _data(data_dir)
    if not data.root.is_dir() or not os.access(data.root, os.R_OK | os.X_OK):
        raise _fail(f"data dir {data.root} is missing or unreadable; run `cmrisk demo` and "
                    "`cmrisk run` first, or set CMRISK_DATA_DIR")
    if data.current_run() is None:
        console.print("[yellow]no pipeline run yet: the service starts empty; run `cmrisk run`")
    os.environ[DATA_DIR_ENV] = str(data.root)
    # Keep-alive above the usual 60 s of load balancers, so an idle connection is closed by
    # the client side first, never under a request it is sending.
    uvicorn.run("geo_service.asgi:app", host=host, port=port, workers=workers,
                log_level="info", timeout_keep_alive=KEEP_ALIVE_S)


@app.command("map")
def make_map(
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    base_url: Annotated[str, typer.Option(help="Service URL the map loads tiles from.")]
    = "http://127.0.0.1:8000",
    lang: Annotated[str, typer.Option(help="en or es.")] = "en",
    embed: Annotated[bool, typer.Option(
        "--embed", help="One self-contained file that opens from disk with no service: "
                        "assets and data inlined, composite risk pre-rendered to zoom 10, "
                        "drawing disabled.")] = False,
    data_dir: DataOption = None,
) -> None:
    """Write the planning map of the current run as an HTML file."""
    from geo_service.map_embed import EmbedError, embedded_map
    from geo_service.maps import risk_map
    from layers.registry import Registry

    registry = Registry(_data(data_dir))
    if not registry.layers():
        raise _fail("no pipeline run is current; run `cmrisk run` first")
    language: Literal["en", "es"] = "es" if lang == "es" else "en"
    if embed:
        try:
            html = embedded_map(registry, language)
        except EmbedError as exc:
            raise _fail(str(exc)) from None
        out_file.write_text(html, encoding="utf-8")
        console.print(f"wrote {out_file} ({len(html.encode()) / 1e6:.1f} MB, self-contained)")
        return
    risk_map(registry, base_url.rstrip("/"), language).save(str(out_file))
    console.print(f"wrote {out_file}")


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
    region: Annotated[str | None, typer.Option(help="Clip to this region.")] = None,
    access: Annotated[str, typer.Option(
        help="public, or restricted: served only to tokens scoped to the layer.")] = "public",
    data_dir: DataOption = None,
) -> None:
    """Add a file: a pipeline input (SOURCE = source id) or a user layer (raster/vector)."""
    if access not in ("public", "restricted"):
        raise _fail("--access must be public or restricted")
    level: Literal["public", "restricted"] = "restricted" if access == "restricted" else "public"

    data = _data(data_dir).ensure()
    try:
        if source == "raster":
            from layers.user_rasters import ingest_raster

            if layer_id is None:
                raise _fail("--id is required for `ingest raster`")
            layer = ingest_raster(data, path, layer_id=layer_id, title=title, units=units,
                                  colormap=colormap, rescale=rescale, access=level)
            console.print(f"raster layer {layer.id!r} added")
        elif source == "vector":
            from layers.user_vectors import ingest_vector

            if layer_id is None:
                raise _fail("--id is required for `ingest vector`")
            report = ingest_vector(data, path, layer_id=layer_id, title=title, access=level)
            console.print(f"vector layer {layer_id!r} added: {report}")
        elif source in EVENT_LAYERS:
            from layers.events import ingest_events

            report = ingest_events(data, source, path)
            console.print(f"{source}: collection {report['id']!r} "
                          f"({report['features_written']} events)")
        else:
            from data_catalog.ingest import ingest_source
            from pipelines.config import load_region

            bbox = load_region(region).grid.bounds_lonlat if region else None
            result = ingest_source(data, source, path, bbox=bbox)
            console.print(f"{source}: {result.summary()}")
            console.print("the next `cmrisk run` uses it in place of the generated input")
    except (ValueError, LookupError, OSError, PipelineError, CatalogError) as exc:
        raise _fail(str(exc)) from None
    if source != "vector" and source not in EVENT_LAYERS:
        return
    from geo_service.features.postgis_load import LoadError

    try:
        _publish(data)  # a new vector layer or event collection: into PostGIS, if configured
    except LoadError as exc:
        raise _fail(f"{exc}; the data dir has the new layer: `cmrisk db load` publishes it "
                    "once the database answers") from None


@app.command()
def sources() -> None:
    """The known data sources, as a table."""
    from data_catalog.sources import sources_table

    rows = sources_table()
    table = Table()
    columns = ("id", "title", "provider", "access", "formats", "licence")
    for column in columns:
        # Ids are what users type next: never wrapped or cut.
        table.add_column(column, no_wrap=column == "id", min_width=18 if column == "id" else None)
    for row in rows:
        table.add_row(*(row.get(c, "") for c in columns))
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
    console.print(f"fetched {len(paths)} files into {folder}")


@app.command("clean-partial", hidden=True)
def clean_partial(data_dir: DataOption = None) -> None:
    """Remove folders of killed runs (also done at the start of every run)."""
    from pipelines.run import clean_partial_runs

    removed = clean_partial_runs(_data(data_dir))
    console.print(f"removed {len(removed)} partial run folders")


def main() -> None:  # pragma: no cover - console entry point
    """Entry point."""
    app()




if __name__ == "__main__":  # pragma: no cover - `python -m geo_service.cli`
    main()
