"""All or nothing: a file with any bad row is refused whole, with a report a person can act on.

The report names every bad field by its place in the file (the line of a CSV file, where the
header is line 1; the record of a JSON array; the feature of a vector layer), the column, the
value, what is wrong and what is allowed. `--allow-drops` keeps the good rows on purpose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from data_catalog.errors import CatalogError
from data_catalog.readers.report import IngestReport, line_ranges


def problems(report: IngestReport) -> list[str]:
    """One line per kind of bad field, in file order: the same column, value and reason on
    several lines is one line naming them all (`lines 2-4, 9, sex 'female': ...`)."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for e in sorted(report.rejected(), key=lambda e: (e.line or 0, e.row or 0)):
        key = (e.column, e.value, e.detail, e.allowed)
        groups.setdefault(key, []).append(e.line if e.line is not None else -1)
    out = []
    for (column, value, detail, allowed), places in groups.items():
        lines = [p for p in places if p >= 0]
        label = report.positions + ("s" if len(lines) > 1 else "")
        where = f"{label} {line_ranges(lines)}" if lines else "file"
        field = f", {column}" if column else ""
        shown = f" {value!r}" if value is not None else ""
        out.append(f"{where}{field}{shown}: {detail}" + (f" (allowed: {allowed})"
                                                          if allowed else ""))
    return out


def bad_places(report: IngestReport) -> list[int]:
    """The file positions (lines, records or features) of the rejected rows, sorted."""
    return sorted({e.line for e in report.rejected() if e.line is not None})


def report_document(report: IngestReport, path: Path, *, refused: bool) -> dict[str, Any]:
    """The JSON document of `--report FILE`: the reader's report, the verdict and the
    problems as lines."""
    return {"file": path.name, "refused": refused, "problems": problems(report),
            **report.to_dict()}


class IngestRefused(CatalogError):
    """A file with bad rows, refused whole; nothing was written.

    Attributes:
        report: The reader's report (every bad field is an entry with action `rejected`).
        path: The refused file.
    """

    def __init__(self, report: IngestReport, path: Path) -> None:
        self.report = report
        self.path = path
        lines = problems(report)
        places = bad_places(report)
        what = f"{report.positions}s" if len(places) != 1 else report.positions
        head = (f"{path.name}: refused, nothing was stored: {report.rows_rejected} of "
                f"{report.rows_read} {report.unit}s are bad ({what} {line_ranges(places)}); "
                "fix them and ingest the file again, or give --allow-drops to store only the "
                "good rows")
        super().__init__("\n".join([head, *(f"  {line}" for line in lines)]))


def refuse_bad_rows(report: IngestReport, path: Path, *, allow_drops: bool) -> list[str]:
    """Refuse a file with rejected rows unless drops are allowed.

    Returns:
        What to tell the person when drops were allowed (empty when there were none).

    Raises:
        IngestRefused: Rejected rows and `allow_drops` is False.
    """
    if not report.rows_rejected:
        return []
    if not allow_drops:
        raise IngestRefused(report, path)
    places = bad_places(report)
    return [f"--allow-drops: {report.rows_rejected} bad {report.unit}(s) dropped on purpose "
            f"({report.positions}s {line_ranges(places)}); "
            f"{report.rows_kept} kept", *(f"  {line}" for line in problems(report))]
