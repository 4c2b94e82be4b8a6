"""A submission is checked whole before anything is stored: every bad field of every row is
reported by its line (CSV; the header is line 1) or record (JSON), and one bad field refuses
the file (`IngestRefused`, the ingest package's all-or-nothing refusal).

Checks, in the vocabulary of `data_catalog.vocabulary` and the issue codes of the readers'
report: types (`invalid_number`), ISO 3166-1 alpha-3 codes and ISO 3166-2 areas
(`unknown_code`), ISO 8601 months (`invalid_date`, `out_of_range` for a month that does not
exist or has not ended), ranges (`out_of_range`: counts from 0 to `max_count`), empty fields
(`missing_value`), duplicates (`duplicate_key`), totals that their detail rows do not add up
to (`total_mismatch`), points and areas outside the declared country (`outside_region`), and
the configured rules (`validation_rule`, `rules.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import shapely

from data_catalog.errors import SourceFormatError
from data_catalog.exchange.formats import PLACE_COLUMNS, Field, columns, fields, key_columns
from data_catalog.exchange.rules import ExchangeConfig
from data_catalog.ingest.refusal import IngestRefused
from data_catalog.readers._common import new_report, parse_int, read_csv, resolve_columns
from data_catalog.readers.flow_counts import ALLOWED, HINTS, normalise
from data_catalog.readers.report import Action, IngestReport, Issue, line_ranges
from data_catalog.vocabulary import (
    ADMIN_AREA_PATTERN,
    BREAKDOWN_COLUMNS,
    TOTAL,
    admin_area_codes,
    alpha_2,
    country_codes,
    is_point_id,
    nationality_codes,
)

READER = "data_catalog.exchange.validate:validate_submission"
RULE_ISSUE = "validation_rule"
"""The issue code of a row that breaks a configured rule."""


class ForeignCountry(Exception):
    """Rows for another country than the token's: refused whole (403), nothing read further.

    Attributes:
        countries: the other countries named.
        lines: where (lines or records).
    """

    def __init__(self, countries: list[str], lines: list[int], positions: str) -> None:
        self.countries = countries
        self.lines = lines
        super().__init__(f"rows for {', '.join(countries)} ({positions}s {line_ranges(lines)})")


@dataclass
class Located:
    """Where the places of a country are: its known crossing points (id → point, CRS84) and
    its outline (None when the data dir has none)."""

    points: Mapping[str, shapely.Geometry] = field(default_factory=dict)
    outline: shapely.Geometry | None = None


@dataclass
class Checked:
    """A submission that passed every check.

    Attributes:
        kind: crossings or displacement.
        country: the submitting country (alpha-3).
        rows: the detail rows (no `_T`), values as text and `count` as int, in file order.
        months: the months covered, sorted.
        report: the report (warnings and values normalised included).
    """

    kind: str
    country: str
    rows: list[dict[str, Any]]
    months: list[str]
    report: IngestReport


@dataclass
class _Row:
    index: int
    line: int
    values: dict[str, str]
    count: int | None = None


def read_rows(path: Path, report: IngestReport, kind: str) -> list[_Row]:
    """The rows of a CSV or JSON file, as text (JSON: an array of objects, or an object with
    `rows`)."""
    names = columns(kind)
    optional = [c for c in names if c in PLACE_COLUMNS]
    head = path.read_bytes()[:64].lstrip()
    if head.startswith((b"[", b"{")):
        report.positions = "record"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SourceFormatError(f"not valid JSON: {error}", path=path) from None
        records = document.get("rows") if isinstance(document, dict) else document
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SourceFormatError("JSON must be an array of row objects, or an object with "
                                    "`rows`", path=path)
        report.rows_read = len(records)
        return [_Row(i, i + 1, {c: "" if r.get(c) is None else str(r[c]) for c in names})
                for i, r in enumerate(records)]
    table = read_csv(path, report, hxl=False)
    required = [c for c in names if c not in optional]
    found = resolve_columns(table.header, required, optional, path=path)
    report.rows_read = len(table.rows)
    index = {name: table.header.index(col) for name, col in found.items()}
    return [_Row(i, table.lines[i], {c: cells[index[c]] if c in index else "" for c in names})
            for i, cells in enumerate(table.rows)]


def _last_ended_month(today: date) -> str:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def validate_submission(path: Path, *, kind: str, country: str, places: Located,
                        config: ExchangeConfig, today: date | None = None) -> Checked:
    """Check a submission file whole; see the module docstring.

    Args:
        path: the file (CSV or JSON).
        kind: crossings or displacement.
        country: the token's country (alpha-3).
        places: the country's known points and outline.
        config: limits and rules.
        today: the date months must have ended by (default: today, UTC).

    Raises:
        ForeignCountry: rows for another country (nothing else is checked).
        IngestRefused: any bad field; the report lists every one by line.
        SourceFormatError, MissingColumnError: a file that is not a table of this kind.
    """
    report = new_report(f"exchange:{kind}", READER, [path], unit="row")
    rows = read_rows(path, report, kind)
    if len(rows) > config.max_rows:
        raise SourceFormatError(f"{len(rows)} rows; a submission holds at most "
                                f"{config.max_rows}", path=path)
    if not rows:
        raise SourceFormatError("the file has no rows", path=path)
    foreign = [(r.line, r.values["country"].strip().upper()) for r in rows
               if r.values["country"].strip() and r.values["country"].strip().upper() != country]
    if foreign:
        raise ForeignCountry(sorted({c for _, c in foreign}), [line for line, _ in foreign],
                             report.positions)
    last = _last_ended_month(today or datetime.now(UTC).date())
    checker = _RowChecker(kind, country, places, config, last, report)
    good: list[_Row] = []
    seen: dict[tuple[str, ...], int] = {}
    keys = key_columns(kind)
    for row in rows:
        if not checker.check(row):
            continue
        ident = tuple(row.values[c] for c in keys)
        if ident in seen:
            report.reject(Issue.DUPLICATE_KEY, f"the same key as {report.positions} "
                          f"{seen[ident]}", row=row.index, line=row.line,
                          column=", ".join(keys), value=",".join(ident),
                          allowed="each combination of the key columns once")
            continue
        seen[ident] = row.line
        good.append(row)
    details = _check_totals(good, report, kinds=keys)
    _check_rules(details, kind, config, report)
    if report.rows_rejected:
        raise IngestRefused(report, path)
    out = [{**r.values, "count": r.count} for r in details]
    return Checked(kind, country, out, sorted({r.values["month"] for r in details}), report)


class _RowChecker:
    """Field-by-field checks of one row (every bad field reported)."""

    def __init__(self, kind: str, country: str, places: Located, config: ExchangeConfig,
                 last_month: str, report: IngestReport) -> None:
        self.kind = kind
        self.country = country
        self.places = places
        self.config = config
        self.last_month = last_month
        self.report = report
        self.fields = fields(kind)
        self.prefix = alpha_2(country) or ""
        self.allowed = {f.name: self._allowed(f) for f in self.fields}

    def check(self, row: _Row) -> bool:
        bad = False

        def reject(issue: Issue | str, f: Field, detail: str, allowed: str) -> None:
            nonlocal bad
            bad = True
            hint = HINTS.get((f.name, row.values[f.name].strip()))
            self.report.reject(issue, detail + (f"; {hint}" if hint else ""), row=row.index,
                               line=row.line, column=f.name, value=row.values[f.name],
                               allowed=allowed)

        fixed = []
        for f in self.fields:
            raw = row.values[f.name]
            value = normalise(f.name, raw) if f.name in ALLOWED else raw.strip()
            if f.type in ("country", "area"):
                value = value.upper()
            if value != raw:
                fixed.append(f"{f.name} {raw!r} → {value!r}")
            row.values[f.name] = value
            if not value:
                if f.required:
                    reject(Issue.MISSING_VALUE, f, "empty", self.allowed[f.name])
                continue
            if f.type == "count":
                row.count = self._count(value, f, reject)
            else:
                self._value(f, value, reject)
        if self.kind == "crossings":
            given = [c for c in PLACE_COLUMNS if row.values[c]]
            if len(given) != 1:
                place = next(f for f in self.fields if f.name == "point_id")
                reject(Issue.MISSING_VALUE, place, "give exactly one of point_id and "
                       f"admin_area ({'both' if given else 'neither'} given)",
                       "a crossing point id or an ISO 3166-2 area")
        if fixed and not bad:
            self.report.add(Issue.VALUE_NORMALISED, Action.FIXED, "; ".join(fixed),
                            row=row.index, line=row.line)
        return not bad

    def _allowed(self, f: Field) -> str:
        if f.type == "code":
            return ", ".join(f.codes) + (f"; {TOTAL} for the total" if f.total else "")
        return {
            "country": f"{self.country} (the token's country)",
            "point": f"a known crossing point of {self.country}: "
                     f"{', '.join(sorted(self.places.points)) or 'none'}",
            "area": f"an ISO 3166-2 code of {self.country} (e.g. {self.prefix}-1)",
            "month": f"a month YYYY-MM that has ended (up to {self.last_month})",
            "nationality": ALLOWED["nationality"],
            "text": "text of 1 to 100 characters",
            "count": f"a whole number of persons from 0 to {self.config.max_count}",
        }[f.type]

    def _count(self, value: str, f: Field, reject: Any) -> int | None:
        try:
            count = parse_int(value)
        except ValueError:
            reject(Issue.INVALID_NUMBER, f, "not a whole number", self.allowed[f.name])
            return None
        if count is None or not 0 <= count <= self.config.max_count:
            reject(Issue.OUT_OF_RANGE, f, "outside the allowed range", self.allowed[f.name])
            return None
        return count

    def _value(self, f: Field, value: str, reject: Any) -> None:
        allowed = self.allowed[f.name]
        if f.type == "country":
            if value not in country_codes():
                reject(Issue.UNKNOWN_CODE, f, "not an ISO 3166-1 alpha-3 code", allowed)
        elif f.type == "month":
            m = re.fullmatch(r"(\d{4})-(\d{2})", value)
            if m is None:
                reject(Issue.INVALID_DATE, f, "not an ISO 8601 month YYYY-MM", allowed)
            elif not 1 <= int(m.group(2)) <= 12:
                reject(Issue.OUT_OF_RANGE, f, f"month {m.group(2)} does not exist", allowed)
            elif value > self.last_month:
                reject(Issue.OUT_OF_RANGE, f, "the month has not ended yet", allowed)
        elif f.type == "code":
            if value not in f.codes and not (f.total and value == TOTAL):
                reject(Issue.UNKNOWN_CODE, f, f"not a {f.name} of the vocabulary", allowed)
        elif f.type == "nationality":
            if value != TOTAL and value not in nationality_codes():
                reject(Issue.UNKNOWN_CODE, f, "not an ISO 3166-1 alpha-3 code", allowed)
        elif f.type == "text":
            if len(value) > 100 or any(ord(c) < 32 for c in value):
                reject(Issue.OUT_OF_RANGE, f, "longer than 100 characters or with control "
                       "characters", allowed)
        elif f.type == "point":
            self._point(f, value, reject, allowed)
        elif f.type == "area" and value not in admin_area_codes(self.country):
            elsewhere = re.fullmatch(ADMIN_AREA_PATTERN, value) and value[:2] != self.prefix
            reject(Issue.OUTSIDE_REGION if elsewhere else Issue.UNKNOWN_CODE, f,
                   f"not an admin area of {self.country}", allowed)

    def _point(self, f: Field, value: str, reject: Any, allowed: str) -> None:
        if not is_point_id(value):
            reject(Issue.UNKNOWN_CODE, f, "not a crossing point id", allowed)
            return
        if value[:2] != self.prefix:
            reject(Issue.OUTSIDE_REGION, f, f"a point of {value[:2]}, not of {self.country}",
                   allowed)
            return
        where = self.places.points.get(value)
        if where is None:
            reject(Issue.UNKNOWN_CODE, f, "not a known crossing point", allowed)
        elif self.places.outline is not None and not self.places.outline.covers(where):
            reject(Issue.OUTSIDE_REGION, f, f"the point lies outside {self.country}", allowed)


def _check_totals(rows: list[_Row], report: IngestReport, kinds: list[str]) -> list[_Row]:
    """Check every total row (`_T` in a breakdown column) against its detail rows; returns
    the detail rows."""
    details = [r for r in rows if TOTAL not in r.values.values()]
    totals = [r for r in rows if TOTAL in r.values.values()]
    for total in totals:
        fixed = {c: total.values[c] for c in kinds if total.values[c] != TOTAL}
        parts = [r for r in details if all(r.values[c] == v for c, v in fixed.items())]
        summed = sum(r.count or 0 for r in parts)
        if summed == total.count:
            continue
        over = [c for c in BREAKDOWN_COLUMNS if total.values.get(c) == TOTAL]
        where = line_ranges([r.line for r in parts]) if parts else "none"
        report.reject(Issue.TOTAL_MISMATCH,
                      f"the total over {', '.join(over)} is {total.count} but its detail "
                      f"rows ({report.positions}s {where}) add up to {summed}",
                      row=total.index, line=total.line, column="count",
                      value=str(total.count), allowed=f"the sum of the detail rows ({summed})")
    return details


def _check_rules(rows: list[_Row], kind: str, config: ExchangeConfig,
                 report: IngestReport) -> None:
    """Apply the configured rules of this kind to groups of detail rows."""
    for rule in config.rules:
        if rule.kind != kind:
            continue
        groups: dict[tuple[str, ...], list[_Row]] = {}
        rejected = report.rejected_rows()
        for row in rows:
            if row.index in rejected:
                continue
            groups.setdefault(tuple(row.values.get(c, "") for c in rule.group_by),
                              []).append(row)
        for key, members in groups.items():
            total = sum(r.count or 0 for r in members)
            if total < rule.minimum_total:
                continue
            left = rule.left.factor * sum(r.count or 0 for r in members
                                          if rule.left.matches(r.values))
            right = rule.right.factor * sum(r.count or 0 for r in members
                                            if rule.right.matches(r.values))
            if rule.holds(left, right):
                continue
            label = " ".join(k for k in key if k)
            detail = (f"rule {rule.id}: {rule.description} ({label}: {left:g} "
                      f"{rule.operator} {right:g} does not hold)")
            if rule.importance == "warning":
                report.add(RULE_ISSUE, Action.FLAGGED, detail, key=label,
                           count=len(members), line=members[0].line)
                continue
            for r in members:
                report.reject(RULE_ISSUE, detail, row=r.index, line=r.line, column="count",
                              value=str(r.count), allowed=f"{rule.left.where or 'all'} "
                              f"{rule.operator} {rule.right.factor:g} × "
                              f"{rule.right.where or 'all'}")
