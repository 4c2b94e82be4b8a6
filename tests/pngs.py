"""Decoding the PNG tiles the services return, for pixel comparisons in tests."""

from __future__ import annotations

import warnings

import numpy as np
from rasterio.io import MemoryFile


def decode(body: bytes) -> np.ndarray:
    """(rows, cols, 4) uint8 RGBA of a PNG (palette, RGB or RGBA), decoded by GDAL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PNGs carry no georeferencing
        with MemoryFile(body) as memory, memory.open() as png:
            bands = png.read()
            if png.count == 1:
                table = png.colormap(1)
                lut = np.array([table.get(i, (0, 0, 0, 0)) for i in range(256)], np.uint8)
                return lut[bands[0]]
            if png.count == 3:
                bands = np.concatenate([bands, np.full_like(bands[:1], 255)])
            return np.moveaxis(bands, 0, -1)
