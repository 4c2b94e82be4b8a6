"""Helpers shared by the readers: provenance, text decoding, CSV rows, value parsing, columns."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from data_catalog.errors import MissingColumnError, SourceFormatError
from data_catalog.limits import check_feature_count
from data_catalog.readers.report import Action, IngestReport, Issue

PathLike = str | Path

CHUNK = 1 << 20


def sha256_file(path: PathLike) -> str:
    """SHA-256 of a file's bytes (hex); a directory hashes the sorted names and bytes inside."""
    p = Path(path)
    digest = hashlib.sha256()
    files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            digest.update(str(f.relative_to(p)).encode())
        with f.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def new_report(source_id: str, reader: str, paths: Sequence[Path], unit: str) -> IngestReport:
    """An empty report carrying the names and SHA-256 digests of the input files."""
    return IngestReport(
        source_id=source_id,
        reader=reader,
        source_files=[p.name for p in paths],
        sha256=[sha256_file(p) for p in paths],
        unit=unit,
    )


def provenance(report: IngestReport, **extra: str) -> dict[str, str]:
    """The provenance attrs every result carries (all strings, so NetCDF/GeoTIFF can keep them).

    Keys: `source_id`, `source_files` and `sha256` (space-separated, same order), `reader`,
    `read_at` (UTC, ISO 8601), plus `extra`.
    """
    attrs = {
        "source_id": report.source_id,
        "source_files": " ".join(report.source_files),
        "sha256": " ".join(report.sha256),
        "reader": report.reader,
        "read_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    attrs.update(extra)
    return attrs


def as_paths(paths: PathLike | Sequence[PathLike]) -> list[Path]:
    """One path or several, as a list of existing paths (a missing one is a FileNotFoundError)."""
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise SourceFormatError("no input file given")
    out = [Path(p) for p in items]
    for p in out:
        if not p.exists():
            raise FileNotFoundError(f"no such file: {p}")
    return out


def decode_text(path: Path, report: IngestReport) -> str:
    """A text file's content: UTF-8 (a BOM is removed), else Windows-1252/Latin-1, reported."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        for encoding in ("cp1252", "latin-1"):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            report.add(
                Issue.ENCODING_FALLBACK,
                Action.FIXED,
                f"not UTF-8 (byte {exc.start}); decoded as {encoding}",
                count=0,
            )
            return text
    raise SourceFormatError("cannot decode the file as text", path=path)  # pragma: no cover


def looks_binary(path: Path) -> bool:
    """True when the first bytes of a file contain NUL bytes (not a text file)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    return b"\x00" in head


@dataclass
class CsvTable:
    """A CSV file as strings: its header and its data rows (HXL rows already removed).

    Attributes:
        header: Column names as in the file (surrounding spaces removed).
        rows: Data rows, each padded or cut to the header's length.
        lines: The 1-based line number in the file where each data row starts.
    """

    header: list[str]
    rows: list[list[str]]
    lines: list[int]


def is_hxl_row(cells: Sequence[str]) -> bool:
    """True for an HXL hashtag row: every non-empty cell starts with `#` (and one cell does)."""
    filled = [c.strip() for c in cells if c.strip()]
    return bool(filled) and all(c.startswith("#") for c in filled)


def read_csv(path: Path, report: IngestReport, *, hxl: bool = True) -> CsvTable:
    """Read a CSV file (RFC 4180: quoted fields may hold commas and newlines) as strings.

    A hashtag row (HXL) right below the header is skipped and reported; blank lines are ignored.
    A file whose header has semicolons and no commas (spreadsheet exports in Spanish locales) is
    read with `;` as the delimiter (reported).
    Rows with more cells than the header are cut (reported as dropped cells); shorter rows are
    padded with empty strings.

    Raises:
        SourceFormatError: When the file is binary or has no header.
    """
    if looks_binary(path):
        raise SourceFormatError("not a CSV text file (binary content)", path=path)
    text = decode_text(path, report)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ","
    if ";" in first and "," not in first:
        delimiter = ";"
        report.add(Issue.DELIMITER, Action.FIXED, "fields separated by ';', read as such",
                   count=0)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    for cells in reader:
        line = start
        start = reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            continue
        if hxl and not rows and is_hxl_row(cells):
            report.add(Issue.HXL_ROW, Action.SKIPPED,
                       f"HXL hashtag row on line {line} is not data: {','.join(cells)[:120]}")
            continue
        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        elif len(cells) > len(header):
            extra = cells[len(header):]
            if any(c.strip() for c in extra):
                report.add(Issue.UNKNOWN_COLUMN, Action.FLAGGED,
                           f"line {line} has {len(cells)} cells for {len(header)} columns; "
                           f"extra cells ignored: {extra!r}", row=len(rows))
            cells = cells[: len(header)]
        rows.append(cells)
        lines.append(line)
    if header is None:
        raise SourceFormatError("empty CSV file (no header)", path=path)
    check_feature_count(len(rows), path, what="rows")
    return CsvTable(header=header, rows=rows, lines=lines)


def _norm_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


def resolve_columns(
    available: Iterable[str],
    required: Iterable[str],
    optional: Iterable[str] = (),
    *,
    path: Path | None = None,
) -> dict[str, str]:
    """Map each wanted column name to the file's own spelling (exact, else case/space-blind).

    Returns:
        {wanted name: name in the file} for every required and every present optional column.

    Raises:
        MissingColumnError: Naming the first required column that is absent.
    """
    have = list(available)
    exact = set(have)
    loose = {_norm_name(h): h for h in have}
    out: dict[str, str] = {}
    for name, needed in [(n, True) for n in required] + [(n, False) for n in optional]:
        if name in exact:
            out[name] = name
        elif _norm_name(name) in loose:
            out[name] = loose[_norm_name(name)]
        elif needed:
            raise MissingColumnError(name, path=path, available=have)
    return out


_INT_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$|^[+-]?\d+$")


def parse_int(text: Any) -> int | None:
    """An integer count from text: '' or None → None; '1,234' → 1234; '3.0' → 3.

    Raises:
        ValueError: For anything else (e.g. '3.5', 'n/a').
    """
    if text is None:
        return None
    if isinstance(text, bool):
        raise ValueError(f"not a number: {text!r}")
    if isinstance(text, int):
        return text
    if isinstance(text, float):
        if math.isnan(text):
            return None
        if text.is_integer():
            return int(text)
        raise ValueError(f"not a whole number: {text!r}")
    s = str(text).strip()
    if not s:
        return None
    if _INT_RE.match(s):
        return int(s.replace(",", ""))
    try:
        value = float(s)
    except ValueError:
        raise ValueError(f"not a number: {s!r}") from None
    if value.is_integer():
        return int(value)
    raise ValueError(f"not a whole number: {s!r}")


def parse_float(text: Any) -> float | None:
    """A float from text: '' or None → None.

    Raises:
        ValueError: When the text is not a number.
    """
    if text is None:
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        return None if isinstance(text, float) and math.isnan(text) else float(text)
    s = str(text).strip()
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"not a number: {s!r}") from None


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%a, %m/%d/%Y - %H:%M",  # the Missing Migrants Drupal export: "Sat, 01/06/2024 - 12:00"
    "%m/%d/%Y",
    "%B %d, %Y",  # "January 6, 2024"
    "%d %B %Y",
    "%Y/%m/%d",
)


def parse_date(text: Any) -> date | None:
    """A calendar date from the formats the sources use; '' or None → None.

    Raises:
        ValueError: When no known format matches.
    """
    if text is None:
        return None
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    s = str(text).strip()
    if not s:
        return None
    # ISO with a time zone or fractional seconds: let fromisoformat try first.
    try:
        return datetime.fromisoformat(s).date()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {s!r}")


def clean_text(value: Any) -> tuple[str | None, list[str]]:
    """Unescape HTML entities and strip surrounding whitespace and newlines.

    Returns:
        (cleaned text or None when empty, list of what was changed: 'html_entities',
        'whitespace').
    """
    if value is None:
        return None, []
    s = str(value)
    changes: list[str] = []
    unescaped = html.unescape(s)
    if unescaped != s:
        changes.append("html_entities")
        s = unescaped
    stripped = s.strip()
    if stripped != s:
        changes.append("whitespace")
        s = stripped
    return (s or None), changes


BBox = tuple[float, float, float, float]
"""A lon/lat box: (west, south, east, north) in degrees."""


def in_bbox(lat: float, lon: float, bbox: BBox) -> bool:
    """True when (lat, lon) lies inside bbox (west, south, east, north), edges included."""
    west, south, east, north = bbox
    return south <= lat <= north and west <= lon <= east


_POINT_WKT = re.compile(r"^\s*POINT\s*\(\s*(\S+)\s+(\S+)\s*\)\s*$", re.IGNORECASE)


def parse_lat_lon(text: str) -> tuple[float, float]:
    """Split a "lat, lon" text (also accepts WKT `POINT (lon lat)`) into two floats.

    Raises:
        ValueError: When the text does not hold exactly two numbers.
    """
    m = _POINT_WKT.match(text)
    if m:
        return float(m.group(2)), float(m.group(1))
    parts = [p for p in re.split(r"[,;\s]+", text.strip()) if p]
    if len(parts) != 2:
        raise ValueError(f"expected 'lat, lon', got {text!r}")
    return float(parts[0]), float(parts[1])


@dataclass
class Coordinates:
    """A parsed point and what was done to it.

    Attributes:
        lat: Latitude (degrees north) or None when unusable.
        lon: Longitude (degrees east) or None when unusable.
    """

    lat: float | None
    lon: float | None


def locate(
    text: Any,
    *,
    region_bbox: BBox | None,
    region_name: str,
    report: IngestReport,
    row: int,
    key: str,
) -> Coordinates:
    """Parse a "lat, lon" text, detect swapped axes, and check it against the declared region.

    Rules, in order (each reported):

    1. Empty → no point (`missing_coordinates`, flagged).
    2. Not two numbers, or out of range both ways → no point (`invalid_coordinates`, flagged).
    3. |lat| > 90 but the swapped pair is valid → swapped (`latlon_swapped`, fixed).
    4. With a region box: outside it, but the swapped pair is inside → swapped
       (`latlon_swapped`, fixed); outside both ways → kept (`outside_region`, flagged).
    """
    s = "" if text is None else str(text).strip()
    if not s:
        report.add(Issue.MISSING_COORDINATES, Action.FLAGGED,
                   "no coordinates; kept without a point", row=row, key=key)
        return Coordinates(None, None)
    try:
        lat, lon = parse_lat_lon(s)
    except ValueError:
        report.add(Issue.INVALID_COORDINATES, Action.FLAGGED,
                   f"cannot read coordinates {s!r}; kept without a point", row=row, key=key)
        return Coordinates(None, None)

    def valid(a: float, o: float) -> bool:
        return math.isfinite(a) and math.isfinite(o) and abs(a) <= 90 and abs(o) <= 180

    if not valid(lat, lon):
        if valid(lon, lat):
            report.add(Issue.LATLON_SWAPPED, Action.FIXED,
                       f"{s!r}: |lat| > 90, read as lat={lon}, lon={lat}", row=row, key=key)
            return Coordinates(lon, lat)
        report.add(Issue.INVALID_COORDINATES, Action.FLAGGED,
                   f"coordinates {s!r} out of range; kept without a point", row=row, key=key)
        return Coordinates(None, None)
    if region_bbox is not None and not in_bbox(lat, lon, region_bbox):
        if valid(lon, lat) and in_bbox(lon, lat, region_bbox):
            report.add(Issue.LATLON_SWAPPED, Action.FIXED,
                       f"{s!r} lies outside {region_name}; swapped it lies inside: "
                       f"lat={lon}, lon={lat}", row=row, key=key)
            return Coordinates(lon, lat)
        report.add(Issue.OUTSIDE_REGION, Action.FLAGGED,
                   f"{s!r} lies outside {region_name} {region_bbox} either way; kept as given",
                   row=row, key=key)
    return Coordinates(lat, lon)


def flag_placeholders(
    lats: Sequence[float | None],
    lons: Sequence[float | None],
    places: Sequence[str | None],
    *,
    min_places: int,
    report: IngestReport,
    keys: Sequence[str],
) -> list[bool]:
    """Flag coordinates that are reused for different places (a placeholder, not a location).

    Coordinates are compared at 5 decimals (~1 m); places by their lower-cased, space-collapsed
    description. A pair shared by at least `min_places` different places flags every row that
    uses it (`placeholder_coordinates`, flagged; the point is kept).

    Returns:
        One bool per row: True where the row's coordinates are a placeholder.
    """
    groups: dict[tuple[float, float], set[str]] = {}
    for lat, lon, place in zip(lats, lons, places, strict=True):
        if lat is None or lon is None:
            continue
        norm = re.sub(r"\s+", " ", (place or "").strip().lower())
        groups.setdefault((round(lat, 5), round(lon, 5)), set()).add(norm)
    shared = {k: v for k, v in groups.items() if len(v) >= min_places}
    out: list[bool] = []
    for i, (lat, lon) in enumerate(zip(lats, lons, strict=True)):
        k = None if lat is None or lon is None else (round(lat, 5), round(lon, 5))
        hit = k is not None and k in shared
        out.append(hit)
        if hit and k is not None:
            report.add(Issue.PLACEHOLDER_COORDINATES, Action.FLAGGED,
                       f"coordinates {k[0]}, {k[1]} are used for {len(shared[k])} different "
                       "places; likely a placeholder, not the location", row=i, key=keys[i])
    return out


def snake(name: str) -> str:
    """A column name in snake_case ('Number of Dead' → 'number_of_dead')."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def units_attr(units: Mapping[str, str]) -> str:
    """Column units as one attrs string: 'col=unit; col=unit' (attrs must stay flat strings)."""
    return "; ".join(f"{k}={v}" for k, v in units.items())


def load_json(path: Path, report: IngestReport) -> Any:
    """A JSON file's content (text decoding reported as for CSV files).

    Raises:
        SourceFormatError: not JSON.
    """
    try:
        return json.loads(decode_text(path, report))
    except json.JSONDecodeError as exc:
        raise SourceFormatError(f"not JSON ({exc})", path=path) from exc
