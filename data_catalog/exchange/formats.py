"""The submission tables of the exchange: fields, CSV template and Frictionless Table Schema.

Two tables, both monthly counts of persons in the one flow vocabulary
(`data_catalog.vocabulary`), one count per row, a breakdown column may say `_T` (the total
over it, checked against its detail rows and not stored):

- **crossings**: persons counted at a crossing point (`point_id`) or in an admin area
  (`admin_area`, ISO 3166-2) in a month, by direction, nationality, sex, age group, route
  class (regional / extracontinental), the submitting country's role (origin / transit /
  destination / return) and provider;
- **displacement**: persons displaced by a disaster event in an admin area in a month, by
  hazard, sex, age group and provider.

`month` is the reference period (ISO 8601 `YYYY-MM`). `country` is the submitting country
(ISO 3166-1 alpha-3): the token's country, and the country every point and area lies in.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Literal

from data_catalog.i18n import N_, Language
from data_catalog.vocabulary import (
    ADMIN_AREA_PATTERN,
    AGE_GROUPS,
    COUNTRY_ROLES,
    DIRECTIONS,
    HAZARDS,
    MONTH_PATTERN,
    POINT_ID_PATTERN,
    ROUTE_CLASSES,
    SEXES,
    TOTAL,
    UNKNOWN_NATIONALITY,
)

Kind = Literal["crossings", "displacement"]
KINDS: tuple[Kind, ...] = ("crossings", "displacement")
DEFAULT_KIND: Kind = KINDS[0]
"""The kind a submission is when it does not say (monthly crossings)."""
KIND_TITLES: dict[str, str] = {
    "crossings": N_("Observatory exchange: crossings"),
    "displacement": N_("Observatory exchange: disaster displacement"),
}
"""The title of each kind's template page (a catalogue message)."""
FieldType = Literal["country", "point", "area", "month", "code", "nationality", "text", "count"]


@dataclass(frozen=True)
class Field:
    """One column of a submission table.

    Attributes:
        name: the column name in the file.
        type: how it is checked (`validate`).
        title: short English title (translated through the catalogue).
        description: English description (translated through the catalogue).
        codes: the allowed codes of a `code` column.
        total: whether `_T` (the total over this column) is allowed.
        required: whether every row must give it (`point_id`/`admin_area`: one of the two).
        example: a value for the template.
    """

    name: str
    type: FieldType
    title: str
    description: str
    codes: tuple[str, ...] = ()
    total: bool = False
    required: bool = True
    example: str = ""


COUNTRY = Field("country", "country", N_("Submitting country"), N_(
    "ISO 3166-1 alpha-3 code of the country submitting the data (PAN, COL, CRI, ...). It must "
    "be the country of the token used, and every point and area must lie in it."),
    example="PAN")
MONTH = Field("month", "month", N_("Reference period"), N_(
    "The calendar month the counts refer to, ISO 8601 YYYY-MM (e.g. 2024-01). A new "
    "submission for the same country and month replaces the earlier one."), example="2024-01")
SEX = Field("sex", "code", N_("Sex"), N_(
    "F (female), M (male) or U (unknown or not stated); _T for the total over sexes."),
    codes=SEXES, total=True, example="F")
AGE = Field("age_group", "code", N_("Age group"), N_(
    "Age in years: 0-4, 5-11, 12-17 (children), 18-59, 60+ (60 and over), or U (unknown); "
    "_T for the total over ages."), codes=AGE_GROUPS, total=True, example="0-4")
PROVIDER = Field("provider", "text", N_("Provider"), N_(
    "Who collected the counts (e.g. the national migration service, IOM DTM), up to 100 "
    "characters."), example="SNM")
COUNT = Field("count", "count", N_("Persons"), N_(
    "Number of persons: a whole number from 0 to the configured maximum."), example="12")

CROSSINGS: tuple[Field, ...] = (
    COUNTRY,
    Field("point_id", "point", N_("Crossing point"), N_(
        "Id of a known crossing point: ISO 3166-1 alpha-2 of its country, '-', 2 to 8 letters "
        "or digits (PA-BCH). Give either point_id or admin_area."), required=False,
        example="PA-BCH"),
    Field("admin_area", "area", N_("Admin area"), N_(
        "ISO 3166-2 code of the first-level admin area counted in (PA-5 is Darién). Give "
        "either point_id or admin_area."), required=False),
    MONTH,
    Field("direction", "code", N_("Direction"), N_(
        "Direction of travel: northbound or southbound."), codes=DIRECTIONS,
        example="northbound"),
    Field("nationality", "nationality", N_("Nationality"), N_(
        "ISO 3166-1 alpha-3 code of the persons' nationality; ZZZ when unknown or not "
        "stated; _T for the total over nationalities."), total=True, example="VEN"),
    SEX,
    AGE,
    Field("route_class", "code", N_("Route class"), N_(
        "regional (persons from the Americas) or extracontinental (from other continents)."),
        codes=ROUTE_CLASSES, example="regional"),
    Field("country_role", "code", N_("Country role"), N_(
        "The submitting country's role for these persons: origin, transit, destination or "
        "return."), codes=COUNTRY_ROLES, example="transit"),
    PROVIDER,
    COUNT,
)
"""The crossings table, in template order."""

DISPLACEMENT: tuple[Field, ...] = (
    COUNTRY,
    Field("admin_area", "area", N_("Admin area"), N_(
        "ISO 3166-2 code of the first-level admin area the persons were displaced in (PA-5 "
        "is Darién)."), example="PA-5"),
    MONTH,
    Field("event_id", "text", N_("Event"), N_(
        "The provider's id of the disaster event (e.g. a GLIDE number), up to 100 "
        "characters."), example="FL-2024-000012-PAN"),
    Field("hazard", "code", N_("Hazard"), N_(
        "Hazard type: flood, storm, landslide, drought, earthquake, volcanic, wildfire or "
        "other."), codes=HAZARDS, example="flood"),
    SEX,
    AGE,
    PROVIDER,
    COUNT,
)
"""The displacement table, in template order."""

TABLES: dict[str, tuple[Field, ...]] = {"crossings": CROSSINGS, "displacement": DISPLACEMENT}
"""Each kind's fields."""

PLACE_COLUMNS = ("point_id", "admin_area")
"""Where a crossings row was counted: one of the two."""


def fields(kind: str) -> tuple[Field, ...]:
    """The fields of a submission kind."""
    return TABLES[kind]


def columns(kind: str) -> list[str]:
    """The column names of a kind, in template order."""
    return [f.name for f in TABLES[kind]]


def key_columns(kind: str) -> list[str]:
    """The columns that identify a row (all but `count`)."""
    return [f.name for f in TABLES[kind] if f.name != "count"]


def template_csv(kind: str) -> str:
    """The CSV template of a kind: the header and one example row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns(kind))
    writer.writerow([f.example for f in TABLES[kind]])
    return out.getvalue()


def _constraints(f: Field, max_count: int) -> dict[str, Any]:
    total = [TOTAL] if f.total else []
    if f.type == "code":
        return {"enum": [*f.codes, *total]}
    if f.type == "nationality":
        return {"pattern": r"^([A-Z]{3}|_T)$"}
    if f.type == "country":
        return {"pattern": "^[A-Z]{3}$"}
    if f.type == "point":
        return {"pattern": POINT_ID_PATTERN}
    if f.type == "area":
        return {"pattern": ADMIN_AREA_PATTERN}
    if f.type == "month":
        return {"pattern": MONTH_PATTERN}
    if f.type == "count":
        return {"minimum": 0, "maximum": max_count}
    return {"minLength": 1, "maxLength": 100}


def table_schema(kind: str, lang: Language, *, max_count: int) -> dict[str, Any]:
    """The Frictionless Table Schema of a kind, titles and descriptions in `lang`."""
    out = []
    for f in TABLES[kind]:
        constraints = _constraints(f, max_count)
        if f.required:
            constraints["required"] = True
        out.append({
            "name": f.name, "title": lang.gettext(f.title),
            "description": lang.gettext(f.description),
            "type": "integer" if f.type == "count" else "string",
            **({"format": "default"} if f.type != "count" else {}),
            "constraints": constraints,
            **({"example": f.example} if f.example else {}),
        })
    return {
        "$schema": "https://specs.frictionlessdata.io/schemas/table-schema.json",
        "name": f"cmrisk-exchange-{kind}",
        "title": lang.gettext(N_("Observatory exchange: crossings")) if kind == "crossings"
        else lang.gettext(N_("Observatory exchange: disaster displacement")),
        "fields": out,
        "primaryKey": key_columns(kind),
        "missingValues": [""],
        "x-notes": {
            "unknown_nationality": UNKNOWN_NATIONALITY, "total": TOTAL,
            "place": "crossings: exactly one of point_id, admin_area",
        },
    }
