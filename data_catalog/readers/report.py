"""What a reader did to a file: counts of rows read, kept, dropped and fixed, and why.

Every reader returns a `ReadResult` (the data and an `IngestReport`). Nothing is changed or
dropped without an entry here: a rejected row, a repaired value, a normalised category, a masked
raster cell, a skipped non-data line. The report serialises to JSON (`to_json`) so that `cmrisk
ingest` can write it beside the ingested file.

Actions:

| action     | meaning                                                               |
|------------|-----------------------------------------------------------------------|
| `rejected` | the row is bad (see below); it is not in the result                   |
| `dropped`  | the row is not in the result by a documented rule of the reader        |
| `fixed`    | the row is in the result with a value changed (detail says from/to)   |
| `flagged`  | the row is in the result unchanged, but something about it is doubtful |
| `skipped`  | a line that is not data (e.g. an HXL hashtag row) was passed over     |
| `masked`   | raster cells set to NaN (nodata); `count` says how many               |

A row is *rejected* for a value of the wrong type, out of range, an unknown code, a duplicate
key or a breakdown that does not add up to its total: one entry per bad field, naming the
file's `line`, the `column`, the `value` and the `allowed` values; `cmrisk ingest` then refuses
the whole file unless told `--allow-drops`. A row is *dropped* by rule when the reader's
documented behaviour leaves it out (parcels merged into one area, other designations of one
place, a WDPA point site without a reported area).

Issue codes are the members of `Issue`; they are stable strings that tests and tools can match.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Generic, NamedTuple, TypeVar


class Action(StrEnum):
    """What a reader did about an issue (see the module docstring)."""

    REJECTED = "rejected"
    DROPPED = "dropped"
    FIXED = "fixed"
    FLAGGED = "flagged"
    SKIPPED = "skipped"
    MASKED = "masked"


class Issue(StrEnum):
    """The issue codes that readers report."""

    # file level
    ENCODING_FALLBACK = "encoding_fallback"
    DELIMITER = "delimiter"
    HXL_ROW = "hxl_row"
    UNKNOWN_COLUMN = "unknown_column"
    KEY_ORDER = "key_order"
    RENAMED_KEY = "renamed_key"
    REPROJECTED = "reprojected"
    # values
    INVALID_NUMBER = "invalid_number"
    INVALID_DATE = "invalid_date"
    MISSING_VALUE = "missing_value"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_CODE = "unknown_code"
    UNEXPECTED_TYPE = "unexpected_type"
    HTML_ENTITIES = "html_entities"
    WHITESPACE = "whitespace"
    TOTAL_MISMATCH = "total_mismatch"
    YEAR_MISMATCH = "year_mismatch"
    VALUE_NORMALISED = "value_normalised"
    # coordinates and geometry
    MISSING_COORDINATES = "missing_coordinates"
    INVALID_COORDINATES = "invalid_coordinates"
    LATLON_SWAPPED = "latlon_swapped"
    OUTSIDE_REGION = "outside_region"
    PLACEHOLDER_COORDINATES = "placeholder_coordinates"
    EMPTY_GEOMETRY = "empty_geometry"
    INVALID_GEOMETRY = "invalid_geometry"
    ANTIMERIDIAN_SPLIT = "antimeridian_split"
    # WDPA
    IUCN_NOT_REPORTED = "iucn_not_reported"
    IUCN_UNKNOWN = "iucn_unknown"
    POINT_BUFFERED = "point_buffered"
    POINT_WITHOUT_AREA = "point_without_area"
    DUPLICATE_DESIGNATION = "duplicate_designation"
    # IDMC
    END_BEFORE_START = "end_before_start"
    ROUNDED_FALLBACK = "rounded_fallback"
    MISSING_ID = "missing_id"
    # flow counts
    SCHEMA_VIOLATION = "schema_violation"
    DUPLICATE_KEY = "duplicate_key"
    UNKNOWN_POINT = "unknown_point"
    # Natural Earth
    ISO_A3_FALLBACK = "iso_a3_fallback"
    # rasters
    NODATA_MASKED = "nodata_masked"
    NEGATIVE_VALUE = "negative_value"
    SCALED = "scaled"


@dataclass(frozen=True)
class ReportEntry:
    """One thing a reader did.

    Attributes:
        issue: The issue code (an `Issue` value).
        action: What was done (an `Action` value).
        detail: Human-readable detail: the value before and after, the reason.
        row: 0-based position of the record in the source (data rows only, not header or
            HXL lines), or None for a file-level entry.
        key: The record's natural id when it has one (e.g. `WDPAID 555`, `Main ID 2014.MMP1`).
        count: How many rows or cells the entry covers (1 for a row entry).
        line: Where the provider finds the record in the file, 1-based: the line of a CSV file
            (the header is line 1), the record of a JSON array, the feature of a vector layer
            (the report's `positions` says which).
        column: The field the entry is about, spelled as in the file.
        value: The field's value as the file has it.
        allowed: What the field may hold (e.g. `northbound, southbound`).
    """

    issue: str
    action: Action
    detail: str
    row: int | None = None
    key: str | None = None
    count: int = 1
    line: int | None = None
    column: str | None = None
    value: str | None = None
    allowed: str | None = None

    def describe(self, positions: str = "line") -> str:
        """One line for a person: where, which field, what is wrong and what is allowed."""
        where = f"{positions} {self.line}" if self.line is not None else (
            f"row {self.row}" if self.row is not None else "file")
        field = f", {self.column}" if self.column else ""
        value = f" {self.value!r}" if self.value is not None else ""
        allowed = f" (allowed: {self.allowed})" if self.allowed else ""
        return f"{where}{field}{value}: {self.detail}{allowed}"

    def to_dict(self) -> dict[str, Any]:
        """This entry as a JSON-ready dict."""
        data = asdict(self)
        data["action"] = str(self.action)
        data["issue"] = str(self.issue)
        return data


@dataclass
class IngestReport:
    """The account of one read: what came in, what went out, and every change in between.

    Attributes:
        source_id: The source id (`wdpa`, `chirps`, ...).
        reader: The dotted name of the reader function.
        source_files: Base names of the files read.
        sha256: The SHA-256 digests of those files, in the same order (hex).
        unit: What a "row" is here: `row` (tables), `feature` (vectors) or `cell` (rasters).
        rows_read: Records found in the input (data rows, features or cells).
        entries: Every issue, in the order met.
        positions: What an entry's `line` counts: `line` (CSV), `record` (JSON) or `feature`.
    """

    source_id: str
    reader: str
    source_files: list[str] = field(default_factory=list)
    sha256: list[str] = field(default_factory=list)
    unit: str = "row"
    rows_read: int = 0
    entries: list[ReportEntry] = field(default_factory=list)
    positions: str = "line"
    _rejected: set[int] = field(default_factory=set, repr=False, compare=False)

    def add(
        self,
        issue: Issue | str,
        action: Action,
        detail: str,
        *,
        row: int | None = None,
        key: str | None = None,
        count: int = 1,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
        allowed: str | None = None,
    ) -> None:
        """Record one issue (see `ReportEntry` for the arguments)."""
        self.entries.append(
            ReportEntry(issue=str(issue), action=action, detail=detail, row=row, key=key,
                        count=count, line=line, column=column, value=value, allowed=allowed)
        )
        if action is Action.REJECTED and row is not None:
            self._rejected.add(row)

    def reject(self, issue: Issue | str, detail: str, *, row: int, line: int | None,
               column: str | None, value: str | None, allowed: str | None = None,
               key: str | None = None) -> None:
        """Record one bad field of a row (action `rejected`): the row leaves the result."""
        self.add(issue, Action.REJECTED, detail, row=row, key=key, line=line, column=column,
                 value=value, allowed=allowed)

    def rejected(self) -> list[ReportEntry]:
        """Every bad field, in the order met (several per row when a row has several)."""
        return [e for e in self.entries if e.action is Action.REJECTED]

    def rejected_rows(self) -> set[int]:
        """0-based positions of the rejected rows."""
        return set(self._rejected)

    def is_rejected(self, row: int) -> bool:
        """Whether the row at this 0-based position was rejected."""
        return row in self._rejected

    @property
    def rows_rejected(self) -> int:
        """Rows that are bad (see `Action.REJECTED`)."""
        return len(self._rejected)

    def _rows(self, action: Action) -> set[int]:
        return {e.row for e in self.entries if e.action is action and e.row is not None}

    def _file_level(self, action: Action) -> int:
        return sum(e.count for e in self.entries if e.action is action and e.row is None)

    @property
    def rows_dropped(self) -> int:
        """Records not in the result: rejected, or dropped by a rule."""
        return (len(self._rows(Action.DROPPED) | self.rejected_rows())
                + self._file_level(Action.DROPPED))

    @property
    def rows_kept(self) -> int:
        """Records in the result (`rows_read - rows_dropped`)."""
        return self.rows_read - self.rows_dropped

    @property
    def rows_fixed(self) -> int:
        """Records in the result with at least one value changed."""
        gone = self._rows(Action.DROPPED) | self.rejected_rows()
        return len(self._rows(Action.FIXED) - gone) + self._file_level(Action.FIXED)

    @property
    def rows_flagged(self) -> int:
        """Records in the result, unchanged but flagged as doubtful."""
        gone = self._rows(Action.DROPPED) | self.rejected_rows()
        return len(self._rows(Action.FLAGGED) - gone) + self._file_level(Action.FLAGGED)

    @property
    def cells_masked(self) -> int:
        """Raster cells set to NaN because they held nodata."""
        return sum(e.count for e in self.entries if e.action is Action.MASKED)

    @property
    def lines_skipped(self) -> int:
        """Non-data lines passed over (e.g. HXL hashtag rows)."""
        return sum(e.count for e in self.entries if e.action is Action.SKIPPED)

    def issues(self) -> dict[str, int]:
        """Number of entries per issue code."""
        return dict(Counter(e.issue for e in self.entries))

    def for_issue(self, issue: Issue | str) -> list[ReportEntry]:
        """The entries with one issue code, in order."""
        return [e for e in self.entries if e.issue == str(issue)]

    def summary(self) -> str:
        """One line for a terminal: counts per action and per issue."""
        parts = [
            f"{self.rows_read} {self.unit}s read",
            f"{self.rows_kept} kept",
            f"{self.rows_rejected} rejected",
            f"{self.rows_dropped - self.rows_rejected} dropped by rule",
            f"{self.rows_fixed} fixed",
            f"{self.rows_flagged} flagged",
        ]
        if self.cells_masked:
            parts.append(f"{self.cells_masked} masked")
        if self.lines_skipped:
            parts.append(f"{self.lines_skipped} lines skipped")
        issues = ", ".join(f"{k}×{v}" for k, v in sorted(self.issues().items()))
        return "; ".join(parts) + (f" ({issues})" if issues else "")

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict, counts included."""
        return {
            "source_id": self.source_id,
            "reader": self.reader,
            "source_files": list(self.source_files),
            "sha256": list(self.sha256),
            "unit": self.unit,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_dropped": self.rows_dropped,
            "rows_rejected": self.rows_rejected,
            "positions": self.positions,
            "rows_fixed": self.rows_fixed,
            "rows_flagged": self.rows_flagged,
            "cells_masked": self.cells_masked,
            "lines_skipped": self.lines_skipped,
            "issues": self.issues(),
            "entries": [e.to_dict() for e in self.entries],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON text (UTF-8, non-ASCII kept as is)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestReport:
        """Rebuild a report from `to_dict` output (the derived counts are recomputed)."""
        report = cls(
            source_id=data["source_id"],
            reader=data["reader"],
            source_files=list(data.get("source_files", [])),
            sha256=list(data.get("sha256", [])),
            unit=data.get("unit", "row"),
            rows_read=int(data.get("rows_read", 0)),
            positions=data.get("positions", "line"),
        )
        for e in data.get("entries", []):
            report.add(
                e["issue"], Action(e["action"]), e["detail"], row=e.get("row"),
                key=e.get("key"), count=int(e.get("count", 1)), line=e.get("line"),
                column=e.get("column"), value=e.get("value"), allowed=e.get("allowed"),
            )
        return report


def line_ranges(lines: list[int]) -> str:
    """Line numbers as ranges: `[2, 3, 4, 7]` → `2-4, 7`."""
    out: list[str] = []
    for line in sorted(set(lines)):
        if out and out[-1].split("-")[-1] == str(line - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{line}"
        else:
            out.append(str(line))
    return ", ".join(out)


T = TypeVar("T")


class ReadResult(NamedTuple, Generic[T]):
    """What every reader returns: the data and the report (unpacks as `data, report`).

    Attributes:
        data: A GeoDataFrame (EPSG:4326), DataFrame or xarray DataArray, with provenance in
            `.attrs`.
        report: What the reader did to get it.
    """

    data: T
    report: IngestReport
