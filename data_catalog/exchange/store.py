"""Accepted submissions: versions of `exchange:<ISO3>:<kind>`, supersession, withdrawal,
currency, and what they feed.

Each accepted submission (or withdrawal) is the next version of its country's input in the
version store (`data_catalog.ingest.versions`: the data dir's folder, or PostgreSQL), made
with `install`, holding three files:

```
exchange/<ISO3>/<kind>.csv            the country's current table: the rows of every month
                                      whose latest submission is current (not withdrawn)
exchange/<ISO3>/<kind>-rows.csv       the rows this submission brought (empty: a withdrawal)
exchange/<ISO3>/<kind>-manifest.json  action, months, who, when, checksum, timeliness
```

A submission replaces the months it covers (the earlier submission's rows of those months
leave the current table; the earlier version stays readable by its id, `<ISO3>.<kind>.<n>`);
a withdrawal removes months (kept in the history, marked withdrawn). Writes for the exchange
are serialised by a lock on `<data dir>/exchange/.lock` (all worker processes of one host),
so two submissions at once become two versions, one after the other, and the later one is
current; a reader reads one version's files (written once, never half).

Accepted crossings feed the pipeline: the crossings table (`inputs/flows/crossings_monthly.csv`,
input `flow_counts`) gets a new version in which the country's points and the changed months
hold the submitted counts (summed over route class, role and provider), and the country's
collection `exchange_<iso3>` (restricted to its tokens) is rebuilt as a user layer.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from data_catalog.errors import CatalogError
from data_catalog.exchange.formats import columns
from data_catalog.exchange.rules import ExchangeConfig, load_config
from data_catalog.exchange.validate import Located, validate_submission
from data_catalog.ingest import flows
from data_catalog.ingest.events import countries
from data_catalog.ingest.install import LayerPublisher, install, staging
from data_catalog.ingest.vectors import ingest_vector
from data_catalog.ingest.versions import InputVersion, VersionStore, sha256_file
from data_catalog.paths import DataDir
from data_catalog.readers.flow_counts import SOURCE_ID as FLOW_COUNTS
from data_catalog.vocabulary import CHILD_AGE_GROUPS, COLUMNS, alpha_2

EXCHANGE_DIR = "exchange"
PREFIX = "exchange:"


class UnknownSubmission(CatalogError, LookupError):
    """No submission with this id (or not one the caller may read)."""


def input_id(country: str, kind: str) -> str:
    """The version-store input of one country's submissions of one kind."""
    return f"{PREFIX}{country}:{kind}"


def layer_id(country: str) -> str:
    """The collection of a country's submitted crossings."""
    return f"exchange_{country.lower()}"


def paths(country: str, kind: str) -> dict[str, str]:
    """The files of a version, by role, relative to the data dir."""
    base = f"{EXCHANGE_DIR}/{country}/{kind}"
    return {"table": f"{base}.csv", "rows": f"{base}-rows.csv",
            "manifest": f"{base}-manifest.json"}


@contextlib.contextmanager
def exchange_lock(data: DataDir) -> Iterator[None]:
    """Hold the exchange's write lock (every process on this host)."""
    folder = data.root / EXCHANGE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def located(data: DataDir, country: str) -> Located:
    """The country's known crossing points and outline, from the data dir's inputs."""
    points: dict[str, shapely.Geometry] = {}
    for relative in flows.POINTS:
        path = data.root / relative
        if path.is_file():
            frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
            frame = frame.to_crs("EPSG:4326")
            prefix = alpha_2(country) or "--"
            points = {str(p): g for p, g in zip(frame["point_id"], frame.geometry, strict=True)
                      if str(p).startswith(f"{prefix}-")}
            break
    outline = None
    with contextlib.suppress(CatalogError):
        outlines = countries(data)
        if "iso3" in outlines.columns:
            mine = outlines[outlines["iso3"] == country]
            if len(mine):
                outline = shapely.union_all(mine.geometry.to_numpy())
    return Located(points, outline)


def _csv(rows: list[dict[str, Any]], names: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{**r, "count": int(r["count"])} for r in csv.DictReader(handle)]


def month_due(month: str, config: ExchangeConfig) -> date:
    """The day a month's data are due: `deadline_days` after its end."""
    year, number = (int(p) for p in month.split("-"))
    first_next = date(year + number // 12, number % 12 + 1, 1)
    return first_next - timedelta(days=1) + timedelta(days=config.deadline_days)


def timeliness(months: list[str], received: datetime, config: ExchangeConfig) -> str:
    """`on_time` when every month came by its deadline, else `late`."""
    late = any(received.date() > month_due(m, config) for m in months)
    return "late" if late else "on_time"


@dataclass(frozen=True)
class Outcome:
    """What an accepted submission or withdrawal made."""

    id: str
    version: InputVersion
    manifest: dict[str, Any]


def submission_id(version: InputVersion) -> str:
    """`<ISO3>.<kind>.<n>` of a version of an exchange input."""
    _, country, kind = version.input.split(":")
    return f"{country}.{kind}.{version.version}"


def parse_id(text: str) -> tuple[str, str, int]:
    """(country, kind, version) of a submission id.

    Raises:
        UnknownSubmission: not of the form `<ISO3>.<kind>.<n>`.
    """
    parts = text.split(".")
    if len(parts) != 3 or not parts[2].isdigit() or len(parts[0]) != 3:
        raise UnknownSubmission(f"no submission {text[:60]!r}: ids are ISO3.kind.number, "
                                "e.g. PAN.crossings.2")
    return parts[0], parts[1], int(parts[2])


def _current_rows(store: VersionStore, country: str, kind: str) -> list[dict[str, Any]]:
    history = store.versions(input_id(country, kind))
    if not history:
        return []
    digest = history[-1].files.get(paths(country, kind)["table"])
    return _read_csv(store.blob(digest)) if digest else []


def submit(data: DataDir, store: VersionStore, source: Path, *, kind: str, country: str,
           user: str, file_name: str | None = None, config: ExchangeConfig | None = None,
           publish: LayerPublisher | None = None, now: datetime | None = None) -> Outcome:
    """Validate a submission whole, then store it as the next version of the country's input.

    Raises:
        ForeignCountry, IngestRefused, SourceFormatError: the file is refused; nothing stored.
    """
    config = config or load_config()
    checked = validate_submission(source, kind=kind, country=country,
                                  places=located(data, country), config=config)
    received = now or datetime.now(UTC)
    manifest = {
        "action": "submit", "country": country, "kind": kind, "months": checked.months,
        "rows": len(checked.rows), "user": user, "received": received.isoformat(),
        "file_name": file_name or source.name, "file_sha256": sha256_file(source),
        "timeliness": timeliness(checked.months, received, config),
        "warnings": [e.describe(checked.report.positions) for e in checked.report.entries
                     if e.issue == "validation_rule"],
    }
    with exchange_lock(data):
        kept = [r for r in _current_rows(store, country, kind)
                if r["month"] not in set(checked.months)]
        table = sorted(kept + checked.rows, key=lambda r: (r["month"],))
        outcome = _record(data, store, country, kind, table, checked.rows, manifest,
                          user=user, received=received)
        if kind == "crossings":
            _feed(data, store, country, table, checked.months, user, publish)
    return outcome


def withdraw(data: DataDir, store: VersionStore, *, kind: str, country: str, months: list[str],
             user: str, publish: LayerPublisher | None = None,
             now: datetime | None = None) -> Outcome:
    """Withdraw months a country submitted: the next version no longer holds them (the
    submissions stay readable, marked withdrawn for those months).

    Raises:
        UnknownSubmission: a month the country's current data do not hold.
    """
    received = now or datetime.now(UTC)
    with exchange_lock(data):
        current = _current_rows(store, country, kind)
        held = {r["month"] for r in current}
        missing = sorted(set(months) - held)
        if missing:
            raise UnknownSubmission(f"{country} has no current {kind} data for "
                                    f"{', '.join(missing)}")
        table = [r for r in current if r["month"] not in set(months)]
        manifest = {"action": "withdraw", "country": country, "kind": kind,
                    "months": sorted(set(months)), "rows": 0, "user": user,
                    "received": received.isoformat()}
        outcome = _record(data, store, country, kind, table, [], manifest, user=user,
                          received=received)
        if kind == "crossings":
            _feed(data, store, country, table, sorted(set(months)), user, publish)
    return outcome


def _record(data: DataDir, store: VersionStore, country: str, kind: str,
            table: list[dict[str, Any]], rows: list[dict[str, Any]], manifest: dict[str, Any],
            *, user: str, received: datetime) -> Outcome:
    names = columns(kind)
    where = paths(country, kind)
    with staging(data, f"exchange-{country}") as folder:
        staged = {}
        for role, text in (("table", _csv(table, names)), ("rows", _csv(rows, names)),
                           ("manifest", json.dumps(manifest, indent=1, ensure_ascii=False))):
            path = folder / Path(where[role]).name
            path.write_text(text, encoding="utf-8")
            staged[where[role]] = path
        version = install(data, store, input_id(country, kind), staged, whole=True,
                          action=manifest["action"], user=user, created=received,
                          file_name=manifest.get("file_name"),
                          file_sha256=manifest.get("file_sha256"),
                          rows={"rows": len(rows), "table_rows": len(table),
                                "months": len(manifest["months"])},
                          note=f"{manifest['action']} {' '.join(manifest['months'])}")
    return Outcome(submission_id(version), version, manifest)


def _feed(data: DataDir, store: VersionStore, country: str, table: list[dict[str, Any]],
          months: list[str], user: str, publish: LayerPublisher | None) -> None:
    """The pipeline's crossings table and the country's collection, after a change."""
    prefix = f"{alpha_2(country)}-"
    path = data.root / flows.TABLE
    current = flows.read_table(path) if path.is_file() else pd.DataFrame(columns=list(COLUMNS))
    changed = set(months)
    keep = ~(current["point_id"].str.startswith(prefix) & current["month"].isin(changed))
    submitted = pd.DataFrame([r for r in table if r.get("point_id") and r["month"] in changed],
                             columns=[*columns("crossings")])
    if len(submitted):
        summed = (submitted.assign(count=submitted["count"].astype("int64"))
                  .groupby(list(COLUMNS[:-1]), as_index=False)["count"].sum())
        summed["count"] = summed["count"].astype(str)
    else:
        summed = pd.DataFrame(columns=list(COLUMNS))
    merged = pd.concat([current[keep], summed[list(COLUMNS)]], ignore_index=True)
    with staging(data, f"exchange-flows-{country}") as folder:
        staged = folder / "crossings_monthly.csv"
        merged.to_csv(staged, index=False)
        install(data, store, FLOW_COUNTS, {flows.TABLE: staged}, whole=False,
                action="exchange", user=user,
                note=f"exchange {country}: months {' '.join(sorted(changed))}",
                rows={"rows_before": len(current), "rows_after": len(merged)})
        located_points = located(data, country).points
        features = _features(table, located_points)
        if features is not None:
            layer_file = folder / f"{layer_id(country)}.parquet"
            features.to_parquet(layer_file, index=False)
            ingest_vector(data, store, layer_file, layer_id=layer_id(country),
                          title=f"Exchange: crossings submitted by {country}",
                          units="people", value_type="count", access="restricted",
                          description=f"Monthly crossings submitted by {country} to the "
                          "Observatory exchange (current versions only).",
                          attribution=country, user=user, publish=publish)


def _features(table: list[dict[str, Any]],
              points: Mapping[str, shapely.Geometry]) -> gpd.GeoDataFrame | None:
    """One feature per point, month, direction, nationality, route class, role and provider:
    `total`, `female`, `male` and `children` (persons)."""
    rows = [r for r in table if r.get("point_id") in points]
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    frame["count"] = frame["count"].astype("int64")
    frame["female"] = frame["count"].where(frame["sex"] == "F", 0)
    frame["male"] = frame["count"].where(frame["sex"] == "M", 0)
    frame["children"] = frame["count"].where(frame["age_group"].isin(CHILD_AGE_GROUPS), 0)
    keys = ["point_id", "month", "direction", "nationality", "route_class", "country_role",
            "provider"]
    out = (frame.groupby(keys, as_index=False)
           .agg(total=("count", "sum"), female=("female", "sum"), male=("male", "sum"),
                children=("children", "sum")))
    out.insert(0, "id", out[keys].astype(str).agg(":".join, axis=1))
    return gpd.GeoDataFrame(out, geometry=[points[p] for p in out["point_id"]],
                            crs="EPSG:4326")


# --- reading ---------------------------------------------------------------------------------


def manifest_of(store: VersionStore, version: InputVersion) -> dict[str, Any]:
    """The manifest a version holds."""
    _, country, kind = version.input.split(":")
    digest = version.files[paths(country, kind)["manifest"]]
    loaded: dict[str, Any] = json.loads(store.blob(digest).read_text(encoding="utf-8"))
    return loaded


def history(store: VersionStore, country: str, kind: str) -> list[dict[str, Any]]:
    """Every submission and withdrawal of a country, oldest first, each with the status of
    each of its months: `current`, `superseded` (a later submission covers it) or
    `withdrawn`."""
    versions = [v for v in store.versions(input_id(country, kind)) if v.action != "baseline"]
    manifests = [manifest_of(store, v) for v in versions]
    out = []
    for i, (version, manifest) in enumerate(zip(versions, manifests, strict=True)):
        statuses: dict[str, str] = {}
        for month in manifest["months"]:
            later = next((m for m in manifests[i + 1:] if month in m["months"]), None)
            if manifest["action"] == "withdraw":
                statuses[month] = "withdrawal"
            elif later is None:
                statuses[month] = "current"
            else:
                statuses[month] = "withdrawn" if later["action"] == "withdraw" else "superseded"
        values = set(statuses.values())
        status = ("withdrawal" if manifest["action"] == "withdraw" else "current"
                  if "current" in values else "withdrawn" if values == {"withdrawn"}
                  else "superseded")
        out.append({"id": submission_id(version), "version": version.version,
                    "created": version.created.isoformat(), "user": version.user,
                    "checksum": version.file_sha256, "status": status, "months": statuses,
                    **{k: manifest[k] for k in ("action", "kind", "country", "rows")},
                    **({"timeliness": manifest["timeliness"]} if "timeliness" in manifest
                       else {})})
    return out


def read_submission(store: VersionStore, submission: str) -> dict[str, Any]:
    """One submission: its record, month statuses and the rows it brought.

    Raises:
        UnknownSubmission: no such submission.
    """
    country, kind, number = parse_id(submission)
    if kind not in ("crossings", "displacement"):
        raise UnknownSubmission(f"no submission {submission!r}")
    record = next((h for h in history(store, country, kind) if h["version"] == number), None)
    if record is None:
        raise UnknownSubmission(f"no submission {submission!r}")
    version = next(v for v in store.versions(input_id(country, kind)) if v.version == number)
    rows = _read_csv(store.blob(version.files[paths(country, kind)["rows"]]))
    return {**record, "rows": rows, "row_count": len(rows)}


def current_rows(store: VersionStore, country: str, kind: str) -> list[dict[str, Any]]:
    """The country's current table (the published series of its submissions)."""
    return _current_rows(store, country, kind)


def countries_submitting(store: VersionStore) -> list[tuple[str, str]]:
    """(country, kind) of every exchange input with versions."""
    out = []
    for name in store.inputs():
        if name.startswith(PREFIX):
            _, country, kind = name.split(":")
            out.append((country, kind))
    return sorted(out)


def status(store: VersionStore, config: ExchangeConfig | None = None,
           today: date | None = None) -> list[dict[str, Any]]:
    """Currency per country and kind: the last month covered, when it was submitted, its
    timeliness against the reporting deadline, and whether the data are stale (the last
    month ended more than `stale_after_days` ago)."""
    config = config or load_config()
    today = today or datetime.now(UTC).date()
    out = []
    for country, kind in countries_submitting(store):
        records = history(store, country, kind)
        months = {m: r for r in records for m, s in r["months"].items() if s == "current"}
        last = max(months) if months else None
        entry: dict[str, Any] = {"country": country, "kind": kind, "last_month": last,
                                 "months": len(months), "submissions": len(records)}
        if last is not None:
            record = months[last]
            ended = month_due(last, ExchangeConfig(deadline_days=0, stale_after_days=1,
                                                   max_count=1, max_rows=1))
            entry.update(submitted=record["created"], submission=record["id"],
                         timeliness=record.get("timeliness"),
                         due=month_due(last, config).isoformat(),
                         stale=(today - ended).days > config.stale_after_days,
                         age_days=(today - ended).days)
        else:
            entry.update(submitted=None, timeliness=None, stale=True, age_days=None)
        out.append(entry)
    return out


def crossings_currency(data: DataDir) -> list[dict[str, Any]]:
    """`status` of every country's crossings (for the layers they feed and the map)."""
    from data_catalog.ingest.versions import version_store

    return [s for s in status(version_store(data)) if s["kind"] == "crossings"]
