"""Bar charts of a brief as inline SVG (drawn here: a few rectangles and labels need no
plotting library), with a title and a description for screen readers, numbers and months in
the reader's locale."""

from __future__ import annotations

import math
from html import escape

from data_catalog.i18n import Language
from geo_service.briefs.content import Series

WIDTH, HEIGHT = 520, 150
LEFT, RIGHT, TOP, BOTTOM = 54, 6, 8, 22
BAR = "#5f3dc4"


def nice_top(value: float) -> float:
    """A round upper bound of an axis at or above `value` (1, 2 or 5 × 10^n)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        top = step * 10.0 ** exponent
        if top >= value:
            return top
    return 10.0 ** (exponent + 1)  # pragma: no cover - 10 × 10^n always fits


def bar_chart(series: Series, lang: Language, chart_id: str, *, every: int = 1,
              width: int = WIDTH, height: int = HEIGHT, colour: str = BAR) -> str:
    """The series as an SVG bar chart: bars, three grid lines with their values, and a label
    under every `every`-th bar. Missing values leave a gap."""
    values = [v for v in series.values if v is not None]
    top = nice_top(max(values, default=0.0))
    inner_w, inner_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    step = inner_w / max(1, len(series.values))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} '
             f'{height}" width="{width}" height="{height}" role="img" '
             f'aria-labelledby="{chart_id}-t {chart_id}-d">',
             f'<title id="{chart_id}-t">{escape(series.title)}</title>',
             f'<desc id="{chart_id}-d">{escape(describe(series, lang))}</desc>']
    for fraction in (0.0, 0.5, 1.0):
        y = TOP + inner_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#ced4da" stroke-width="0.6"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end" '
                     f'font-size="9">{escape(lang.integer(top * fraction))}</text>')
    for index, (value, label) in enumerate(zip(series.values, series.labels, strict=True)):
        x = LEFT + index * step
        if value is not None and value > 0:
            bar_h = inner_h * value / top
            parts.append(f'<rect x="{x + step * 0.12:.1f}" y="{TOP + inner_h - bar_h:.1f}" '
                         f'width="{step * 0.76:.1f}" height="{bar_h:.1f}" fill="{colour}"/>')
        if index % every == 0:
            parts.append(f'<text x="{x + (step * every) / 2 if every > 1 else x + step / 2:.1f}"'
                         f' y="{height - 8}" text-anchor="middle" font-size="9">'
                         f"{escape(label)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def describe(series: Series, lang: Language) -> str:
    """A sentence with the series' numbers (what a screen reader reads for the chart)."""
    pairs = [f"{label}: {lang.integer(value) if value is not None else '–'}"
             for label, value in zip(series.labels, series.values, strict=True)]
    return f"{series.title} ({series.unit}). " + "; ".join(pairs)


def yearly_totals(series: Series) -> list[tuple[str, float]]:
    """(year, total) of a monthly series (`keys` are `YYYY-MM`)."""
    totals: dict[str, float] = {}
    for key, value in zip(series.keys, series.values, strict=True):
        totals[key[:4]] = totals.get(key[:4], 0.0) + (value or 0.0)
    return list(totals.items())
