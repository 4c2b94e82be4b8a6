"""Labels of the score-card fields and the names of areas, in every language.

The API returns the labels with every area (`/areas/{id}` → `labels`: field → {en, es, pt}),
and the planning map and the area brief draw their cards with them; all are messages of the
one gettext catalogue (`data_catalog.i18n`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from data_catalog.i18n import N_, Language, texts
from pipelines import area_record as col

SCORE_CARD_FIELDS: dict[str, str] = {
    col.RISK: N_("Risk"),
    col.RISK_CLASS: N_("Class"),
    col.RANK: N_("Rank"),
    "rank_interval": N_("5–95% rank interval"),
    "dimensions": N_("Dimensions"),
    col.TOP_INDICATOR: N_("Top indicator"),
    "drops": N_("Drivers: how much the score drops when each indicator is neutralised"),
    col.AREA_KM2: N_("Area (km²)"),
    col.PRESSURE: N_("Environmental pressure"),
    col.AS_OF: N_("Run"),
    "weights": N_("Weights"),
    "class_change_share": N_("Draws that change its class"),
    "pressure_audit": N_("Environmental pressure: median rank (5–95% interval), draws that "
                         "change its class"),
    "hazard_levels": N_("Hazard levels"),
    col.OFFICIAL_NAME: N_("Official name"),
    col.RANKING_STATISTIC: N_("Ranked by"),
    col.EXPOSED_SHARE: N_("Exposed share"),
    col.RISK_P90: N_("Risk, 90th percentile"),
    col.RISK_MAX: N_("Highest risk"),
    col.RISK_MEAN_EXPOSED: N_("Mean risk where exposed"),
}
"""Field → its label (English; the message translated)."""


RANKING_STATISTICS: dict[str, str] = {
    "mean_exposed": N_("mean risk over the exposed cells"),
    "p90": N_("90th percentile of the risk"),
    "max": N_("highest risk"),
    "mean": N_("mean risk over the whole area"),
}
"""Each ranking statistic (`pipelines.config.RankingStatistic`) → how it reads (English)."""

NOT_EXPOSED_LABEL = N_("Not exposed")
"""How the `not_exposed` state of a cell or an area reads (English; the message translated)."""
NOT_EXPOSED_COLOR = "#bdbdbd"
"""Grey: no one on the move is exposed here. Not a risk class, drawn apart from them."""


def not_exposed_class() -> dict[str, Any]:
    """The `not_exposed` state in the shape of a run's risk classes (`name`, `label`,
    `label_es`, `labels`, `color`), for lookups that go through the classes."""
    label = texts(NOT_EXPOSED_LABEL)
    return {"name": col.NOT_EXPOSED, "label": label["en"], "label_es": label.get("es"),
            "labels": {k: v for k, v in label.items() if k not in ("en", "es")},
            "color": NOT_EXPOSED_COLOR}


def ranking_statistic_label(statistic: str, lang: Language) -> str:
    """How a ranking statistic reads in `lang` (its own name when unknown)."""
    message = RANKING_STATISTICS.get(statistic)
    return lang.gettext(message) if message else statistic


def score_card_labels(locales: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Field → {language: label} for every language (what `/areas` returns as `labels`)."""
    return {field: texts(message, locales) for field, message in SCORE_CARD_FIELDS.items()}


def field_label(field: str, lang: Language) -> str:
    """The label of a score-card field in `lang`."""
    return lang.gettext(SCORE_CARD_FIELDS[field])


def area_name(record: Mapping[str, Any], lang: Language) -> str:
    """An area's name for a reader: the name in the requested language (`name_<lang>`, where
    the source has one; the source's `name` is its English or romanised name), else the
    official name (WDPA `ORIG_NAME`), else the source's name."""
    def given(key: str) -> str | None:
        value = record.get(key)
        return str(value) if isinstance(value, str) and value.strip() else None

    if lang.code == "en":
        return given(f"{col.NAME}_en") or given(col.NAME) or given(col.OFFICIAL_NAME) or ""
    return (given(f"{col.NAME}_{lang.code}") or given(col.OFFICIAL_NAME) or given(col.NAME)
            or "")
