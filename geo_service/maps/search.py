"""Search over the names of areas, admin units and places, without regard to accents or case
("darien" finds "Parque Nacional Darién"): the index the map searches in the browser (inlined,
so the single-file map searches too) and the matching `/areas?q=` uses."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd

from data_catalog.i18n import Language, every_language
from geo_service.areas_store import AreasStore
from layers.labels import area_name
from layers.models import Layer
from layers.registry import Registry, by_role
from pipelines import area_record as col

POINT_ROLES = ("points", "time_series", "clustered_points")
"""Map roles whose features are places with names (stations, crossing points)."""


def fold(text: str) -> str:
    """`text` without accents, in lower case, spaces collapsed: what search compares."""
    decomposed = unicodedata.normalize("NFD", str(text))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def matches(query: str, names: Iterable[Any]) -> bool:
    """Whether any of `names` contains `query`, without regard to accents or case."""
    wanted = fold(query)
    return any(wanted in fold(name) for name in names if isinstance(name, str))


def _kind_name(layer: Layer, lang: Language) -> str:
    return layer.name_in(lang)


def search_index(registry: Registry, layers: Mapping[str, Layer], store: AreasStore,
                 places: gpd.GeoDataFrame, lang: Language) -> list[dict[str, Any]]:
    """What the map's search box finds: every scored area but planning units (by its name in
    every language and its official name; admin units when a run has them) and every named
    point of the map's point layers. Each entry: `name` (in `lang`), `kind`, `keys` (folded
    names), and `bounds` [s, w, n, e] with an `anchor` inside, or `point` [lat, lon]; `area`
    is the id whose card opens."""
    del registry, places  # the index is built from the layers themselves
    index: list[dict[str, Any]] = []
    skip = {layer.id for layer in by_role(layers, "area_classes")}
    languages = list(every_language())
    for layer in layers.values():
        if layer.source_kind != "areas" or layer.id in skip or layer.kind != "vector":
            continue
        frame = gpd.read_parquet(layer.asset).to_crs("EPSG:4326")
        records = store.frame()
        for _, row in frame.iterrows():
            record = records.loc[row[col.ID]] if row[col.ID] in records.index else row
            data = {k: record.get(k) for k in record.index} if hasattr(record, "index") \
                else dict(record)
            names = {area_name(data, other) for other in languages}
            names |= {str(v) for v in (data.get(col.NAME), data.get(col.OFFICIAL_NAME))
                      if isinstance(v, str)}
            west, south, east, north = row.geometry.bounds
            inside = row.geometry.representative_point()
            index.append({
                "name": area_name(data, lang), "kind": _kind_name(layer, lang),
                "keys": " | ".join(sorted(fold(n) for n in names if n)),
                "bounds": [round(south, 5), round(west, 5), round(north, 5), round(east, 5)],
                "anchor": [round(inside.y, 5), round(inside.x, 5)],
                "area": str(row[col.ID])})
    for role in POINT_ROLES:
        for layer in by_role(layers, role):
            frame = gpd.read_parquet(layer.asset)
            if col.NAME not in frame.columns:
                continue
            seen: set[str] = set()
            for name, geometry in zip(frame[col.NAME], frame.geometry, strict=True):
                if not isinstance(name, str) or name in seen or geometry is None \
                        or geometry.is_empty or geometry.geom_type != "Point":
                    continue
                seen.add(name)
                index.append({"name": name, "kind": _kind_name(layer, lang),
                              "keys": fold(name),
                              "point": [round(geometry.y, 5), round(geometry.x, 5)]})
    return index
