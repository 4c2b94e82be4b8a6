"""The layer registry: the current run's layers (from its STAC catalog) ∪ the user layers.

The registry re-reads the catalog only when `current` points elsewhere or a user layer
changes, so a pipeline run or an ingest shows up in a running service without a restart.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pystac

from data_catalog.paths import DEFAULT_REGION, SAFE_ID, USER_LAYER_ITEM, DataDir
from data_catalog.problems import NotFound
from data_catalog.runs import RUN_MANIFEST
from data_catalog.stac import cmrisk_fields, read_items
from layers.models import Layer, LegendClass, MapPlacement, Style
from layers.styles import (
    DEFAULT_VECTOR_COLOR,
    class_style,
    legend_of,
    score_style,
    stretch_style,
    style_of,
)

USER_LAYER_ORDER = 1_000_000
"""User layers come after every run layer."""


class LayerNotFound(NotFound, LookupError):
    """No layer with this id (or it is not visible to the caller): a 404 naming `layer`."""

    default_parameter = "layer"

    def __init__(self, layer_id: str) -> None:
        self.layer_id = layer_id
        super().__init__(f"no layer {layer_id[:80]!r}")


def style_for(fields: dict[str, Any]) -> Style:
    """The style of a layer from its catalog fields: the style a run layer names, or for a
    user layer its colormap and stretch (or, without them, a stretch of 0–10)."""
    classes = [LegendClass(**{k: c[k] for k in ("min", "max", "label", "label_es", "color")},
                           labels=dict(c.get("labels") or {}))
               for c in fields.get("classes") or []]
    if isinstance(fields.get("style"), dict):
        style = style_of(fields["style"], classes)
        return style.model_copy(update={"not_exposed": True}) \
            if fields.get("not_exposed") and style.classes else style
    if fields.get("kind") == "vector":
        return Style(color=DEFAULT_VECTOR_COLOR, classes=[])
    if fields.get("colormap") and fields.get("rescale"):
        low, high = fields["rescale"]
        return stretch_style(str(fields["colormap"]), (float(low), float(high)))
    if fields.get("value_type") == "class" and classes:
        return class_style(classes)
    if classes:
        return score_style(classes)
    return stretch_style("viridis", (0.0, 10.0))


def layer_from_item(item: pystac.Item, version: str) -> Layer:
    """A Layer from a STAC item written by a run or an ingest."""
    fields = cmrisk_fields(item)
    style = style_for(fields)
    units = str(fields.get("units", ""))
    asset = item.assets["data"]
    placement = fields.get("map")
    return Layer(
        id=item.id, title=fields["title"], title_es=fields.get("title_es"),
        description=fields.get("description", ""),
        description_es=fields.get("description_es"),
        titles=dict(fields.get("titles") or {}),
        descriptions=dict(fields.get("descriptions") or {}), kind=fields.get("kind", "raster"),
        value_type=fields.get("value_type", "continuous"), units=units,
        synthetic=bool(fields.get("synthetic", False)), access=fields.get("access", "public"),
        run_id=fields.get("run_id"), attribution=str(fields.get("attribution", "")),
        bbox=tuple(item.bbox) if item.bbox else None,  # type: ignore[arg-type]
        style=style, legend=legend_of(style, units), version=version,
        asset=Path(asset.get_absolute_href() or asset.href),
        provenance=list(fields.get("provenance", [])),
        source=fields.get("source"), source_kind=fields.get("source_kind"),
        count_property=fields.get("count_property"), time_property=fields.get("time_property"),
        map=MapPlacement.model_validate(placement) if isinstance(placement, dict) else None,
        order=int(fields.get("order", USER_LAYER_ORDER)),
    )


def run_layers(run: Path | None) -> tuple[dict[str, Layer], dict[str, Any] | None]:
    """The layers of the run folder `run` (none for None), by id, and the run's run.json."""
    layers: dict[str, Layer] = {}
    run_manifest = None
    if run is not None and (run / "catalog.json").is_file():
        run_manifest = json.loads((run / RUN_MANIFEST).read_text(encoding="utf-8"))
        for item in read_items(run / "catalog.json"):
            layers[item.id] = layer_from_item(item, version=run.name)
    return layers, run_manifest


def user_layer(item_path: Path) -> Layer:
    """A user layer from its STAC item (`layers/<id>/item.json`, or the folder an ingest is
    about to swap in); its version follows its data's checksum."""
    item = pystac.Item.from_file(str(item_path))
    item.make_asset_hrefs_absolute()
    checksum = str(item.assets["data"].extra_fields.get("file:checksum", ""))[-16:]
    return layer_from_item(item, version=f"user-{checksum}")


def user_layers(data: DataDir) -> dict[str, Layer]:
    """The user layers of the data dir (`cmrisk ingest raster|vector`), by id."""
    layers: dict[str, Layer] = {}
    for item_path in sorted(data.layers.glob(f"*/{USER_LAYER_ITEM}")):
        layer = user_layer(item_path)
        layers[layer.id] = layer
    return layers


def read_layers(data: DataDir, run: Path | None) -> tuple[dict[str, Layer], dict[str, Any] | None]:
    """The layers of the run folder `run` and the user layers, by id in map order, and the
    run's run.json.

    The registry serves those of a region's current run; a run about to become current can
    publish its own (e.g. to PostGIS) before the switch.
    """
    layers, run_manifest = run_layers(run)
    layers.update(user_layers(data))
    ordered = dict(sorted(layers.items(), key=lambda kv: (kv[1].order, kv[0])))
    return ordered, run_manifest


def by_role(layers: Mapping[str, Layer], role: str) -> list[Layer]:
    """The layers with this role on the planning map, in their region file's order."""
    return sorted((layer for layer in layers.values()
                   if layer.map is not None and layer.map.role == role),
                  key=lambda layer: (layer.order, layer.id))


def default_overlay(layers: Mapping[str, Layer]) -> Layer | None:
    """The overlay shown when the map opens (the first overlay when none is marked): the layer
    an analysis, an offline map and a score card start from."""
    overlays = by_role(layers, "overlay")
    shown = [layer for layer in overlays if layer.map is not None and layer.map.shown]
    first = shown or overlays
    return first[0] if first else None


class Registry:
    """The layers the service can show for one region, keyed by id: the region's current
    run's layers and the user layers."""

    def __init__(self, data: DataDir, region: str = DEFAULT_REGION) -> None:
        self.data = data
        self.region = region
        self.store = data.region(region)
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._layers: dict[str, Layer] = {}
        self._run: dict[str, Any] | None = None

    def _state_key(self) -> tuple[Any, ...]:
        run = self.store.current_run()
        user = []
        if self.data.layers.is_dir():
            for item in sorted(self.data.layers.glob(f"*/{USER_LAYER_ITEM}")):
                user.append((item.parent.name, item.stat().st_mtime_ns))
        return (str(run) if run else None, tuple(user))

    def _load(self) -> None:
        key = self._state_key()
        if key == self._key:
            return
        layers, run_manifest = read_layers(self.data, self.store.current_run())
        self._layers, self._run, self._key = layers, run_manifest, key

    def layers(self) -> dict[str, Layer]:
        """Every layer, by id (reloaded when the data dir changed)."""
        with self._lock:
            self._load()
            return dict(self._layers)

    def run_manifest(self) -> dict[str, Any] | None:
        """The current run's run.json, or None when nothing has run yet."""
        with self._lock:
            self._load()
            return self._run

    def classes(self) -> list[dict[str, Any]]:
        """The current run's risk classes (name, label, label_es, min, max, color)."""
        manifest = self.run_manifest() or {}
        return list(manifest.get("config", {}).get("classes", []))

    def bbox(self) -> tuple[float, float, float, float] | None:
        """The current run's extent (west, south, east, north), degrees; None before a run."""
        box = ((self.run_manifest() or {}).get("grid") or {}).get("bounds_lonlat")
        return (float(box[0]), float(box[1]), float(box[2]), float(box[3])) if box else None

    def get(self, layer_id: str) -> Layer:
        """The layer with this id; ids that could not be ids never reach the file system."""
        if not SAFE_ID.fullmatch(layer_id):
            raise LayerNotFound(layer_id)
        layer = self.layers().get(layer_id)
        if layer is None:
            raise LayerNotFound(layer_id)
        return layer
