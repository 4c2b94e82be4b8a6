"""`/tiles`: XYZ tiles (WebMercatorQuad, 256 px, PNG) and TileJSON 3.0.0 of raster layers.

Query parameters are declared once, as dataclass dependencies (`StyleParams`,
`DatetimeParams`), and shared by the tile and TileJSON routes (TileJSON passes them on into
its `tiles` URL). A layer is only ever found by id in the registry: no parameter names a file
or a URL.

The tile route is `async` and its dependencies do no I/O, so they run on the event loop;
everything that touches files (the registry, the raster, rendering) runs in one threadpool
call. A cached tile thus costs one thread hop instead of one per dependency.
"""

from __future__ import annotations

import inspect
import math
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BeforeValidator

from data_catalog.problems import InvalidParameter, NotFound
from geo_service.auth import Principal, get_principal, visible_layer
from geo_service.deps import base_url, get_registry
from geo_service.errors import TileOutsideMatrix
from geo_service.settings import Settings
from geo_service.tiles import (
    OVERZOOM_LEVELS,
    PNG_MEDIA_TYPE,
    TILE_SIZE,
    TMS,
    RasterSource,
    TileRenderer,
    TileStyle,
    TileStyleError,
    etag_of,
    outside_matrix,
)
from geo_service.timeouts import raster_work
from layers.models import Layer, Style
from layers.registry import Registry
from layers.styles import ALLOWED_COLORMAPS, legend_of

router = APIRouter(tags=["tiles"])

TILEJSON_VERSION = "3.0.0"
_renderer_lock = threading.Lock()
T = TypeVar("T")


def get_renderer(request: Request) -> TileRenderer:
    """The app's tile renderer (created on first use, sized by `tile_cache_items`)."""
    renderer: TileRenderer | None = getattr(request.app.state, "tile_renderer", None)
    if renderer is None:
        with _renderer_lock:
            renderer = getattr(request.app.state, "tile_renderer", None)
            if renderer is None:
                renderer = TileRenderer(request.app.state.settings.tile_cache_items)
                request.app.state.tile_renderer = renderer
    return renderer


@dataclass(frozen=True)
class TileContext:
    """What the tile routes use from the app and the request: registry, renderer, settings,
    base URL and the caller (restricted layers are only visible to tokens scoped to them)."""

    registry: Registry
    renderer: TileRenderer
    settings: Settings
    base: str
    principal: Principal


async def tile_context(request: Request) -> TileContext:
    """The app's tile context (no I/O: the registry is only consulted later, off the loop)."""
    return TileContext(get_registry(request), get_renderer(request),
                       request.app.state.settings, base_url(request), get_principal(request))


ContextDep = Annotated[TileContext, Depends(tile_context)]


def on_the_loop(cls: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """An async dependency that builds a parameter dataclass from its declared fields.

    FastAPI runs a class dependency in the threadpool; these classes only parse and validate
    query strings, so building them on the event loop saves a thread hop per request.
    """

    async def dependency(**params: Any) -> T:
        return cls(**params)

    dependency.__signature__ = inspect.signature(cls)  # type: ignore[attr-defined]
    dependency.__doc__ = cls.__doc__
    return dependency


NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
RESCALE = re.compile(rf"^\s*({NUMBER})\s*,\s*({NUMBER})\s*$")


def parse_rescale(text: str) -> tuple[float, float]:
    """`min,max` as two finite floats with min < max.

    Raises:
        InvalidParameter: naming `rescale`.
    """
    match = RESCALE.match(text)
    if match is None:
        raise InvalidParameter(f"rescale must be 'min,max' (two numbers), got {text[:80]!r}",
                               parameter="rescale")
    low, high = float(match.group(1)), float(match.group(2))
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise InvalidParameter(f"rescale needs finite min < max, got {text[:80]!r}",
                               parameter="rescale")
    return low, high


@dataclass
class StyleParams:
    """`colormap` and `rescale`: draw the layer as a stretched colormap instead of its style."""

    colormap: Annotated[str | None, Query(
        description="Colormap name, one of: " + ", ".join(sorted(ALLOWED_COLORMAPS))
        + ". Default: the layer's own style (the legend of `/layers/{id}`).",
        json_schema_extra={"enum": sorted(ALLOWED_COLORMAPS)},
    )] = None
    rescale: Annotated[str | None, Query(
        description="`min,max` of the colour stretch, in the layer's units (e.g. `0,10`). "
                    "Default: the layer's range.",
        examples=["0,10"],
    )] = None
    range: tuple[float, float] | None = field(init=False, default=None)
    """`rescale` parsed: (min, max), layer units."""

    def __post_init__(self) -> None:
        if self.colormap is not None and self.colormap not in ALLOWED_COLORMAPS:
            raise InvalidParameter(
                f"unknown colormap {self.colormap[:40]!r}; allowed: "
                + ", ".join(sorted(ALLOWED_COLORMAPS)), parameter="colormap")
        self.range = parse_rescale(self.rescale) if self.rescale is not None else None

    def style_for(self, layer: Layer) -> TileStyle:
        """The style a tile of `layer` is drawn in."""
        try:
            return TileStyle.of(layer.style, colormap=self.colormap, rescale=self.range)
        except TileStyleError as exc:
            raise InvalidParameter(str(exc), parameter="colormap") from None

    def query(self) -> dict[str, str]:
        """These parameters as they were given (for links)."""
        return {k: v for k, v in (("colormap", self.colormap), ("rescale", self.rescale))
                if v is not None}


def _instant(text: str) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(
            f"datetime must be an RFC 3339 date-time or interval, got {text[:80]!r}",
            parameter="datetime") from None


@dataclass
class DatetimeParams:
    """`datetime`: the time of a time-enabled layer."""

    datetime: Annotated[str | None, Query(
        description="RFC 3339 date-time (`2024-05-01T00:00:00Z`) or interval "
                    "(`2024-01-01/2024-12-31`, open ends as `..`). It is validated for every "
                    "layer (400 when malformed) and ignored by layers without a time "
                    "dimension, whose tiles and ETags do not depend on it.",
    )] = None

    def __post_init__(self) -> None:
        if self.datetime is None:
            return
        parts = self.datetime.split("/")
        if len(parts) > 2 or all(p in ("", "..") for p in parts):
            raise InvalidParameter(
                f"datetime must be an RFC 3339 date-time or interval, got "
                f"{self.datetime[:80]!r}", parameter="datetime")
        instants = [_instant(p) for p in parts]
        start, end = instants[0], instants[-1]
        if start is not None and end is not None:
            try:
                backwards = start > end
            except TypeError:  # one naive, one with a zone
                raise InvalidParameter("datetime interval mixes dates with and without a "
                                       "time zone", parameter="datetime") from None
            if backwards:
                raise InvalidParameter("datetime interval ends before it starts",
                                       parameter="datetime")

    def query(self) -> dict[str, str]:
        """This parameter as given (for links)."""
        return {"datetime": self.datetime} if self.datetime is not None else {}


StyleDep = Annotated[StyleParams, Depends(on_the_loop(StyleParams))]
DatetimeDep = Annotated[DatetimeParams, Depends(on_the_loop(DatetimeParams))]
LayerPath = Annotated[str, Path(description="Layer id (see `/layers`).")]
INTEGER = re.compile(r"^-?[0-9]+$")


def _integer_text(value: object) -> object:
    # Path values arrive as text; "0.0" or "1e3" are not tile indices (pydantic would take
    # them), so only plain digits pass on to the int conversion.
    if isinstance(value, str) and not INTEGER.fullmatch(value):
        raise ValueError("must be an integer")
    return value


def raster_layer(context: TileContext, layer_id: str) -> Layer:
    """A raster layer the caller may see, by id (404 for unknown, hidden and vector layers)."""
    layer = visible_layer(context.registry, context.principal, layer_id)
    if layer.kind != "raster":
        raise NotFound(f"layer {layer_id!r} is not a raster layer; it has no tiles",
                       parameter="layer")
    return layer


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.png",
    summary="Map tile",
    response_class=Response,
    responses={
        200: {"content": {PNG_MEDIA_TYPE: {}},
              "description": "A 256 × 256 PNG; transparent where the layer has no data."},
        304: {"description": "Not modified (the `If-None-Match` ETag still holds)."},
        400: {"description": "Unknown colormap, malformed rescale or datetime."},
        404: {"description": "Unknown layer, or z/x/y outside the tile matrix set (or deeper "
                             "than the layer's max zoom + 4)."},
    },
)
@router.head("/tiles/{layer}/{z}/{x}/{y}.png", include_in_schema=False)
async def get_tile(
    layer: LayerPath,
    z: Annotated[int, BeforeValidator(_integer_text),
                 Path(description="Zoom level (WebMercatorQuad, 0–24).")],
    x: Annotated[int, BeforeValidator(_integer_text), Path(description="Tile column.")],
    y: Annotated[int, BeforeValidator(_integer_text), Path(description="Tile row.")],
    style: StyleDep,
    when: DatetimeDep,
    context: ContextDep,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """A tile of a raster layer in its legend's style (or the asked colormap and rescale).

    NaN and nodata cells are transparent, also in files without a nodata tag; a tile inside
    the matrix set but outside the layer's data is a transparent 256 × 256 PNG. `HEAD` gives
    the same status and headers without the body.
    """
    return await raster_work(context.settings, tile_response, context, layer, z, x, y, style,
                             if_none_match)


def tile_response(context: TileContext, layer_id: str, z: int, x: int, y: int,
                  style: StyleParams, if_none_match: str | None) -> Response:
    """The tile (or 304) for a request; runs in the threadpool (registry, files, rendering)."""
    found = raster_layer(context, layer_id)
    outside = outside_matrix(z, x, y)
    if outside is not None:
        raise TileOutsideMatrix(f"tile {z}/{x}/{y} is outside WebMercatorQuad",
                                parameter=outside)
    source: RasterSource = context.renderer.source(found.asset, found.version)
    if z > source.maxzoom + OVERZOOM_LEVELS:
        raise TileOutsideMatrix(
            f"zoom {z} is deeper than layer {found.id!r} is served "
            f"(max zoom {source.maxzoom} + {OVERZOOM_LEVELS})", parameter="z")
    tile_style = style.style_for(found)
    key = (found.id, found.version, tile_style.key, z, x, y)
    etag = etag_of(key)
    scope = "public" if found.access == "public" else "private"
    headers = {"ETag": etag,
               "Cache-Control": f"{scope}, max-age={context.settings.tile_max_age_s}"}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    body = context.renderer.render(key, source, tile_style)
    return Response(body, media_type=PNG_MEDIA_TYPE, headers=headers)


def _legend_text(layer: Layer, style: StyleParams, tile_style: TileStyle) -> str:
    overridden = style.colormap is not None or style.range is not None
    stretch = Style(colormap=tile_style.colormap, rescale=tile_style.rescale)
    legend = legend_of(stretch, layer.units) if overridden else layer.legend
    entries = "; ".join(f"{c.label} {c.color}" for c in legend.classes)
    return f"{layer.title}: {entries}"


@router.get("/tiles/{layer}/tilejson.json", summary="TileJSON 3.0.0 of a raster layer")
def get_tilejson(
    layer: LayerPath,
    style: StyleDep,
    when: DatetimeDep,
    context: ContextDep,
) -> dict[str, Any]:
    """TileJSON 3.0.0: absolute `tiles` URL (keeping `colormap`, `rescale`, `datetime`),
    bounds, center, zoom range, attribution and a `legend` string; `links` points to the
    layer's JSON legend (`/layers/{id}`)."""
    found = raster_layer(context, layer)
    source = context.renderer.source(found.asset, found.version)
    base = context.base
    tile_style = style.style_for(found)
    query = urlencode({**style.query(), **when.query()})
    tiles = f"{base}/tiles/{found.id}/{{z}}/{{x}}/{{y}}.png" + (f"?{query}" if query else "")
    west, south, east, north = (round(v, 6) for v in source.lonlat_bounds)
    legend_url = f"{base}/layers/{found.id}"
    return {
        "tilejson": TILEJSON_VERSION,
        "name": found.title,
        "description": found.description or found.title,
        "version": "1.0.0",
        "attribution": found.attribution,
        "scheme": "xyz",
        "tiles": [tiles],
        "minzoom": source.minzoom,
        "maxzoom": source.maxzoom,
        "bounds": [west, south, east, north],
        "center": [round((west + east) / 2, 6), round((south + north) / 2, 6), source.minzoom],
        "legend": f"{_legend_text(found, style, tile_style)}. JSON legend: {legend_url}",
        "tile_size": TILE_SIZE,
        "tile_matrix_set": TMS.id,
        "links": [
            {"href": legend_url, "rel": "describedby", "type": "application/json",
             "title": "Layer metadata and JSON legend"},
            {"href": f"{base}/tiles/{found.id}/tilejson.json"
                     + (f"?{query}" if query else ""),
             "rel": "self", "type": "application/json"},
        ],
    }
