"""Disclosure control of flow counts (METHOD.md, "Disclosure control").

Countries share counts of people crossing by point, month, direction, nationality, sex and age
group under confidentiality. What may be published per point and month is:

* the total, and
* the one-way margins: by sex, by age group and by nationality (never a cross-tabulation).

A published cell below `THRESHOLD` people (zero excepted) is suppressed (primary suppression).
In every margin that then holds a suppressed cell, more cells are suppressed (secondary
suppression) until no suppressed cell can be solved for from the total and the rest of the
margin, even by someone who knows these rules:

* a margin keeps at least two suppressed cells, and their sum exceeds their number, so that
  "every suppressed cell is at least 1" does not pin them all to 1; the partner chosen is the
  smallest published non-zero cell (least information lost);
* a record whose total is itself below the threshold is suppressed whole (total and every
  margin cell, zeros included): with the total unknown, published zeros would tell who is
  *not* there and the margins would pin each other down;
* a margin that cannot be protected that way (every cell already suppressed and all ones)
  also suppresses its record whole.

Margins are independent given the published total, so protecting each margin protects the
record. This runs at pipeline time, not in the service: the protected table is the only form
of the flow data that is published (a run output with provenance, validated before it is
served), and the service never needs the confidential table to answer a request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from data_catalog.vocabulary import AGE_GROUPS, SEXES

THRESHOLD = 5
"""Cells with 1 to THRESHOLD - 1 people are suppressed."""

MARGINS: tuple[str, ...] = ("sex", "age_group", "nationality")
"""The one-way margins published beside the total."""

VOCABULARY: dict[str, tuple[str, ...]] = {"sex": SEXES, "age_group": AGE_GROUPS}
"""Margins whose categories are fixed by the flow vocabulary (`data_catalog.vocabulary`): all
are published, in this order, whether or not the data hold them (absent ones are 0), so the
served table has the same columns every month. Nationality cells are the ones the data hold."""

KEYS: tuple[str, str] = ("point_id", "month")
"""One published record per crossing point and month."""

PRIMARY, SECONDARY, RECORD, PUBLISHED = "primary", "secondary", "record", "published"
"""Status of a cell of the protected table."""


@dataclass(frozen=True)
class ProtectedFlows:
    """The publishable form of a flow table.

    Attributes:
        cells: long table, one row per point, month, margin and category, with columns
            `point_id`, `month` ("YYYY-MM"), `margin` ("total" or one of `MARGINS`),
            `category` ("" for the total), `count` (people; NaN where suppressed) and
            `status` (published, primary, secondary or record).
        categories: for each margin, its categories in publication order.
    """

    cells: pd.DataFrame
    categories: dict[str, list[str]]

    def wide(self) -> pd.DataFrame:
        """One row per point and month: `total`, one column per margin cell (`property_name`),
        `suppressed_cells` (how many of the record's cells are withheld) and `suppressed`
        (their column names, comma-separated). Counts are people, NaN where suppressed."""
        cells = self.cells.assign(column=[
            "total" if m == "total" else property_name(m, c)
            for m, c in zip(self.cells["margin"], self.cells["category"], strict=True)])
        table = cells.pivot(index=list(KEYS), columns="column", values="count")
        order = ["total"] + [property_name(m, c) for m in self.categories
                             for c in self.categories[m]]
        table = table.reindex(columns=order).astype("Int64")
        withheld = cells[cells["status"] != PUBLISHED].groupby(list(KEYS))["column"]
        names = withheld.agg(lambda s: ",".join(s)).reindex(table.index).fillna("")
        table["suppressed_cells"] = withheld.size().reindex(table.index).fillna(0).astype("int64")
        table["suppressed"] = names
        return table.reset_index()


def property_name(margin: str, category: str) -> str:
    """The published column of one margin cell, e.g. `age_group_60plus`, `nationality_VEN`."""
    slug = re.sub(r"[^0-9A-Za-z]+", "_", str(category).replace("+", "plus")).strip("_")
    return f"{margin}_{slug or 'blank'}"


def _month(values: pd.Series) -> pd.Series:
    """Months as "YYYY-MM" from strings or datetimes."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m")
    return values.astype(str).str.slice(0, 7)


def _categories(margin: str, values: pd.Series) -> list[str]:
    """A margin's categories in publication order: the vocabulary's (if fixed), then any
    other value found, sorted."""
    fixed = list(VOCABULARY.get(margin, ()))
    found = sorted(set(values.dropna().astype(str)) - set(fixed))
    return fixed + found


def _protect_margin(values: np.ndarray, threshold: int) -> tuple[np.ndarray, bool]:
    """Statuses of one margin's cells given a published total; False if it cannot be protected.

    Args:
        values: the margin's counts (people), in category order.
        threshold: the suppression threshold (people).
    """
    status = np.where((values > 0) & (values < threshold), PRIMARY, PUBLISHED).astype(object)
    if not (status == PRIMARY).any():
        return status, True
    while True:
        hidden = status != PUBLISHED
        count, total = int(hidden.sum()), float(values[hidden].sum())
        if count >= 2 and (total > count or bool((values[hidden] == 0).any())):
            return status, True
        positive = np.flatnonzero(~hidden & (values > 0))
        if positive.size:
            status[positive[np.argmin(values[positive])]] = SECONDARY
            continue
        zeros = np.flatnonzero(~hidden & (values == 0))
        if zeros.size:
            status[zeros[0]] = SECONDARY
            continue
        return status, False


def protect_flows(table: pd.DataFrame, *, margins: Sequence[str] = MARGINS,
                  threshold: int = THRESHOLD) -> ProtectedFlows:
    """Apply disclosure control to a flow table.

    Args:
        table: one count per row with columns `point_id`, `month` ("YYYY-MM" or datetime),
            the `margins` columns and `count` (people); other columns (e.g. `direction`) are
            summed over and not published.
        margins: the one-way margins to publish.
        threshold: cells with 1 to threshold - 1 people are suppressed.

    Returns:
        The protected table; the input is not changed.
    """
    frame = table.copy()
    frame["month"] = _month(frame["month"])
    frame["point_id"] = frame["point_id"].astype(str)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").fillna(0).astype("int64")
    categories = {m: _categories(m, frame[m]) for m in margins}
    totals = frame.groupby(list(KEYS))["count"].sum()
    by_margin = {m: frame.assign(**{m: frame[m].astype(str)}).pivot_table(
        index=list(KEYS), columns=m, values="count", aggfunc="sum", fill_value=0)
        .reindex(index=totals.index, columns=categories[m], fill_value=0)
        for m in margins}
    rows: list[tuple[str, str, str, str, float, str]] = []
    for position, (point, month) in enumerate(totals.index):
        total = int(totals.iloc[position])
        record: list[tuple[str, str, float, str]] = []
        whole = 0 < total < threshold
        for margin in margins:
            values = by_margin[margin].iloc[position].to_numpy(dtype="int64")
            status, ok = _protect_margin(values, threshold)
            whole = whole or not ok
            record += [(margin, c, float(v), str(s))
                       for c, v, s in zip(categories[margin], values, status, strict=True)]
        if whole:
            record = [(m, c, v, RECORD) for m, c, v, _ in record]
        rows.append((point, month, "total", "", float(total),
                     PRIMARY if 0 < total < threshold else (RECORD if whole else PUBLISHED)))
        rows += [(point, month, m, c, v, s) for m, c, v, s in record]
    cells = pd.DataFrame(rows, columns=["point_id", "month", "margin", "category", "count",
                                        "status"])
    cells.loc[cells["status"] != PUBLISHED, "count"] = np.nan
    return ProtectedFlows(cells, categories)


def crossings_features(protected: ProtectedFlows, points: gpd.GeoDataFrame,
                       *, id_fields: Iterable[str] = ("point_id", "id")) -> gpd.GeoDataFrame:
    """The `crossings` collection: one point feature per crossing point and month.

    Args:
        protected: the protected flow table.
        points: the crossing points, with their id in one of `id_fields`.
        id_fields: columns of `points` tried in turn for the point id.

    Returns:
        GeoDataFrame (EPSG:4326) with `id` ("<point_id>:<month>"), `point_id`, `month`, the
        margin columns, `suppressed_cells`, `suppressed`, and the point's `name` when known.
        Records at points without a location keep a null geometry.
    """
    field = next((f for f in id_fields if f in points.columns), None)
    if field is None:
        raise ValueError(f"crossing points have none of the id columns {list(id_fields)}")
    located = points.to_crs("EPSG:4326")
    where = dict(zip(located[field].astype(str), located.geometry, strict=True))
    names = (dict(zip(located[field].astype(str), located["name"].astype(str), strict=True))
             if "name" in located.columns else {})
    wide = protected.wide()
    wide.insert(0, "id", wide["point_id"] + ":" + wide["month"])
    wide.insert(3, "name", wide["point_id"].map(names))
    geometry = [where.get(p) for p in wide["point_id"]]
    return gpd.GeoDataFrame(wide, geometry=geometry, crs="EPSG:4326")
