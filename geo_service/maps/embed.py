"""The planning map as one self-contained HTML file (`cmrisk map --out FILE.html --embed`).

For ministries that pass maps around by e-mail: the file opens from disk with no service. Every
JS/CSS asset is inlined (the same XStatic files the service serves, CSS images as data: URIs),
the vector data are inlined by the map itself, and every raster overlay (the composite risk
and each dimension) is pre-rendered with the service's own tile renderer (`geo_service.tiles`)
and inlined as data: URIs: the one shown first up to zoom 10, the others as deep as their share
of the size budget allows. Drawing an area and saving a PNG need the service, so those two
buttons are disabled there with a notice.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from data_catalog.i18n import Language, language
from geo_service.auth import ANONYMOUS, Principal, visible_layers
from geo_service.maps.builder import EmbeddedTiles, page_html, risk_map
from geo_service.static_assets import asset_file, media_type
from geo_service.tiles import TMS, TRANSPARENT_PNG, TileRenderer, TileStyle
from layers.models import Layer
from layers.registry import Registry, by_role, default_overlay

EMBED_BASE = "http://cmrisk-embed.invalid"
"""Placeholder service URL while rendering; every use of it is inlined, and a leftover fails."""
EMBED_MAX_ZOOM = 10
"""Deepest zoom pre-rendered; Leaflet scales these tiles up past it."""
MAX_FILE_BYTES = 10 * 1024 * 1024
"""The file must stay under this size (e-mail attachments)."""
TILE_BUDGET_BYTES = 7 * 1024 * 1024
"""Inlined tiles (base64) stop at the last zoom level that fits this budget: half of it for
the overlay shown first, the other half shared by the other overlays."""

_SCRIPT = re.compile(r'<script src="(?P<url>[^"]+)"></script>')
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="(?P<url>[^"]+)"\s*/?>')
_CSS_URL = re.compile(r"url\((?P<quote>['\"]?)(?P<path>images/[^)'\"]+)(?P=quote)\)")


class EmbedError(RuntimeError):
    """The self-contained map cannot be made (an asset left online, or the file too large)."""


def data_uri(body: bytes, mime: str) -> str:
    """`body` as a base64 data: URI."""
    return f"data:{mime};base64,{base64.b64encode(body).decode('ascii')}"


def prerender(layer: Layer, max_zoom: int = EMBED_MAX_ZOOM,
              budget_bytes: int = TILE_BUDGET_BYTES) -> EmbeddedTiles:
    """The tiles of a raster layer over its extent, from its native min zoom to `max_zoom`.

    Rendered in-process exactly as `/tiles/{id}/{z}/{x}/{y}.png` renders them (same source
    reader, style and PNG encoder). Fully transparent tiles are left out; a whole zoom level is
    dropped (with every deeper one) when it would pass `budget_bytes`.

    Args:
        layer: a raster layer.
        max_zoom: deepest zoom rendered.
        budget_bytes: most bytes of data: URIs kept.
    """
    renderer = TileRenderer(cache_items=1)
    source = renderer.source(layer.asset, layer.version)
    style = TileStyle.of(layer.style)
    west, south, east, north = source.lonlat_bounds
    tiles: dict[str, str] = {}
    used = 0
    for z in range(source.minzoom, max_zoom + 1):
        level: dict[str, str] = {}
        for tile in TMS.tiles(west, south, east, north, [z]):
            body = renderer.render((layer.id, layer.version, style.key, z, tile.x, tile.y),
                                   source, style)
            if body != TRANSPARENT_PNG:
                level[f"{z}/{tile.x}/{tile.y}"] = data_uri(body, "image/png")
        size = sum(len(uri) for uri in level.values())
        if tiles and used + size > budget_bytes:
            break
        tiles.update(level)
        used += size
    return EmbeddedTiles(tiles=tiles, empty=data_uri(TRANSPARENT_PNG, "image/png"))


def _asset(url: str) -> Path:
    prefix = f"{EMBED_BASE}/static/"
    if not url.startswith(prefix):
        raise EmbedError(f"the map loads {url!r}, which is not one of our static assets")
    package, _, path = url.removeprefix(prefix).partition("/")
    found = asset_file(package, path)
    if found is None:
        raise EmbedError(f"no static asset {package}/{path}")
    return found


def _inline_css(path: Path) -> str:
    def image(match: re.Match[str]) -> str:
        found = path.parent / match.group("path")
        if not found.is_file():
            return match.group(0)
        return f'url("{data_uri(found.read_bytes(), media_type(found))}")'

    css = _CSS_URL.sub(image, path.read_text(encoding="utf-8"))
    return "<style>\n" + css.replace("</style", "<\\/style") + "\n</style>"


def _inline_js(path: Path) -> str:
    js = path.read_text(encoding="utf-8")
    return "<script>\n" + js.replace("</script", "<\\/script") + "\n</script>"


def inline_assets(html: str) -> str:
    """`html` with every `<script src>` and stylesheet `<link>` of ours inlined.

    Raises:
        EmbedError: the page still names the placeholder service URL afterwards.
    """
    html = _SCRIPT.sub(lambda m: _inline_js(_asset(m.group("url"))), html)
    html = _STYLESHEET.sub(lambda m: _inline_css(_asset(m.group("url"))), html)
    if EMBED_BASE in html:
        raise EmbedError("the page still loads something from the service")
    return html


def embedded_map(registry: Registry, lang: Language | None = None,
                 principal: Principal = ANONYMOUS) -> str:
    """The planning map as one HTML document that works from disk, with no service.

    Args:
        registry: the layer registry of the current run.
        lang: language and locale of every word and number (English when None).
        principal: who asks; restricted layers are left out unless scoped to them.

    Raises:
        EmbedError: an asset cannot be inlined, or the file would be `MAX_FILE_BYTES` or more.
    """
    lang = lang or language("en")
    layers = visible_layers(registry, principal)
    shown = default_overlay(layers)
    others = [layer for layer in by_role(layers, "overlay") if shown is None
              or layer.id != shown.id]
    tiles: dict[str, EmbeddedTiles] = {}
    if shown is not None:
        tiles[shown.id] = prerender(shown, budget_bytes=TILE_BUDGET_BYTES // 2)
    for layer in others:
        tiles[layer.id] = prerender(layer, budget_bytes=TILE_BUDGET_BYTES // 2
                                    // max(1, len(others)))
    fmap = risk_map(registry, EMBED_BASE, lang, principal=principal, embedded_tiles=tiles)
    html = inline_assets(page_html(fmap, lang))
    size = len(html.encode("utf-8"))
    if size >= MAX_FILE_BYTES:
        raise EmbedError(f"the embedded map is {size / 1e6:.1f} MB; the limit is "
                         f"{MAX_FILE_BYTES / 1e6:.1f} MB")
    return html
