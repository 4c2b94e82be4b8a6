"""Disclosure control of flow counts (METHOD.md, "Disclosure control"; docs/DISCLOSURE.md).

Countries share counts of people crossing by point, month, direction, nationality, sex and age
group under confidentiality. What may be published per point and month (a *record*) is:

* the total, and
* the one-way margins: by sex, by age group and by nationality (never a cross-tabulation).

**The rule.** Every withheld cell, primary or secondary, must keep a largest feasible value of
at least `THRESHOLD` (5 people) given every number published — the record's total, each
margin, every sum of them the service shows (monthly series, yearly flows, `/analysis` totals,
downloads: all are sums of published cells) — the rules below (zeros are published, so a
withheld cell of a record that is not withheld whole is at least 1; a withheld total is at
least 1), and a public monthly total per country over all its crossing points (as Panama's
National Migration Service publishes for the Darién). Nobody can then prove that a withheld cell
is a small count. `pipelines.disclosure_audit` checks it with integer programming on what a run
is about to serve; a run whose table fails is not served.

How the cells are chosen (the closed forms are derived in docs/DISCLOSURE.md):

* **Primary**: a cell of 1 to `THRESHOLD` - 1 people. A record whose total is itself below the
  threshold is withheld whole (total and every margin cell, zeros included).
* **Within a margin, given its published total**, withheld cells `S` summing to `H` each lie in
  `[1, H - (|S| - 1)]`. So a margin holding a primary cell is protected once
  `H - |S| >= THRESHOLD - 1`; until then the smallest published non-zero cell is withheld too
  (it is at least the threshold, so one always suffices: fewest cells, least information lost).
  Zeros are never withheld for protection; a margin that cannot be protected (no non-zero cell
  left to withhold) withholds its record whole. Margins sharing a published total are
  independent (any set of one-way margins with a common total is met by some cross-table),
  so protecting each margin protects the record.
* **Across the points of a country in a month** (a public national total `N`): the withheld
  totals `T_r` sum to `N` minus the published totals, so each is at most
  `T_r + sum over the other withheld records o of (T_o - lb_o)`, where `lb_o` is what the
  published numbers prove about `T_o`: 1 for a record withheld whole, and for a record whose
  total alone is withheld `max over margins of (published part + number of withheld cells)`.
  A record withheld whole whose bound falls below the threshold gets a *partner*: the record of
  the same country and month whose total can be withheld most cheaply (its total, plus the
  smallest non-zero cell of each margin that has no withheld cell yet; fewest cells, then fewest
  people, then point id). Its slack `T_o - lb_o` is at least `THRESHOLD - 1`, so one partner
  suffices. Without a partner (every record of the country and month withheld whole or empty)
  the table publishes no non-zero number of that month: nothing is left to withhold, and what
  bounds its counts is the national total the country published itself.

This runs at pipeline time, not in the service: the protected table is the only form of the
flow data that is published (a run output with provenance, audited before it is served), and
the service never needs the confidential table to answer a request.
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


def country_of(point_id: str) -> str:
    """The country a crossing point counts for: the ISO 3166-1 alpha-2 code its id starts with
    (`PA-BCH` -> `PA`, `data_catalog.vocabulary.POINT_ID_PATTERN`); an id without a hyphen
    stands for a country of its own."""
    return point_id.split("-", 1)[0]


def margin_slack(values: np.ndarray, hidden: np.ndarray) -> int:
    """How far the withheld cells of one margin may move above 1 each (people): their sum minus
    their number. With the margin's total known, each lies in `[1, 1 + slack]`.

    Args:
        values: the margin's counts (people).
        hidden: which of them are withheld (bool).
    """
    return int(values[hidden].sum()) - int(hidden.sum())


def _protect_margin(values: np.ndarray, threshold: int) -> np.ndarray | None:
    """Statuses of one margin's cells given a published total; None if it cannot be protected.

    Args:
        values: the margin's counts (people), in category order.
        threshold: the suppression threshold (people).
    """
    status = np.where((values > 0) & (values < threshold), PRIMARY, PUBLISHED).astype(object)
    while True:
        hidden = status != PUBLISHED
        if not hidden.any() or margin_slack(values, hidden) >= threshold - 1:
            return status
        candidates = np.flatnonzero(~hidden & (values > 0))
        if not candidates.size:
            return None
        status[candidates[np.argmin(values[candidates])]] = SECONDARY


@dataclass
class _Record:
    """One point and month while it is being protected: its counts and statuses by margin."""

    point: str
    month: str
    total: int
    values: dict[str, np.ndarray]
    status: dict[str, np.ndarray]
    total_status: str = PUBLISHED

    def withhold_whole(self) -> None:
        self.total_status = RECORD
        self.status = {m: np.full(len(v), RECORD, dtype=object) for m, v in self.status.items()}

    def slack(self) -> int:
        """Withheld total minus the least the published numbers prove it to be (people)."""
        if self.total_status == RECORD:
            return self.total - 1
        return min(margin_slack(self.values[m], self.status[m] != PUBLISHED)
                   for m in self.values)

    def partner_cells(self) -> list[tuple[str, int]]:
        """The cells withholding this record's total takes besides it: in each margin without
        a withheld cell, its smallest non-zero cell (margin, position)."""
        cells = []
        for margin, values in self.values.items():
            if (self.status[margin] != PUBLISHED).any():
                continue
            positive = np.flatnonzero(values > 0)
            cells.append((margin, int(positive[np.argmin(values[positive])])))
        return cells


def _national_bounds_hold(group: list[_Record], threshold: int) -> bool:
    """Whether every withheld cell of a country's month keeps its largest value at or above the
    threshold when the country's total over these records is public (closed form)."""
    hidden = [r for r in group if r.total_status != PUBLISHED]
    slacks = [r.slack() for r in hidden]
    for record, own in zip(hidden, slacks, strict=True):
        others = sum(slacks) - own
        if record.total + others < threshold:
            return False
        if record.total_status != RECORD and any(
                margin_slack(v, record.status[m] != PUBLISHED) + 1 + others < threshold
                for m, v in record.values.items()):
            return False
    return True


def _protect_national(group: list[_Record], threshold: int) -> None:
    """Withhold partner totals in one country and month until the national total cannot narrow
    a withheld record below the threshold."""
    while not _national_bounds_hold(group, threshold):
        candidates = [r for r in group if r.total_status == PUBLISHED and r.total > 0]
        if not candidates:
            return  # every record withheld whole or empty: nothing more can be withheld
        partner = min(candidates, key=lambda r: (
            1 + len(r.partner_cells()),
            r.total + sum(int(r.values[m][i]) for m, i in r.partner_cells()), r.point))
        for margin, position in partner.partner_cells():
            partner.status[margin][position] = SECONDARY
        partner.total_status = SECONDARY


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
    records: list[_Record] = []
    for position, (point, month) in enumerate(totals.index):
        values = {m: by_margin[m].iloc[position].to_numpy(dtype="int64") for m in margins}
        statuses = {m: _protect_margin(v, threshold) for m, v in values.items()}
        record = _Record(str(point), str(month), int(totals.iloc[position]), values,
                         {m: s if s is not None else np.full(len(values[m]), RECORD, dtype=object)
                          for m, s in statuses.items()})
        if 0 < record.total < threshold or any(s is None for s in statuses.values()):
            record.withhold_whole()
        records.append(record)
    groups: dict[tuple[str, str], list[_Record]] = {}
    for record in records:
        groups.setdefault((country_of(record.point), record.month), []).append(record)
    for key in sorted(groups):
        _protect_national(groups[key], threshold)
    rows: list[tuple[str, str, str, str, float, str]] = []
    for record in records:
        total_status = PRIMARY if 0 < record.total < threshold else record.total_status
        rows.append((record.point, record.month, "total", "", float(record.total), total_status))
        rows += [(record.point, record.month, m, c, float(v), str(s))
                 for m in margins
                 for c, v, s in zip(categories[m], record.values[m], record.status[m],
                                    strict=True)]
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
