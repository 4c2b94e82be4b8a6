"""Readers for the IOM Missing Migrants Project (MMP): the CSV export and the yearly website JSON.

Both variants give the same tidy GeoDataFrame (EPSG:4326, Point or empty), one row per incident:

| column | type | units / notes |
|---|---|---|
| `mmp_id` | string | CSV `Main ID`, JSON `web_id` |
| `incident_id`, `incident_type` | string | CSV only (NA from JSON) |
| `region` | string | `Region of Incident` / `region` |
| `date` | datetime64[ns] | `Incident Date` / `reported_date` |
| `year`, `month` | Int64 | `Incident Year`/`Month` (CSV), else from `date` |
| `number_dead`, `number_missing`, `total_dead_and_missing` | Int64 | persons |
| `number_of_survivors`, `number_of_females`, `number_of_males` | Int64 | persons |
| `number_of_children` | Int64 | persons |
| `country_of_origin`, `region_of_origin` | string | CSV only |
| `cause_of_death`, `country_of_incident`, `migration_route` | string | |
| `location_description`, `unsd_geographical_grouping`, `information_source`, `url` | string | |
| `source_quality` | Int64 | 1 (lowest) to 5 |
| `lat`, `lon` | float64 | degrees |
| `coordinates_placeholder` | bool | the same coordinates are used for different places |

Quirks handled (each reported): the coordinates come as one "lat, lon" text; empty cells and
empty strings are NA (never 0); numbers arrive as text ("1,022"); the JSON misspells
`location_coodinates` (the correct spelling is accepted too, reported); HTML entities
(`&#039;`) and trailing newlines in text; swapped lat/lon (|lat| > 90, or a point outside the
incident's region whose swap lies inside); placeholder coordinates reused for different places.
A row without usable coordinates is kept without a point (flagged), so totals stay whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from data_catalog.errors import MissingColumnError, SourceFormatError
from data_catalog.readers._common import (
    BBox,
    PathLike,
    as_paths,
    clean_text,
    flag_placeholders,
    load_json,
    locate,
    new_report,
    parse_date,
    parse_int,
    provenance,
    read_csv,
    resolve_columns,
)
from data_catalog.readers.report import Action, IngestReport, Issue, ReadResult

SOURCE_ID = "missing_migrants"

CSV_HEADER = (
    "Main ID", "Incident ID", "Incident Type", "Region of Incident", "Incident Date",
    "Incident Year", "Month", "Number of Dead", "Minimum Estimated Number of Missing",
    "Total Number of Dead and Missing", "Number of Survivors", "Number of Females",
    "Number of Males", "Number of Children", "Country of Origin", "Region of Origin",
    "Cause of Death", "Country of Incident", "Migration Route", "Location of Incident",
    "Coordinates", "UNSD Geographical Grouping", "Information Source", "URL", "Source Quality",
)
"""The CSV export's header, in order (METHOD.md)."""

JSON_KEYS = (
    "web_id", "region", "reported_date", "number_dead", "number_missing",
    "total_dead_and_missing", "number_of_survivors", "number_of_female", "number_of_male",
    "number_of_children", "cause_death", "country_of_incident", "location_description",
    "unsd_geographic_grouping", "location_coodinates", "migration_route", "information_source",
    "url", "source_quality",
)
"""The website JSON keys, in order; `location_coodinates` is the source's own spelling."""

CSV_TO_COLUMN = {
    "Main ID": "mmp_id", "Incident ID": "incident_id", "Incident Type": "incident_type",
    "Region of Incident": "region", "Incident Date": "date", "Incident Year": "year",
    "Month": "month", "Number of Dead": "number_dead",
    "Minimum Estimated Number of Missing": "number_missing",
    "Total Number of Dead and Missing": "total_dead_and_missing",
    "Number of Survivors": "number_of_survivors", "Number of Females": "number_of_females",
    "Number of Males": "number_of_males", "Number of Children": "number_of_children",
    "Country of Origin": "country_of_origin", "Region of Origin": "region_of_origin",
    "Cause of Death": "cause_of_death", "Country of Incident": "country_of_incident",
    "Migration Route": "migration_route", "Location of Incident": "location_description",
    "Coordinates": "coordinates", "UNSD Geographical Grouping": "unsd_geographical_grouping",
    "Information Source": "information_source", "URL": "url", "Source Quality": "source_quality",
}
JSON_TO_COLUMN = {
    "web_id": "mmp_id", "region": "region", "reported_date": "date",
    "number_dead": "number_dead", "number_missing": "number_missing",
    "total_dead_and_missing": "total_dead_and_missing",
    "number_of_survivors": "number_of_survivors", "number_of_female": "number_of_females",
    "number_of_male": "number_of_males", "number_of_children": "number_of_children",
    "cause_death": "cause_of_death", "country_of_incident": "country_of_incident",
    "location_description": "location_description",
    "unsd_geographic_grouping": "unsd_geographical_grouping",
    "location_coodinates": "coordinates", "migration_route": "migration_route",
    "information_source": "information_source", "url": "url", "source_quality": "source_quality",
}

COUNT_COLUMNS = (
    "number_dead", "number_missing", "total_dead_and_missing", "number_of_survivors",
    "number_of_females", "number_of_males", "number_of_children",
)
TEXT_COLUMNS = (
    "mmp_id", "incident_id", "incident_type", "region", "country_of_origin", "region_of_origin",
    "cause_of_death", "country_of_incident", "migration_route", "location_description",
    "unsd_geographical_grouping", "information_source", "url",
)
OUTPUT_COLUMNS = (
    "mmp_id", "incident_id", "incident_type", "region", "date", "year", "month",
    *COUNT_COLUMNS, "country_of_origin", "region_of_origin", "cause_of_death",
    "country_of_incident", "migration_route", "location_description",
    "unsd_geographical_grouping", "information_source", "url", "source_quality", "lat", "lon",
    "coordinates_placeholder",
)

REGION_BBOXES: dict[str, BBox] = {
    # MMP "Region of Incident" → a generous lon/lat box (west, south, east, north), degrees.
    # Only used to tell a swapped "lat, lon" from a true one: a point outside its region whose
    # swap lands inside is swapped back.
    "north america": (-170.0, 12.0, -50.0, 75.0),
    "central america": (-120.0, 5.0, -75.0, 34.0),
    "caribbean": (-88.0, 8.0, -58.0, 29.0),
    "south america": (-95.0, -58.0, -32.0, 15.0),
    "europe": (-32.0, 33.0, 45.0, 72.0),
    "mediterranean": (-11.0, 29.0, 38.0, 47.0),
    "northern africa": (-19.0, 14.0, 39.0, 38.0),
    "eastern africa": (20.0, -28.0, 64.0, 24.0),
    "western africa": (-27.0, 2.0, 17.0, 28.0),
    "middle africa": (7.0, -19.0, 32.0, 24.0),
    "southern africa": (10.0, -36.0, 34.0, -15.0),
    "western asia": (24.0, 11.0, 64.0, 44.0),
    "southern asia": (43.0, 4.0, 99.0, 41.0),
    "south-eastern asia": (91.0, -12.0, 142.0, 30.0),
    "eastern asia": (72.0, 17.0, 150.0, 55.0),
    "central asia": (45.0, 34.0, 89.0, 57.0),
}

UNITS = {c: "persons" for c in COUNT_COLUMNS} | {
    "lat": "degrees_north", "lon": "degrees_east", "source_quality": "1-5", "year": "year",
    "month": "month (1-12)",
}


def read_missing_migrants(
    path: PathLike, **options: Any
) -> ReadResult[gpd.GeoDataFrame]:
    """Read either MMP variant, chosen by content (JSON array or CSV).

    Args:
        path: A CSV export or a website JSON file.
        **options: Passed on to `read_missing_migrants_csv` / `read_missing_migrants_json`.

    Returns:
        The incidents (EPSG:4326) and the ingest report.
    """
    (p,) = as_paths(path)
    with p.open("rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"[") or head.startswith(b"{"):
        return read_missing_migrants_json(p, **options)
    return read_missing_migrants_csv(p, **options)


def read_missing_migrants_csv(
    path: PathLike,
    *,
    region_bbox: BBox | None = None,
    placeholder_min_places: int = 2,
    source_id: str = SOURCE_ID,
) -> ReadResult[gpd.GeoDataFrame]:
    """Read the MMP CSV export (header in `CSV_HEADER`; UTF-8, or Latin-1/Windows-1252).

    Args:
        path: The CSV file.
        region_bbox: Optional (west, south, east, north) in degrees that every point should lie
            in (e.g. the analysis region); it replaces the per-region boxes for swap detection.
        placeholder_min_places: How many different places must share one coordinate pair for it
            to be flagged as a placeholder.
        source_id: Source id written into the provenance.

    Returns:
        The incidents and the ingest report.

    Raises:
        SourceFormatError: A binary or empty file.
        MissingColumnError: A header without one of `CSV_HEADER`'s columns (named).
    """
    (p,) = as_paths(path)
    reader = "data_catalog.readers.missing_migrants:read_missing_migrants_csv"
    report = new_report(source_id, reader, [p], unit="row")
    table = read_csv(p, report)
    cols = resolve_columns(table.header, CSV_HEADER, path=p)
    index = {name: table.header.index(col) for name, col in cols.items()}
    records = []
    for cells in table.rows:
        records.append({CSV_TO_COLUMN[name]: cells[i] for name, i in index.items()})
    report.rows_read = len(records)
    frame = _tidy(records, report, region_bbox=region_bbox,
                  placeholder_min_places=placeholder_min_places, id_label="Main ID",
                  lines=table.lines, names={v: k for k, v in CSV_TO_COLUMN.items()})
    frame.attrs.update(provenance(report, variant="csv"))
    frame.attrs["units"] = dict(UNITS)
    return ReadResult(frame, report)


def read_missing_migrants_json(
    path: PathLike,
    *,
    region_bbox: BBox | None = None,
    placeholder_min_places: int = 2,
    source_id: str = SOURCE_ID,
) -> ReadResult[gpd.GeoDataFrame]:
    """Read one MMP website JSON file (an array of objects keyed as `JSON_KEYS`, all strings).

    Args:
        path: The JSON file (one year).
        region_bbox: See `read_missing_migrants_csv`.
        placeholder_min_places: See `read_missing_migrants_csv`.
        source_id: Source id written into the provenance.

    Returns:
        The incidents and the ingest report.

    Raises:
        SourceFormatError: Not JSON, or not an array of objects.
        MissingColumnError: An object without one of `JSON_KEYS` (named).
    """
    (p,) = as_paths(path)
    reader = "data_catalog.readers.missing_migrants:read_missing_migrants_json"
    report = new_report(source_id, reader, [p], unit="row")
    data = load_json(p, report)
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        raise SourceFormatError("expected a JSON array of incident objects", path=p)
    report.rows_read = len(data)
    records = [_json_record(i, obj, report, p) for i, obj in enumerate(data)]
    report.positions = "record"
    frame = _tidy(records, report, region_bbox=region_bbox,
                  placeholder_min_places=placeholder_min_places, id_label="web_id",
                  lines=range(1, len(records) + 1),
                  names={v: k for k, v in JSON_TO_COLUMN.items()})
    frame.attrs.update(provenance(report, variant="json"))
    frame.attrs["units"] = dict(UNITS)
    return ReadResult(frame, report)


def _json_record(row: int, obj: Mapping[str, Any], report: IngestReport,
                 path: Path) -> dict[str, Any]:
    obj = dict(obj)
    if "location_coodinates" not in obj and "location_coordinates" in obj:
        obj["location_coodinates"] = obj.pop("location_coordinates")
        if row == 0:
            report.add(Issue.RENAMED_KEY, Action.FIXED,
                       "key 'location_coordinates' read as the source's 'location_coodinates'",
                       count=0)
    for key in JSON_KEYS:
        if key not in obj:
            raise MissingColumnError(key, path=path, available=list(obj))
    if row == 0:
        order = [k for k in obj if k in JSON_KEYS]
        if order != list(JSON_KEYS):
            report.add(Issue.KEY_ORDER, Action.FLAGGED,
                       f"keys not in the documented order: {order}", count=0)
    out: dict[str, Any] = {}
    key_id = f"web_id {obj.get('web_id')}"
    for key in JSON_KEYS:
        value = obj[key]
        if value is not None and not isinstance(value, str):
            report.add(Issue.UNEXPECTED_TYPE, Action.FIXED,
                       f"{key} is {type(value).__name__} {value!r}, not a string; read as text",
                       row=row, key=key_id)
            value = str(value) if not isinstance(value, bool) else str(value).lower()
        out[JSON_TO_COLUMN[key]] = value
    return out


def _region_box(region: str | None, override: BBox | None) -> tuple[BBox | None, str]:
    if override is not None:
        return override, "the given region"
    if region and region.strip().lower() in REGION_BBOXES:
        return REGION_BBOXES[region.strip().lower()], f"region {region.strip()!r}"
    return None, ""


def _tidy(
    records: Sequence[Mapping[str, Any]],
    report: IngestReport,
    *,
    region_bbox: BBox | None,
    placeholder_min_places: int,
    id_label: str,
    lines: Sequence[int],
    names: Mapping[str, str],
) -> gpd.GeoDataFrame:
    """The tidy frame of the records; rows with a rejected field are left out of it.

    Args:
        lines: Where each record is in the file (CSV line, or JSON record number).
        names: Output column → the file's own name for it (for the report).
    """
    columns: dict[str, list[Any]] = {c: [] for c in OUTPUT_COLUMNS}
    keys: list[str] = []
    for row, rec in enumerate(records):
        line = lines[row]

        key = f"{id_label} {str(rec.get('mmp_id') or '').strip() or '?'}"
        keys.append(key)

        def number(col: str, parse: Callable[[Any], Any], rec: Mapping[str, Any] = rec,
                   row: int = row, line: int = line, key: str = key) -> Any:
            return _number(rec.get(col), parse, names.get(col, col), report, row, key, line)

        text: dict[str, str | None] = {}
        changed: dict[str, list[str]] = {}
        for col in TEXT_COLUMNS:
            value, changes = clean_text(rec.get(col))
            text[col] = value
            for change in changes:
                changed.setdefault(change, []).append(col)
        for change, cols in changed.items():
            issue = Issue.HTML_ENTITIES if change == "html_entities" else Issue.WHITESPACE
            what = "HTML entities unescaped" if change == "html_entities" else "whitespace stripped"
            report.add(issue, Action.FIXED, f"{what} in {', '.join(cols)}", row=row, key=key)
        for col in TEXT_COLUMNS:
            columns[col].append(text[col])

        counts = {c: number(c, parse_int) for c in COUNT_COLUMNS}
        for c in COUNT_COLUMNS:
            columns[c].append(counts[c])
        dead, missing, total = (counts["number_dead"], counts["number_missing"],
                                counts["total_dead_and_missing"])
        if total is not None and (dead is not None or missing is not None) and (
            (dead or 0) + (missing or 0) != total
        ):
            report.reject(Issue.TOTAL_MISMATCH,
                          f"dead {dead} + missing {missing} = {(dead or 0) + (missing or 0)}, "
                          f"not the total {total}", row=row, line=line,
                          column=names.get("total_dead_and_missing"), value=str(total),
                          allowed="the number of dead plus the number of missing", key=key)
        quality = number("source_quality", parse_int)
        columns["source_quality"].append(quality)

        when = number("date", parse_date)
        columns["date"].append(when)
        year = number("year", parse_int)
        if when is not None and year is not None and when.year != year:
            report.add(Issue.YEAR_MISMATCH, Action.FLAGGED,
                       f"date {when.isoformat()} is not in year {year}; both kept",
                       row=row, key=key)
        columns["year"].append(year if year is not None else (when.year if when else None))
        columns["month"].append(_month(rec.get("month"), when, report, row, key))

        box, region_name = _region_box(text["region"], region_bbox)
        where = locate(rec.get("coordinates"), region_bbox=box, region_name=region_name,
                       report=report, row=row, key=key)
        columns["lat"].append(where.lat)
        columns["lon"].append(where.lon)

    columns["coordinates_placeholder"] = flag_placeholders(
        columns["lat"], columns["lon"], columns["location_description"],
        min_places=placeholder_min_places, report=report, keys=keys,
    )
    data: dict[str, Any] = {}
    for col in OUTPUT_COLUMNS:
        values = columns[col]
        if col in TEXT_COLUMNS:
            data[col] = pd.array(values, dtype="string")
        elif col in (*COUNT_COLUMNS, "year", "month", "source_quality"):
            data[col] = pd.array(values, dtype="Int64")
        elif col == "date":
            data[col] = pd.to_datetime(pd.Series(values, dtype="object")).astype("datetime64[ns]")
        elif col in ("lat", "lon"):
            data[col] = pd.array([math.nan if v is None else v for v in values], dtype="float64")
        else:
            data[col] = pd.array(values, dtype="bool")
    geometry = [
        Point(lon, lat) if lat is not None and lon is not None else None
        for lat, lon in zip(columns["lat"], columns["lon"], strict=True)
    ]
    frame = gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4326")
    rejected = report.rejected_rows()
    if rejected:
        frame = frame[[i not in rejected for i in range(len(frame))]].reset_index(drop=True)
    return frame


def _number(value: Any, parse: Callable[[Any], Any], col: str, report: IngestReport, row: int,
            key: str, line: int) -> Any:
    try:
        return parse(value)
    except ValueError:
        is_date = parse is parse_date
        report.reject(Issue.INVALID_DATE if is_date else Issue.INVALID_NUMBER,
                      "not a date" if is_date else "not a whole number", row=row, line=line,
                      column=col, value=str(value),
                      allowed="a date such as 2024-01-31, or empty" if is_date
                      else "a whole number, or empty", key=key)
        return None


_MONTHS = {
    name: i + 1 for i, name in enumerate(
        ("january", "february", "march", "april", "may", "june", "july", "august",
         "september", "october", "november", "december")
    )
}


def _month(value: Any, when: date | None, report: IngestReport, row: int, key: str) -> int | None:
    s = "" if value is None else str(value).strip().lower()
    if not s:
        return when.month if when else None
    if s in _MONTHS:
        return _MONTHS[s]
    if s[:3] in {m[:3] for m in _MONTHS} and len(s) == 3:
        return next(i for m, i in _MONTHS.items() if m.startswith(s))
    try:
        month = parse_int(s)
    except ValueError:
        month = None
    if month is not None and 1 <= month <= 12:
        return month
    report.add(Issue.INVALID_NUMBER, Action.FIXED,
               f"Month {value!r} unreadable; set to {when.month if when else 'NA'} from the date",
               row=row, key=key)
    return when.month if when else None
