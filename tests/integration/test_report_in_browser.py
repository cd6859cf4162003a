"""The HTML report as a real browser draws it: Debian's Chromium, headless, takes a screenshot
of the German report of the test incident, and each chart's own colours must be on it in
quantity (the text is black, so only a drawn chart brings them). Skips, saying why, where
/usr/bin/chromium is missing; `.ci/run` installs it."""

from __future__ import annotations

import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from reports import charts
from reports.labels import Language, ReportFormat
from reports.render import render
from tests.reflection_support import figures_of_test_incident

CHROMIUM = Path("/usr/bin/chromium")
CHART_COLOURS = {
    "in time (acknowledgement chart)": charts.IN_TIME,
    "late (acknowledgement chart)": charts.LATE,
    "registered (timeline)": charts.REGISTERED,
    "reached (timeline)": charts.REACHED,
    "open needs (age chart)": charts.NEED,
}
ENOUGH_PIXELS = 300  # a bar of the smallest chart is thousands; anti-aliased text is a few


def rgb_pixels(png: bytes) -> list[tuple[int, int, int]]:
    """Every pixel of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes), decoded
    with zlib and the five PNG row filters."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, offset = {}, 8
    data = b""
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        body = png[offset + 8 : offset + 8 + length]
        if kind == b"IDAT":
            data += body
        else:
            chunks[kind] = body
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, interlace) == (8, 0), "unexpected PNG layout"
    assert colour in (2, 6), "neither RGB nor RGBA"
    step = 3 if colour == 2 else 4
    raw = zlib.decompress(data)
    stride = width * step
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, step)
        pixels += [(line[i], line[i + 1], line[i + 2]) for i in range(0, stride, step)]
        previous = line
    return pixels


def _unfilter(kind: int, line: bytearray, above: bytearray, step: int) -> None:
    if kind == 0:
        return
    if kind == 2:  # most of Chromium's rows: one pass without the per-byte branches
        line[:] = bytes((a + b) & 0xFF for a, b in zip(line, above, strict=True))
        return
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        up = above[i]
        upper_left = above[i - step] if i >= step else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            line[i] = (line[i] + _paeth(left, up, upper_left)) & 0xFF


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def near(pixel: tuple[int, int, int], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel, colour, strict=True))


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)
def test_chromium_draws_every_chart_of_the_html_report(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(
        render(figures_of_test_incident(tmp_path / "store"), ReportFormat.HTML, Language.DE)
    )
    shot = tmp_path / "report.png"

    subprocess.run(
        [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
            "--window-size=800,2400", page.as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip

    counts = Counter(rgb_pixels(shot.read_bytes()))
    for what, colour in CHART_COLOURS.items():
        drawn = sum(n for pixel, n in counts.items() if near(pixel, hex_rgb(colour)))
        assert drawn >= ENOUGH_PIXELS, f"{what}: {drawn} pixels of {colour}"
