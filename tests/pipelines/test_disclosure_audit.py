"""The interval audit of published crossings and the secondary choice that withstands it.

The audit (`pipelines.disclosure_audit`) finds by integer programming the largest value each
withheld cell can take given everything published and the rules (zeros are published, so a
withheld cell is at least 1). Here: hand-computed bounds on small tables, the demo tables of
both regions, random tables (hypothesis), a public national total across points, a control
protected with the secondary choice used before issue 15 (which the audit must fail, naming
the cells), minimality of the new choice, the sums the service shows (of published cells only),
and a run whose table fails the audit.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from data_catalog.demo.flows import crossings_table
from data_catalog.demo.generate import write_demo
from data_catalog.demo.spec import load_demo
from data_catalog.paths import DataDir
from geo_service.maps.widgets import monthly_series
from pipelines import inputs as pipeline_inputs
from pipelines.config import load_region
from pipelines.disclosure import (
    MARGINS,
    PRIMARY,
    PUBLISHED,
    RECORD,
    SECONDARY,
    THRESHOLD,
    ProtectedFlows,
    country_of,
    property_name,
    protect_flows,
)
from pipelines.disclosure_audit import AuditReport, audit_published, national_totals
from pipelines.errors import RunValidationError
from pipelines.inputs import published_crossings
from pipelines.mobility import segment_people, yearly_flow
from pipelines.run import run
from tests.geo_service.test_disclosure import attack, true_cells

COLUMNS = ["point_id", "month", "direction", "nationality", "sex", "age_group", "count"]
DEMO_SEED = inspect.signature(write_demo).parameters["seed"].default


# --- the secondary choice before issue 15, kept as a control -------------------------------


def _old_margin(values: np.ndarray, threshold: int) -> tuple[np.ndarray, bool]:
    """Pre-issue-15 `_protect_margin`: stop once two or more cells are withheld and their sum
    exceeds their number; the partner is the smallest published non-zero cell (else a zero)."""
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


def protect_flows_old(table: pd.DataFrame, threshold: int = THRESHOLD) -> ProtectedFlows:
    """The table as the pre-issue-15 protection published it (same layout as `protect_flows`;
    margins one by one, no national totals)."""
    layout = protect_flows(table, threshold=threshold)
    truth = true_cells(table)
    cells = layout.cells.copy()
    cells["count"] = [float(truth.get((r.point_id, r.month, r.margin, r.category), 0))
                      for r in cells.itertuples()]
    status = pd.Series(PUBLISHED, index=cells.index, dtype=object)
    for _, record in cells.groupby(["point_id", "month"], sort=False):
        is_total = record["margin"] == "total"
        total = int(record.loc[is_total, "count"].iloc[0])
        whole = 0 < total < threshold
        for _, margin in record[~is_total].groupby("margin", sort=False):
            margin_status, ok = _old_margin(margin["count"].to_numpy(dtype="int64"), threshold)
            status[margin.index] = margin_status
            whole = whole or not ok
        if whole:
            status[record.index] = RECORD
            status[record.index[is_total.to_numpy()]] = PRIMARY if total < threshold else RECORD
    cells["status"] = status
    cells.loc[status != PUBLISHED, "count"] = np.nan
    return ProtectedFlows(cells, layout.categories)


# --- small tables, bounds by hand ----------------------------------------------------------


def table(rows: list[tuple[str, str, str, str, int]], month: str = "2024-01") -> pd.DataFrame:
    """(point, nationality, sex, age group, count) rows of one month."""
    return pd.DataFrame([(p, month, "northbound", n, s, a, c) for p, n, s, a, c in rows],
                        columns=COLUMNS)


def statuses(protected: ProtectedFlows, point: str = "p") -> dict[str, str]:
    cells = protected.cells[protected.cells["point_id"] == point]
    return {"total" if r.margin == "total" else property_name(r.margin, r.category): r.status
            for r in cells.itertuples()}


def bounds(report: AuditReport) -> dict[tuple[str, str], int | None]:
    return {(b.point_id, b.column): b.largest for b in report.bounds}


THREE_SMALL = table([("p", "ECU", "M", "18-59", 1), ("p", "PER", "M", "18-59", 1),
                     ("p", "ZZZ", "M", "18-59", 2), ("p", "VEN", "M", "18-59", 30)])
"""Nationality ECU 1, PER 1, ZZZ 2, VEN 30 (total 34); sex and age group one cell each."""


def test_the_old_choice_leaves_three_small_cells_provably_small() -> None:
    # ECU + PER + ZZZ = 34 - 30 = 4 with each at least 1: each is at most 4 - 2 = 2. The old
    # rule stopped there (3 cells, sum 4 > 3) and the audit must say so, naming them.
    old = protect_flows_old(THREE_SMALL)
    hidden = {k for k, s in statuses(old).items() if s != PUBLISHED}
    assert hidden == {"nationality_ECU", "nationality_PER", "nationality_ZZZ"}
    report = audit_published(old.wide())
    assert bounds(report) == {("p", "nationality_ECU"): 2, ("p", "nationality_PER"): 2,
                              ("p", "nationality_ZZZ"): 2}
    assert audit_published(old.wide(), exact=True) == report  # integer programming agrees
    assert not report.passed
    assert "p 2024-01 nationality_ECU <= 2" in report.message()
    assert "3 of 3 withheld cells" in report.message()


def test_the_new_choice_adds_a_cell_until_the_bound_reaches_the_threshold() -> None:
    # Slack of the three: 4 - 3 = 1 < 4. VEN (30) is the only other non-zero cell: the four
    # sum to 34, each at most 34 - 3 = 31.
    new = protect_flows(THREE_SMALL)
    hidden = {k for k, s in statuses(new).items() if s != PUBLISHED}
    assert hidden == {"nationality_ECU", "nationality_PER", "nationality_ZZZ", "nationality_VEN"}
    assert statuses(new)["nationality_VEN"] == SECONDARY
    report = audit_published(new.wide())
    assert set(bounds(report).values()) == {31}
    assert report.passed and report.failures == ()


def test_enough_slack_needs_no_partner_and_too_little_takes_the_smallest() -> None:
    # age: 60+ 4 and 0-4 4 (slack 6 >= 4): no secondary. nationality: AFG 2 and IND 2 (slack 2):
    # the smallest published non-zero cell (HTI 9, not VEN 40) joins: 13 - 2 = 11 at most each.
    new = protect_flows(table([
        ("p", "AFG", "M", "60+", 2), ("p", "IND", "M", "60+", 2), ("p", "HTI", "M", "0-4", 4),
        ("p", "HTI", "F", "18-59", 5), ("p", "VEN", "F", "18-59", 40)]))
    status = statuses(new)
    assert [k for k, s in status.items() if s == SECONDARY] == ["nationality_HTI"]
    assert status["age_group_60plus"] == status["age_group_0_4"] == PRIMARY
    assert status["age_group_18_59"] == PUBLISHED
    found = bounds(audit_published(new.wide()))
    assert found[("p", "age_group_60plus")] == found[("p", "age_group_0_4")] == 7  # 8 - 1
    assert found[("p", "nationality_AFG")] == found[("p", "nationality_HTI")] == 11


def test_zeros_are_never_withheld_for_protection() -> None:
    # Six ones and nothing else in the nationality margin: no non-zero cell is left to withhold
    # (the old rule withheld zeros, which an attacker cannot tell from ones): the record goes
    # whole, and its cells then range over 0..total.
    rows = [("p", nat, "M", "18-59", 1) for nat in ("AFG", "IND", "CMR", "CHN", "PER", "BRA")]
    new = protect_flows(table(rows))
    assert set(statuses(new).values()) == {RECORD}
    report = audit_published(new.wide())
    assert report.passed and set(bounds(report).values()) == {None}  # nothing bounds them


# --- a public national total across points -------------------------------------------------

NATIONAL = table([
    # PA-A: 3 people, withheld whole. PA-B: 40 (F 10, M 30; 18-59 all; VEN 25, HTI 15).
    ("PA-A", "VEN", "M", "18-59", 2), ("PA-A", "HTI", "F", "0-4", 1),
    ("PA-B", "VEN", "M", "18-59", 25), ("PA-B", "HTI", "F", "18-59", 10),
    ("PA-B", "HTI", "M", "18-59", 5),
    # PA-C: 100 (F 50, M 50; 18-59 all; VEN 100).
    ("PA-C", "VEN", "F", "18-59", 50), ("PA-C", "VEN", "M", "18-59", 50),
    # Another country's point in the same month does not count for Panama's total.
    ("CO-D", "VEN", "M", "18-59", 7)])


def test_the_old_table_gives_away_a_small_record_by_differencing() -> None:
    # Panama publishes 143 for the month; PA-B (40) and PA-C (100) are published, so PA-A's
    # withheld total is 143 - 140 = 3 exactly.
    old = protect_flows_old(NATIONAL)
    national = national_totals(NATIONAL)
    assert national == {("PA", "2024-01"): 143, ("CO", "2024-01"): 7}
    assert audit_published(old.wide()).passed  # without the national total: unbounded
    report = audit_published(old.wide(), national=national)
    assert bounds(report)[("PA-A", "total")] == 3
    assert not report.passed
    assert "PA-A 2024-01 total <= 3" in report.message()


def test_a_partner_total_is_withheld_in_the_same_country_and_month() -> None:
    new = protect_flows(NATIONAL)
    # The cheapest partner: PA-B (its total and the smallest non-zero cell of each margin:
    # F 10, 18-59 40, HTI 15; 105 people), not PA-C (as many cells, 350 people); never the
    # Colombian point.
    status = statuses(new, "PA-B")
    assert {k for k, s in status.items() if s != PUBLISHED} == {
        "total", "sex_F", "age_group_18_59", "nationality_HTI"}
    assert all(s == PUBLISHED for s in statuses(new, "PA-C").values())
    assert all(s == PUBLISHED for s in statuses(new, "CO-D").values())
    report = audit_published(new.wide(), national=national_totals(NATIONAL))
    assert report.passed
    found = bounds(report)
    # PA-B's total is at least max(30 + 1, 0 + 1, 25 + 1) = 31: PA-A at most 43 - 31 = 12;
    # PA-A at least 1: PA-B at most 42, its F at most 42 - 30 = 12, its HTI at most 42 - 25 = 17.
    assert found[("PA-A", "total")] == 12
    assert found[("PA-B", "total")] == 42
    assert found[("PA-B", "sex_F")] == 12
    assert found[("PA-B", "nationality_HTI")] == 17
    assert found[("PA-A", "nationality_VEN")] == 12  # withheld whole: 0..its total


def test_a_country_whose_every_record_is_withheld_publishes_nothing_of_the_month() -> None:
    # One point, 3 people: the national total says it all; the table publishes no number of
    # that month, so the audit holds those cells exempt (and says why), not failed.
    tiny = table([("CO-N", "VEN", "M", "18-59", 2), ("CO-N", "HTI", "F", "18-59", 1)])
    report = audit_published(protect_flows(tiny).wide(), national=national_totals(tiny))
    assert report.passed
    assert {b.largest for b in report.bounds} == {3} and all(b.exempt for b in report.bounds)


def test_a_table_that_does_not_add_up_is_inconsistent() -> None:
    wide = protect_flows(THREE_SMALL).wide()
    wide.loc[0, "sex_M"] = 33  # the total says 34
    report = audit_published(wide)
    assert not report.passed
    assert report.inconsistent == ("p 2024-01 sex: published numbers differ by 1",)


def test_what_the_service_sums_is_a_sum_of_published_cells() -> None:
    # The monthly series of the map, the yearly flows along the route (and the surfaces made of
    # them) read the protected layer: withheld totals (PA-A, and its partner PA-B) are shown as
    # withheld and left out of sums, never estimated. Northbound published: 100 + 7.
    points = gpd.GeoDataFrame(
        {"point_id": ["PA-A", "PA-B", "PA-C", "CO-D"], "name": ["A", "B", "C", "D"],
         "direction_default": ["northbound"] * 4},
        geometry=gpd.points_from_xy([-77.5, -77.6, -77.7, -76.7], [8.4, 8.5, 8.6, 8.5]),
        crs="EPSG:4326")
    layer = published_crossings(NATIONAL, points)
    assert yearly_flow(layer, 2024) == {"northbound": 107.0}
    segments = gpd.GeoDataFrame(
        {"direction": ["northbound", "northbound"], "share": [1.0, 0.5],
         "flow_points": ["", "PA-A PA-B PA-C"]},
        geometry=[shapely.LineString([(0, 0), (1, 1)])] * 2, crs="EPSG:4326")
    assert list(segment_people(segments, layer, 2024)) == [107.0, 50.0]
    series = monthly_series(layer, key="point_id", time="month", count="total", label="name")
    assert {p["id"]: p["totals"] for p in series["points"]} == {
        "CO-D": [7], "PA-A": [None], "PA-B": [None], "PA-C": [100]}


# --- the demo tables of both regions -------------------------------------------------------


@pytest.fixture(scope="module", params=["darien", "corridor"])
def demo_table(request: pytest.FixtureRequest, demo_inputs: Path) -> pd.DataFrame:
    frame = crossings_table(load_demo(request.param).flows, DEMO_SEED)
    if request.param == "darien":  # the table the demo writes, not a look-alike
        written = pd.read_csv(DataDir(demo_inputs).inputs / "flows" / "crossings_monthly.csv",
                              dtype={"month": str, "point_id": str})
        pd.testing.assert_frame_equal(frame, written)
    return frame


def closed_form(table: pd.DataFrame, old: ProtectedFlows) -> dict[tuple[str, str, str], int]:
    """Largest value of each withheld margin cell of a record whose total is published:
    (withheld sum) - (number of other withheld cells) x 1, from the true counts."""
    truth = true_cells(table)
    found = {}
    for (point, month, margin), cells in old.cells.groupby(["point_id", "month", "margin"]):
        hidden = cells[cells["status"] != PUBLISHED]
        if margin == "total" or hidden.empty or (hidden["status"] == RECORD).any():
            continue
        held = sum(truth.get((point, month, margin, c), 0) for c in hidden["category"])
        for category in hidden["category"]:
            found[(point, month, property_name(margin, category))] = held - (len(hidden) - 1)
    return found


def test_the_old_choice_fails_the_audit_on_the_demo(demo_table: pd.DataFrame) -> None:
    old = protect_flows_old(demo_table)
    report = audit_published(old.wide(), national=national_totals(demo_table), exact=True)
    failures = {(b.point_id, b.month, b.column): b.largest for b in report.failures}
    expected = {k: v for k, v in closed_form(demo_table, old).items() if v < THRESHOLD}
    assert len(expected) > 10  # the control has teeth
    assert failures == expected  # integer programming agrees with the closed form
    assert not report.passed
    first = report.failures[0]
    assert f"{first.point_id} {first.month} {first.column} <= {first.largest}" \
        in report.message()


def test_the_demo_passes_the_audit_with_and_without_national_totals(
        demo_table: pd.DataFrame) -> None:
    new = protect_flows(demo_table)
    wide = new.wide()
    for national in (None, national_totals(demo_table)):
        report = audit_published(wide, national=national)
        assert report.passed, report.message()
        assert len(report.bounds) == (new.cells["status"] != PUBLISHED).sum() > 150
        finite = [b.largest for b in report.bounds if b.largest is not None]
        assert min(finite) >= THRESHOLD
    assert attack(new) == []


def needed(protected: ProtectedFlows, truth: dict[tuple[str, str, str, str], int],
           national: dict[tuple[str, str], int], index: int) -> bool:
    """Whether publishing one withheld cell again (its true value) lets the audit prove some
    withheld cell of its country and month below the threshold."""
    cells = protected.cells
    row = cells.loc[index]
    key = (country_of(row["point_id"]), row["month"])
    group = cells[(cells["point_id"].map(country_of) == key[0]) & (cells["month"] == key[1])]
    released = group.copy()
    released.loc[index, ["count", "status"]] = [
        float(truth.get((row["point_id"], row["month"], row["margin"], row["category"]), 0)),
        PUBLISHED]
    report = audit_published(ProtectedFlows(released, protected.categories).wide(),
                             national={key: national[key]})
    assert not report.inconsistent, report.message()
    return bool(report.failures)


def secondary_cells(protected: ProtectedFlows) -> list[int]:
    """The secondary cells whose need the rule guarantees: those of records whose total is
    published, and each partner's total and the cells taken with it."""
    cells = protected.cells
    totals = cells[cells["margin"] == "total"].set_index(["point_id", "month"])["status"]
    chosen = []
    for index, row in cells[cells["status"] == SECONDARY].iterrows():
        partner = totals[(row["point_id"], row["month"])] == SECONDARY
        if not partner or row["margin"] == "total":
            chosen.append(int(index))
    return chosen


def test_each_new_secondary_cell_is_needed(demo_table: pd.DataFrame) -> None:
    # Least cost: publishing any one secondary cell again lets the audit prove a withheld cell
    # of its record below the threshold.
    protected = protect_flows(demo_table)
    chosen = secondary_cells(protected)
    assert len(chosen) > 10
    truth, national = true_cells(demo_table), national_totals(demo_table)
    assert [i for i in chosen if not needed(protected, truth, national, i)] == []


# --- random tables --------------------------------------------------------------------------

NATIONALITIES = ("VEN", "HTI", "ECU", "CHN", "AFG", "IND", "ZZZ")
SEXES = ("F", "M", "U")
AGES = ("0-4", "5-11", "12-17", "18-59", "60+", "U")


def subset(values: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True)


@st.composite
def flow_tables(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str]]:
    """Small tables with many small counts: 1-2 countries of 1-3 points, 1-2 months, a random
    set of categories and of published margins; each record tiny, small or large."""
    points = [f"{country}-P{i}" for country in draw(subset(("PA", "CO")))
              for i in range(draw(st.integers(1, 3)))]
    months = ["2024-01", "2024-02"][:draw(st.integers(1, 2))]
    nationalities, sexes, ages = draw(subset(NATIONALITIES)), draw(subset(SEXES)), \
        draw(subset(AGES))
    margins = draw(subset(MARGINS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cross = [(n, s, a) for n in nationalities for s in sexes for a in ages]
    rows = []
    for point in points:
        for month in months:
            total = int(rng.choice([rng.integers(0, 8), rng.integers(5, 30),
                                    rng.integers(30, 300)]))
            counts = rng.multinomial(total, rng.dirichlet(np.full(len(cross), 0.3)))
            rows += [(point, month, "northbound", n, s, a, int(c))
                     for (n, s, a), c in zip(cross, counts, strict=True)]
    return pd.DataFrame(rows, columns=COLUMNS), margins


@settings(max_examples=100, deadline=None)
@given(drawn=flow_tables())
def test_random_tables_pass_the_audit(drawn: tuple[pd.DataFrame, list[str]]) -> None:
    frame, margins = drawn
    protected = protect_flows(frame, margins=margins)
    wide = protected.wide()
    for national in (None, national_totals(frame)):
        report = audit_published(wide, national=national)
        assert report.passed, report.message()
    assert audit_published(wide, national=national, exact=True) == report  # closed form exact
    truth = true_cells(frame)
    whole = {(r.point_id, r.month) for r in protected.cells.itertuples() if r.status == RECORD
             or (r.margin == "total" and r.status == PRIMARY)}
    for row in protected.cells.itertuples():
        value = truth.get((row.point_id, row.month, row.margin, row.category), 0)
        if row.status == PUBLISHED:
            assert row.count == value and (value == 0 or value >= THRESHOLD)
        else:
            assert math.isnan(row.count)
            # zeros are published except in a record withheld whole
            assert value > 0 or (row.point_id, row.month) in whole
    national = national_totals(frame)
    assert [i for i in secondary_cells(protected) if not needed(protected, truth, national, i)] \
        == []


def test_partners_stay_in_their_country() -> None:
    # Many tiny records across two countries: every withheld total of a record not withheld
    # whole (a partner) shares its country and month with a record withheld whole.
    frame = pd.concat([
        table([("PA-A", "VEN", "M", "18-59", 3), ("PA-B", "VEN", "F", "18-59", 60),
               ("CO-C", "VEN", "M", "18-59", 70), ("CO-D", "HTI", "M", "18-59", 2),
               ("CO-E", "HTI", "F", "18-59", 80)], month=month)
        for month in ("2024-01", "2024-02")])
    cells = protect_flows(frame).cells
    totals = cells[cells["margin"] == "total"].set_index(["point_id", "month"])["status"]
    partners = {k for k, s in totals.items() if s == SECONDARY}
    assert partners == {("PA-B", "2024-01"), ("PA-B", "2024-02"), ("CO-C", "2024-01"),
                        ("CO-C", "2024-02")}  # CO-C (70) costs fewer people than CO-E (80)
    assert {country_of(p) for p, _ in partners} == {"PA", "CO"}


# --- the run ----------------------------------------------------------------------------------


def test_the_served_demo_table_passes_the_audit(demo_run: Path) -> None:
    # What the run serves (not an intermediate): the crossings layer as written, audited
    # against the national totals of the raw table; it says which cells are withheld, never why.
    current = DataDir(demo_run).current_run()
    assert current is not None
    served = gpd.read_parquet(current / "crossings.parquet")
    raw = pd.read_csv(DataDir(demo_run).inputs / "flows" / "crossings_monthly.csv",
                      dtype={"month": str, "point_id": str})
    report = audit_published(served, national=national_totals(raw))
    assert report.passed and len(report.bounds) == (
        protect_flows(raw).cells["status"] != PUBLISHED).sum()
    text = served.select_dtypes(include=["object", "string"]).astype(str)
    assert not text.apply(lambda c: c.str.contains("primary|secondary|record")).any().any()


@pytest.fixture
def old_protection(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Runs publish the table the pre-issue-15 protection makes (a fault injected on purpose)."""
    monkeypatch.setattr(pipeline_inputs, "protect_flows", protect_flows_old)
    yield


def test_a_run_whose_table_fails_the_audit_is_not_served(
        demo_run: Path, copy_data_dir: Callable[[Path], Path], old_protection: None) -> None:
    data = DataDir(copy_data_dir(demo_run))
    served = data.current_run()
    runs = sorted(p.name for p in data.runs.iterdir())
    assert served is not None
    with pytest.raises(RunValidationError) as failed:
        run(load_region("darien"), data)
    message = str(failed.value)
    assert message.startswith("disclosure audit failed (the table is not served): crossings: ")
    raw = pd.read_csv(data.inputs / "flows" / "crossings_monthly.csv",
                      dtype={"month": str, "point_id": str})
    failing = {k: v for k, v in closed_form(raw, protect_flows_old(raw)).items() if v < THRESHOLD}
    assert f"{len(failing)} of " in message
    first = min((p, m) for p, m, _ in failing)  # the first record with a failure, all named
    assert [f"{first[0]} {first[1]} {c} <= {v}" in message
            for (p, m, c), v in failing.items() if (p, m) == first] == [True] * sum(
                1 for p, m, _ in failing if (p, m) == first)
    assert data.current_run() == served
    assert sorted(p.name for p in data.runs.iterdir()) == runs
