"""Headless Chromium for the HTML tests: the DOM a real browser builds from a page, a screenshot of
it, and a small PNG decoder (numpy only: the test dependencies have no imaging library).

The browser runs with its own temporary profile, a timeout, and every host name unresolvable, so a
page that tried to load anything would load nothing.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

#: Seconds a browser run may take before the test fails.
TIMEOUT = 60

FLAGS = (
    "--headless",
    "--disable-gpu",
    "--no-sandbox",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--force-device-scale-factor=1",
)


def chromium() -> str:
    """The Chromium executable; a failure (not a skip) when there is none: CI installs it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is not installed: apt-get install chromium (the browser tests need it)")
    return found


def run(page: Path, profile: Path, *args: str) -> str:
    """Chromium on ``page`` (a file) with ``args``; its standard output."""
    command = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Chromium took over {TIMEOUT} s: {' '.join(command)}")
    if done.returncode != 0:
        pytest.fail(f"Chromium failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
    return done.stdout


def dump_dom(page: Path, profile: Path) -> str:
    """The document as the browser serialises it after parsing and layout."""
    return run(page, profile, "--dump-dom")


def screenshot(page: Path, profile: Path, out: Path, width: int = 1280, height: int = 900) -> np.ndarray:
    """A ``width`` x ``height`` screenshot of ``page`` saved to ``out``, as an array of RGB(A) pixels."""
    run(page, profile, f"--screenshot={out}", f"--window-size={width},{height}", "--hide-scrollbars")
    if not out.exists():
        pytest.fail(f"Chromium wrote no screenshot to {out}")
    return read_png(out.read_bytes())


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def read_png(data: bytes) -> np.ndarray:
    """An 8-bit, non-interlaced grey, RGB or RGBA PNG as a (height, width, channels) uint8 array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    assert depth == 8 and channels and not interlace, f"unsupported PNG: depth {depth}, colour type {colour}"
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows = np.frombuffer(raw, np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    previous = np.zeros(stride, np.uint8)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:]
        if kind == 0:
            current = line.copy()
        elif kind == 1:  # Sub: a running sum per channel, mod 256
            current = np.cumsum(line.reshape(width, channels), axis=0, dtype=np.uint8).reshape(stride)
        elif kind == 2:
            current = line + previous
        else:  # Average, Paeth: each byte needs the decoded one to its left
            buf, up = bytearray(line.tobytes()), previous.tobytes()
            for i in range(stride):
                left = buf[i - channels] if i >= channels else 0
                corner = up[i - channels] if i >= channels else 0
                guess = (left + up[i]) // 2 if kind == 3 else _paeth(left, up[i], corner)
                buf[i] = (buf[i] + guess) & 0xFF
            current = np.frombuffer(bytes(buf), np.uint8)
        out[y] = previous = current
    return out.reshape(height, width, channels)
