"""The Darién demo inputs are byte-identical, and a run's outputs equal in value, to the digest
stored before regions and layers became data (issue 12): see `tests/digest.py`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_catalog.paths import DataDir
from tests.digest import DIGEST_PATH, input_digest, made_with, run_digest

STORED = json.loads(DIGEST_PATH.read_text(encoding="utf-8"))


def _differences(section: str, now: dict[str, str]) -> list[str]:
    stored: dict[str, str] = STORED[section]
    missing = sorted(set(stored) - set(now))
    extra = sorted(set(now) - set(stored))
    changed = sorted(k for k in set(stored) & set(now) if stored[k] != now[k])
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
