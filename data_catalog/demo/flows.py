"""Monthly crossings table of a region's demo (``flows/crossings_monthly.csv``), drawn from the
streams of its ``flows.yaml`` (:mod:`data_catalog.demo.spec`) with the demography below.

Real facts the Darién table is built on:

* Northbound crossings of the Darién jungle counted by Panama's National Migration Service
  (Servicio Nacional de Migración, SNM), yearly totals as quoted in METHOD.md ("Why this
  exists"): 2021: 133,726; 2022: 248,284; 2023: 520,085; 2024: 302,203; about 20% of them
  children (0-17). The northbound rows of the table add up to these totals exactly.
* The nationality mix changed by year: in 2021 Haitians dominated, many travelling with children
  born in Chile or Brazil (who are counted as Chilean and Brazilian nationals); from 2022 to 2024
  Venezuelans dominated; Ecuadorians and Chinese nationals rose in 2023.
* 2023 was the peak year, with its peak in August-September (about 80,000 a month).
* Most people were registered at Bajo Chiquito (PA-BCH) after the route over the border ridge;
  a smaller number came out at Canaán Membrillo (PA-CAN).
* In late 2024 a small southbound (reverse) flow began, by boat along the Caribbean coast to
  Necoclí (CO-NEC).

Everything below the yearly totals is synthetic: the monthly shape only resembles the published
monthly series, and the split by crossing point, nationality, sex and age group is drawn from the
shares in this module with seeded noise, then rounded by largest remainders so that every month
and every year adds up exactly. Rare nationalities and the 60+ age group produce many cells below
5, as real tables do (they exercise the disclosure control of METHOD.md).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from data_catalog.demo.spec import FlowsSpec

CSV_COLUMNS: Final[tuple[str, ...]] = (
    "point_id",
    "month",
    "direction",
    "nationality",
    "sex",
    "age_group",
    "count",
)
"""Header of ``crossings_monthly.csv``, in order."""

NATIONALITIES: Final[tuple[str, ...]] = (
    "VEN",
    "HTI",
    "ECU",
    "CHN",
    "COL",
    "CHL",
    "BRA",
    "PER",
    "AFG",
    "IND",
    "CMR",
    "ZZZ",
)
"""ISO 3166-1 alpha-3 nationalities of the table; ``ZZZ`` = all others."""

SEXES: Final[tuple[str, ...]] = ("F", "M")
"""Sex codes of the table (the vocabulary's F and M; the demo has no unknown sex)."""

AGE_GROUPS: Final[tuple[str, ...]] = ("0-4", "5-11", "12-17", "18-59", "60+")
"""Age groups of the table (the vocabulary's five; the demo has no unknown age)."""

CHILD_AGE_SPLIT: Final[dict[str, float]] = {"0-4": 0.45, "5-11": 0.35, "12-17": 0.20}
"""How each nationality's children (``CHILD_SHARE``) split into the three children's age
groups: fixed shares chosen for the demo (synthetic; young children are the largest group
among the children crossing the Darién)."""

CHILD_SHARE: Final[dict[str, float]] = {
    "VEN": 0.20, "HTI": 0.10, "ECU": 0.27, "CHN": 0.12, "COL": 0.22, "CHL": 0.90,
    "BRA": 0.90, "PER": 0.20, "AFG": 0.25, "IND": 0.03, "CMR": 0.08, "ZZZ": 0.10,
}  # fmt: skip
"""Share of children (0-17, split by ``CHILD_AGE_SPLIT``) within each nationality."""

ELDER_SHARE: Final[dict[str, float]] = {
    "VEN": 0.015, "HTI": 0.006, "ECU": 0.02, "CHN": 0.02, "COL": 0.02, "CHL": 0.002,
    "BRA": 0.002, "PER": 0.02, "AFG": 0.015, "IND": 0.005, "CMR": 0.004, "ZZZ": 0.01,
}  # fmt: skip
"""Share of people aged 60+ within each nationality."""

ADULT_FEMALE_SHARE: Final[dict[str, float]] = {
    "VEN": 0.40, "HTI": 0.40, "ECU": 0.42, "CHN": 0.30, "COL": 0.42, "CHL": 0.45,
    "BRA": 0.45, "PER": 0.40, "AFG": 0.30, "IND": 0.08, "CMR": 0.25, "ZZZ": 0.30,
}  # fmt: skip
"""Share of women among adults (18+) of each nationality; children are 48% girls."""

NOISE_SIGMA: Final[float] = 0.15
"""Log-normal spread of the monthly nationality shares around the yearly mix."""


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total by weights with largest-remainder rounding.

    Ties are broken by position (the earlier cell gets the extra unit), so the result is
    deterministic.

    Args:
        total: Non-negative integer to split.
        weights: Non-negative weights, any shape, not all zero (unless ``total`` is 0).

    Returns:
        Integer array of the shape of ``weights`` that sums to ``total`` exactly.
    """
    w = np.asarray(weights, dtype=np.float64)
    flat = w.ravel()
    s = flat.sum()
    if total == 0 or s == 0:
        if total:
            raise ValueError("cannot apportion a positive total over zero weights")
        return np.zeros(w.shape, dtype=np.int64)
    raw = flat / s * total
    base = np.floor(raw).astype(np.int64)
    left = int(total - base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:left]] += 1
    return base.reshape(w.shape)


def _demography(nat_mix: np.ndarray) -> np.ndarray:
    """Return weights of shape (nationality, sex, age group) for a nationality mix."""
    out = np.zeros((len(NATIONALITIES), len(SEXES), len(AGE_GROUPS)))
    for i, nat in enumerate(NATIONALITIES):
        child, elder = CHILD_SHARE[nat], ELDER_SHARE[nat]
        adult = 1.0 - child - elder
        fem = ADULT_FEMALE_SHARE[nat]
        children = [child * CHILD_AGE_SPLIT[age] for age in AGE_GROUPS[:3]]
        elder_fem = min(fem + 0.1, 0.6)
        out[i, 0] = (*(c * 0.48 for c in children), adult * fem, elder * elder_fem)
        out[i, 1] = (*(c * 0.52 for c in children), adult * (1 - fem), elder * (1 - elder_fem))
        out[i] *= nat_mix[i]
    return out


def _mix(shares: dict[str, float]) -> np.ndarray:
    """Return the shares as an array in ``NATIONALITIES`` order."""
    return np.array([shares[n] for n in NATIONALITIES], dtype=np.float64)


def crossings_table(flows: FlowsSpec, seed: int) -> pd.DataFrame:
    """Build the monthly crossings table of a region's streams.

    Each stream's months get its yearly totals shaped by its monthly weights (or its monthly
    totals as given); each month is split over the stream's points (by their share of the
    year), nationalities (the year's mix with seeded log-normal noise), sexes and age groups
    (the demography of each nationality), by largest remainders, so every month adds up.

    Args:
        flows: The region's streams, drawn in order.
        seed: Seed of the noise around the nationality shares.

    Returns:
        Table with columns ``CSV_COLUMNS``: one row per point, month, direction, nationality,
        sex and age group (zeros included); ``count`` in people.
    """
    rng = np.random.default_rng([seed, 0xF10])
    rows: list[tuple[str, str, str, str, str, str, int]] = []

    def emit(point: str, month: str, direction: str, counts: np.ndarray) -> None:
        for i, nat in enumerate(NATIONALITIES):
            for j, sex in enumerate(SEXES):
                for k, age in enumerate(AGE_GROUPS):
                    rows.append((point, month, direction, nat, sex, age, int(counts[i, j, k])))

    for stream in flows.streams:
        for year in stream.years():
            if stream.yearly_totals is not None and stream.monthly_shape is not None:
                monthly = apportion(stream.yearly_totals[year],
                                    np.array(stream.monthly_shape[year]))
            else:
                monthly = np.array((stream.monthly_totals or {})[year])
            base_mix = _mix(stream.mix(year))
            for m, month_total in enumerate(monthly, start=1):
                weights = np.stack([
                    stream.share(year, point) * _demography(
                        base_mix * rng.lognormal(0.0, NOISE_SIGMA, size=len(NATIONALITIES)))
                    for point in stream.points])
                counts = apportion(int(month_total), weights)
                for p_i, point in enumerate(stream.points):
                    emit(point, f"{year}-{m:02d}", stream.direction, counts[p_i])

    table = pd.DataFrame.from_records(rows, columns=list(CSV_COLUMNS))
    table["count"] = table["count"].astype("int64")
    return table
