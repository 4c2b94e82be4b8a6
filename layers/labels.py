"""Labels of the score-card fields in English and Spanish: the API returns them with every
area (`/areas/{id}` → `labels`), and the planning map draws its score cards with them."""

from __future__ import annotations

from pipelines import area_record as col

SCORE_CARD_LABELS: dict[str, dict[str, str]] = {
    col.RISK: {"en": "Risk", "es": "Riesgo"},
    col.RISK_CLASS: {"en": "Class", "es": "Clase"},
    col.RANK: {"en": "Rank", "es": "Posición"},
    "rank_interval": {"en": "5–95% rank interval", "es": "Intervalo de posición 5–95%"},
    "dimensions": {"en": "Dimensions", "es": "Dimensiones"},
    col.TOP_INDICATOR: {"en": "Top indicator", "es": "Indicador principal"},
    col.AREA_KM2: {"en": "Area (km²)", "es": "Superficie (km²)"},
    col.PRESSURE: {"en": "Environmental pressure", "es": "Presión ambiental"},
    col.AS_OF: {"en": "Run", "es": "Ejecución"},
    "weights": {"en": "Weights", "es": "Pesos"},
}
"""Field → {"en": …, "es": …}."""
