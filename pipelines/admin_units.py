"""Administrative units as area kinds (ADM1: provinces, comarcas, departments; ADM2:
districts, municipios) and ThinkHazard!'s conservative roll-up of hazard levels.

Admin units are ordinary area sets of the region file (`areas.<set>.from` a vector input of
outlines, `kind: adm1|adm2`), scored like every other kind. An ADM1 set with
`roll_up_from: <ADM2 set>` takes, for each hazard, the highest level of the ADM2 units inside
it (a unit is inside the ADM1 unit that holds its representative point); an ADM1 unit with
no ADM2 unit inside keeps its own level. So a province is never shown safer than its most
exposed district.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from pipelines import area_record as col
from pipelines.config import RegionConfig
from pipelines.hazard_levels import LEVELS

ADMIN_KINDS = ("adm1", "adm2")
"""The kinds of admin units."""


def parents_of(children: gpd.GeoSeries, parents: gpd.GeoSeries) -> np.ndarray:
    """For each child unit, the index (position) of the parent holding its representative
    point, or -1 when none does."""
    points = children.to_crs(parents.crs).representative_point()
    child_index, parent_index = parents.sindex.query(points.values, predicate="within")
    result = np.full(len(children), -1, dtype="int64")
    result[child_index] = parent_index
    return result


def roll_up(own: Sequence[str | None], children: Sequence[str | None],
            parent_of_child: np.ndarray) -> list[str | None]:
    """Each parent's level: the highest level of its children, or its own when it has none.

    Args:
        own: the parents' own levels (None: no data).
        children: the children's levels.
        parent_of_child: for each child, its parent's position (-1: none).
    """
    result: list[str | None] = []
    for index, level in enumerate(own):
        inside = [c for c, p in zip(children, parent_of_child, strict=True)
                  if p == index and isinstance(c, str) and c in LEVELS]
        result.append(max(inside, key=LEVELS.index) if inside else level)
    return result


def roll_up_levels(scored: gpd.GeoDataFrame, config: RegionConfig) -> gpd.GeoDataFrame:
    """The scored areas with the hazard levels of every area set that has `roll_up_from`
    replaced by the roll-up of its units' levels (`area_record.HAZARD_LEVEL_PREFIX`)."""
    out = scored.copy()
    columns = [c for c in out.columns if str(c).startswith(col.HAZARD_LEVEL_PREFIX)]
    for set_name, spec in config.areas.items():
        if spec.roll_up_from is None or not columns:
            continue
        parents = out[out[col.AREA_SET] == set_name]
        children = out[out[col.AREA_SET] == spec.roll_up_from]
        if parents.empty:
            continue
        mapping = parents_of(children.geometry, parents.geometry.reset_index(drop=True))
        for column in columns:
            own = [v if isinstance(v, str) else None for v in parents[column]]
            kids = [v if isinstance(v, str) else None for v in children[column]]
            out.loc[parents.index, column] = pd.array(roll_up(own, kids, mapping),
                                                      dtype="string")
    return out
