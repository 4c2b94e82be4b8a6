"""Labels of the score-card fields in English and Spanish: the API returns them with every
area (`/areas/{id}` → `labels`), and the planning map draws its score cards with them."""

from __future__ import annotations

SCORE_CARD_LABELS: dict[str, dict[str, str]] = {
    "risk": {"en": "Risk", "es": "Riesgo"},
    "risk_class": {"en": "Class", "es": "Clase"},
    "rank": {"en": "Rank", "es": "Posición"},
    "rank_interval": {"en": "5–95% rank interval", "es": "Intervalo de posición 5–95%"},
    "dimensions": {"en": "Dimensions", "es": "Dimensiones"},
    "top_indicator": {"en": "Top indicator", "es": "Indicador principal"},
    "area_km2": {"en": "Area (km²)", "es": "Superficie (km²)"},
    "environmental_pressure": {"en": "Environmental pressure", "es": "Presión ambiental"},
    "as_of": {"en": "Run", "es": "Ejecución"},
    "weights": {"en": "Weights", "es": "Pesos"},
}
"""Field → {"en": …, "es": …}."""
