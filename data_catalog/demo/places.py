"""Places, lines and outlines of the Darién demo: data only, no logic.

Every coordinate pair here is ``(lon, lat)`` in decimal degrees (WGS 84), GeoJSON order.

What is real and what is drawn:

* Town and station positions are real places at approximate coordinates (the route waypoints of
  METHOD.md are used as given; the others were placed by hand from public maps, to about 1-3 km).
* Rivers, ridges, roads and routes are approximate polylines through real places, drawn by hand
  for the demo; they only steer the synthetic hazard fields and the mobility surfaces.
* Protected-area and indigenous-territory outlines are approximate polygons drawn by hand for
  cmrisk from their published extent (bounding box, area, neighbours): each hand outline was
  scaled about its centroid until its geodesic area matched the published area, clipped to the
  Natural Earth land of its country (the two coastal-marine Colombian sites excepted) and away
  from its neighbours, simplified to 20-60 vertices, rounded to 0.001 degree and oriented
  counter-clockwise. They are not derived from WDPA or from any official boundary and must not
  be used as such.
"""

from __future__ import annotations

from typing import Final, NamedTuple, TypedDict

Coord = tuple[float, float]
"""A ``(lon, lat)`` pair, degrees."""


class Place(NamedTuple):
    """A named point.

    Attributes:
        name: Name as used locally.
        lon: Longitude, degrees east.
        lat: Latitude, degrees north.
        iso3: ISO 3166-1 alpha-3 code of the country.
    """

    name: str
    lon: float
    lat: float
    iso3: str


class RouteSegment(TypedDict):
    """A route segment; see :data:`ROUTE_SEGMENTS`."""

    segment_id: str
    name: str
    from_place: str
    to_place: str
    mode: str
    direction: str
    share: float
    order: int
    path: tuple[Coord, ...]


class ProtectedAreaRecord(TypedDict):
    """A protected area with WDPA attribute names; see :data:`PROTECTED_AREAS`.

    ``REP_AREA`` and ``REP_M_AREA`` are reported areas in km² (total and marine).
    """

    WDPAID: int
    NAME: str
    ORIG_NAME: str
    DESIG: str
    DESIG_ENG: str
    DESIG_TYPE: str
    IUCN_CAT: str
    REP_AREA: float
    REP_M_AREA: float
    STATUS_YR: int
    GOV_TYPE: str
    ISO3: str
    outline: tuple[Coord, ...]


class TerritoryRecord(TypedDict):
    """An indigenous territory; see :data:`TERRITORIES`."""

    name: str
    people: str
    iso3: str
    outline: tuple[Coord, ...]


DEMO_BOUNDS: Final[tuple[float, float, float, float]] = (-79.5, 6.8, -76.5, 9.8)
"""Demo region: west, south, east, north (degrees), as ``grid.bounds_lonlat`` in darien.yaml."""

DATA_MARGIN_DEG: Final[float] = 0.2
"""Rasters extend this far (degrees) beyond ``DEMO_BOUNDS`` so that the UTM analysis grid, whose
envelope pokes out of the lon/lat box at its corners, is covered everywhere."""

PLACES: Final[dict[str, Place]] = {
    p.name: p
    for p in (
        # Route waypoints (METHOD.md, "Demo region").
        Place("Necoclí", -76.784, 8.426, "COL"),
        Place("Acandí", -77.284, 8.513, "COL"),
        Place("Capurganá", -77.333, 8.617, "COL"),
        Place("Bajo Chiquito", -77.679, 8.457, "PAN"),
        Place("Lajas Blancas", -77.814, 8.403, "PAN"),
        Place("San Vicente", -77.967, 8.500, "PAN"),
        Place("Metetí", -77.972, 8.500, "PAN"),
        # Other places, approximate.
        Place("Canaán Membrillo", -77.690, 8.600, "PAN"),
        Place("Las Banderas", -77.420, 8.450, "PAN"),
        Place("Yaviza", -77.692, 8.157, "PAN"),
        Place("El Real de Santa María", -77.722, 8.127, "PAN"),
        Place("Boca de Cupe", -77.583, 8.031, "PAN"),
        Place("La Palma", -78.143, 8.405, "PAN"),
        Place("Garachiné", -78.366, 8.066, "PAN"),
        Place("Sambú", -78.206, 8.030, "PAN"),
        Place("Jaqué", -78.168, 7.519, "PAN"),
        Place("Santa Fe", -78.130, 8.660, "PAN"),
        Place("Agua Fría", -78.190, 8.760, "PAN"),
        Place("Tortí", -78.400, 8.930, "PAN"),
        Place("Chepo", -79.100, 9.170, "PAN"),
        Place("Puerto Obaldía", -77.421, 8.667, "PAN"),
        Place("Cartí", -78.950, 9.460, "PAN"),
        Place("Turbo", -76.728, 8.093, "COL"),
        Place("Unguía", -77.093, 8.043, "COL"),
        Place("Riosucio", -77.116, 7.440, "COL"),
        Place("Juradó", -77.763, 7.104, "COL"),
        Place("Apartadó", -76.625, 7.883, "COL"),
        Place("Sapzurro", -77.363, 8.655, "COL"),
    )
}
"""Places by name."""

TOWNS: Final[tuple[str, ...]] = (
    "Necoclí",
    "Acandí",
    "Capurganá",
    "Metetí",
    "Yaviza",
    "El Real de Santa María",
    "La Palma",
    "Garachiné",
    "Sambú",
    "Jaqué",
    "Santa Fe",
    "Agua Fría",
    "Tortí",
    "Chepo",
    "Turbo",
    "Unguía",
    "Riosucio",
    "Apartadó",
)
"""Settlements that clear forest around them (forest cover) and host displacement events."""

# --- Rivers (approximate polylines, upstream to downstream) -------------------------------------

RIVERS: Final[dict[str, tuple[Coord, ...]]] = {
    "Tuira": (
        (-77.42, 7.72),
        (-77.47, 7.80),
        (-77.50, 7.90),
        (-77.583, 8.031),
        (-77.66, 8.10),
        (-77.722, 8.127),
        (-77.80, 8.18),
        (-77.88, 8.25),
        (-77.96, 8.31),
        (-78.05, 8.36),
        (-78.13, 8.40),
    ),
    "Chucunaque": (
        (-78.22, 8.97),
        (-78.08, 8.87),
        (-77.99, 8.76),
        (-77.91, 8.65),
        (-77.85, 8.55),
        (-77.80, 8.46),
        (-77.805, 8.40),
        (-77.78, 8.32),
        (-77.74, 8.24),
        (-77.71, 8.19),
        (-77.692, 8.157),
        (-77.71, 8.135),
    ),
    "Tuquesa": (
        (-77.45, 8.43),
        (-77.52, 8.445),
        (-77.60, 8.455),
        (-77.679, 8.457),
        (-77.74, 8.44),
        (-77.79, 8.43),
    ),
    "Membrillo": (
        (-77.62, 8.66),
        (-77.69, 8.60),
        (-77.76, 8.57),
        (-77.84, 8.54),
    ),
    "Balsas": (
        (-77.92, 7.70),
        (-77.94, 7.82),
        (-77.93, 7.95),
        (-77.90, 8.07),
        (-77.88, 8.17),
        (-77.87, 8.24),
    ),
    "Sambú": (
        (-78.05, 7.80),
        (-78.12, 7.90),
        (-78.18, 7.98),
        (-78.206, 8.030),
        (-78.25, 8.06),
    ),
    "Atrato": (
        (-76.86, 6.80),
        (-76.93, 7.05),
        (-77.02, 7.25),
        (-77.116, 7.44),
        (-77.10, 7.62),
        (-77.06, 7.80),
        (-76.99, 7.93),
        (-76.93, 8.03),
        (-76.89, 8.10),
    ),
    "Atrato delta (Tarena)": (
        (-76.99, 7.93),
        (-77.02, 8.03),
        (-77.00, 8.15),
        (-76.97, 8.20),
    ),
    "Atrato delta (Leoncito)": (
        (-76.99, 7.93),
        (-76.94, 7.98),
        (-76.88, 8.00),
    ),
    "León": (
        (-76.70, 7.55),
        (-76.73, 7.75),
        (-76.77, 7.90),
        (-76.80, 7.98),
    ),
    "Bayano": (
        (-78.40, 9.05),
        (-78.60, 9.10),
        (-78.80, 9.15),
        (-78.95, 9.12),
        (-79.10, 9.05),
    ),
}
"""Rivers that carry floodplains in the demo flood-depth rasters."""

RIVER_FLOODPLAIN_KM: Final[dict[str, tuple[float, float]]] = {
    "Tuira": (1.5, 7.0),
    "Chucunaque": (1.5, 6.0),
    "Tuquesa": (0.8, 2.0),
    "Membrillo": (0.6, 1.8),
    "Balsas": (0.8, 3.0),
    "Sambú": (0.6, 2.5),
    "Atrato": (6.0, 14.0),
    "Atrato delta (Tarena)": (8.0, 12.0),
    "Atrato delta (Leoncito)": (8.0, 12.0),
    "León": (2.0, 5.0),
    "Bayano": (1.0, 3.0),
}
"""Half-width of each river's 500-year floodplain at its source and at its mouth, km."""

# --- Ridges (approximate crest lines) -----------------------------------------------------------

RIDGES: Final[dict[str, tuple[tuple[Coord, ...], float, float]]] = {
    # name: (crest polyline, crest height m, half-width km)
    "Serranía del Darién": (
        (
            (-77.37, 8.67),
            (-77.41, 8.46),
            (-77.36, 8.28),
            (-77.30, 8.17),
            (-77.23, 8.05),
            (-77.21, 7.95),
            (-77.33, 7.88),
            (-77.40, 7.74),
            (-77.55, 7.57),
            (-77.72, 7.55),
            (-77.79, 7.45),
            (-77.86, 7.30),
        ),
        1500.0,
        9.0,
    ),
    "Serranía de Pirre": (
        ((-77.62, 7.65), (-77.70, 7.78), (-77.76, 7.92), (-77.80, 8.02)),
        1400.0,
        7.0,
    ),
    "Serranía del Sapo": (
        ((-78.38, 7.98), (-78.30, 7.85), (-78.22, 7.72), (-78.12, 7.58)),
        1100.0,
        6.0,
    ),
    "Serranía de Jingurudó": (
        ((-77.98, 7.42), (-77.95, 7.58), (-77.98, 7.72)),
        1000.0,
        6.0,
    ),
    "Serranía del Baudó": (
        ((-77.30, 6.80), (-77.45, 6.95), (-77.62, 7.10), (-77.78, 7.25)),
        900.0,
        8.0,
    ),
    "Serranía de San Blas": (
        ((-79.30, 9.30), (-78.90, 9.30), (-78.50, 9.18), (-78.20, 9.02), (-77.90, 8.88)),
        800.0,
        9.0,
    ),
    "Serranía de Majé": (
        ((-78.95, 8.85), (-78.70, 8.80), (-78.45, 8.72)),
        700.0,
        7.0,
    ),
    "Filo del Tallo": (
        ((-78.05, 8.47), (-77.96, 8.40), (-77.88, 8.33)),
        400.0,
        4.0,
    ),
    "Serranía de Abibe": (
        ((-76.45, 7.30), (-76.50, 7.60), (-76.53, 7.85)),
        1000.0,
        8.0,
    ),
}
"""Mountain ranges that raise landslide susceptibility and rainfall, and lower heat."""

GULF_OF_SAN_MIGUEL: Final[Coord] = (-78.30, 8.33)
"""Centre of the Gulf of San Miguel, where the demo's dry season bites hardest."""

# --- Roads ---------------------------------------------------------------------------------------

ROADS: Final[dict[str, tuple[str, tuple[Coord, ...]]]] = {
    # name: (surface, polyline west to east)
    "Carretera Panamericana (Chepo–Yaviza)": (
        "paved",
        (
            (-79.60, 9.06),
            (-79.36, 9.10),
            (-79.10, 9.17),
            (-78.90, 9.20),
            (-78.75, 9.14),
            (-78.55, 8.99),
            (-78.40, 8.93),
            (-78.27, 8.84),
            (-78.19, 8.76),
            (-78.12, 8.64),
            (-78.04, 8.56),
            (-77.972, 8.500),
            (-77.90, 8.43),
            (-77.83, 8.36),
            (-77.77, 8.28),
            (-77.73, 8.21),
            (-77.692, 8.157),
        ),
    ),
    "Vía a Puerto Quimba": (
        "gravel",
        ((-77.972, 8.500), (-78.02, 8.48), (-78.07, 8.47)),
    ),
    "Vía a Lajas Blancas": (
        "gravel",
        ((-77.88, 8.41), (-77.85, 8.405), (-77.814, 8.403)),
    ),
    "Vía a Santa Fe": (
        "gravel",
        ((-78.12, 8.64), (-78.13, 8.66), (-78.16, 8.68)),
    ),
    "Troncal del Caribe (Turbo–Necoclí–Arboletes)": (
        "paved",
        (
            (-76.728, 8.093),
            (-76.74, 8.20),
            (-76.77, 8.32),
            (-76.784, 8.426),
            (-76.72, 8.55),
            (-76.60, 8.68),
            (-76.53, 8.76),
            (-76.43, 8.85),
        ),
    ),
    "Vía Turbo–Apartadó": (
        "paved",
        ((-76.728, 8.093), (-76.70, 8.00), (-76.66, 7.94), (-76.625, 7.883), (-76.62, 7.70)),
    ),
}
"""Roads, approximate; clipped to ``DEMO_BOUNDS`` when written."""

# --- Routes --------------------------------------------------------------------------------------

ROUTE_SEGMENTS: Final[tuple[RouteSegment, ...]] = (
    {
        "segment_id": "N1a",
        "name": "Golfo de Urabá crossing, Necoclí to Acandí",
        "from_place": "Necoclí",
        "to_place": "Acandí",
        "mode": "boat",
        "direction": "northbound",
        "share": 0.6,
        "order": 1,
        "path": (
            (-76.784, 8.426),
            (-76.86, 8.47),
            (-77.00, 8.52),
            (-77.15, 8.54),
            (-77.284, 8.513),
        ),
    },
    {
        "segment_id": "N1b",
        "name": "Golfo de Urabá crossing, Necoclí to Capurganá",
        "from_place": "Necoclí",
        "to_place": "Capurganá",
        "mode": "boat",
        "direction": "northbound",
        "share": 0.4,
        "order": 1,
        "path": (
            (-76.784, 8.426),
            (-76.88, 8.52),
            (-77.02, 8.60),
            (-77.18, 8.65),
            (-77.333, 8.617),
        ),
    },
    {
        "segment_id": "N2a",
        "name": "Jungle path, Acandí to Las Banderas",
        "from_place": "Acandí",
        "to_place": "Las Banderas",
        "mode": "foot",
        "direction": "northbound",
        "share": 0.6,
        "order": 2,
        "path": (
            (-77.284, 8.513),
            (-77.31, 8.500),
            (-77.335, 8.490),
            (-77.355, 8.475),
            (-77.38, 8.468),
            (-77.40, 8.458),
            (-77.420, 8.450),
        ),
    },
    {
        "segment_id": "N2b",
        "name": "Jungle path, Capurganá to Las Banderas",
        "from_place": "Capurganá",
        "to_place": "Las Banderas",
        "mode": "foot",
        "direction": "northbound",
        "share": 0.4,
        "order": 2,
        "path": (
            (-77.333, 8.617),
            (-77.345, 8.590),
            (-77.36, 8.560),
            (-77.375, 8.530),
            (-77.39, 8.500),
            (-77.405, 8.475),
            (-77.420, 8.450),
        ),
    },
    {
        "segment_id": "N3",
        "name": "Jungle path, Las Banderas down the Tuquesa to Bajo Chiquito",
        "from_place": "Las Banderas",
        "to_place": "Bajo Chiquito",
        "mode": "foot",
        "direction": "northbound",
        "share": 1.0,
        "order": 3,
        "path": (
            (-77.420, 8.450),
            (-77.45, 8.435),
            (-77.49, 8.440),
            (-77.53, 8.448),
            (-77.57, 8.452),
            (-77.61, 8.456),
            (-77.645, 8.458),
            (-77.679, 8.457),
        ),
    },
    {
        "segment_id": "N4",
        "name": "Piragua down the Tuquesa and Chucunaque, Bajo Chiquito to Lajas Blancas",
        "from_place": "Bajo Chiquito",
        "to_place": "Lajas Blancas",
        "mode": "boat",
        "direction": "northbound",
        "share": 1.0,
        "order": 4,
        "path": (
            (-77.679, 8.457),
            (-77.71, 8.450),
            (-77.74, 8.440),
            (-77.77, 8.433),
            (-77.79, 8.430),
            (-77.80, 8.415),
            (-77.814, 8.403),
        ),
    },
    {
        "segment_id": "N5",
        "name": "Bus, Lajas Blancas to San Vicente (Metetí)",
        "from_place": "Lajas Blancas",
        "to_place": "San Vicente",
        "mode": "road",
        "direction": "northbound",
        "share": 1.0,
        "order": 5,
        "path": (
            (-77.814, 8.403),
            (-77.85, 8.405),
            (-77.88, 8.41),
            (-77.90, 8.43),
            (-77.935, 8.465),
            (-77.967, 8.500),
        ),
    },
    {
        "segment_id": "S1",
        "name": "Boat along the Guna Yala coast, Cartí to Puerto Obaldía",
        "from_place": "Cartí",
        "to_place": "Puerto Obaldía",
        "mode": "boat",
        "direction": "southbound",
        "share": 1.0,
        "order": 1,
        "path": (
            (-78.95, 9.48),
            (-78.70, 9.53),
            (-78.45, 9.47),
            (-78.20, 9.33),
            (-77.98, 9.18),
            (-77.80, 9.06),
            (-77.62, 8.91),
            (-77.47, 8.76),
            (-77.421, 8.690),
        ),
    },
    {
        "segment_id": "S2",
        "name": "Boat, Puerto Obaldía to Necoclí",
        "from_place": "Puerto Obaldía",
        "to_place": "Necoclí",
        "mode": "boat",
        "direction": "southbound",
        "share": 1.0,
        "order": 2,
        "path": (
            (-77.421, 8.690),
            (-77.30, 8.70),
            (-77.10, 8.68),
            (-76.95, 8.60),
            (-76.84, 8.50),
            (-76.784, 8.426),
        ),
    },
)
"""Route segments. ``share``: fraction (0-1) of that direction's yearly flow using the segment."""

# --- Stations and crossing points -----------------------------------------------------------------

STATIONS: Final[tuple[tuple[str, str, str, int | None, str], ...]] = (
    # station_id, place, kind, capacity (people), country
    ("ERM-LB", "Lajas Blancas", "reception_station", 1500, "PAN"),
    ("ERM-SV", "San Vicente", "reception_station", 1000, "PAN"),
    ("ERM-BCH", "Bajo Chiquito", "reception_station", 500, "PAN"),
    ("HP-CAN", "Canaán Membrillo", "health_post", None, "PAN"),
    ("HP-MET", "Metetí", "health_post", None, "PAN"),
    ("HP-YAV", "Yaviza", "health_post", None, "PAN"),
    ("HP-ERE", "El Real de Santa María", "health_post", None, "PAN"),
    ("HP-ACA", "Acandí", "health_post", None, "COL"),
    ("HP-NEC", "Necoclí", "health_post", None, "COL"),
    ("HP-CAP", "Capurganá", "health_post", None, "COL"),
)
"""Reception stations (Estaciones de Recepción Migratoria) and health posts."""

CROSSING_POINTS: Final[tuple[tuple[str, str, str, str], ...]] = (
    # point_id, place, country, direction_default
    ("PA-BCH", "Bajo Chiquito", "PAN", "northbound"),
    ("PA-CAN", "Canaán Membrillo", "PAN", "northbound"),
    ("CO-NEC", "Necoclí", "COL", "southbound"),
)
"""Points where the flow table counts people."""

# --- Protected areas (approximate outlines, not WDPA) --------------------------------------------

DARIEN_NP_OUTLINE: Final[tuple[Coord, ...]] = (
    (-77.775, 7.625),
    (-77.766, 7.707),
    (-77.740, 7.723),
    (-77.666, 7.663),
    (-77.672, 7.646),
    (-77.659, 7.642),
    (-77.621, 7.584),
    (-77.565, 7.566),
    (-77.409, 7.693),
    (-77.375, 7.753),
    (-77.385, 7.774),
    (-77.381, 7.788),
    (-77.352, 7.826),
    (-77.331, 7.888),
    (-77.215, 7.956),
    (-77.253, 8.073),
    (-77.377, 8.288),
    (-77.409, 8.380),
    (-77.448, 8.444),
    (-77.471, 8.464),
    (-77.492, 8.471),
    (-77.493, 8.484),
    (-77.507, 8.497),
    (-77.570, 8.414),
    (-77.507, 8.288),
    (-77.478, 8.171),
    (-77.507, 8.063),
    (-77.556, 7.976),
    (-77.663, 7.947),
    (-77.760, 8.015),
    (-77.858, 7.976),
    (-77.916, 7.878),
    (-78.014, 7.830),
    (-78.287, 7.976),
    (-78.396, 7.928),
    (-78.324, 7.846),
    (-78.313, 7.802),
    (-78.274, 7.739),
    (-78.286, 7.694),
    (-78.270, 7.686),
    (-78.266, 7.667),
    (-78.250, 7.665),
    (-78.202, 7.615),
    (-78.195, 7.576),
    (-78.184, 7.583),
    (-78.170, 7.578),
    (-78.165, 7.541),
    (-78.092, 7.459),
    (-78.057, 7.425),
    (-78.041, 7.425),
    (-78.028, 7.395),
    (-78.022, 7.402),
    (-78.012, 7.396),
    (-78.007, 7.375),
    (-77.926, 7.274),
    (-77.890, 7.266),
    (-77.829, 7.479),
    (-77.760, 7.532),
)
"""Darién National Park: about 5,790 km², lat 7.20-8.52, lon -78.42..-77.15 (published extent)."""

LOS_KATIOS_OUTLINE: Final[tuple[Coord, ...]] = (
    (-77.349, 7.736),
    (-77.331, 7.723),
    (-77.314, 7.710),
    (-77.293, 7.689),
    (-77.273, 7.669),
    (-77.252, 7.648),
    (-77.217, 7.640),
    (-77.182, 7.631),
    (-77.151, 7.644),
    (-77.121, 7.657),
    (-77.107, 7.692),
    (-77.094, 7.727),
    (-77.086, 7.763),
    (-77.077, 7.798),
    (-77.064, 7.828),
    (-77.050, 7.859),
    (-77.068, 7.877),
    (-77.086, 7.894),
    (-77.112, 7.907),
    (-77.138, 7.921),
    (-77.158, 7.923),
    (-77.178, 7.925),
    (-77.195, 7.916),
    (-77.213, 7.907),
    (-77.244, 7.885),
    (-77.266, 7.877),
    (-77.287, 7.868),
    (-77.303, 7.855),
    (-77.318, 7.842),
    (-77.331, 7.806),
    (-77.345, 7.771),
)
"""Los Katíos National Natural Park (Colombia), about 720 km², west of the Atrato."""

FILO_DEL_TALLO_OUTLINE: Final[tuple[Coord, ...]] = (
    (-77.857, 8.291),
    (-77.844, 8.300),
    (-77.831, 8.310),
    (-77.825, 8.336),
    (-77.838, 8.348),
    (-77.851, 8.361),
    (-77.866, 8.374),
    (-77.881, 8.387),
    (-77.896, 8.400),
    (-77.913, 8.413),
    (-77.930, 8.426),
    (-77.947, 8.438),
    (-77.964, 8.449),
    (-77.981, 8.460),
    (-77.998, 8.471),
    (-78.024, 8.483),
    (-78.050, 8.496),
    (-78.066, 8.499),
    (-78.083, 8.502),
    (-78.093, 8.475),
    (-78.090, 8.460),
    (-78.084, 8.450),
    (-78.060, 8.432),
    (-78.037, 8.415),
    (-78.013, 8.397),
    (-77.990, 8.380),
    (-77.966, 8.362),
    (-77.943, 8.345),
    (-77.919, 8.327),
    (-77.896, 8.310),
    (-77.876, 8.300),
)
"""Filo del Tallo Hydrological Reserve, about 245 km², south-east of Metetí."""

CHEPIGANA_OUTLINE: Final[tuple[Coord, ...]] = (
    (-77.666, 8.079),
    (-77.681, 8.180),
    (-77.753, 8.252),
    (-77.940, 8.382),
    (-78.056, 8.439),
    (-78.064, 8.432),
    (-78.047, 8.417),
    (-78.064, 8.401),
    (-78.019, 8.292),
    (-77.985, 8.272),
    (-77.895, 8.255),
    (-77.869, 8.239),
    (-77.819, 8.176),
    (-77.800, 8.178),
    (-77.764, 8.134),
    (-77.734, 8.134),
    (-77.745, 8.113),
    (-77.780, 8.113),
    (-77.801, 8.155),
    (-77.834, 8.160),
    (-77.842, 8.193),
    (-77.887, 8.231),
    (-77.957, 8.249),
    (-77.930, 8.226),
    (-77.911, 8.222),
    (-77.914, 8.208),
    (-77.941, 8.210),
    (-77.963, 8.234),
    (-78.006, 8.234),
    (-78.029, 8.258),
    (-78.054, 8.319),
    (-78.125, 8.352),
    (-78.129, 8.378),
    (-78.142, 8.367),
    (-78.163, 8.313),
    (-78.100, 8.266),
    (-78.085, 8.189),
    (-78.167, 8.131),
    (-78.238, 8.143),
    (-78.249, 8.115),
    (-78.285, 8.078),
    (-78.323, 8.056),
    (-78.352, 8.070),
    (-78.384, 8.060),
    (-78.399, 8.068),
    (-78.409, 8.096),
    (-78.432, 8.059),
    (-78.410, 8.014),
    (-78.403, 7.950),
    (-78.373, 7.956),
    (-78.358, 7.948),
    (-78.286, 7.979),
    (-78.014, 7.833),
    (-77.918, 7.880),
    (-77.859, 7.979),
    (-77.761, 8.018),
    (-77.719, 7.990),
    (-77.681, 8.007),
)
"""Chepigana Forest Reserve, about 2,600 km², south and south-west of the Gulf of San Miguel."""

PUNTA_PATINO_OUTLINE: Final[tuple[Coord, ...]] = (
    (-78.168, 8.313),
    (-78.180, 8.315),
    (-78.180, 8.297),
    (-78.188, 8.284),
    (-78.197, 8.271),
    (-78.211, 8.269),
    (-78.225, 8.267),
    (-78.240, 8.275),
    (-78.255, 8.289),
    (-78.264, 8.280),
    (-78.261, 8.273),
    (-78.252, 8.270),
    (-78.253, 8.256),
    (-78.277, 8.247),
    (-78.302, 8.250),
    (-78.283, 8.229),
    (-78.264, 8.208),
    (-78.249, 8.198),
    (-78.234, 8.177),
    (-78.234, 8.154),
    (-78.237, 8.146),
    (-78.214, 8.142),
    (-78.191, 8.138),
    (-78.168, 8.134),
    (-78.148, 8.148),
    (-78.128, 8.163),
    (-78.107, 8.177),
    (-78.087, 8.191),
    (-78.092, 8.215),
    (-78.098, 8.240),
    (-78.103, 8.264),
    (-78.125, 8.280),
    (-78.147, 8.297),
)
"""Punta Patiño Nature Reserve (private), about 263 km², south shore of the Gulf of San Miguel."""

RIONEGRO_OUTLINE: Final[tuple[Coord, ...]] = (
    (-76.784, 8.481),
    (-76.771, 8.477),
    (-76.758, 8.472),
    (-76.747, 8.478),
    (-76.736, 8.484),
    (-76.724, 8.489),
    (-76.716, 8.501),
    (-76.707, 8.512),
    (-76.698, 8.524),
    (-76.696, 8.538),
    (-76.693, 8.552),
    (-76.690, 8.566),
    (-76.696, 8.578),
    (-76.701, 8.589),
    (-76.707, 8.601),
    (-76.718, 8.606),
    (-76.730, 8.612),
    (-76.741, 8.618),
    (-76.753, 8.612),
    (-76.764, 8.606),
    (-76.776, 8.601),
    (-76.784, 8.589),
    (-76.793, 8.578),
    (-76.801, 8.566),
    (-76.803, 8.552),
    (-76.804, 8.538),
    (-76.805, 8.524),
    (-76.798, 8.509),
    (-76.791, 8.495),
)
"""DRMI Ensenada de Rionegro (Colombia), about 145 km² of coast and bay north of Necoclí."""

ACANDI_OUTLINE: Final[tuple[Coord, ...]] = (
    (-77.276, 8.434),
    (-77.258, 8.426),
    (-77.240, 8.419),
    (-77.221, 8.412),
    (-77.205, 8.417),
    (-77.188, 8.423),
    (-77.172, 8.428),
    (-77.155, 8.434),
    (-77.144, 8.448),
    (-77.133, 8.463),
    (-77.122, 8.478),
    (-77.126, 8.496),
    (-77.129, 8.515),
    (-77.133, 8.533),
    (-77.148, 8.548),
    (-77.162, 8.563),
    (-77.177, 8.577),
    (-77.195, 8.581),
    (-77.214, 8.585),
    (-77.232, 8.588),
    (-77.247, 8.581),
    (-77.262, 8.574),
    (-77.276, 8.566),
    (-77.279, 8.550),
    (-77.282, 8.533),
    (-77.279, 8.517),
    (-77.276, 8.500),
    (-77.276, 8.478),
    (-77.276, 8.456),
)
"""Santuario de Fauna Acandí, Playón y Playona (Colombia), about 262 km², mostly sea."""


PROTECTED_AREAS: Final[tuple[ProtectedAreaRecord, ...]] = (
    {
        "WDPAID": 900001,
        "NAME": "Darién National Park",
        "ORIG_NAME": "Parque Nacional Darién",
        "DESIG": "Parque Nacional",
        "DESIG_ENG": "National Park",
        "DESIG_TYPE": "National",
        "IUCN_CAT": "II",
        "REP_AREA": 5790.0,
        "REP_M_AREA": 0.0,
        "STATUS_YR": 1980,
        "GOV_TYPE": "Federal or national ministry or agency",
        "ISO3": "PAN",
        "outline": DARIEN_NP_OUTLINE,
    },
    {
        "WDPAID": 900002,
        "NAME": "Los Katíos National Park",
        "ORIG_NAME": "Parque Nacional Natural Los Katíos",
        "DESIG": "Parque Nacional Natural",
        "DESIG_ENG": "National Natural Park",
        "DESIG_TYPE": "National",
        "IUCN_CAT": "II",
        "REP_AREA": 720.0,
        "REP_M_AREA": 0.0,
        "STATUS_YR": 1973,
        "GOV_TYPE": "Federal or national ministry or agency",
        "ISO3": "COL",
        "outline": LOS_KATIOS_OUTLINE,
    },
    {
        "WDPAID": 900003,
        "NAME": "Filo del Tallo Hydrological Reserve",
        "ORIG_NAME": "Reserva Hidrológica Filo del Tallo",
        "DESIG": "Reserva Hidrológica",
        "DESIG_ENG": "Hydrological Reserve",
        "DESIG_TYPE": "National",
        "IUCN_CAT": "Not Reported",
        "REP_AREA": 245.0,
        "REP_M_AREA": 0.0,
        "STATUS_YR": 1988,
        "GOV_TYPE": "Federal or national ministry or agency",
        "ISO3": "PAN",
        "outline": FILO_DEL_TALLO_OUTLINE,
    },
    {
        "WDPAID": 900004,
        "NAME": "Chepigana Forest Reserve",
        "ORIG_NAME": "Reserva Forestal de Chepigana",
        "DESIG": "Reserva Forestal",
        "DESIG_ENG": "Forest Reserve",
        "DESIG_TYPE": "National",
        "IUCN_CAT": "VI",
        "REP_AREA": 2600.0,
        "REP_M_AREA": 0.0,
        "STATUS_YR": 1960,
        "GOV_TYPE": "Federal or national ministry or agency",
        "ISO3": "PAN",
        "outline": CHEPIGANA_OUTLINE,
    },
    {
        "WDPAID": 900005,
        "NAME": "Punta Patiño Nature Reserve",
        "ORIG_NAME": "Reserva Natural Privada Punta Patiño",
        "DESIG": "Reserva Natural Privada",
        "DESIG_ENG": "Private Nature Reserve",
        "DESIG_TYPE": "National",
        "IUCN_CAT": "IV",
        "REP_AREA": 263.0,
        "REP_M_AREA": 0.0,
        "STATUS_YR": 1993,
        "GOV_TYPE": "Non-profit organisations",
        "ISO3": "PAN",
        "outline": PUNTA_PATINO_OUTLINE,
    },
    {
        "WDPAID": 900006,
        "NAME": "Ensenada de Rionegro Integrated Management District",
        "ORIG_NAME": (
            "Distrito Regional de Manejo Integrado Ensenada de Rionegro, los bajos aledaños, "
            "las ciénagas de Marimonda y El Salado"
        ),
        "DESIG": "Distrito Regional de Manejo Integrado",
        "DESIG_ENG": "Regional Integrated Management District",
        "DESIG_TYPE": "National",
        "IUCN_CAT": "VI",
        "REP_AREA": 145.0,
        "REP_M_AREA": 40.0,
        "STATUS_YR": 2008,
        "GOV_TYPE": "Sub-national ministry or agency",
        "ISO3": "COL",
        "outline": RIONEGRO_OUTLINE,
    },
    {
        "WDPAID": 900007,
        "NAME": "Acandí, Playón y Playona Fauna Sanctuary",
        "ORIG_NAME": "Santuario de Fauna Acandí, Playón y Playona",
        "DESIG": "Santuario de Fauna",
        "DESIG_ENG": "Fauna Sanctuary",
        "DESIG_TYPE": "National",
        "IUCN_CAT": "Not Reported",
        "REP_AREA": 262.0,
        "REP_M_AREA": 250.0,
        "STATUS_YR": 2013,
        "GOV_TYPE": "Federal or national ministry or agency",
        "ISO3": "COL",
        "outline": ACANDI_OUTLINE,
    },
)
"""Protected areas with WDPA-style attributes. WDPAIDs 900001+ are demo ids, not WDPA's.

``NAME`` carries the designation ("Darién National Park") for readable maps, where WDPA's
``NAME`` usually omits it; ``ORIG_NAME`` is the name in the local language.
"""

# --- Indigenous territories (approximate outlines) -----------------------------------------------

CEMACO_OUTLINE: Final[tuple[Coord, ...]] = (
    (-77.481, 8.357),
    (-77.422, 8.451),
    (-77.433, 8.462),
    (-77.450, 8.466),
    (-77.479, 8.463),
    (-77.493, 8.473),
    (-77.493, 8.496),
    (-77.485, 8.528),
    (-77.445, 8.571),
    (-77.442, 8.576),
    (-77.444, 8.583),
    (-77.500, 8.677),
    (-77.535, 8.700),
    (-77.546, 8.713),
    (-77.543, 8.733),
    (-77.614, 8.804),
    (-77.635, 8.813),
    (-77.644, 8.824),
    (-77.745, 8.885),
    (-77.884, 8.897),
    (-77.984, 8.835),
    (-78.009, 8.734),
    (-77.946, 8.633),
    (-77.909, 8.533),
    (-77.884, 8.445),
    (-77.858, 8.256),
    (-77.858, 8.227),
    (-77.825, 8.184),
    (-77.770, 8.231),
    (-77.682, 8.269),
    (-77.569, 8.307),
)
"""Comarca Emberá-Wounaan, Cémaco sector, about 3,100 km²."""

SAMBU_OUTLINE: Final[tuple[Coord, ...]] = (
    (-78.200, 8.162),
    (-78.234, 8.157),
    (-78.249, 8.115),
    (-78.286, 8.077),
    (-78.324, 8.056),
    (-78.352, 8.070),
    (-78.368, 8.050),
    (-78.340, 8.007),
    (-78.312, 7.965),
    (-78.275, 7.928),
    (-78.237, 7.890),
    (-78.200, 7.853),
    (-78.162, 7.815),
    (-78.125, 7.778),
    (-78.087, 7.740),
    (-78.050, 7.731),
    (-78.012, 7.722),
    (-77.975, 7.712),
    (-77.947, 7.747),
    (-77.919, 7.783),
    (-77.928, 7.825),
    (-77.937, 7.867),
    (-77.947, 7.909),
    (-77.975, 7.947),
    (-78.003, 7.984),
    (-78.031, 8.022),
    (-78.059, 8.054),
    (-78.087, 8.087),
    (-78.115, 8.120),
    (-78.157, 8.141),
)
"""Comarca Emberá-Wounaan, Sambú sector, about 1,280 km²."""

WARGANDI_OUTLINE: Final[tuple[Coord, ...]] = (
    (-77.992, 8.816),
    (-77.986, 8.838),
    (-77.952, 8.858),
    (-77.919, 8.879),
    (-77.885, 8.900),
    (-77.875, 8.899),
    (-77.863, 8.925),
    (-77.850, 8.950),
    (-77.872, 8.977),
    (-77.895, 9.004),
    (-77.917, 9.030),
    (-77.950, 9.041),
    (-77.984, 9.051),
    (-78.017, 9.061),
    (-78.051, 9.071),
    (-78.085, 9.067),
    (-78.118, 9.064),
    (-78.151, 9.060),
    (-78.185, 9.057),
    (-78.194, 9.049),
    (-78.185, 9.028),
    (-78.194, 8.990),
    (-78.204, 8.953),
    (-78.213, 8.916),
    (-78.181, 8.896),
    (-78.150, 8.876),
    (-78.118, 8.856),
    (-78.091, 8.842),
    (-78.064, 8.829),
    (-78.037, 8.816),
    (-78.015, 8.816),
)
"""Comarca Wargandí, about 775 km²."""

MADUNGANDI_OUTLINE: Final[tuple[Coord, ...]] = (
    (-78.346, 8.870),
    (-78.283, 8.886),
    (-78.220, 8.901),
    (-78.204, 8.965),
    (-78.188, 9.028),
    (-78.209, 9.075),
    (-78.230, 9.122),
    (-78.251, 9.170),
    (-78.294, 9.207),
    (-78.336, 9.243),
    (-78.378, 9.280),
    (-78.430, 9.296),
    (-78.483, 9.312),
    (-78.536, 9.328),
    (-78.588, 9.322),
    (-78.641, 9.317),
    (-78.694, 9.312),
    (-78.757, 9.280),
    (-78.820, 9.249),
    (-78.836, 9.201),
    (-78.851, 9.154),
    (-78.796, 9.115),
    (-78.741, 9.075),
    (-78.684, 9.043),
    (-78.627, 9.012),
    (-78.570, 8.980),
    (-78.514, 8.949),
    (-78.457, 8.917),
    (-78.401, 8.893),
)
"""Comarca Madungandí, about 2,320 km²."""

TERRITORIES: Final[tuple[TerritoryRecord, ...]] = (
    {
        "name": "Comarca Emberá-Wounaan (Cémaco)",
        "people": "Emberá, Wounaan",
        "iso3": "PAN",
        "outline": CEMACO_OUTLINE,
    },
    {
        "name": "Comarca Emberá-Wounaan (Sambú)",
        "people": "Emberá, Wounaan",
        "iso3": "PAN",
        "outline": SAMBU_OUTLINE,
    },
    {
        "name": "Comarca Wargandí",
        "people": "Guna",
        "iso3": "PAN",
        "outline": WARGANDI_OUTLINE,
    },
    {
        "name": "Comarca Madungandí",
        "people": "Guna",
        "iso3": "PAN",
        "outline": MADUNGANDI_OUTLINE,
    },
)
"""Indigenous territories (comarcas), approximate outlines drawn for the demo."""
