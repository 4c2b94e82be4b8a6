"""A map drawn by the service itself, from the run's own layers: no basemap tiles, no browser.

Used for the map extract of an area brief and for the PNG export of the planning map's view.
The default overlay (the composite risk) is read from its COG, warped to Web Mercator and
coloured exactly as its tiles are (`geo_service.tiles.draw`); the basemap land, the outlines of
the scored areas, route lines and points are drawn on it with Pillow; a legend, a scale bar
(true length at the view's centre latitude), a north arrow, the world outside the analysed
region greyed, and the attribution are added in the reader's language.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from PIL import Image, ImageDraw, ImageFont
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from data_catalog.i18n import N_, Language
from geo_service.tiles import TileData, TileStyle, draw
from layers.models import Layer
from layers.registry import by_role, default_overlay

WEB_MERCATOR = "EPSG:3857"
MAX_PIXELS = 4096
"""Largest width or height of an extract (pixels)."""
MIN_PIXELS = 64
TO_MERCATOR = Transformer.from_crs("EPSG:4326", WEB_MERCATOR, always_xy=True)
EARTH_RADIUS_M = 6378137.0
OUTSIDE_FILL = (134, 142, 150, 140)
TEXT = {
    "outside": N_("Outside the analysed region"),
    "north": N_("N"),
    "attribution": N_("Scores: cmrisk · countries: Natural Earth"),
}


@dataclass(frozen=True)
class View:
    """What an extract shows: lon/lat bounds and its size in pixels."""

    west: float
    south: float
    east: float
    north: float
    width: int
    height: int

    def mercator(self) -> tuple[float, float, float, float]:
        """The bounds in Web Mercator metres (west, south, east, north)."""
        x0, y0 = TO_MERCATOR.transform(self.west, self.south)
        x1, y1 = TO_MERCATOR.transform(self.east, self.north)
        return x0, y0, x1, y1

    @staticmethod
    def around(bounds: Sequence[float], width: int, height: int, margin: float = 0.15) -> View:
        """A view of `bounds` (lon/lat) with a margin, widened to the image's aspect ratio."""
        west, south, east, north = bounds
        x0, y0 = TO_MERCATOR.transform(west, south)
        x1, y1 = TO_MERCATOR.transform(east, north)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        span_x, span_y = (x1 - x0) * (1 + 2 * margin), (y1 - y0) * (1 + 2 * margin)
        scale = max(span_x / width, span_y / height, 1.0)
        back = Transformer.from_crs(WEB_MERCATOR, "EPSG:4326", always_xy=True)
        w, s = back.transform(cx - scale * width / 2, cy - scale * height / 2)
        e, n = back.transform(cx + scale * width / 2, cy + scale * height / 2)
        return View(w, s, e, n, width, height)


@lru_cache(maxsize=64)
def _frame(asset: Path, version: str) -> gpd.GeoDataFrame:
    return gpd.read_parquet(asset).to_crs("EPSG:4326")


def read_frame(layer: Layer) -> gpd.GeoDataFrame:
    """A vector layer in EPSG:4326, read once per version of the layer (do not change it:
    the same frame is handed to every caller)."""
    return _frame(layer.asset, layer.version)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _raster(layer: Layer, view: View) -> Image.Image:
    """The overlay over the view, coloured as its tiles are (transparent where no data)."""
    x0, y0, x1, y1 = view.mercator()
    transform = rasterio.transform.from_bounds(x0, y0, x1, y1, view.width, view.height)
    def warped(path: Path) -> tuple[np.ma.MaskedArray, dict[str, str]]:
        with rasterio.open(path) as src, WarpedVRT(
                src, crs=WEB_MERCATOR, transform=transform, width=view.width,
                height=view.height, resampling=Resampling.nearest) as vrt:
            return vrt.read(1, masked=True), src.tags()

    raw, tags = warped(layer.asset)
    values = np.ma.filled(raw.astype("float64"), np.nan)
    valid = np.isfinite(values) & ~np.ma.getmaskarray(raw)
    quiet = None
    mask_path = layer.asset.parent / tags.get("not_exposed_mask", "-")
    if "not_exposed_mask" in tags and mask_path.is_file():
        # Grey where no one on the move is exposed, as the tiles draw it.
        marked, mask_tags = warped(mask_path)
        value = float(mask_tags.get("not_exposed_value", "nan"))
        quiet = valid & ~np.ma.getmaskarray(marked) & (np.ma.filled(marked, 0) == value)
    tile = TileData(values=values, valid=valid, dtype=raw.dtype, quiet=quiet)
    tile.values[~tile.valid] = np.nan
    return Image.open(io.BytesIO(draw(tile, TileStyle.of(layer.style)))).convert("RGBA")


class Canvas:
    """An image in Web Mercator over a view, with drawing in lon/lat."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.image = Image.new("RGBA", (view.width, view.height), (221, 228, 236, 255))
        self.x0, self.y0, self.x1, self.y1 = view.mercator()

    def pixels(self, geometry: shapely.Geometry) -> shapely.Geometry:
        """A lon/lat geometry in this image's pixel coordinates."""
        def to_pixels(coords: np.ndarray) -> np.ndarray:
            x, y = TO_MERCATOR.transform(coords[:, 0], coords[:, 1])
            px = (np.asarray(x) - self.x0) / (self.x1 - self.x0) * self.view.width
            py = (self.y1 - np.asarray(y)) / (self.y1 - self.y0) * self.view.height
            return np.column_stack([px, py])
        return shapely.transform(geometry, to_pixels)

    def layer(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        """A transparent layer to draw on, and its pen (composite it with `put`)."""
        overlay = Image.new("RGBA", self.image.size, (0, 0, 0, 0))
        return overlay, ImageDraw.Draw(overlay)

    def put(self, overlay: Image.Image) -> None:
        """Composite a drawn layer onto the image."""
        self.image = Image.alpha_composite(self.image, overlay)

    def polygons(self, geometries: Iterable[shapely.Geometry], *, fill: tuple[int, ...] | None,
                 outline: tuple[int, ...] | None, width: int = 1) -> None:
        """Draw polygons (holes are cut out of the fill)."""
        overlay, pen = self.layer()
        for geometry in geometries:
            if geometry is None or geometry.is_empty:
                continue
            for part in getattr(self.pixels(geometry), "geoms", [self.pixels(geometry)]):
                if part.geom_type != "Polygon":
                    continue
                if fill is not None:
                    mask = Image.new("L", self.image.size, 0)
                    mask_pen = ImageDraw.Draw(mask)
                    mask_pen.polygon(list(part.exterior.coords), fill=255)
                    for hole in part.interiors:
                        mask_pen.polygon(list(hole.coords), fill=0)
                    overlay.paste(Image.new("RGBA", self.image.size, fill), (0, 0), mask)
                if outline is not None:
                    for ring in [part.exterior, *part.interiors]:
                        pen.line(list(ring.coords), fill=outline, width=width)
        self.put(overlay)

    def lines(self, geometries: Iterable[tuple[shapely.Geometry, tuple[int, ...]]],
              width: int = 3) -> None:
        """Draw lines, each in its colour."""
        overlay, pen = self.layer()
        for geometry, colour in geometries:
            if geometry is None or geometry.is_empty:
                continue
            shape = self.pixels(geometry)
            for part in getattr(shape, "geoms", [shape]):
                pen.line(list(part.coords), fill=colour, width=width, joint="curve")
        self.put(overlay)

    def points(self, geometries: Iterable[shapely.Geometry], colour: tuple[int, ...],
               radius: int = 4) -> None:
        """Draw points as circles."""
        overlay, pen = self.layer()
        for geometry in geometries:
            if geometry is None or geometry.is_empty or geometry.geom_type != "Point":
                continue
            point = self.pixels(geometry)
            pen.ellipse([point.x - radius, point.y - radius, point.x + radius,
                         point.y + radius], fill=colour, outline=(33, 37, 41, 255))
        self.put(overlay)


def _rgba(color: str, alpha: int = 255) -> tuple[int, int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), alpha


def scale_bar_length(view: View, max_pixels: float) -> tuple[float, float]:
    """(km, pixels) of a round scale-bar length that fits `max_pixels` at the view's centre
    latitude (Web Mercator stretches distances by 1/cos(latitude))."""
    x0, _, x1, _ = view.mercator()
    metres_per_pixel = (x1 - x0) / view.width * math.cos(
        math.radians((view.south + view.north) / 2))
    longest_km = max_pixels * metres_per_pixel / 1000
    exponent = math.floor(math.log10(longest_km)) if longest_km > 0 else 0
    km = 10.0 ** exponent
    for step in (5, 2, 1):
        if step * 10.0 ** exponent <= longest_km:
            km = step * 10.0 ** exponent
            break
    return km, km * 1000 / metres_per_pixel


def render_extract(layers: Mapping[str, Layer], region_bbox: Sequence[float] | None,
                   view: View, lang: Language, *, focus: shapely.Geometry | None = None,
                   legend: bool = True, text_scale: float = 1.0) -> Image.Image:
    """The map of `view`: the default overlay, basemap, areas, lines and points of `layers`,
    the world outside `region_bbox` greyed, `focus` (an area) outlined in bold; with a
    legend, a scale bar, a north arrow and the attribution.

    Args:
        layers: the layers the reader may see.
        region_bbox: the analysed region (west, south, east, north), or None.
        view: bounds and size.
        lang: language and locale of the legend and the scale.
        focus: an area to outline in bold (a brief's area).
        legend: draw the legend of the overlay (a brief draws its own beside the map).
        text_scale: size of the scale bar's, north arrow's and attribution's text (an image
            printed smaller than its pixels needs larger text).
    """
    canvas = Canvas(view)
    land = [geometry for layer in by_role(layers, "basemap")
            for geometry in read_frame(layer).geometry]
    canvas.polygons(land, fill=(241, 243, 245, 255), outline=(134, 142, 150, 255))
    overlay = default_overlay(layers)
    if overlay is not None:
        raster = _raster(overlay, view)
        alpha = raster.getchannel("A").point(lambda a: int(a * 0.8))
        raster.putalpha(alpha)
        canvas.put(raster)
    canvas.polygons(land, fill=None, outline=(134, 142, 150, 255))
    if region_bbox is not None:
        west, south, east, north = region_bbox
        world = shapely.box(-180, -85, 180, 85)
        canvas.polygons([world.difference(shapely.box(west, south, east, north))],
                        fill=OUTSIDE_FILL, outline=(52, 58, 64, 255), width=2)
    for role in ("scored_areas",):
        for layer in by_role(layers, role):
            frame = read_frame(layer)
            colour = _rgba(layer.style.color or "#2b8a3e")
            canvas.polygons(frame.geometry, fill=None, outline=colour, width=2)
    for layer in by_role(layers, "lines"):
        frame = read_frame(layer)
        by = layer.style.color_by
        default = layer.style.color or "#c92a2a"
        canvas.lines([(geometry, _rgba(by.colors.get(str(value), default) if by else default))
                      for geometry, value in zip(
                          frame.geometry, frame[by.property] if by else [None] * len(frame),
                          strict=True)])
    for layer in by_role(layers, "points"):
        frame = read_frame(layer)
        canvas.points(frame.geometry, _rgba(layer.style.color or "#1864ab"))
    if focus is not None:
        canvas.polygons([focus], fill=None, outline=(0, 0, 0, 255), width=4)
    _decorate(canvas, overlay if legend else None, lang, text_scale)
    return canvas.image.convert("RGB")


def _decorate(canvas: Canvas, overlay: Layer | None, lang: Language,
              text_scale: float = 1.0) -> None:
    """Scale bar (bottom left), north arrow (top right), legend (bottom right), attribution."""
    image = canvas.image
    pen = ImageDraw.Draw(image)
    small, normal = _font(round(11 * text_scale)), _font(round(13 * text_scale))
    width, height = image.size
    km, pixels = scale_bar_length(canvas.view, width / 4)
    lift = round(16 * text_scale)
    x, y = 12, height - 14 - lift
    pen.rectangle([x - 4, y - lift - 4, x + pixels + 8, y + 10], fill=(255, 255, 255, 220))
    pen.line([(x, y), (x + pixels, y)], fill=(33, 37, 41, 255), width=3)
    for tick in (x, x + pixels / 2, x + pixels):
        pen.line([(tick, y - 5), (tick, y + 5)], fill=(33, 37, 41, 255), width=2)
    label = f"{lang.integer(km) if km >= 1 else lang.number(km, 1)} km"
    pen.text((x, y - lift - 2), label, font=small, fill=(33, 37, 41, 255))
    cx, top = width - 28, 12
    pen.polygon([(cx, top), (cx - 9, top + 26), (cx, top + 20), (cx + 9, top + 26)],
                fill=(33, 37, 41, 255))
    pen.text((cx, top + 36), lang.gettext(TEXT["north"]), font=normal, fill=(33, 37, 41, 255),
             anchor="mm")
    attribution = lang.gettext(TEXT["attribution"])
    box = pen.textbbox((0, 0), attribution, font=small)
    pen.rectangle([width - box[2] - 8, height - box[3] - 4, width, height],
                  fill=(255, 255, 255, 220))
    pen.text((width - box[2] - 4, height - box[3] - 2), attribution, font=small,
             fill=(33, 37, 41, 255))
    if overlay is None:
        return
    rows = [(c.color, c.label_in(lang)) for c in overlay.legend.classes]
    rows.append(("#868e96", lang.gettext(TEXT["outside"])))
    title = overlay.name_in(lang)
    line = 16
    box_w = max(pen.textbbox((0, 0), t, font=small)[2] for _, t in rows) + 34
    box_w = max(box_w, pen.textbbox((0, 0), title, font=normal)[2] + 12)
    box_h = line * len(rows) + 26
    left, top = width - box_w - 8, height - box_h - 22
    pen.rectangle([left, top, left + box_w, top + box_h], fill=(255, 255, 255, 235),
                  outline=(134, 142, 150, 255))
    pen.text((left + 6, top + 4), title, font=normal, fill=(33, 37, 41, 255))
    for index, (colour, text) in enumerate(rows):
        y0 = top + 22 + index * line
        pen.rectangle([left + 6, y0, left + 18, y0 + 12], fill=_rgba(colour),
                      outline=(85, 85, 85, 255))
        pen.text((left + 24, y0 - 1), text, font=small, fill=(33, 37, 41, 255))


def png_bytes(image: Image.Image) -> bytes:
    """An image as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def clamp_size(width: int, height: int) -> tuple[int, int]:
    """A requested size within `MIN_PIXELS`…`MAX_PIXELS` on each side."""
    return (max(MIN_PIXELS, min(MAX_PIXELS, int(width))),
            max(MIN_PIXELS, min(MAX_PIXELS, int(height))))
