"""The exchange's configuration as data (`exchange.yaml`): reporting deadlines, currency and
validation rules in the manner of DHIS2 (a left side, an operator, a right side, per group).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

CONFIG_PATH = Path(__file__).with_name("exchange.yaml")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
    "==": operator.eq, "!=": operator.ne}


class Side(BaseModel):
    """One side of a rule: the sum of `count` over the group's rows matching `where`, times
    `factor` (persons)."""

    model_config = ConfigDict(extra="forbid")

    where: dict[str, str | list[str]] = Field(default_factory=dict)
    factor: float = 1.0

    def matches(self, row: dict[str, str]) -> bool:
        """Whether a row counts on this side."""
        for column, wanted in self.where.items():
            allowed = [wanted] if isinstance(wanted, str) else wanted
            if row.get(column) not in allowed:
                return False
        return True


class Rule(BaseModel):
    """A validation rule: for each group of rows, `left operator right` must hold."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Literal["crossings", "displacement"]
    description: str
    group_by: list[str]
    left: Side
    operator: Literal["<=", "<", ">=", ">", "==", "!="]
    right: Side
    importance: Literal["error", "warning"] = "error"
    minimum_total: int = Field(default=0, ge=0, description="groups of fewer persons skip it")

    def holds(self, left: float, right: float) -> bool:
        """Whether `left operator right`."""
        return OPERATORS[self.operator](left, right)


class ExchangeConfig(BaseModel):
    """The exchange's settings (see `exchange.yaml`)."""

    model_config = ConfigDict(extra="forbid")

    deadline_days: int = Field(ge=0, description="days after a month's end it is due")
    stale_after_days: int = Field(ge=1, description="days after the last month's end the "
                                  "country's data are stale")
    max_count: int = Field(ge=1, description="largest count in one row, persons")
    max_rows: int = Field(ge=1, description="rows in one submission")
    rules: list[Rule] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list, description="the run inputs submitted "
                             "crossings feed: the layers made from them show the currency")


@cache
def load_config(path: Path = CONFIG_PATH) -> ExchangeConfig:
    """The exchange configuration (read once per process)."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    return ExchangeConfig.model_validate(data)
