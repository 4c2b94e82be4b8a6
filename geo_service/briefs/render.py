"""A brief as a page (HTML, one file: the map is a data: URI, the charts inline SVG) and as a
PDF of exactly one page (WeasyPrint, offline: the page names no other file)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from geo_service.briefs.charts import bar_chart, yearly_totals
from geo_service.briefs.content import FIRST_YEAR, LAST_YEAR, Brief, labels

HERE = Path(__file__).parent
MONTHS_PER_LABEL = 12


class BriefTooLong(RuntimeError):
    """The brief's PDF would take more than one page (the layout must be fixed)."""


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                              autoescape=True, extensions=["jinja2.ext.i18n"],
                              undefined=jinja2.StrictUndefined)


def brief_html(brief: Brief) -> str:
    """The brief as one HTML document in the reader's language (no script, no other file)."""
    lang = brief.lang
    crossing = brief.crossing
    template = _environment().get_template("brief.html")
    return template.render(
        brief=brief, lang=lang, _=lang.gettext, labels=labels(lang),
        css=(HERE / "brief.css").read_text(encoding="utf-8"),
        years=f"{FIRST_YEAR}–{LAST_YEAR}",
        crossing_svg=bar_chart(crossing, lang, "crossing", every=MONTHS_PER_LABEL)
        if crossing else "",
        crossing_totals=yearly_totals(crossing) if crossing else [],
        events=[(series, bar_chart(series, lang, f"events-{index}", width=250, height=110,
                                   colour="#495057"))
                for index, series in enumerate(brief.events)])


def brief_pdf(brief: Brief) -> bytes:
    """The brief as a one-page A4 PDF.

    Raises:
        BriefTooLong: the content would not fit on one page.
    """
    # Imported on use: it costs ~0.5 s and only briefs need it.
    from weasyprint import HTML, URLFetcher

    # Only data: URIs (the map extract): the PDF never reads a file or a URL.
    fetcher = URLFetcher(allowed_protocols=("data",), allow_redirects=False)
    document = HTML(string=brief_html(brief), base_url=None, url_fetcher=fetcher).render()
    if len(document.pages) != 1:
        raise BriefTooLong(f"the brief of {brief.area_id} takes {len(document.pages)} pages")
    return bytes(document.write_pdf())
