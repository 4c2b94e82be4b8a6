"""Reader for flow counts by crossing point: cmrisk's own template for data that national
migration services and IOM DTM share (restricted: small counts must not be published as they are).

Template (`data_catalog/sources/flow_counts_template.csv`), one count per row, in the one flow
vocabulary (`data_catalog.vocabulary`):

```
point_id,month,direction,nationality,sex,age_group,count
```

| column | values |
|---|---|
| `point_id` | a crossing point id: country (alpha-2), `-`, 2-8 letters or digits: `PA-BCH` |
| `month` | `YYYY-MM` |
| `direction` | `northbound` or `southbound` |
| `nationality` | ISO 3166-1 alpha-3 (upper case), `ZZZ` when unknown or not stated |
| `sex` | `F`, `M`, `U` (unknown) |
| `age_group` | `0-4`, `5-11`, `12-17`, `18-59`, `60+`, `U` (children = the first three) |
| `count` | persons, integer >= 0 |

`_T` in `nationality`, `sex` or `age_group` makes a **total row** (SDMX's code for the total
over that column): it is checked against the detail rows it sums and is not in the result.

The JSON Schema of a row (`data_catalog/sources/flow_counts.schema.json`) is generated from
`FlowCountRow`; a test keeps the two equal.

Output: a DataFrame (or GeoDataFrame with `points=`) with `point_id`, `month` (datetime64[ns],
first day of the month), `direction`, `nationality`, `sex`, `age_group` (strings) and `count`
(Int64, persons). Values that differ from the vocabulary only in case, spaces or hyphens
(`North-bound`, `f`, `ven`, `2024-1`, `pa-bch`) are normalised (reported as fixed). Every other
bad field is **rejected** with its file line (the header is line 1), the column, the value,
the reason and the allowed values, one entry per bad field: a value of the wrong type
(`invalid_number`, `invalid_date`), out of range (`out_of_range`), not in the vocabulary or not
a known point (`unknown_code`), empty (`missing_value`), a second row with the same key
(`duplicate_key`), a total that its detail rows do not add up to (`total_mismatch`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import geopandas as gpd
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import Point

from data_catalog.readers._common import (
    PathLike,
    as_paths,
    new_report,
    parse_int,
    provenance,
    read_csv,
    resolve_columns,
)
from data_catalog.readers.report import Action, IngestReport, Issue, ReadResult, line_ranges
from data_catalog.vocabulary import (
    AGE_GROUPS,
    BREAKDOWN_COLUMNS,
    COLUMNS,
    DIRECTIONS,
    KEY,
    MONTH_PATTERN,
    POINT_ID_PATTERN,
    SEXES,
    TOTAL,
    UNKNOWN_NATIONALITY,
    is_point_id,
    nationality_codes,
)

SOURCE_ID = "flow_counts"
READER = "data_catalog.readers.flow_counts:read_flow_counts"

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "sources" / "flow_counts.schema.json"
"""Where the published JSON Schema lives."""

Direction = Literal["northbound", "southbound"]
Sex = Literal["F", "M", "U", "_T"]
AgeGroup = Literal["0-4", "5-11", "12-17", "18-59", "60+", "U", "_T"]
if (set(get_args(Direction)) != set(DIRECTIONS) or set(get_args(Sex)) != {*SEXES, TOTAL}
        or set(get_args(AgeGroup)) != {*AGE_GROUPS, TOTAL}):  # pragma: no cover
    raise ImportError("FlowCountRow's literals differ from data_catalog.vocabulary")


class FlowCountRow(BaseModel):
    """One row of the flow counts template: persons counted at one point in one month.

    Attributes:
        point_id: Crossing point id, e.g. `PA-BCH`.
        month: Calendar month, `YYYY-MM`.
        direction: Direction of travel.
        nationality: ISO 3166-1 alpha-3 code, `ZZZ` when unknown, `_T` for the total.
        sex: `F`, `M`, `U` (unknown), `_T` for the total.
        age_group: Age group in years (`60+` is 60 and over), `U` unknown, `_T` the total.
        count: Number of persons (>= 0).
    """

    model_config = ConfigDict(
        extra="forbid",
        title="cmrisk flow count row",
        json_schema_extra={
            "description": "Persons counted at one crossing point in one month, by direction, "
            "nationality, sex and age group (cmrisk flow counts template). `_T` in "
            "nationality, sex or age_group states the total over that column. Confidential: "
            "publish only after disclosure control.",
        },
    )

    point_id: str = Field(pattern=POINT_ID_PATTERN,
                          description="crossing point id: ISO 3166-1 alpha-2 of its country, "
                          "'-', 2-8 upper-case letters or digits (e.g. PA-BCH)")
    month: str = Field(pattern=MONTH_PATTERN, description="calendar month YYYY-MM")
    direction: Direction = Field(description="direction of travel")
    nationality: str = Field(pattern=r"^([A-Z]{3}|_T)$",
                             description="ISO 3166-1 alpha-3 code; ZZZ when unknown or not "
                             "stated; _T for the total over nationalities")
    sex: Sex = Field(description="F, M, U (unknown or not stated); _T for the total")
    age_group: AgeGroup = Field(description="age group in years (60+ is 60 and over); U "
                                "unknown; _T for the total")
    count: int = Field(ge=0, description="number of persons")


def flow_counts_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one flow counts row, generated from `FlowCountRow`."""
    schema = FlowCountRow.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write `flow_counts_schema()` to `path` (the published schema file); returns the path."""
    path.write_text(json.dumps(flow_counts_schema(), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


ALLOWED: dict[str, str] = {
    "point_id": "a crossing point id: ISO 3166-1 alpha-2 of its country, '-', 2-8 upper-case "
                "letters or digits (e.g. PA-BCH)",
    "month": "a month YYYY-MM with MM from 01 to 12, e.g. 2024-01",
    "direction": ", ".join(DIRECTIONS),
    "nationality": f"an ISO 3166-1 alpha-3 code, e.g. VEN, COL, HTI; {UNKNOWN_NATIONALITY} "
                   f"when unknown; {TOTAL} for the total",
    "sex": ", ".join(SEXES) + f" (U = unknown); {TOTAL} for the total",
    "age_group": ", ".join(AGE_GROUPS) + f" (U = unknown); {TOTAL} for the total",
    "count": "a whole number of persons, 0 or more",
}
"""What each column may hold, as told to the person who made the file."""

HINTS: dict[tuple[str, str], str] = {
    ("sex", "female"): "write F", ("sex", "male"): "write M", ("sex", "unknown"): "write U",
    ("age_group", "0-17"): "give 0-4, 5-11 and 12-17 as three rows",
    ("age_group", "unknown"): "write U", ("nationality", "UNK"): "write ZZZ",
    ("direction", "north"): "write northbound", ("direction", "south"): "write southbound",
}
"""Values of older templates and common slips, with what to write instead."""


def _squash(value: str) -> str:
    return re.sub(r"[\s_\-]+", "", value.lower())


def _normalise(col: str, value: str) -> str:
    """The value with differences of case, spaces and hyphens removed (never a guess)."""
    s = value.strip()
    if col == "direction":
        return next((d for d in DIRECTIONS if _squash(s) == _squash(d)), s)
    if col in ("sex", "nationality", "point_id"):
        return s if s == TOTAL else s.upper()
    if col == "age_group":
        compact = re.sub(r"\s+", "", s)
        return compact.upper() if compact.lower() == "u" else compact
    if col == "month":
        m = re.fullmatch(r"(\d{4})[-/](\d{1,2})", s)
        return f"{m.group(1)}-{int(m.group(2)):02d}" if m else s
    return s


def normalise(col: str, value: str) -> str:
    """A value of a template column with differences of case, spaces and hyphens removed
    (`North-bound` → `northbound`, `ven` → `VEN`, `2024-1` → `2024-01`); never a guess."""
    return _normalise(col, value)


@dataclass
class _Row:
    """A row of the file as read: its position, line and normalised values."""

    index: int
    line: int
    values: dict[str, str]
    count: int | None


def read_flow_counts(
    path: PathLike,
    *,
    points: gpd.GeoDataFrame | Mapping[str, tuple[float, float]] | None = None,
    known_points: Collection[str] | None = None,
    source_id: str = SOURCE_ID,
) -> ReadResult[pd.DataFrame]:
    """Read a flow counts CSV in the template's layout, validating every field of every row.

    Args:
        path: The CSV file (UTF-8, or Latin-1/Windows-1252).
        points: Optional locations of the points: a GeoDataFrame with a `point_id` column, or
            {point_id: (lon, lat)} in degrees. With it the result is a GeoDataFrame; rows at an
            unknown point keep an empty geometry (reported).
        known_points: The point ids the data may name (e.g. the crossing points of the data
            dir); a row naming another is rejected (`unknown_code`). None: any well-formed id.
        source_id: Source id written into the provenance.

    Returns:
        The good rows (total rows excluded) and the ingest report.

    Raises:
        SourceFormatError: A binary or empty file.
        MissingColumnError: A template column is absent (named).
    """
    (p,) = as_paths(path)
    report = new_report(source_id, READER, [p], unit="row")
    table = read_csv(p, report, hxl=False)
    cols = resolve_columns(table.header, COLUMNS, path=p)
    extra = [h for h in table.header if h not in cols.values()]
    if extra:
        report.add(Issue.UNKNOWN_COLUMN, Action.SKIPPED, f"columns not in the template ignored: "
                   f"{', '.join(extra)}", count=0)
    index = {name: table.header.index(col) for name, col in cols.items()}
    report.rows_read = len(table.rows)
    known = set(known_points) if known_points is not None else None
    good: list[_Row] = []
    rejected: list[_Row] = []
    seen: dict[tuple[str, ...], int] = {}
    for i, cells in enumerate(table.rows):
        line = table.lines[i]
        raw = {name: cells[j] for name, j in index.items()}
        row = _check_row(i, line, raw, cols, known, report)
        if row is None:
            rejected.append(_Row(i, line, {c: _normalise(c, raw[c]) for c in KEY}, None))
            continue
        ident = tuple(row.values[c] for c in KEY)
        if ident in seen:
            report.reject(Issue.DUPLICATE_KEY,
                          f"the same key as line {seen[ident]}",
                          row=i, line=line, column=", ".join(cols[c] for c in KEY),
                          value=",".join(ident), key=",".join(ident),
                          allowed="each point, month, direction, nationality, sex and age "
                          "group once")
            rejected.append(row)
            continue
        seen[ident] = line
        good.append(row)
    details = _check_totals(good, rejected, report, cols)
    frame = _frame([r.values | {"count": r.count} for r in details])
    result: pd.DataFrame = frame
    if points is not None:
        result = _attach_points(frame, points, report)
    result.attrs.update(provenance(report, access="restricted"))
    result.attrs["units"] = {"count": "persons", "month": "month (first day)"}
    return ReadResult(result, report)


def _check_row(i: int, line: int, raw: dict[str, str], cols: dict[str, str],
               known: set[str] | None, report: IngestReport) -> _Row | None:
    """Validate one row field by field; None when any field is bad (each one reported)."""
    key = ",".join(raw[c].strip() for c in KEY)
    values: dict[str, str] = {}
    bad = False
    fixed: list[str] = []

    def reject(issue: Issue, col: str, detail: str) -> None:
        nonlocal bad
        bad = True
        hint = HINTS.get((col, raw[col].strip()))
        report.reject(issue, detail + (f"; {hint}" if hint else ""), row=i, line=line,
                      column=cols[col], value=raw[col], allowed=ALLOWED[col], key=key)

    for col in KEY:
        value = _normalise(col, raw[col])
        if value != raw[col]:
            fixed.append(f"{cols[col]} {raw[col]!r} → {value!r}")
        values[col] = value
        if not value:
            reject(Issue.MISSING_VALUE, col, "empty")
        elif col == "point_id":
            if not is_point_id(value):
                listed = f" (known: {', '.join(sorted(known))})" if known else ""
                reject(Issue.UNKNOWN_CODE, col, f"not a crossing point id{listed}")
            elif known is not None and value not in known:
                reject(Issue.UNKNOWN_CODE, col, "not a known crossing point (known: "
                       f"{', '.join(sorted(known)) or 'none'})")
        elif col == "month":
            m = re.fullmatch(r"(\d{4})-(\d{2})", value)
            if m is None:
                reject(Issue.INVALID_DATE, col, "not a month YYYY-MM")
            elif not 1 <= int(m.group(2)) <= 12:
                reject(Issue.OUT_OF_RANGE, col, f"month {m.group(2)} does not exist")
        elif col == "direction" and value not in DIRECTIONS:
            reject(Issue.UNKNOWN_CODE, col, "not a direction of the vocabulary")
        elif col == "nationality" and value != TOTAL and value not in nationality_codes():
            reject(Issue.UNKNOWN_CODE, col, "not an ISO 3166-1 alpha-3 code")
        elif col == "sex" and value not in (*SEXES, TOTAL):
            reject(Issue.UNKNOWN_CODE, col, "not a sex code of the vocabulary")
        elif col == "age_group" and value not in (*AGE_GROUPS, TOTAL):
            reject(Issue.UNKNOWN_CODE, col, "not an age group of the vocabulary")
    count: int | None = None
    text = raw["count"].strip()
    if not text:
        reject(Issue.MISSING_VALUE, "count", "empty")
    else:
        try:
            count = parse_int(text)
        except ValueError:
            reject(Issue.INVALID_NUMBER, "count", "not a whole number")
        else:
            if count is not None and count < 0:
                reject(Issue.OUT_OF_RANGE, "count", "a count cannot be negative")
                count = None
    if bad:
        return None
    if fixed:
        report.add(Issue.VALUE_NORMALISED, Action.FIXED, "; ".join(fixed), row=i, key=key,
                   line=line)
    return _Row(i, line, values, count)


def _check_totals(rows: list[_Row], rejected: list[_Row], report: IngestReport,
                  cols: dict[str, str]) -> list[_Row]:
    """Check every total row against the detail rows it sums; returns the detail rows.

    A total row (`_T` in some breakdown columns) must equal the sum of the detail rows (no
    `_T` at all) with the same point, month, direction and the same values in its other
    columns. A total that does not is rejected, naming the detail lines and their sum.
    """
    details = [r for r in rows if TOTAL not in r.values.values()]
    totals = [r for r in rows if TOTAL in r.values.values()]
    for total in totals:
        fixed = {c: v for c, v in total.values.items() if v != TOTAL}
        parts = [r for r in details if all(r.values[c] == v for c, v in fixed.items())]
        summed = sum(r.count or 0 for r in parts)
        if summed == total.count:
            continue
        over = [cols[c] for c in BREAKDOWN_COLUMNS if total.values[c] == TOTAL]
        lines = line_ranges([r.line for r in parts])
        label = "line" if len(parts) == 1 else "lines"
        bad = [r.line for r in rejected if TOTAL not in r.values.values()
               and all(r.values.get(c) == v for c, v in fixed.items())]
        skipped = (f"; {'line' if len(bad) == 1 else 'lines'} {line_ranges(bad)}, rejected "
                   "above, are not counted") if bad else ""
        report.reject(
            Issue.TOTAL_MISMATCH,
            f"the total over {', '.join(over)} is {total.count} but its {len(parts)} detail "
            f"row(s) ({label + ' ' + lines if parts else 'none'}) add up to {summed}{skipped}",
            row=total.index, line=total.line, column=cols["count"], value=str(total.count),
            allowed=f"the sum of the detail rows ({summed})",
            key=",".join(total.values[c] for c in KEY))
    return details


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for col in COLUMNS:
        values = [r[col] for r in rows]
        if col == "month":
            data[col] = pd.to_datetime(pd.Series([f"{v}-01" for v in values], dtype="object"),
                                       format="%Y-%m-%d").astype("datetime64[ns]")
        elif col == "count":
            data[col] = pd.array(values, dtype="Int64")
        else:
            data[col] = pd.array(values, dtype="string")
    return pd.DataFrame(data)


def _attach_points(frame: pd.DataFrame,
                   points: gpd.GeoDataFrame | Mapping[str, tuple[float, float]],
                   report: IngestReport) -> gpd.GeoDataFrame:
    if isinstance(points, gpd.GeoDataFrame):
        located = points.to_crs(4326)
        lookup = dict(zip(located["point_id"].astype(str), located.geometry, strict=True))
    else:
        lookup = {k: Point(lon, lat) for k, (lon, lat) in points.items()}
    unknown: dict[str, int] = {}
    geoms = []
    for pid in frame["point_id"].astype(str):
        geom = lookup.get(pid)
        if geom is None:
            unknown[pid] = unknown.get(pid, 0) + 1
        geoms.append(geom)
    for pid, n in unknown.items():
        report.add(Issue.UNKNOWN_POINT, Action.FLAGGED,
                   f"point_id {pid!r} has no location; {n} row(s) kept without a geometry",
                   key=pid, count=n)
    return gpd.GeoDataFrame(frame.copy(), geometry=geoms, crs="EPSG:4326")
