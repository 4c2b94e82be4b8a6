"""The interval audit of a published crossings table (docs/DISCLOSURE.md).

For every withheld cell it finds, by integer linear programming (`scipy.optimize.milp`), the
largest value consistent with everything published, as an attacker who knows the rules would:

* each record's published cells: every margin sums to the record's total;
* the rules: zeros are published, so a withheld cell is at least 1, except in a record withheld
  whole (every cell null), whose cells are at least 0; a withheld total is at least 1 (a total
  of 0 is published);
* optionally, a public total per country and month over all its points (`national_totals`):
  the withheld totals of that country's records sum to it minus the published ones.

Every other number the service shows is a sum of published cells (monthly series, yearly flows
along the route, `/analysis` totals, downloads) and adds no constraint. A public yearly total is
a sum of monthly ones, so auditing against the monthly totals covers it.

A withheld cell passes when its largest feasible value is at least the threshold. The one
exception (`Bound.exempt`): a cell of a country and month of which the table publishes no
non-zero number (every record withheld whole or empty), under a public national total. The
protection has nothing left to withhold there (zeros stay published, so that a withheld cell
is at least 1), and the counts are bounded by the national total the country published itself.

The run calls `audit_flow_layers` in its validation stage: a table that fails is never served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from pipelines.config import RegionConfig
from pipelines.disclosure import MARGINS, THRESHOLD, country_of
from pipelines.errors import RunValidationError
from pipelines.inputs import read_flow_counts
from pipelines.publish import Written

NationalTotals = Mapping[tuple[str, str], int]
"""People per (country, month): a public monthly total over all the country's points."""

SHOWN = 12
"""Failing cells named in an error message (the rest are counted)."""


@dataclass(frozen=True)
class Bound:
    """The largest value a withheld cell can take given everything published.

    Attributes:
        point_id: the crossing point.
        month: the month (`YYYY-MM`).
        column: the published column (`total`, `nationality_ECU`, ...).
        largest: people, or None when nothing bounds the cell from above.
        exempt: the table publishes no non-zero number of the cell's country and month
            (every record withheld whole or empty) and a public national total bounds it.
    """

    point_id: str
    month: str
    column: str
    largest: int | None
    exempt: bool = False

    def __str__(self) -> str:
        return f"{self.point_id} {self.month} {self.column} <= {self.largest}"


@dataclass(frozen=True)
class AuditReport:
    """The audit of one published table.

    Attributes:
        threshold: the least largest value a withheld cell must keep (people).
        bounds: one per withheld cell, in table order.
        inconsistent: records or country-months whose published numbers admit no table at all
            (a margin that does not add up to its total, a withheld zero): a bug, never a pass.
    """

    threshold: int
    bounds: tuple[Bound, ...]
    inconsistent: tuple[str, ...] = ()

    @property
    def failures(self) -> tuple[Bound, ...]:
        """Withheld cells proven to be below the threshold (not exempt)."""
        return tuple(b for b in self.bounds if not b.exempt and b.largest is not None
                     and b.largest < self.threshold)

    @property
    def passed(self) -> bool:
        """No withheld cell can be proven small, and the table is consistent."""
        return not self.failures and not self.inconsistent

    def message(self) -> str:
        """What failed, naming the cells (the first `SHOWN`) and their largest values."""
        failures = self.failures
        parts = []
        if failures:
            named = "; ".join(str(b) for b in failures[:SHOWN])
            more = f" and {len(failures) - SHOWN} more" if len(failures) > SHOWN else ""
            parts.append(f"{len(failures)} of {len(self.bounds)} withheld cells can be proven "
                         f"below {self.threshold}: {named}{more}")
        if self.inconsistent:
            parts.append("inconsistent: " + "; ".join(self.inconsistent[:SHOWN]))
        return ". ".join(parts) if parts else f"{len(self.bounds)} withheld cells, all protected"


def national_totals(table: pd.DataFrame) -> dict[tuple[str, str], int]:
    """The total of each country and month over all its points (people), as a national
    service publishing monthly totals would give it.

    Args:
        table: a flow table (`point_id`, `month`, `count`), as `protect_flows` takes it.
    """
    months = table["month"].astype(str).str.slice(0, 7)
    countries = table["point_id"].astype(str).map(country_of)
    counts = pd.to_numeric(table["count"], errors="coerce").fillna(0)
    sums = counts.groupby([countries, months]).sum()
    return {(str(c), str(m)): int(v) for (c, m), v in sums.items()}


def margin_columns(columns: list[str]) -> dict[str, list[str]]:
    """The published cell columns of each margin present (`sex_F`, ... by `sex`)."""
    found = {m: [c for c in columns if c.startswith(f"{m}_")] for m in MARGINS}
    return {m: cols for m, cols in found.items() if cols}


class _System:
    """Withheld cells as integer variables, and the equations the published numbers give."""

    def __init__(self) -> None:
        self.names: list[tuple[int, str]] = []  # (row, column) of each variable
        self.lower: list[float] = []
        self.equations: list[tuple[dict[int, float], float, str]] = []
        self.inconsistent: list[str] = []

    def variable(self, row: int, column: str, lower: float) -> int:
        self.names.append((row, column))
        self.lower.append(lower)
        return len(self.names) - 1

    def equation(self, terms: dict[int, float], rhs: float, where: str) -> None:
        if terms:
            self.equations.append((terms, rhs, where))
        elif abs(rhs) > 1e-9:  # nothing withheld and the published numbers disagree
            self.inconsistent.append(f"{where}: published numbers differ by {rhs:g}")


def _build(published: pd.DataFrame, national: NationalTotals | None) -> _System:
    """The published constraints of a wide crossings table (one row per point and month)."""
    system = _System()
    margins = margin_columns([str(c) for c in published.columns])
    points = published["point_id"].astype(str).to_numpy()
    months = published["month"].astype(str).to_numpy()
    totals = published["total"].to_numpy(dtype="float64", na_value=np.nan)
    cells = {m: published[cols].to_numpy(dtype="float64", na_value=np.nan)
             for m, cols in margins.items()}
    total_vars: dict[int, int] = {}
    for row in range(len(published)):
        where = f"{points[row]} {months[row]}"
        whole = np.isnan(totals[row]) and all(np.isnan(v[row]).all() for v in cells.values())
        if np.isnan(totals[row]):
            total_vars[row] = system.variable(row, "total", 1.0)
        for margin, cols in margins.items():
            values = cells[margin][row]
            terms = {system.variable(row, col, 0.0 if whole else 1.0): 1.0
                     for col, value in zip(cols, values, strict=True) if np.isnan(value)}
            known = float(np.nansum(values))
            if row in total_vars:
                terms[total_vars[row]] = -1.0
                system.equation(terms, -known, f"{where} {margin}")
            else:
                system.equation(terms, totals[row] - known, f"{where} {margin}")
    if national is not None:
        groups: dict[tuple[str, str], list[int]] = {}
        for row in range(len(published)):
            groups.setdefault((country_of(points[row]), months[row]), []).append(row)
        for key, rows in sorted(groups.items()):
            if key not in national:
                continue
            known = float(sum(totals[r] for r in rows if not np.isnan(totals[r])))
            terms = {total_vars[r]: 1.0 for r in rows if r in total_vars}
            system.equation(terms, float(national[key]) - known,
                            f"national total {key[0]} {key[1]}")
    return system


def _components(system: _System) -> list[tuple[list[int], list[int]]]:
    """Variables linked by equations, with their equations: (variables, equation indices)."""
    parent = list(range(len(system.names)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for terms, _, _ in system.equations:
        first, *rest = terms
        for other in rest:
            parent[find(other)] = find(first)
    variables: dict[int, list[int]] = {}
    for index in range(len(system.names)):
        variables.setdefault(find(index), []).append(index)
    equations: dict[int, list[int]] = {}
    for number, (terms, _, _) in enumerate(system.equations):
        equations.setdefault(find(next(iter(terms))), []).append(number)
    return [(members, equations.get(root, [])) for root, members in variables.items()]


def _largest(system: _System, members: list[int], rows: list[int],
             exact: bool) -> list[int | None] | None:
    """The largest integer value of each variable of one component (None: unbounded), or None
    when the component's equations have no solution.

    A component that is one equation with every coefficient +1 (a margin whose total is
    published) has the closed form `rhs - (sum of the other variables' lower bounds)`;
    any other (or every one, when `exact`) is solved by integer programming.
    """
    if not rows:
        return [None] * len(members)
    lows = [system.lower[v] for v in members]
    if not exact and len(rows) == 1:
        terms, rhs, _ = system.equations[rows[0]]
        if all(c == 1.0 for c in terms.values()):
            spare = rhs - sum(lows)
            return None if spare < 0 else [round(low + spare) for low in lows]
    column = {v: j for j, v in enumerate(members)}
    a = np.zeros((len(rows), len(members)))
    b = np.zeros(len(rows))
    for i, number in enumerate(rows):
        terms, rhs, _ = system.equations[number]
        for variable, coefficient in terms.items():
            a[i, column[variable]] = coefficient
        b[i] = rhs
    problem = {"constraints": LinearConstraint(a, b, b), "integrality": np.ones(len(members)),
               "bounds": Bounds(np.array(lows), np.full(len(members), np.inf))}
    largest: list[int | None] = []
    for j in range(len(members)):
        objective = np.zeros(len(members))
        objective[j] = -1.0
        result = milp(objective, **problem)
        if result.status == 0:
            largest.append(round(float(result.x[j])))
        elif result.status == 2 or milp(np.zeros(len(members)), **problem).status != 0:
            return None  # infeasible (HiGHS may say "infeasible or unbounded": ask again)
        else:
            largest.append(None)  # feasible and unbounded
    return largest


def audit_published(published: pd.DataFrame, *, national: NationalTotals | None = None,
                    threshold: int = THRESHOLD, exact: bool = False) -> AuditReport:
    """The largest feasible value of every withheld cell of a published crossings table.

    Args:
        published: the table as served: one row per point and month with `point_id`,
            `month`, `total` and the margin columns (`ProtectedFlows.wide`, the `crossings`
            layer); null where withheld. Other columns are ignored.
        national: public totals per (country, month) (`national_totals`), or None.
        threshold: the least largest value a withheld cell must keep (people).
        exact: solve every component by integer programming, also the single margins whose
            closed form is exact (slower; a check on the closed form).

    Returns:
        The report; `AuditReport.passed` says whether the table may be served.
    """
    frame = published.reset_index(drop=True)
    system = _build(frame, national)
    largest: dict[int, int | None] = {}
    for members, rows in _components(system):
        values = _largest(system, members, rows, exact)
        if values is None:
            where = sorted({system.equations[n][2] for n in rows})
            system.inconsistent.append("no table fits " + ", ".join(where[:4]))
            values = [None] * len(members)
        largest.update(zip(members, values, strict=True))
    points = frame["point_id"].astype(str).to_numpy()
    months = frame["month"].astype(str).to_numpy()
    silent = _silent_groups(frame, national)
    bounds = tuple(
        Bound(points[row], months[row], column, largest[index],
              exempt=(country_of(points[row]), months[row]) in silent)
        for index, (row, column) in enumerate(system.names))
    return AuditReport(threshold, bounds, tuple(system.inconsistent))


def _silent_groups(frame: pd.DataFrame, national: NationalTotals | None) -> set[tuple[str, str]]:
    """Countries and months with a public total of which the table publishes no non-zero
    number (every record withheld whole or empty)."""
    if national is None:
        return set()
    columns = ["total", *(c for cols in margin_columns([str(c) for c in frame.columns]).values()
                          for c in cols)]
    nothing = (frame[columns].fillna(0) == 0).all(axis=1)
    keys = list(zip(frame["point_id"].astype(str).map(country_of), frame["month"].astype(str),
                    strict=True))
    silent: dict[tuple[str, str], bool] = {}
    for key, empty in zip(keys, nothing, strict=True):
        silent[key] = silent.get(key, True) and bool(empty)
    return {key for key, empty in silent.items() if empty and key in national}


def audit_flow_layers(config: RegionConfig, written: Written, paths: Mapping[str, Path]) -> None:
    """The run's disclosure check: audit every layer that republishes a flow-count input, as
    written, against the national totals of its raw table (every country's monthly total taken
    as public: the strongest attacker).

    Args:
        config: the region file.
        written: the run's layers (`pipelines.publish.Written`).
        paths: the run's input files by input name.

    Raises:
        RunValidationError: naming the layer and the withheld cells proven below the threshold.
    """
    problems = []
    for layer_id, (layer, path) in sorted(written.items()):
        spec = config.inputs.get(layer.source)
        if layer.source_kind != "input" or spec is None or spec.kind != "flow_counts":
            continue
        national = national_totals(read_flow_counts(paths[layer.source]))
        report = audit_published(gpd.read_parquet(path), national=national)
        if not report.passed:
            problems.append(f"{layer_id}: {report.message()}")
    if problems:
        raise RunValidationError("disclosure audit failed (the table is not served): "
                                 + "; ".join(problems))

