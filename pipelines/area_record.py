"""The columns of a scored-area table (`/areas/{id}` is built from them).

One name per column, used by the pipeline that writes the tables and by the service that
reads them, so that neither spells them on its own. Names are part of the API (ARCHITECTURE.md).
"""

from __future__ import annotations

from typing import Final

ID: Final = "id"
"""`<prefix><source id>` (e.g. `wdpa:900001`) or `h3:<cell>`."""
NAME: Final = "name"
"""The area's name as its source gives it (WDPA's `NAME`: English or romanised)."""
OFFICIAL_NAME: Final = "official_name"
"""The official name in the country's language (WDPA's `ORIG_NAME`), when the source has one:
what a reader in a language the source has no name in is shown (Spanish, Portuguese)."""
KIND: Final = "kind"
"""The kind of area (`protected_area`, `planning_unit`, …): ranks are within a kind."""
AREA_SET: Final = "area_set"
"""The region file's area set (pipeline only: dropped from the published tables)."""
AREA_KM2: Final = "area_km2"
"""Geodesic area, km²."""
RISK: Final = "risk"
"""Coverage-weighted mean of the composite risk, 0–10."""
RISK_MAX: Final = "risk_max"
"""Maximum of the risk over the cells the area touches, 0–10."""
RISK_P90: Final = "risk_p90"
"""Coverage-weighted 90th percentile of the risk over the area's scored cells, 0–10."""
RISK_MEAN_EXPOSED: Final = "risk_mean_exposed"
"""Coverage-weighted mean of the risk over the area's exposed cells (exposure > 0), 0–10;
null when none is exposed."""
EXPOSED_SHARE: Final = "exposed_share"
"""Share (0–1) of the area's scored surface where people on the move are exposed
(exposure > 0)."""
RANKING_STATISTIC: Final = "ranking_statistic"
"""The name of the statistic that classes and ranks areas (the region file's
`ranking.statistic`: `mean_exposed`, `p90`, `max` or `mean`)."""
RANKING_VALUE: Final = "ranking_value"
"""The area's value of that statistic, 0–10: what `RISK_CLASS` and `RANK` are of."""
RISK_CLASS: Final = "risk_class"
"""Name of the class of `RANKING_VALUE`, or `NOT_EXPOSED` for an area without an exposed cell
(null where the area has no scored cell)."""
NOT_EXPOSED: Final = "not_exposed"
"""The state of a cell or an area where no one on the move is exposed: not a risk class."""
EXPOSED_SCORES: Final = ("exposure", "H", "risk")
"""The scores that are 0 by construction where no one on the move is exposed: their layers draw
those cells as "not exposed" (grey), from the class raster (`NOT_EXPOSED_VALUE`)."""
NOT_EXPOSED_VALUE: Final = 254
"""The value of the class raster (`risk_class.tif`: 0 … n−1 the classes, 255 no data) in the
cells where no one on the move is exposed (exposure 0, so the risk is 0 by construction)."""
PRESSURE: Final = "environmental_pressure"
"""The area's environmental pressure, 0–10: the cells' pressure statistic, or, when the region
file has `pressure`, its weighted mean with the area indicators below (`pipelines.pressure`)."""
PRESSURE_CELLS: Final = "environmental_pressure_cells"
"""The cells' environmental pressure (sqrt(transit · E)) over the area, 0–10."""
PEOPLE_CROSSING: Final = "people_crossing"
"""People crossing the area in the pressure's year (people/year)."""
CARRYING_CAPACITY: Final = "carrying_capacity"
"""Published carrying capacity of the area (people/day); missing when none is published."""
CAPACITY_RATIO: Final = "capacity_ratio"
"""People per day crossing ÷ carrying capacity."""
WASTE_LOAD: Final = "waste_load"
"""Waste left by people crossing (t/year)."""
IND_CAPACITY_RATIO: Final = "pressure_capacity_ratio"
"""The capacity ratio as a 0–10 area indicator of environmental pressure."""
IND_WASTE_LOAD: Final = "pressure_waste_load"
"""The waste load as a 0–10 area indicator of environmental pressure."""
HAZARD_LEVEL_PREFIX: Final = "hazard_level_"
"""`hazard_level_<hazard>`: ThinkHazard!-style level (high, medium, low, very_low)."""
FLOOD_SHARE_PREFIX: Final = "flood_share_"
"""`flood_share_<level>`: share (0–1) of the area flooded ≥ the threshold depth at the return
period of that level, at the depth rasters' native resolution."""
RANK: Final = "rank"
"""Rank of `RANKING_VALUE` within the kind, 1 = highest; ties share the average rank; null
for an area that is `NOT_EXPOSED` (or has no scored cell)."""
RANK_MEDIAN: Final = "rank_median"
RANK_P05: Final = "rank_p05"
RANK_P95: Final = "rank_p95"
CLASS_CHANGE_SHARE: Final = "class_change_share"
"""Share (0–1) of the sensitivity audit's draws in which the area's class changes."""
PRESSURE_PREFIX: Final = "pressure_"
"""`pressure_rank_median`, `pressure_rank_p05`, `pressure_rank_p95`,
`pressure_class_change_share`: the audit of the environmental pressure."""
TOP_INDICATOR: Final = "top_indicator"
"""The indicator whose neutralisation (0, its bound's least severe end) lowers the area's
`RANKING_VALUE` most; null for an area that is `NOT_EXPOSED`."""
RUN_ID: Final = "run_id"
AS_OF: Final = "as_of"
SHARE_PREFIX: Final = "share_"
"""`share_<class>`: share (0–1) of the area's scored surface in each class."""
DIMENSION_PREFIX: Final = "dim_"
"""`dim_<dimension>`: coverage-weighted mean of a dimension (H, V, C, E, H_nat, exposure)."""
INDICATOR_PREFIX: Final = "ind_"
"""`ind_<indicator>`: coverage-weighted mean of an indicator, 0–10."""
DROP_PREFIX: Final = "drop_"
"""`drop_<indicator>`: how much neutralising the indicator (setting it to 0, its bound's least
severe end) lowers the area's `RANKING_VALUE`, in points on 0–10 (the ranking value minus the
ranking value rescored with the indicator neutralised; 0 for an indicator outside the risk);
null for an area that is `NOT_EXPOSED`. `TOP_INDICATOR` is the one with the largest drop."""
CARD_DIMENSIONS: Final = ("H", "V", "C", "E")
"""The dimensions a score card shows."""
