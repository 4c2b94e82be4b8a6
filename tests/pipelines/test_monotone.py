"""Property: raising any hazard indicator never lowers the risk (METHOD.md §4)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipelines.config import load_region
from pipelines.score import score_cells

CONFIG = load_region("darien")
HAZARDS = list(CONFIG.weights["H_nat"])
NAMES = list(CONFIG.indicators)
score = st.floats(min_value=0.0, max_value=10.0, allow_nan=False, width=32)
maybe_missing = st.one_of(score, st.just(float("nan")))


@settings(max_examples=400, deadline=None)
@given(
    values=st.fixed_dictionaries({name: maybe_missing for name in NAMES}),
    hazard=st.sampled_from(HAZARDS),
    raise_by=st.floats(min_value=0.0, max_value=10.0, allow_nan=False),
)
def test_raising_a_hazard_never_lowers_risk(values: dict[str, float], hazard: str,
                                            raise_by: float) -> None:
    base = values[hazard]
    # Raising means a present value going up; a missing indicator that becomes present is
    # new information (the weights renormalise), not a raise.
    assume(not np.isnan(base))
    before = {k: np.array([v], dtype="float32") for k, v in values.items()}
    after = dict(before)
    raised = min(10.0, base + raise_by)
    after[hazard] = np.array([raised], dtype="float32")
    risk_before = score_cells(before, CONFIG)["risk"][0]
    risk_after = score_cells(after, CONFIG)["risk"][0]
    assert np.isnan(risk_before) == np.isnan(risk_after)
    assume(not np.isnan(risk_before))
    assert risk_after >= risk_before - 1e-5


@settings(max_examples=200, deadline=None)
@given(values=st.fixed_dictionaries({name: score for name in NAMES}))
def test_scores_stay_on_0_10(values: dict[str, float]) -> None:
    arrays = {k: np.array([v], dtype="float32") for k, v in values.items()}
    for name, result in score_cells(arrays, CONFIG).items():
        assert 0.0 <= float(result[0]) <= 10.0 + 1e-5, name
