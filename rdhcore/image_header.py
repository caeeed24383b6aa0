"""An image's width and height read from its header, before any pixel is decoded: what the pixel
budget (rdhcore.imageio) checks, so a 100-byte file that claims 40000 x 40000 pixels, or a small PNG
of a huge flat image, is refused before the decoder allocates gigabytes.

PNG, JPEG, BMP, WebP, TIFF, PNM (P1-P6) and GIF are read; for another format `image_size` gives
None and the decoder's own limit applies.
"""
from __future__ import annotations

import re
import struct

MAX_PIXELS_HELP = ("Refuse an image with more pixels than this, read from its header before decoding (default: "
                   "what this machine's memory allows, at most 2**30).")


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) that the file's header claims, or None when the format is not known here or
    the header is cut short."""
    for reader in (_png, _jpeg, _bmp, _webp, _tiff, _pnm, _gif):
        try:
            size = reader(data)
        except (struct.error, IndexError, ValueError):
            return None
        if size is not None:
            return size
    return None


def _png(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    return struct.unpack(">II", data[16:24]) if data[12:16] == b"IHDR" else None


SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}  # frame headers (not DHT/JPG/DAC)


def _jpeg(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:            # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in SOF:
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def _bmp(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"BM") or len(data) < 26:
        return None
    if struct.unpack("<I", data[14:18])[0] == 12:       # OS/2 core header: 16-bit sizes
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)


def _webp(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        return (int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1)
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _tiff(data: bytes) -> tuple[int, int] | None:
    order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(data[:4])
    if order is None:
        return None
    offset = struct.unpack(order + "I", data[4:8])[0]
    count = struct.unpack(order + "H", data[offset:offset + 2])[0]
    found: dict[int, int] = {}
    for k in range(count):
        entry = data[offset + 2 + 12 * k:offset + 14 + 12 * k]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257):        # ImageWidth, ImageLength: SHORT (3) or LONG (4)
            found[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), entry[8:10] if kind == 3 else entry[8:12])[0]
    return (found[256], found[257]) if len(found) == 2 else None


PNM = re.compile(rb"P[1-6](?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)")


def _pnm(data: bytes) -> tuple[int, int] | None:
    m = PNM.match(data[:512])
    return (int(m.group(1)), int(m.group(2))) if m else None


def _gif(data: bytes) -> tuple[int, int] | None:
    return struct.unpack("<HH", data[6:10]) if data[:6] in (b"GIF87a", b"GIF89a") else None
