"""What a run publishes: the raster and vector layers, with titles, units and value types.

The STAC items of a run carry these fields; the layer registry of the service reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ValueType = Literal["continuous", "class", "count"]


@dataclass(frozen=True)
class OutputLayer:
    """One published layer of a run."""

    id: str
    title: str
    title_es: str
    description: str
    kind: Literal["raster", "vector"]
    value_type: ValueType
    units: str
    source: str
    """Name of the score, indicator or input it is made from."""


def _score(id_: str, source: str, title: str, title_es: str, description: str) -> OutputLayer:
    return OutputLayer(id_, title, title_es, description, "raster", "continuous", "score 0-10",
                       source)


SCORE_LAYERS: tuple[OutputLayer, ...] = (
    _score("risk", "risk", "Climate-mobility risk", "Riesgo clima-movilidad",
           "Composite risk (H·V·C)^(1/3), INFORM-style, 0–10."),
    _score("hazard", "H", "Hazard & exposure", "Amenaza y exposición",
           "sqrt(natural hazard × exposure of people on the move), 0–10."),
    _score("vulnerability", "V", "Vulnerability", "Vulnerabilidad",
           "Vulnerability of people on the move, 0–10."),
    _score("coping", "C", "Lack of coping capacity", "Falta de capacidad de respuesta",
           "Reception-station load and distance to roads, 0–10."),
    _score("environment", "E", "Environmental sensitivity", "Sensibilidad ambiental",
           "IUCN category, forest cover and indigenous territories, 0–10."),
    _score("environmental_pressure", "environmental_pressure", "Environmental pressure",
           "Presión ambiental", "sqrt(transit pressure × environmental sensitivity), 0–10."),
    _score("natural_hazard", "H_nat", "Natural hazards", "Amenazas naturales",
           "10 − geometric mean(10 − hazard indicators), 0–10."),
    _score("exposure", "exposure", "Exposure of people on the move",
           "Exposición de personas en movimiento",
           "Transit pressure and disaster displacement, 0–10."),
)

RISK_CLASS_LAYER = OutputLayer(
    "risk_class", "Risk class", "Clase de riesgo",
    "INFORM class of the composite risk (0 very low … 4 very high).",
    "raster", "class", "class", "risk_class",
)

INDICATOR_TITLES: dict[str, tuple[str, str]] = {
    "flood": ("River flood (ThinkHazard! level)", "Inundación fluvial (nivel ThinkHazard!)"),
    "landslide": ("Landslide susceptibility", "Susceptibilidad a deslizamientos"),
    "rainfall": ("Extreme rainfall", "Lluvia extrema"),
    "heat": ("Extreme heat days", "Días de calor extremo"),
    "drought": ("Drought", "Sequía"),
    "transit": ("Transit pressure", "Presión de tránsito"),
    "displacement": ("Disaster displacement density", "Densidad de desplazamiento por desastres"),
    "children": ("Share of children", "Proporción de niñas y niños"),
    "station_distance": ("Distance to reception or health post",
                         "Distancia a estación de recepción o puesto de salud"),
    "deaths": ("Deaths and disappearances", "Muertes y desapariciones"),
    "station_load": ("Reception-station load", "Carga de estaciones de recepción"),
    "road_distance": ("Distance to roads", "Distancia a carreteras"),
    "iucn": ("Protected-area category (IUCN)", "Categoría de área protegida (UICN)"),
    "forest_cover": ("Forest cover", "Cobertura forestal"),
    "indigenous": ("Indigenous territories", "Territorios indígenas"),
}


def indicator_layer(name: str) -> OutputLayer:
    """The published layer of one 0–10 indicator."""
    title, title_es = INDICATOR_TITLES.get(name, (name.replace("_", " ").capitalize(), name))
    return OutputLayer(name, title, title_es, f"Indicator {name}, normalised to 0–10.",
                       "raster", "continuous", "score 0-10", name)


VECTOR_LAYERS: tuple[OutputLayer, ...] = (
    OutputLayer("protected_areas", "Protected areas (scored)", "Áreas protegidas (puntuadas)",
                "Protected areas with their risk scores.", "vector", "continuous", "score 0-10",
                "protected_areas"),
    OutputLayer("planning_units", "Planning units (H3 r6, scored)",
                "Unidades de planificación (H3 r6)", "H3 resolution-6 cells with risk scores.",
                "vector", "continuous", "score 0-10", "planning_units"),
    OutputLayer("route_segments", "Migration route segments", "Tramos de la ruta migratoria",
                "Segments of the route with mode, direction and share of the flow.",
                "vector", "count", "people/year", "route_segments"),
    OutputLayer("stations", "Reception stations and health posts",
                "Estaciones de recepción y puestos de salud", "Capacity in people.",
                "vector", "count", "people", "stations"),
    OutputLayer("crossing_points", "Crossing points", "Puntos de conteo",
                "Where national migration services count crossings.", "vector", "count",
                "people", "crossing_points"),
    OutputLayer("crossings", "People crossing, by point and month (protected)",
                "Personas que cruzan, por punto y mes (protegido)",
                "Monthly people counted at each crossing point: the total and the one-way "
                "margins by sex, age group and nationality. Cells of 1–4 people are withheld "
                "(null), with a second cell of each affected margin, so that no withheld cell "
                "can be worked out from the others.", "vector", "count", "people", "crossings"),
    OutputLayer("displacement_events", "Disaster displacement events",
                "Eventos de desplazamiento por desastres", "New displacements per event.",
                "vector", "count", "people", "displacement"),
    OutputLayer("incidents", "Deaths and disappearances", "Muertes y desapariciones",
                "Incidents with dead and missing migrants.", "vector", "count", "people",
                "incidents"),
    OutputLayer("roads", "Roads", "Carreteras", "Main roads.", "vector", "class", "", "roads"),
    OutputLayer("indigenous_territories", "Indigenous territories", "Territorios indígenas",
                "Comarcas and resguardos (approximate outlines).", "vector", "class", "",
                "indigenous_territories"),
    OutputLayer("countries", "Countries", "Países", "Natural Earth admin-0.", "vector", "class",
                "", "countries"),
)
