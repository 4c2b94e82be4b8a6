"""Readers for IDMC's Global Internal Displacement Database (GIDD).

Three layouts:

1. **Disasters API JSON** (`/external-api/gidd/disasters/`): a JSON array of events, or a paged
   object `{"count", "next", "previous", "results": [...]}`, with the keys iso3, country_name,
   year, start_date, start_date_accuracy, end_date, end_date_accuracy, event_name,
   new_displacement, new_displacement_rounded, total_displacement, total_displacement_rounded,
   hazard_category(_name), hazard_sub_category(_name), hazard_type(_name),
   hazard_sub_type(_name), glide_numbers.
2. **HDX disaster events CSV**: `ISO3,Name,Year,Start Date,Event Name,Hazard Category,Hazard
   Type,New Displacements`, then an HXL hashtag row.
3. **HDX country-year CSV**: `ISO3,Name,Year,Conflict Stock Displacement,Conflict Internal
   Displacements,Disaster Internal Displacements`, then an HXL hashtag row.

Layouts 1 and 2 give one row per event (`EVENT_COLUMNS`, NA where the layout has no such
field); layout 3 gives one row per country and year (`COUNTRY_YEAR_COLUMNS`). Figures are
displacements (persons, Int64). With `countries=` (e.g. the Natural Earth reader's output) the
result is a GeoDataFrame with each country's outline; otherwise a plain DataFrame (IDMC gives no
coordinates).

Quirks handled (each reported):

- the HXL row below the CSV header is not data (skipped);
- empty cells are NA, never 0;
- an end date before the start date: **fixed** by setting the end date to the start date (the
  start is IDMC's reference date for the event; the reported end date is kept in the report);
- rounded vs unrounded figures: the unrounded one is kept; where it is missing the rounded one
  is used (`new_displacement_is_rounded` says so, reported).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import geopandas as gpd
import pandas as pd

from data_catalog.errors import MissingColumnError, SourceFormatError
from data_catalog.readers._common import (
    PathLike,
    as_paths,
    clean_text,
    load_json,
    new_report,
    parse_date,
    parse_int,
    provenance,
    read_csv,
    resolve_columns,
    snake,
)
from data_catalog.readers.report import Action, IngestReport, Issue, ReadResult

SOURCE_ID = "idmc_gidd"

API_REQUIRED = ("iso3", "year", "start_date", "end_date", "new_displacement",
                "new_displacement_rounded")
API_OPTIONAL = (
    "country_name", "start_date_accuracy", "end_date_accuracy", "event_name",
    "total_displacement", "total_displacement_rounded", "hazard_category", "hazard_category_name",
    "hazard_sub_category", "hazard_sub_category_name", "hazard_type", "hazard_type_name",
    "hazard_sub_type", "hazard_sub_type_name", "glide_numbers", "id", "event_id",
)

HDX_EVENTS_HEADER = ("ISO3", "Name", "Year", "Start Date", "Event Name", "Hazard Category",
                     "Hazard Type", "New Displacements")
HDX_COUNTRY_HEADER = ("ISO3", "Name", "Year", "Conflict Stock Displacement",
                      "Conflict Internal Displacements", "Disaster Internal Displacements")

EVENT_COLUMNS = (
    "iso3", "country_name", "year", "event_name", "start_date", "start_date_accuracy",
    "end_date", "end_date_accuracy", "new_displacement", "new_displacement_is_rounded",
    "total_displacement", "total_displacement_is_rounded", "hazard_category_name",
    "hazard_sub_category_name", "hazard_type_name", "hazard_sub_type_name", "glide_numbers",
)
COUNTRY_YEAR_COLUMNS = (
    "iso3", "country_name", "year", "conflict_stock_displacement",
    "conflict_internal_displacements", "disaster_internal_displacements",
)
UNITS = {
    "new_displacement": "displacements (persons)",
    "total_displacement": "persons (stock)",
    "conflict_stock_displacement": "persons (stock)",
    "conflict_internal_displacements": "displacements (persons)",
    "disaster_internal_displacements": "displacements (persons)",
    "year": "year",
}


def read_idmc_gidd(
    path: PathLike, *, countries: gpd.GeoDataFrame | None = None, source_id: str = SOURCE_ID
) -> ReadResult[pd.DataFrame]:
    """Read any GIDD layout (API JSON or either HDX CSV), chosen by content.

    Args:
        path: The file.
        countries: Optional country outlines with an `iso3` (or `iso_a3`) column; when given
            the result is a GeoDataFrame joined on ISO3 (unmatched codes reported, kept).
        source_id: Source id written into the provenance.

    Returns:
        The events or country-years, and the ingest report.
    """
    (p,) = as_paths(path)
    with p.open("rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"[") or head.startswith(b"{"):
        return read_idmc_api_json(p, countries=countries, source_id=source_id)
    return read_idmc_hdx_csv(p, countries=countries, source_id=source_id)


def read_idmc_api_json(
    path: PathLike, *, countries: gpd.GeoDataFrame | None = None, source_id: str = SOURCE_ID
) -> ReadResult[pd.DataFrame]:
    """Read a GIDD disasters API response (array or paged object) into one row per event.

    Args:
        path: The JSON file.
        countries: See `read_idmc_gidd`.
        source_id: Source id written into the provenance.

    Returns:
        The events (`EVENT_COLUMNS`) and the ingest report.

    Raises:
        SourceFormatError: Not JSON, or not a list of event objects.
        MissingColumnError: An event without a required key (named).
    """
    (p,) = as_paths(path)
    reader = "data_catalog.readers.idmc_gidd:read_idmc_api_json"
    report = new_report(source_id, reader, [p], unit="row")
    report.positions = "record"
    data = load_json(p, report)
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        if data.get("next"):
            report.add(Issue.UNKNOWN_COLUMN, Action.FLAGGED,
                       f"paged response with a next page ({data['next']}); only this page read",
                       count=0)
        data = data["results"]
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        raise SourceFormatError("expected a JSON array of GIDD event objects", path=p)
    report.rows_read = len(data)
    rows: list[dict[str, Any] | None] = []
    for i, obj in enumerate(data):
        cols = resolve_columns(obj.keys(), API_REQUIRED, API_OPTIONAL, path=p)
        rec = {k: obj[v] for k, v in cols.items()}
        rows.append(_event(i, rec, report, i + 1))
    frame = _frame([r for r in rows if r is not None], EVENT_COLUMNS)
    return _finish(frame, report, countries, variant="api_json")


def read_idmc_hdx_csv(
    path: PathLike, *, countries: gpd.GeoDataFrame | None = None, source_id: str = SOURCE_ID
) -> ReadResult[pd.DataFrame]:
    """Read an IDMC HDX CSV (events or country-year layout, told apart by the header).

    Args:
        path: The CSV file.
        countries: See `read_idmc_gidd`.
        source_id: Source id written into the provenance.

    Returns:
        Events (`EVENT_COLUMNS`) or country-years (`COUNTRY_YEAR_COLUMNS`), and the report.

    Raises:
        MissingColumnError: The header matches neither layout (the first missing column of the
            closer one is named).
    """
    (p,) = as_paths(path)
    reader = "data_catalog.readers.idmc_gidd:read_idmc_hdx_csv"
    report = new_report(source_id, reader, [p], unit="row")
    table = read_csv(p, report)
    lowered = {h.lower() for h in table.header}
    events = sum(h.lower() in lowered for h in HDX_EVENTS_HEADER)
    country = sum(h.lower() in lowered for h in HDX_COUNTRY_HEADER)
    layout = HDX_EVENTS_HEADER if events >= country else HDX_COUNTRY_HEADER
    cols = resolve_columns(table.header, layout, path=p)
    index = {name: table.header.index(col) for name, col in cols.items()}
    report.rows_read = len(table.rows)
    out: list[dict[str, Any]] = []
    for i, cells in enumerate(table.rows):
        raw = {name: cells[j] for name, j in index.items()}
        if layout is HDX_EVENTS_HEADER:
            rec = {
                "iso3": raw["ISO3"], "country_name": raw["Name"], "year": raw["Year"],
                "start_date": raw["Start Date"], "end_date": None,
                "event_name": raw["Event Name"], "hazard_category_name": raw["Hazard Category"],
                "hazard_type_name": raw["Hazard Type"],
                "new_displacement": raw["New Displacements"],
            }
            event = _event(i, rec, report, table.lines[i])
            if event is not None:
                out.append(event)
        else:
            country_year = _country_year(i, raw, report, table.lines[i])
            if country_year is not None:
                out.append(country_year)
    columns = EVENT_COLUMNS if layout is HDX_EVENTS_HEADER else COUNTRY_YEAR_COLUMNS
    variant = "hdx_events_csv" if layout is HDX_EVENTS_HEADER else "hdx_country_year_csv"
    return _finish(_frame(out, columns), report, countries, variant=variant)


def _text(value: Any) -> str | None:
    return clean_text(value)[0] if value is not None else None


def _int(value: Any, name: str, report: IngestReport, row: int, key: str,
         line: int) -> int | None:
    try:
        return parse_int(value)
    except ValueError:
        report.reject(Issue.INVALID_NUMBER, "not a whole number", row=row, line=line,
                      column=name, value=str(value), allowed="a whole number of people, or empty",
                      key=key)
        return None


def _date(value: Any, name: str, report: IngestReport, row: int, key: str,
          line: int) -> date | None:
    try:
        return parse_date(value)
    except ValueError:
        report.reject(Issue.INVALID_DATE, "not a date", row=row, line=line, column=name,
                      value=str(value), allowed="a date such as 2024-01-31, or empty", key=key)
        return None


def _key(rec: Mapping[str, Any]) -> str:
    name = _text(rec.get("event_name")) or _text(rec.get("country_name")) or ""
    return f"{_text(rec.get('iso3')) or '?'} {rec.get('year') or ''} {name}".strip()


def _event(row: int, rec: Mapping[str, Any], report: IngestReport,
           line: int) -> dict[str, Any] | None:
    key = _key(rec)
    iso3 = _text(rec.get("iso3"))
    if not iso3:
        report.reject(Issue.MISSING_ID, "no ISO3 country code", row=row, line=line,
                      column="iso3", value="", allowed="an ISO 3166-1 alpha-3 code", key=key)
        return None
    start = _date(rec.get("start_date"), "start_date", report, row, key, line)
    end = _date(rec.get("end_date"), "end_date", report, row, key, line)
    if start is not None and end is not None and end < start:
        report.add(Issue.END_BEFORE_START, Action.FIXED,
                   f"end_date {end.isoformat()} before start_date {start.isoformat()}; "
                   f"end_date set to the start date", row=row, key=key)
        end = start
    out: dict[str, Any] = {
        "iso3": iso3.upper(),
        "country_name": _text(rec.get("country_name")),
        "year": _int(rec.get("year"), "year", report, row, key, line),
        "event_name": _text(rec.get("event_name")),
        "start_date": start,
        "start_date_accuracy": _text(rec.get("start_date_accuracy")),
        "end_date": end,
        "end_date_accuracy": _text(rec.get("end_date_accuracy")),
    }
    for figure in ("new_displacement", "total_displacement"):
        exact = _int(rec.get(figure), figure, report, row, key, line)
        rounded_key = f"{figure}_rounded"
        rounded = _int(rec.get(rounded_key), rounded_key, report, row, key, line)
        is_rounded: bool | None = False
        if exact is None and rounded is not None:
            report.add(Issue.ROUNDED_FALLBACK, Action.FIXED,
                       f"{figure} missing; the rounded figure {rounded} is used",
                       row=row, key=key)
            exact, is_rounded = rounded, True
        elif exact is None:
            is_rounded = None
        out[figure] = exact
        out[f"{figure}_is_rounded"] = is_rounded
    for name in ("hazard_category_name", "hazard_sub_category_name", "hazard_type_name",
                 "hazard_sub_type_name"):
        out[name] = _text(rec.get(name))
    glide = rec.get("glide_numbers")
    if isinstance(glide, list):
        out["glide_numbers"] = "; ".join(str(g) for g in glide if g) or None
    else:
        out["glide_numbers"] = _text(glide)
    return None if report.is_rejected(row) else out


def _country_year(row: int, raw: Mapping[str, str], report: IngestReport,
                  line: int) -> dict[str, Any] | None:
    key = f"{raw['ISO3'].strip() or '?'} {raw['Year'].strip()}"
    iso3 = _text(raw["ISO3"])
    if not iso3:
        report.reject(Issue.MISSING_ID, "no ISO3 country code", row=row, line=line,
                      column="ISO3", value="", allowed="an ISO 3166-1 alpha-3 code", key=key)
        return None
    out: dict[str, Any] = {
        "iso3": iso3.upper(),
        "country_name": _text(raw["Name"]),
        "year": _int(raw["Year"], "Year", report, row, key, line),
    }
    for name in ("Conflict Stock Displacement", "Conflict Internal Displacements",
                 "Disaster Internal Displacements"):
        out[snake(name)] = _int(raw[name], name, report, row, key, line)
    return None if report.is_rejected(row) else out


def _frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for col in columns:
        values = [r.get(col) for r in rows]
        if col.endswith("_date"):
            data[col] = pd.to_datetime(pd.Series(values, dtype="object")).astype("datetime64[ns]")
        elif col.endswith("_is_rounded"):
            data[col] = pd.array(values, dtype="boolean")
        elif col == "year" or "displacement" in col:
            data[col] = pd.array(values, dtype="Int64")
        else:
            data[col] = pd.array(values, dtype="string")
    return pd.DataFrame(data)


def _finish(frame: pd.DataFrame, report: IngestReport, countries: gpd.GeoDataFrame | None,
            *, variant: str) -> ReadResult[pd.DataFrame]:
    result: pd.DataFrame = frame
    if countries is not None:
        result = attach_countries(frame, countries, report)
    result.attrs.update(provenance(report, variant=variant))
    result.attrs["units"] = {k: v for k, v in UNITS.items() if k in result.columns}
    return ReadResult(result, report)


def attach_countries(frame: pd.DataFrame, countries: gpd.GeoDataFrame,
                     report: IngestReport) -> gpd.GeoDataFrame:
    """Join country outlines on ISO3; rows whose code has no outline keep an empty geometry.

    Args:
        frame: Rows with an `iso3` column.
        countries: Outlines with an `iso3` or `iso_a3` column (EPSG:4326).
        report: Unmatched codes are flagged here.

    Returns:
        A GeoDataFrame in EPSG:4326 with the rows of `frame` in their order.
    """
    code = "iso3" if "iso3" in countries.columns else "iso_a3"
    if code not in countries.columns:
        raise MissingColumnError("iso3", available=list(countries.columns))
    outlines = countries.to_crs(4326).drop_duplicates(code).set_index(code).geometry
    lookup = dict(zip(outlines.index.astype(str), outlines.to_numpy(), strict=True))
    geoms = []
    unmatched: dict[str, int] = {}
    for iso3 in frame["iso3"].astype("string"):
        geom = lookup.get(str(iso3)) if not pd.isna(iso3) else None
        if geom is None:
            unmatched[str(iso3)] = unmatched.get(str(iso3), 0) + 1
        geoms.append(geom)
    for iso3, n in unmatched.items():
        report.add(Issue.MISSING_COORDINATES, Action.FLAGGED,
                   f"no country outline for ISO3 {iso3}; {n} row(s) kept without a geometry",
                   key=iso3, count=n)
    return gpd.GeoDataFrame(frame.copy(), geometry=geoms, crs="EPSG:4326")
