"""Disclosure control of flow counts: what is published, and attacks that must fail.

Each attack tries to work out every withheld cell of every record from what is published
(the total and the rest of each margin): by linear algebra (is the cell's unit vector in the
row space of the published equations?), by margin arithmetic with non-negative counts (interval
propagation until nothing changes), and by the same arithmetic for someone who knows the rules
(a withheld cell is then at least 1 unless zeros had to be withheld).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from geo_service.app import create_app
from geo_service.settings import Settings
from pipelines.disclosure import (
    MARGINS,
    PUBLISHED,
    THRESHOLD,
    ProtectedFlows,
    property_name,
    protect_flows,
)

SEXES = ("F", "M")
AGES = ("0-4", "5-11", "12-17", "18-59", "60+")
NATIONALITIES = ("VEN", "HTI", "ECU", "CHN", "AFG", "IND", "ZZZ")
UNBOUNDED = 1e9
"""An upper bound no count reaches (people)."""


def flow_table(seed: int, records: int = 120) -> pd.DataFrame:
    """A flow table with many small cells: heavy-tailed totals split over a skewed mix."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(records):
        point, month = f"p{index % 4}", f"{2020 + index // 48}-{index // 4 % 12 + 1:02d}"
        total = int(rng.choice([rng.integers(0, 8), rng.integers(5, 60), rng.integers(50, 900)]))
        weights = rng.dirichlet(np.full(len(SEXES) * len(AGES) * len(NATIONALITIES), 0.3))
        counts = rng.multinomial(total, weights)
        for (sex, age, nat), count in zip(itertools.product(SEXES, AGES, NATIONALITIES),
                                          counts, strict=True):
            rows.append((point, month, "northbound", nat, sex, age, int(count)))
    return pd.DataFrame(rows, columns=["point_id", "month", "direction", "nationality", "sex",
                                       "age_group", "count"])


def true_cells(table: pd.DataFrame) -> dict[tuple[str, str, str, str], int]:
    """(point, month, margin, category) -> true count, with the total as margin "total"."""
    out: dict[tuple[str, str, str, str], int] = {}
    for (point, month), group in table.groupby(["point_id", "month"]):
        out[(point, month, "total", "")] = int(group["count"].sum())
        for margin in MARGINS:
            for category, value in group.groupby(margin)["count"].sum().items():
                out[(point, month, margin, str(category))] = int(value)
    return out


def records(protected: ProtectedFlows) -> dict[tuple[str, str], pd.DataFrame]:
    return {key: group for key, group in protected.cells.groupby(["point_id", "month"])}


def equations(record: pd.DataFrame) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The published equations of one record over its withheld cells: A x = b.

    Returns the row positions of the withheld cells (in `record`), A and b.
    """
    withheld = [i for i, status in enumerate(record["status"]) if status != PUBLISHED]
    column = {row: j for j, row in enumerate(withheld)}
    total_row = next(i for i, m in enumerate(record["margin"]) if m == "total")
    total = record["count"].iloc[total_row]
    rows, rhs = [], []
    for margin in MARGINS:
        members = [i for i, m in enumerate(record["margin"]) if m == margin]
        equation = np.zeros(len(withheld))
        known = 0.0
        for i in members:
            if i in column:
                equation[column[i]] = 1.0
            else:
                known += float(record["count"].iloc[i])
        if total_row in column:
            equation[column[total_row]] = -1.0
            rows.append(equation)
            rhs.append(-known)
        else:
            rows.append(equation)
            rhs.append(float(total) - known)
    return withheld, np.array(rows), np.array(rhs)


def solvable_by_linear_algebra(a: np.ndarray, j: int) -> bool:
    unit = np.zeros(a.shape[1])
    unit[j] = 1.0
    return bool(np.linalg.matrix_rank(np.vstack([a, unit])) == np.linalg.matrix_rank(a))


def intervals(a: np.ndarray, b: np.ndarray, low: np.ndarray,
              high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Propagate bounds through each equation sum(a_j x_j) = b until nothing changes."""
    low, high = low.astype(float).copy(), high.astype(float).copy()
    for _ in range(200):
        changed = False
        for row, target in zip(a, b, strict=True):
            for j in np.flatnonzero(row):
                others = [k for k in np.flatnonzero(row) if k != j]
                rest_low = sum(row[k] * (low[k] if row[k] > 0 else high[k]) for k in others)
                rest_high = sum(row[k] * (high[k] if row[k] > 0 else low[k]) for k in others)
                lo, hi = (target - rest_high) / row[j], (target - rest_low) / row[j]
                if row[j] < 0:
                    lo, hi = hi, lo
                if lo > low[j] + 1e-9:
                    low[j], changed = lo, True
                if hi < high[j] - 1e-9:
                    high[j], changed = hi, True
        if not changed or np.any(low > high + 1e-9):  # settled, or the bounds are infeasible
            break
    return low, high


def attack(protected: ProtectedFlows) -> list[str]:
    """Every withheld cell some attack pins down (empty when the protection holds)."""
    found = []
    for (point, month), record in records(protected).items():
        record = record.reset_index(drop=True)
        withheld, a, b = equations(record)
        if not withheld:
            continue
        names = [f"{point}/{month}/{record['margin'][i]}/{record['category'][i]}"
                 for i in withheld]
        for j, name in enumerate(names):
            if solvable_by_linear_algebra(a, j):
                found.append(f"linear algebra: {name}")
        high = np.full(len(withheld), UNBOUNDED)
        low, high = intervals(a, b, np.zeros(len(withheld)), high)
        found += [f"margin arithmetic: {n}" for n, lo, hi in zip(names, low, high, strict=True)
                  if hi - lo < 0.5]
        # Someone who knows the rules: a withheld cell is at least 1 (zeros are not
        # suppressed for being small). Where that is infeasible, zeros were withheld too.
        ones = np.ones(len(withheld))
        low1, high1 = intervals(a, b, ones, np.full(len(withheld), UNBOUNDED))
        if np.all(low1 <= high1 + 1e-9):
            found += [f"rule-aware arithmetic: {n}"
                      for n, lo, hi in zip(names, low1, high1, strict=True) if hi - lo < 0.5]
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_withheld_cell_can_be_recovered(seed: int) -> None:
    protected = protect_flows(flow_table(seed))
    withheld = (protected.cells["status"] != PUBLISHED).sum()
    assert withheld > 100  # the attack has something to try on
    assert attack(protected) == []


def test_the_attack_breaks_primary_suppression_alone() -> None:
    # Without secondary suppression the same attacks recover cells: they are not toothless.
    table = flow_table(1)
    protected = protect_flows(table)
    truth = true_cells(table)
    naive = protected.cells.copy()
    secondary = naive["status"] == "secondary"
    assert secondary.any()
    naive.loc[secondary, "status"] = PUBLISHED
    naive.loc[secondary, "count"] = [
        truth.get((r.point_id, r.month, r.margin, r.category), 0)
        for r in naive[secondary].itertuples()]
    found = attack(replace(protected, cells=naive))
    assert any(f.startswith("linear algebra") for f in found)


def test_published_cells_are_true_and_never_small() -> None:
    table = flow_table(7)
    protected = protect_flows(table)
    truth = true_cells(table)
    for row in protected.cells.itertuples():
        value = truth.get((row.point_id, row.month, row.margin, row.category), 0)
        if row.status == PUBLISHED:
            assert row.count == value
            assert value == 0 or value >= THRESHOLD
        else:
            assert math.isnan(row.count)
    primary = protected.cells[protected.cells["status"] == "primary"]
    assert len(primary) and all(
        0 < truth.get((r.point_id, r.month, r.margin, r.category), 0) < THRESHOLD
        for r in primary.itertuples())


def small(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame([("p", "2024-01", "northbound", nat, sex, age, count)
                         for nat, sex, age, count in rows],
                        columns=["point_id", "month", "direction", "nationality", "sex",
                                 "age_group", "count"])


def cells(protected: ProtectedFlows) -> dict[tuple[str, str], tuple[float, str]]:
    return {(r.margin, r.category): (r.count, r.status) for r in protected.cells.itertuples()}


def test_one_small_cell_takes_the_smallest_partner() -> None:
    # sex: F 3 (small), M 40 -> M withheld too; nationality VEN 30, HTI 10, AFG 3 -> HTI partner
    protected = cells(protect_flows(small([
        ("VEN", "F", "18-59", 3), ("VEN", "M", "18-59", 27), ("HTI", "M", "18-59", 10),
        ("AFG", "M", "18-59", 3)])))
    assert protected[("total", "")] == (43.0, PUBLISHED)
    assert protected[("sex", "F")][1] == "primary"
    assert protected[("sex", "M")][1] == "secondary"
    assert protected[("nationality", "AFG")][1] == "primary"
    assert protected[("nationality", "HTI")][1] == "secondary"
    assert protected[("nationality", "VEN")] == (30.0, PUBLISHED)
    assert protected[("age_group", "18-59")] == (43.0, PUBLISHED)


def test_two_ones_get_a_third_cell() -> None:
    # AFG 1 and IND 1: withholding only them would pin both to 1 for someone who knows that
    # withheld cells are at least 1; a third cell goes too.
    protected = cells(protect_flows(small([
        ("VEN", "M", "18-59", 30), ("HTI", "M", "18-59", 9), ("AFG", "M", "18-59", 1),
        ("IND", "M", "18-59", 1)])))
    hidden = {k for k, (_, status) in protected.items() if k[0] == "nationality"
              and status != PUBLISHED}
    assert hidden == {("nationality", "AFG"), ("nationality", "IND"), ("nationality", "HTI")}


def test_small_total_withholds_the_whole_record() -> None:
    protected = protect_flows(small([("VEN", "F", "18-59", 2), ("HTI", "M", "5-11", 1)]))
    assert (protected.cells["status"] != PUBLISHED).all()
    assert protected.cells["count"].isna().all()
    wide = protected.wide()
    assert wide["suppressed_cells"].iloc[0] == len(protected.cells)


def test_zeros_are_published_and_empty_records_too() -> None:
    protected = cells(protect_flows(small([("VEN", "F", "18-59", 20), ("VEN", "M", "18-59", 0),
                                           ("HTI", "M", "18-59", 0)])))
    assert protected[("nationality", "HTI")] == (0.0, PUBLISHED)
    assert protected[("sex", "M")] == (0.0, PUBLISHED)
    empty = cells(protect_flows(small([("VEN", "F", "18-59", 0)])))
    assert empty[("total", "")] == (0.0, PUBLISHED)


def test_vocabulary_categories_are_published_even_when_absent() -> None:
    # The data hold F and 18-59 only: every sex and age group of the vocabulary is a column,
    # in the vocabulary's order, the absent ones published as 0.
    protected = protect_flows(small([("VEN", "F", "18-59", 20)]))
    assert protected.categories["sex"] == ["F", "M", "U"]
    assert protected.categories["age_group"] == ["0-4", "5-11", "12-17", "18-59", "60+", "U"]
    wide = protected.wide().iloc[0]
    assert (wide["sex_F"], wide["sex_M"], wide["sex_U"]) == (20, 0, 0)
    assert (wide["age_group_0_4"], wide["age_group_18_59"], wide["age_group_U"]) == (0, 20, 0)


def test_wide_table_names_and_nulls() -> None:
    protected = protect_flows(flow_table(4, records=12))
    wide = protected.wide()
    assert property_name("age_group", "60+") == "age_group_60plus"
    assert {"total", "sex_F", "age_group_60plus", "nationality_AFG"} <= set(wide.columns)
    assert str(wide["total"].dtype) == "Int64"
    for row in wide.itertuples():
        names = [n for n in row.suppressed.split(",") if n]
        assert len(names) == row.suppressed_cells
        for name in names:
            assert pd.isna(getattr(row, name))


# --- the published collection ------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_client(demo_run: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=demo_run)))


def test_demo_crossings_publish_only_the_protected_table(demo_client: TestClient,
                                                         demo_run: Path) -> None:
    raw = pd.read_csv(demo_run / "inputs" / "flows" / "crossings_monthly.csv",
                      dtype={"month": str})
    protected = protect_flows(raw)
    assert attack(protected) == []
    body = demo_client.get("/collections/crossings/items", params={"limit": 10000}).json()
    assert body["numberMatched"] == raw.groupby(["point_id", "month"]).ngroups
    counts = [v for f in body["features"] for k, v in f["properties"].items()
              if isinstance(v, int) and not isinstance(v, bool) and k != "suppressed_cells"]
    assert counts and not [v for v in counts if 0 < v < THRESHOLD]
    assert any(f["properties"]["suppressed_cells"] for f in body["features"])
    # A filter on a withheld value never matches: filters see the protected table only.
    for f in body["features"]:
        hidden = [n for n in f["properties"]["suppressed"].split(",") if n]
        if hidden:
            name = hidden[0]
            break
    else:
        pytest.fail("no withheld cell in the demo")
    truth = true_cells(raw)
    margin = next(m for m in MARGINS if name.startswith(m + "_"))
    category = next(c for (p, mo, mg, c) in truth if mg == margin
                    and property_name(margin, c) == name)
    value = truth[(f["properties"]["point_id"], f["properties"]["month"], margin, category)]
    matched = demo_client.get("/collections/crossings/items",
                              params={name: str(value),
                                      "point_id": f["properties"]["point_id"],
                                      "month": f["properties"]["month"]}).json()
    assert matched["numberMatched"] == 0


def test_demo_analysis_totals_use_the_protected_table(demo_client: TestClient) -> None:
    pages = demo_client.get("/collections/crossings/items", params={"limit": 10000}).json()
    published = sum(f["properties"]["total"] or 0 for f in pages["features"])
    withheld = sum(f["properties"]["total"] is None for f in pages["features"])
    region = {"type": "Polygon", "coordinates": [[[-79.5, 6.8], [-76.5, 6.8], [-76.5, 9.8],
                                                  [-79.5, 9.8], [-79.5, 6.8]]]}
    body = demo_client.post("/analysis", json={"geometry": region,
                                                "layers": ["crossings"]}).json()
    stats = body["layers"]["crossings"]
    assert stats["total"] == published and stats["withheld"] == withheld
    year = demo_client.post("/analysis", json={"geometry": region, "layers": ["crossings"],
                                                "datetime": "2023-01-01/2023-12-31"}).json()
    in_2023 = sum(f["properties"]["total"] or 0 for f in pages["features"]
                  if f["properties"]["month"].startswith("2023-"))
    assert year["layers"]["crossings"]["total"] == in_2023
