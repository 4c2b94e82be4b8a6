"""Reader for flow counts by crossing point: cmrisk's own template for data that national
migration services and IOM DTM share (restricted: small counts must not be published as they are).

Template (`data_catalog/sources/flow_counts_template.csv`), one count per row:

```
point_id,month,direction,nationality,sex,age_group,count
```

| column | values |
|---|---|
| `point_id` | the crossing point / reception station id: lower-case letters, digits, `-`, `_` |
| `month` | `YYYY-MM` |
| `direction` | `northbound` or `southbound` |
| `nationality` | ISO 3166-1 alpha-3 (upper case), `UNK` when unknown |
| `sex` | `female`, `male`, `unknown` |
| `age_group` | `0-4`, `5-11`, `12-17`, `18-59`, `60+`, `unknown` (children = the first three) |
| `count` | persons, integer ≥ 0 |

The JSON Schema of a row (`data_catalog/sources/flow_counts.schema.json`) is generated from
`FlowCountRow`, the pydantic model that validates each row here; a test keeps the two equal.

Output: a DataFrame (or GeoDataFrame with `points=`) with `point_id`, `month` (datetime64[ns],
first day of the month), `direction`, `nationality`, `sex`, `age_group` (strings) and `count`
(Int64, persons). Rows that break the schema are dropped (reported with the reason); values
that only differ in case, spaces or hyphens (`Female`, `North-bound`, `ven`, `2024-1`) are
normalised (reported); a second row with the same key (all columns but `count`) is dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry import Point

from data_catalog.readers._common import (
    PathLike,
    as_paths,
    new_report,
    provenance,
    read_csv,
    resolve_columns,
)
from data_catalog.readers.report import Action, IngestReport, Issue, ReadResult

SOURCE_ID = "flow_counts"
READER = "data_catalog.readers.flow_counts:read_flow_counts"
COLUMNS = ("point_id", "month", "direction", "nationality", "sex", "age_group", "count")
KEY = COLUMNS[:-1]

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "sources" / "flow_counts.schema.json"
"""Where the published JSON Schema lives."""

Direction = Literal["northbound", "southbound"]
Sex = Literal["female", "male", "unknown"]
AgeGroup = Literal["0-4", "5-11", "12-17", "18-59", "60+", "unknown"]


class FlowCountRow(BaseModel):
    """One row of the flow counts template: persons counted at one point in one month.

    Attributes:
        point_id: Crossing point or reception station id.
        month: Calendar month, `YYYY-MM`.
        direction: Direction of travel.
        nationality: ISO 3166-1 alpha-3 code, `UNK` when unknown.
        sex: Sex of the persons counted.
        age_group: Age group in years (`60+` is 60 and over).
        count: Number of persons (≥ 0).
    """

    model_config = ConfigDict(
        extra="forbid",
        title="cmrisk flow count row",
        json_schema_extra={
            "description": "Persons counted at one crossing point in one month, by direction, "
            "nationality, sex and age group (cmrisk flow counts template). Confidential: "
            "publish only after disclosure control.",
        },
    )

    point_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$",
                          description="crossing point or reception station id")
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="calendar month YYYY-MM")
    direction: Direction = Field(description="direction of travel")
    nationality: str = Field(pattern=r"^[A-Z]{3}$",
                             description="ISO 3166-1 alpha-3 code; UNK when unknown")
    sex: Sex = Field(description="sex of the persons counted")
    age_group: AgeGroup = Field(description="age group in years; 60+ is 60 and over")
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


_DIRECTIONS = {"northbound": "northbound", "north": "northbound", "southbound": "southbound",
               "south": "southbound"}
_SEXES = {"female": "female", "f": "female", "male": "male", "m": "male", "unknown": "unknown"}


def _normalise(col: str, value: str) -> str:
    s = value.strip()
    if col == "direction":
        return _DIRECTIONS.get(re.sub(r"[\s_\-]+", "", s.lower()), s)
    if col == "sex":
        return _SEXES.get(s.lower(), s)
    if col == "age_group":
        return re.sub(r"\s+", "", s.lower())
    if col == "nationality":
        return s.upper()
    if col == "point_id":
        return s.lower()
    if col == "month":
        m = re.fullmatch(r"(\d{4})[-/](\d{1,2})(?:[-/]\d{1,2})?", s)
        return f"{m.group(1)}-{int(m.group(2)):02d}" if m else s
    return s


def read_flow_counts(
    path: PathLike,
    *,
    points: gpd.GeoDataFrame | Mapping[str, tuple[float, float]] | None = None,
    source_id: str = SOURCE_ID,
) -> ReadResult[pd.DataFrame]:
    """Read a flow counts CSV in the template's layout, validating every row.

    Args:
        path: The CSV file (UTF-8, or Latin-1/Windows-1252).
        points: Optional locations of the points: a GeoDataFrame with a `point_id` column, or
            {point_id: (lon, lat)} in degrees. With it the result is a GeoDataFrame; rows at an
            unknown point keep an empty geometry (reported).
        source_id: Source id written into the provenance.

    Returns:
        The counts and the ingest report.

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
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, ...], int] = {}
    for i, cells in enumerate(table.rows):
        raw = {name: cells[j] for name, j in index.items()}
        key = ",".join(raw[c].strip() for c in KEY)
        norm = {c: _normalise(c, v) for c, v in raw.items()}
        changed = [f"{c} {raw[c]!r} → {norm[c]!r}" for c in COLUMNS if norm[c] != raw[c]]
        try:
            row = FlowCountRow.model_validate(norm)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']} (got {e.get('input')!r})"
                for e in exc.errors()
            )
            report.add(Issue.SCHEMA_VIOLATION, Action.DROPPED, problems, row=i, key=key)
            continue
        if changed:
            report.add(Issue.VALUE_NORMALISED, Action.FIXED, "; ".join(changed), row=i, key=key)
        ident = tuple(getattr(row, c) for c in KEY)
        if ident in seen:
            report.add(Issue.DUPLICATE_KEY, Action.DROPPED,
                       f"same point, month, direction, nationality, sex and age group as row "
                       f"{seen[ident]} (line {table.lines[seen[ident]]}); the first is kept",
                       row=i, key=key)
            continue
        seen[ident] = i
        rows.append(row.model_dump())
    frame = _frame(rows)
    result: pd.DataFrame = frame
    if points is not None:
        result = _attach_points(frame, points, report)
    result.attrs.update(provenance(report, access="restricted"))
    result.attrs["units"] = {"count": "persons", "month": "month (first day)"}
    return ReadResult(result, report)


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
