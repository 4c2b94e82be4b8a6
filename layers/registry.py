"""The layer registry: the current run's layers (from its STAC catalog) ∪ the user layers.

The registry re-reads the catalog only when `current` points elsewhere or a user layer
changes, so a pipeline run or an ingest shows up in a running service without a restart.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pystac

from data_catalog.paths import SAFE_ID, DataDir
from data_catalog.stac import cmrisk_fields, read_items
from layers.models import Layer, LegendClass, Style
from layers.styles import VECTOR_COLORS, class_style, legend_of, score_style, stretch_style

USER_LAYER_ITEM = "item.json"
RUN_MANIFEST = "run.json"


class LayerNotFound(LookupError):
    """No layer with this id (or it is not visible to the caller)."""

    def __init__(self, layer_id: str) -> None:
        self.layer_id = layer_id
        super().__init__(f"no layer {layer_id[:80]!r}")


def style_for(fields: dict[str, Any], layer_id: str) -> Style:
    """The style of a layer from its catalog fields."""
    classes = [LegendClass(**{k: c[k] for k in ("min", "max", "label", "label_es", "color")})
               for c in fields.get("classes") or []]
    if fields.get("kind") == "vector":
        return Style(color=VECTOR_COLORS.get(layer_id), classes=[])
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
    style = style_for(fields, item.id)
    units = str(fields.get("units", ""))
    asset = item.assets["data"]
    return Layer(
        id=item.id, title=fields["title"], title_es=fields.get("title_es"),
        description=fields.get("description", ""), kind=fields.get("kind", "raster"),
        value_type=fields.get("value_type", "continuous"), units=units,
        synthetic=bool(fields.get("synthetic", False)), access=fields.get("access", "public"),
        run_id=fields.get("run_id"), attribution=str(fields.get("attribution", "")),
        bbox=tuple(item.bbox) if item.bbox else None,  # type: ignore[arg-type]
        style=style, legend=legend_of(style, units), version=version,
        asset=Path(asset.get_absolute_href() or asset.href),
        provenance=list(fields.get("provenance", [])),
    )


def read_layers(data: DataDir, run: Path | None) -> tuple[dict[str, Layer], dict[str, Any] | None]:
    """The layers of the run folder `run` and the user layers, by id, and the run's run.json.

    The registry serves those of the current run; a run about to become current can publish
    its own (e.g. to PostGIS) before the switch.
    """
    layers: dict[str, Layer] = {}
    run_manifest = None
    if run is not None and (run / "catalog.json").is_file():
        run_manifest = json.loads((run / RUN_MANIFEST).read_text(encoding="utf-8"))
        for item in read_items(run / "catalog.json"):
            layers[item.id] = layer_from_item(item, version=run.name)
    for item_path in sorted(data.layers.glob(f"*/{USER_LAYER_ITEM}")):
        item = pystac.Item.from_file(str(item_path))
        item.make_asset_hrefs_absolute()
        checksum = str(item.assets["data"].extra_fields.get("file:checksum", ""))[-16:]
        layers[item.id] = layer_from_item(item, version=f"user-{checksum}")
    return layers, run_manifest


class Registry:
    """The layers the service can show, keyed by id."""

    def __init__(self, data: DataDir) -> None:
        self.data = data
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._layers: dict[str, Layer] = {}
        self._run: dict[str, Any] | None = None

    def _state_key(self) -> tuple[Any, ...]:
        run = self.data.current_run()
        user = []
        if self.data.layers.is_dir():
            for item in sorted(self.data.layers.glob(f"*/{USER_LAYER_ITEM}")):
                user.append((item.parent.name, item.stat().st_mtime_ns))
        return (str(run) if run else None, tuple(user))

    def _load(self) -> None:
        key = self._state_key()
        if key == self._key:
            return
        layers, run_manifest = read_layers(self.data, self.data.current_run())
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

    def get(self, layer_id: str) -> Layer:
        """The layer with this id; ids that could not be ids never reach the file system."""
        if not SAFE_ID.fullmatch(layer_id):
            raise LayerNotFound(layer_id)
        layer = self.layers().get(layer_id)
        if layer is None:
            raise LayerNotFound(layer_id)
        return layer
