"""Flow counts merge by (point, month): a new file adds months and replaces only its own cells.

The pipeline's crossings table (`inputs/flows/crossings_monthly.csv`) holds one row per point,
month, direction, nationality, sex and age group, in the flow vocabulary. A file ingested into
it replaces exactly the (point, month) cells it holds — all their rows, so a cell is never a
mix of two files — and leaves every other row as it was, byte for byte. `--replace` makes the
file the whole table on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from data_catalog.vocabulary import CELL, COLUMNS

TABLE = "inputs/flows/crossings_monthly.csv"
"""The crossings table, relative to the data dir."""
POINTS = ("inputs/flows/crossing_points.geojson", "inputs/flows/crossing_points.parquet")
"""Where the crossing points may be, relative to the data dir (ingested GeoParquet first)."""


@dataclass(frozen=True)
class MergeSummary:
    """What a merge did.

    Attributes:
        cells_added: (point, month) cells the table did not have.
        cells_replaced: (point, month) cells whose rows were replaced.
        cells_kept: (point, month) cells left as they were.
        rows_before: Rows of the table before.
        rows_after: Rows of the table after.
        replaced: The replaced cells, as `POINT month`.
        replace_all: The file replaced the whole table (`--replace`).
    """

    cells_added: int
    cells_replaced: int
    cells_kept: int
    rows_before: int
    rows_after: int
    replaced: list[str] = field(default_factory=list)
    replace_all: bool = False

    def line(self) -> str:
        """One line for the command line."""
        if self.replace_all:
            return (f"--replace: the table is now this file: {self.rows_after} rows "
                    f"({self.cells_added} point-months); it had {self.rows_before} rows")
        shown = ", ".join(self.replaced[:6]) + (" ..." if len(self.replaced) > 6 else "")
        return (f"merged by (point, month): {self.cells_added} point-month(s) added, "
                f"{self.cells_replaced} replaced{f' ({shown})' if shown else ''}, "
                f"{self.cells_kept} unchanged; {self.rows_before} → {self.rows_after} rows")


def as_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The reader's frame as the crossings table: every column text, month `YYYY-MM`."""
    table = pd.DataFrame({c: frame[c].astype(str) for c in COLUMNS if c != "month"})
    table.insert(1, "month", pd.to_datetime(frame["month"]).dt.strftime("%Y-%m"))
    table["count"] = frame["count"].astype("int64").astype(str)
    return table[list(COLUMNS)].reset_index(drop=True)


def read_table(path: Path) -> pd.DataFrame:
    """The crossings table as text, exactly as written (no value is parsed)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def merge(current: pd.DataFrame | None, new: pd.DataFrame, *,
          replace: bool) -> tuple[pd.DataFrame, MergeSummary]:
    """Merge `new` into `current` by (point, month); see the module docstring.

    Args:
        current: The table in use (text columns), or None when there is none.
        new: The ingested rows (`as_table`).
        replace: `new` becomes the whole table.
    """
    new_cells = set(map(tuple, new[list(CELL)].to_numpy().tolist()))
    if current is None or replace:
        before = 0 if current is None else len(current)
        return new, MergeSummary(len(new_cells), 0, 0, before, len(new), replace_all=replace)
    old_keys = list(map(tuple, current[list(CELL)].to_numpy().tolist()))
    old_cells = set(old_keys)
    hit = [key in new_cells for key in old_keys]
    kept = current[[not h for h in hit]]
    merged = pd.concat([kept, new.reindex(columns=current.columns, fill_value="")],
                       ignore_index=True)
    replaced = sorted(new_cells & old_cells, key=lambda c: (c[1], c[0]))
    return merged, MergeSummary(
        cells_added=len(new_cells - old_cells), cells_replaced=len(replaced),
        cells_kept=len(old_cells - new_cells), rows_before=len(current),
        rows_after=len(merged), replaced=[f"{p} {m}" for p, m in replaced])
