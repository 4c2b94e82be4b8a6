"""Parsers of the OGC API - Features query parameters: bbox, datetime, limit, offset.

Each takes the text a client sent and returns a typed value or raises `InvalidQuery` naming the
parameter; nothing here knows about HTTP.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from geo_service.features.errors import InvalidQuery
from geo_service.features.model import BBox, Interval

DEFAULT_LIMIT = 100
"""Features per page when the client gives no `limit`."""
MAX_LIMIT = 10_000
"""Largest page; a larger `limit` is clamped to it (OGC API - Features, 7.15.4)."""

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$")
_INTEGER = re.compile(r"^[+-]?\d{1,1000}$")


def parse_bbox(text: str) -> BBox:
    """A bbox from `west,south,east,north` (or the 6-number form with heights), degrees.

    Raises:
        InvalidQuery: not 4 or 6 finite numbers, a latitude outside [-90, 90], a longitude
            outside [-180, 180], or south above north. West above east is valid: the box
            crosses the antimeridian.
    """
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise InvalidQuery(f"bbox needs 4 numbers (west,south,east,north) or 6, got "
                           f"{len(parts)}", parameter="bbox")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise InvalidQuery("bbox values must be numbers", parameter="bbox") from None
    if not all(math.isfinite(n) for n in numbers):
        raise InvalidQuery("bbox values must be finite numbers", parameter="bbox")
    if len(numbers) == 6:
        west, south, _, east, north, _ = numbers
    else:
        west, south, east, north = numbers
    if not (-90.0 <= south <= 90.0 and -90.0 <= north <= 90.0):
        raise InvalidQuery("bbox latitudes must be within [-90, 90]", parameter="bbox")
    if not (-180.0 <= west <= 180.0 and -180.0 <= east <= 180.0):
        raise InvalidQuery("bbox longitudes must be within [-180, 180]", parameter="bbox")
    if south > north:
        raise InvalidQuery("bbox south is above north", parameter="bbox")
    return BBox(west, south, east, north)


def _instant(text: str, *, end: bool) -> datetime:
    """One RFC 3339 date-time (UTC if no offset) or date (its first or last instant)."""
    if _DATE.match(text):
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return day + timedelta(days=1, microseconds=-1) if end else day
    if not _DATETIME.match(text):
        raise ValueError(text)
    value = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_datetime(text: str) -> Interval:
    """An instant (`2023-05-01T00:00:00Z`, or a date meaning the whole day) or an interval
    (`start/end`, either end open as `..` or empty).

    Raises:
        InvalidQuery: anything else, or an interval that ends before it starts.
    """
    try:
        if "/" in text:
            first, _, second = text.partition("/")
            if "/" in second:
                raise ValueError(text)
            start = None if first in ("", "..") else _instant(first, end=False)
            end = None if second in ("", "..") else _instant(second, end=True)
        else:
            start, end = _instant(text, end=False), _instant(text, end=True)
    except (ValueError, OverflowError):
        raise InvalidQuery("datetime must be an RFC 3339 date-time or date, or an interval "
                           "start/end with `..` for an open end", parameter="datetime") from None
    if start is not None and end is not None and start > end:
        raise InvalidQuery("datetime interval ends before it starts", parameter="datetime")
    return Interval(start, end)


def parse_limit(text: str | None, *, default: int = DEFAULT_LIMIT,
                maximum: int = MAX_LIMIT) -> int:
    """The page size: a positive integer, clamped to `maximum`.

    Raises:
        InvalidQuery: zero, negative or not an integer.
    """
    if text is None:
        return default
    value = _integer(text)
    if value is None or value < 1:
        raise InvalidQuery("limit must be a positive integer", parameter="limit")
    return min(value, maximum)


def parse_offset(text: str | None) -> int:
    """Features to skip: a non-negative integer (0 when absent).

    Raises:
        InvalidQuery: negative or not an integer.
    """
    if text is None:
        return 0
    value = _integer(text)
    if value is None or value < 0:
        raise InvalidQuery("offset must be a non-negative integer", parameter="offset")
    return value


def _integer(text: str) -> int | None:
    """A decimal integer (digits only, optional sign), or None."""
    text = text.strip()
    return int(text) if _INTEGER.match(text) else None
