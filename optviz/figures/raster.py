"""The contour map as a picture: filled bands and anti-aliased level lines, PNG-encoded with NumPy and zlib.

Why a picture and not a Plotly contour trace: Plotly.js animations with redraw=False (the only smooth kind)
remove every non-scatter trace from the subplots they touch, so a contour or heatmap trace vanishes at the
first frame (plotly.js#4491, plotly.py#2151). A layout image is not a trace and stays.

Lines are drawn the way a shader draws isolines: a pixel's distance to the nearest level is its distance in
level units divided by the local slope in level units per pixel, so every line is about one pixel wide and
smooth at any slope, with no supersampling.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

ALPHA_STEPS = 8  # shades of line over each band: band colours × line coverage stay within a 256-colour palette
LINE_RGB = (55, 70, 98)
LINE_OPACITY = 0.5
LINE_WIDTH = 1.1  # pixels


def shaded_levels(z: np.ndarray, start: float, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Band index and line coverage (0..1) of each pixel of z, levels at start + k·size."""
    u = ((z - start) / size).astype(np.float32)
    band = np.floor(u)
    gy, gx = np.gradient(u)
    slope = np.hypot(gx, gy)
    slope += 1e-6
    dist = np.abs(u - np.round(u))
    dist /= slope
    coverage = np.clip(LINE_WIDTH - dist, 0.0, 1.0)
    return band, coverage


def palette_image(band: np.ndarray, coverage: np.ndarray, band_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An indexed image and its palette: band colours blended with the line colour at ALPHA_STEPS strengths."""
    bands = len(band_rgb)
    if bands * ALPHA_STEPS > 256:
        raise ValueError(f"{bands} bands do not fit a 256-colour palette")
    steps = np.round(coverage * (ALPHA_STEPS - 1)).astype(np.uint8)
    index = np.clip(band, 0, bands - 1).astype(np.uint8) * ALPHA_STEPS + steps
    alpha = LINE_OPACITY * np.arange(ALPHA_STEPS) / (ALPHA_STEPS - 1)
    colors = band_rgb[:, None, :] * (1 - alpha[None, :, None]) + np.array(LINE_RGB) * alpha[None, :, None]
    return index, np.round(colors.reshape(-1, 3)).astype(np.uint8)


def png_indexed(index: np.ndarray, palette: np.ndarray) -> bytes:
    """An 8-bit indexed-colour PNG of `index` (h, w) with `palette` (n, 3)."""
    h, w = index.shape
    raw = np.hstack([np.zeros((h, 1), np.uint8), index.astype(np.uint8)]).tobytes()  # filter byte 0 per row
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + _chunk(b"PLTE", palette.astype(np.uint8).tobytes()) + _chunk(b"IDAT", zlib.compress(raw, 6))
            + _chunk(b"IEND", b""))


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def hex_rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def colorscale_rgb(scale: list, t: np.ndarray) -> np.ndarray:
    """Colours (n, 3) of a Plotly-style colorscale [[position, "#rrggbb"], ...] at positions t in [0, 1]."""
    positions = np.array([p for p, _ in scale])
    colors = np.array([hex_rgb(c) for _, c in scale])
    return np.stack([np.interp(t, positions, colors[:, k]) for k in range(3)], axis=-1)
