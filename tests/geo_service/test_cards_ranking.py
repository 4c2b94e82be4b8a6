"""Score cards name what an area is ranked by, list its drivers by their drops (the top
indicator first), and a `not_exposed` area reads as such (grey, no rank) in every language; the
class raster's legend names "not exposed" apart."""

from __future__ import annotations

import re
from typing import Any

from data_catalog.i18n import language
from geo_service.maps.cards import area_color, drivers, drop_text, rank_text, score_card_html
from layers.labels import NOT_EXPOSED_COLOR
from layers.models import LegendClass
from layers.styles import class_style, interval_colormap
from pipelines.area_record import NOT_EXPOSED_VALUE

CLASSES = [{"name": "low", "label": "Low", "label_es": "Bajo", "labels": {"pt": "Baixo"},
            "min": 2.0, "max": 3.5, "color": "#a6d96a"}]
RANKED: dict[str, Any] = {
    "id": "wdpa:1", "name": "Park", "kind": "protected_area", "risk": 1.2, "risk_class": "low",
    "ranking_statistic": "mean_exposed", "ranking_value": 3.4164, "exposed_share": 0.3563,
    "risk_p90": 3.6544, "risk_max": 6.0232, "rank": 2.5, "rank_p05": 2.0, "rank_p95": 3.0,
    "dimensions": {}, "indicators": {}, "weights": {}, "area_km2": 5790.0}
QUIET: dict[str, Any] = {**RANKED, "risk_class": "not_exposed", "ranking_value": None,
                         "exposed_share": 0.0, "risk_p90": 0.0, "risk_max": 0.0, "rank": None,
                         "rank_p05": None, "rank_p95": None, "top_indicator": None}


def test_the_card_names_the_statistic_and_shows_what_the_score_is_made_of() -> None:
    english = score_card_html(RANKED, {}, CLASSES, language("en"))
    assert "<b>3.42</b>" in english  # the ranking value, not the diluted mean 1.2
    assert "Ranked by: <span class='cmrisk-statistic'>mean risk over the exposed cells" in english
    assert "Exposed share: <span class='cmrisk-exposed'>36%" in english
    assert "Risk, 90th percentile: <span class='cmrisk-p90'>3.65" in english
    assert "Highest risk: <span class='cmrisk-max'>6.02" in english
    assert "2.5 (2–3)" in english  # a tie's average rank, and the interval
    spanish = score_card_html(RANKED, {}, CLASSES, language("es"))
    assert "Clasificada por" in spanish and "riesgo medio en las celdas expuestas" in spanish
    assert "Proporción expuesta" in spanish and "(Bajo)" in spanish
    assert "Classificada por" in score_card_html(RANKED, {}, CLASSES, language("pt"))


def test_a_not_exposed_area_reads_as_such_in_grey_without_rank() -> None:
    assert area_color(QUIET, CLASSES) == NOT_EXPOSED_COLOR
    assert area_color(RANKED, CLASSES) == "#a6d96a"
    assert rank_text(QUIET, language("en")) == "–"
    assert "(Not exposed)" in score_card_html(QUIET, {}, CLASSES, language("en"))
    assert "(Sin exposición)" in score_card_html(QUIET, {}, CLASSES, language("es"))
    assert "(Sem exposição)" in score_card_html(QUIET, {}, CLASSES, language("pt"))


def test_the_class_raster_draws_not_exposed_grey_in_its_legend() -> None:
    classes = [LegendClass(min=0, max=2, label="Very low", label_es="Muy bajo", color="#1a9641")]
    style = class_style(classes, not_exposed=True)
    assert [(c.min, c.max, c.label, c.color) for c in style.classes] == [
        (0, 1, "Very low", "#1a9641"),
        (NOT_EXPOSED_VALUE, NOT_EXPOSED_VALUE + 1, "Not exposed", NOT_EXPOSED_COLOR)]
    assert style.classes[1].labels == {"pt": "Sem exposição"}
    (_, grey) = interval_colormap(style.classes)[1]
    assert grey == (0xbd, 0xbd, 0xbd, 255)
    assert len(class_style(classes).classes) == 1  # user class layers: no such value


def test_tiles_draw_not_exposed_cells_grey_in_both_styles() -> None:
    import io

    import numpy as np
    from PIL import Image

    from geo_service.tiles import TileData, TileStyle, draw
    from layers.styles import rgba

    values = np.array([[0.0, 0.0], [3.0, np.nan]])
    valid = np.isfinite(values)
    quiet = np.array([[True, False], [False, False]])  # the first 0 nobody is exposed in
    tile = TileData(values, valid, np.dtype("float32"), quiet)
    intervals = TileStyle(intervals=(((0.0, 2.0), (26, 150, 65, 255)),
                                     ((2.0, 10.0), (166, 217, 106, 255))))
    for style in (intervals, TileStyle(colormap="viridis", rescale=(0.0, 10.0))):
        pixels = np.asarray(Image.open(io.BytesIO(draw(tile, style))).convert("RGBA"))
        assert tuple(pixels[0, 0]) == rgba(NOT_EXPOSED_COLOR)
        assert tuple(pixels[0, 1]) != rgba(NOT_EXPOSED_COLOR) and pixels[0, 1, 3] == 255
        assert pixels[1, 1, 3] == 0  # no data stays transparent


def test_the_card_lists_the_drivers_by_drop_with_the_top_indicator_first() -> None:
    # Flood is the highest indicator (9 on 0–10) but neutralising heat lowers the score most.
    card = {**RANKED, "indicators": {"flood": 9.0, "heat": 2.0, "load": 5.0},
            "drops": {"flood": 0.5, "heat": 1.2345, "load": 0.0}, "top_indicator": "heat"}
    english = score_card_html(card, {}, CLASSES, language("en"))
    # The top indicator with its drop opens the list (folded, as the weights are).
    assert ("<details class='cmrisk-drivers'><summary>Top indicator: <span class='cmrisk-top'>"
            "heat</span> (<span class='cmrisk-drop'>−1.23 points</span>)</summary>Drivers: how "
            "much the score drops when each indicator is neutralised<ol>") in english
    items = re.findall(r"<li data-indicator='(\w+)'>\w+ <span class='cmrisk-drop'>([^<]+)<",
                       english)
    assert items == [("heat", "−1.23 points"), ("flood", "−0.50 points")]  # load: no drop
    spanish = score_card_html(card, {}, CLASSES, language("es"))
    assert "Factores: lo que baja la puntuación al neutralizar cada indicador" in spanish
    assert "−1.23 puntos" in spanish and "Indicador principal" in spanish
    assert "−1,23 pontos" in score_card_html(card, {}, CLASSES, language("pt"))
    # Rounded in the record, the top indicator still comes first: the list and it agree.
    tied = {**card, "drops": {"flood": 1.2345, "heat": 1.2345}, "top_indicator": "heat"}
    assert [d.indicator for d in drivers(tied, {}, language("en"))] == ["heat", "flood"]


def test_a_card_without_a_positive_drop_says_so_and_an_unranked_one_lists_none() -> None:
    flat = {**RANKED, "drops": {"flood": 0.0, "heat": 0.0}, "top_indicator": None}
    assert drivers(flat, {}, language("en")) == []
    assert "Top indicator: <span class='cmrisk-top'>–</span> (No indicator lowers the score)" \
        in score_card_html(flat, {}, CLASSES, language("en"))
    assert "Ningún indicador baja la puntuación" in score_card_html(
        flat, {}, CLASSES, language("es"))
    quiet = {**QUIET, "drops": {"flood": None, "heat": None}}
    assert drivers(quiet, {}, language("en")) is None
    html = score_card_html(quiet, {}, CLASSES, language("en"))
    assert "cmrisk-drivers" not in html and "No indicator" not in html
    # A small drop does not read as none.
    assert drop_text(0.0012, language("en")) == "−0.0012 points"
