"""An indicator that tells no cells apart is reported by name and fails the run unless the
region file marks it `constant_ok`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pipelines.config import parse_region
from pipelines.errors import DegenerateIndicator
from pipelines.indicators import check_indicators, degenerate_indicators
from tests.pipelines.test_score_golden import small_config

NAN = np.nan


def _indicators(children: np.ndarray) -> dict[str, np.ndarray]:
    varied = np.array([[0, 1, 2], [3, 4, 5], [6, 7, NAN]], dtype="float32")
    return {"flood": varied, "heat": varied, "transit": varied, "distance": varied,
            "forest": varied, "children": children}


def _config(**children: Any) -> Any:
    data = small_config()
    data["indicators"]["children"].update(children)
    return parse_region(data)


CONSTANT = np.array([[NAN, 5.5, 5.5], [NAN, 5.5, NAN], [NAN, NAN, NAN]], dtype="float32")


def test_a_constant_indicator_is_named_with_its_value_and_cells() -> None:
    assert degenerate_indicators(_indicators(CONSTANT)) == {
        "children": "is 5.5 in each of the 3 cells where its inputs exist"}
    assert degenerate_indicators({"empty": np.full((2, 2), NAN)}) == {
        "empty": "has no value in any cell"}


def test_a_constant_indicator_fails_the_run_unless_constant_ok() -> None:
    with pytest.raises(DegenerateIndicator, match=r"children is 5\.5") as caught:
        check_indicators(_indicators(CONSTANT), _config())
    assert "flood" not in str(caught.value)
    reported = check_indicators(_indicators(CONSTANT), _config(constant_ok=True))
    assert reported == {"children": "is 5.5 in each of the 3 cells where its inputs exist"}


def test_two_values_are_not_constant() -> None:
    two = CONSTANT.copy()
    two[0, 1] = 4.0
    assert check_indicators(_indicators(two), _config()) == {}


def test_the_demo_marks_the_childrens_share_constant_ok() -> None:
    from pipelines.config import load_region

    for region in ("darien", "corridor"):
        config = load_region(region)
        assert [n for n, s in config.indicators.items() if s.constant_ok] == ["children"]
