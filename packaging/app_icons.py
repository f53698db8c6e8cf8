"""The app icon in every format the installers need, drawn from ``resources/icons/shipway.svg``.

PNGs (16 to 1024 px) are rendered with Qt's SVG renderer (offscreen, no display needed); the
Windows ``.ico`` and the macOS ``.icns`` are written here as containers of those PNGs, both
formats allowing PNG entries, so no platform tool is needed to make them.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
LINUX_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# icns entry types holding PNG data, by pixel size (several types share a size: @2x variants).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)


def render_pngs(svg: Path, folder: Path, sizes: tuple[int, ...] = PNG_SIZES) -> dict[int, Path]:
    """Render ``svg`` as ``folder/shipway-SIZE.png`` for each size."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer
    from PySide6.QtWidgets import QApplication

    # A QApplication, not the QGuiApplication that painting alone needs: a process holds one
    # application for good, and a QGuiApplication would make every later widget abort the
    # process ("Cannot create a QWidget without QApplication").
    _app = QApplication.instance() or QApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot read the icon {svg}")
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = folder / f"shipway-{size}.png"
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"cannot write {path}")
        written[size] = path
    return written


def write_ico(pngs: dict[int, Path], path: Path) -> Path:
    """A Windows icon: ICONDIR, one ICONDIRENTRY per size, then the PNG data."""
    sizes = [size for size in ICO_SIZES if size in pngs]
    blobs = [pngs[size].read_bytes() for size in sizes]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries = b""
    for size, blob in zip(sizes, blobs, strict=True):
        side = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
    path.write_bytes(header + entries + b"".join(blobs))
    return path


def write_icns(pngs: dict[int, Path], path: Path) -> Path:
    """A macOS icon: the ``icns`` magic and length, then (type, length, PNG) entries."""
    body = b""
    for kind, size in ICNS_TYPES:
        if size in pngs:
            blob = pngs[size].read_bytes()
            body += kind + struct.pack(">I", len(blob) + 8) + blob
    path.write_bytes(b"icns" + struct.pack(">I", len(body) + 8) + body)
    return path


def make_icons(svg: Path, folder: Path) -> dict[str, Path]:
    """Every icon file: ``png`` sizes, ``ico``, ``icns`` and the ``svg`` itself."""
    pngs = render_pngs(svg, folder / "png")
    return {
        "svg": svg,
        "ico": write_ico(pngs, folder / "shipway.ico"),
        "icns": write_icns(pngs, folder / "shipway.icns"),
        **{f"png{size}": png for size, png in pngs.items()},
    }
