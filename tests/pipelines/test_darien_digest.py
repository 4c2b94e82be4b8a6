"""The Darién demo inputs are byte-identical, and a run's outputs equal in value, to the digest
stored before regions and layers became data (issue 12): see `tests/digest.py`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from data_catalog.paths import DataDir
from tests.digest import (
    DIGEST_PATH,
    Digest,
    float_fingerprint,
    input_digest,
    made_with,
    run_digest,
    same_digest,
    same_fingerprint,
)

STORED = json.loads(DIGEST_PATH.read_text(encoding="utf-8"))


def _differences(section: str, now: dict[str, Digest]) -> list[str]:
    stored: dict[str, Digest] = STORED[section]
    missing = sorted(set(stored) - set(now))
    extra = sorted(set(now) - set(stored))
    changed = sorted(k for k in set(stored) & set(now) if not same_digest(stored[k], now[k]))
    return ([f"{section}: missing {k}" for k in missing] + [f"{section}: new {k}" for k in extra]
            + [f"{section}: changed {k}" for k in changed])


def _context() -> str:
    return (f"digest made with {STORED['made_with']}, now {made_with()}; rewrite it only for a "
            "change meant to change the demo or the method: python -m tests.digest --write")


def test_demo_inputs_are_byte_identical(demo_inputs: Path) -> None:
    problems = _differences("inputs", input_digest(DataDir(demo_inputs).inputs))
    assert not problems, "\n".join([*problems, _context()])


@pytest.mark.parametrize("section", ["rasters", "tables", "items"])
def test_run_outputs_equal_in_value(demo_run: Path, section: str) -> None:
    current = DataDir(demo_run).current_run()
    assert current is not None
    problems = _differences(section, run_digest(current)[section])
    assert not problems, "\n".join([*problems, _context()])


def test_the_digest_covers_the_whole_run() -> None:
    # A digest that lost a section or a layer would pass while checking nothing.
    assert len(STORED["inputs"]) == 20
    assert {"risk", "risk_class", "hazard", "flood", "transit"} <= set(STORED["rasters"])
    assert {"protected_areas", "planning_units", "crossings"} <= set(STORED["tables"])
    assert set(STORED["items"]) == set(STORED["rasters"]) | set(STORED["tables"])


def test_a_float_fingerprint_ignores_the_last_bits_and_catches_a_changed_cell() -> None:
    # The Darién grid's size, smooth values around 1 and a missing corner, as a run writes them.
    rng = np.random.default_rng(7)
    values = 1.0 + rng.random((160, 96))
    values[:10, :10] = np.nan
    stored = float_fingerprint(values)
    # A few ULPs, as another CPU's exp or sum gives: the same layer.
    assert same_fingerprint(stored, float_fingerprint(values * (1 + 4e-16)))
    # 0.01 more in one cell of a 20 × 12 block moves that block's mean by 4.2e-5: a change.
    changed = values.copy()
    changed[80, 50] += 0.01
    assert not same_fingerprint(stored, float_fingerprint(changed))
    # A cell going missing is a change even when the means hardly move.
    holed = values.copy()
    holed[80, 50] = np.nan
    assert not same_fingerprint(stored, float_fingerprint(holed))
