"""The one vocabulary of flow counts: template, JSON Schema, demo, pipeline and served data.

- `point_id`: `^[A-Z]{2}-[A-Z0-9]{2,8}$`, the ISO 3166-1 alpha-2 code of the point's
  country, a hyphen, a short local code (`PA-BCH`, `CO-NEC`);
- `month`: `YYYY-MM`;
- `direction`: `northbound`, `southbound`;
- `nationality`: ISO 3166-1 alpha-3; `ZZZ` = unknown or not stated;
- `sex`: `F`, `M`, `U` (unknown or not stated);
- `age_group`: `0-4`, `5-11`, `12-17`, `18-59`, `60+`, `U`; children = 0-4 + 5-11 + 12-17;
- `count`: persons, an integer >= 0.

A row may also state a **total** instead of a breakdown: `_T` (SDMX's code for "total") in
`nationality`, `sex` and/or `age_group` means "all values of this column". A total row is
checked against the detail rows it sums (same point, month, direction and the same values in
the columns that are not `_T`) and is not stored: the detail rows carry the counts.

Route segments (`data_catalog/sources/route_segments.schema.json`) name the station they end at
by its id, `to_station_id` (`STATION_ID_PATTERN`: `ERM-BCH`, `CATEM-S`), and the crossing points
whose counts they carry by their point ids (`flow_points`, separated by spaces).

Every module that names one of these values imports it from here.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final

import pycountry

POINT_ID_PATTERN: Final[str] = r"^[A-Z]{2}-[A-Z0-9]{2,8}$"
"""A crossing point id: ISO 3166-1 alpha-2, a hyphen, 2 to 8 upper-case letters or digits."""

STATION_ID_PATTERN: Final[str] = r"^[A-Z0-9]{1,12}(-[A-Z0-9]{1,12}){0,3}$"
"""A station id: upper-case letters or digits in up to four hyphenated parts (`ERM-BCH`)."""

FLOW_POINTS_PATTERN: Final[str] = r"^[A-Z]{2}-[A-Z0-9]{2,8}( [A-Z]{2}-[A-Z0-9]{2,8})*$"
"""A segment's `flow_points`: crossing point ids separated by single spaces."""

ROUTE_SEGMENT_FIELDS: Final[tuple[str, ...]] = (
    "segment_id", "name", "from_place", "to_place", "to_station_id", "mode", "direction",
    "share", "order", "flow_points")
"""The properties of a route segment, in the order they are stored."""

MONTH_PATTERN: Final[str] = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
"""A calendar month, `YYYY-MM`."""

DIRECTIONS: Final[tuple[str, ...]] = ("northbound", "southbound")
"""Directions of travel."""

SEXES: Final[tuple[str, ...]] = ("F", "M", "U")
"""Sex codes: F and M as SDMX, U = unknown or not stated."""

AGE_GROUPS: Final[tuple[str, ...]] = ("0-4", "5-11", "12-17", "18-59", "60+", "U")
"""Age groups in years (`60+` is 60 and over; U = unknown)."""

CHILD_AGE_GROUPS: Final[tuple[str, ...]] = ("0-4", "5-11", "12-17")
"""The age groups whose sum is the number of children."""

UNKNOWN_NATIONALITY: Final[str] = "ZZZ"
"""Nationality unknown or not stated (a user-assigned ISO 3166-1 code)."""

TOTAL: Final[str] = "_T"
"""In `nationality`, `sex` or `age_group`: the row states the total over that column."""

BREAKDOWN_COLUMNS: Final[tuple[str, ...]] = ("nationality", "sex", "age_group")
"""The columns a total row may sum over."""

COLUMNS: Final[tuple[str, ...]] = (
    "point_id", "month", "direction", "nationality", "sex", "age_group", "count")
"""The template's columns, in order."""

KEY: Final[tuple[str, ...]] = COLUMNS[:-1]
"""The columns that identify a row (all but `count`)."""

CELL: Final[tuple[str, str]] = ("point_id", "month")
"""What flow counts are merged by: a new file replaces whole (point, month) cells."""


@cache
def nationality_codes() -> frozenset[str]:
    """Every allowed nationality: the ISO 3166-1 alpha-3 codes and `ZZZ`."""
    return frozenset({c.alpha_3 for c in pycountry.countries} | {UNKNOWN_NATIONALITY})


def is_station_id(value: str) -> bool:
    """Whether `value` has the form of a station id."""
    return re.fullmatch(STATION_ID_PATTERN, value) is not None


def is_point_id(value: str) -> bool:
    """Whether `value` has the form of a crossing point id."""
    return re.fullmatch(POINT_ID_PATTERN, value) is not None


# --- The Observatory exchange (country submissions) ----------------------------------------

ROUTE_CLASSES: Final[tuple[str, ...]] = ("regional", "extracontinental")
"""Route class of a flow: people from the Americas (`regional`) or from other continents
(`extracontinental`), as the RCM–SACM Observatory reports them."""

COUNTRY_ROLES: Final[tuple[str, ...]] = ("origin", "transit", "destination", "return")
"""The submitting country's role for the people it counts."""

HAZARDS: Final[tuple[str, ...]] = (
    "flood", "storm", "landslide", "drought", "earthquake", "volcanic", "wildfire", "other")
"""Hazard types of disaster displacement events (IDMC's hazard categories, simplified)."""

ADMIN_AREA_PATTERN: Final[str] = r"^[A-Z]{2}-[A-Z0-9]{1,3}$"
"""An admin area: an ISO 3166-2 subdivision code (`PA-5` is Darién, `CO-ANT` Antioquia)."""


@cache
def country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-3 country code (without `ZZZ`)."""
    return frozenset(c.alpha_3 for c in pycountry.countries)


@cache
def alpha_2(alpha_3: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of an alpha-3 code, or None when there is none."""
    found = pycountry.countries.get(alpha_3=alpha_3)
    return None if found is None else str(found.alpha_2)


@cache
def admin_area_codes(alpha_3: str) -> frozenset[str]:
    """The ISO 3166-2 subdivision codes of a country (empty for an unknown country)."""
    two = alpha_2(alpha_3)
    if two is None:
        return frozenset()
    return frozenset(s.code for s in pycountry.subdivisions.get(country_code=two) or ())
