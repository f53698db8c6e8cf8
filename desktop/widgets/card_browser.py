"""A model card shown in the app: the engine's HTML in a QTextBrowser, its SVG curves drawn.

The card (``ws.registry.card(ref, "html")``) is a self-contained document whose project
values are already escaped, with its curves embedded as ``data:image/svg+xml;base64`` images.
QTextBrowser loads no data URIs by itself, so :meth:`CardBrowser.loadResource` decodes them and
renders the SVG with QSvgRenderer into a QImage. The card is shown on white paper in both
themes: it is a document with its own colours (and what an export or print looks like).
"""

from __future__ import annotations

import base64
import binascii
import re

from PySide6.QtCore import QByteArray, QSize, Qt, QUrl
from PySide6.QtGui import QImage, QPainter, QTextDocument
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QTextBrowser

_IMAGE = QTextDocument.ResourceType.ImageResource.value
_IMAGE_RUN = re.compile(r"((?:<img\s[^>]*>\s*)+)")


def decode_data_uri(uri: str) -> tuple[str, bytes] | None:
    """``data:MIME[;base64],PAYLOAD`` → (mime, bytes); None when it is not one."""
    if not uri.startswith("data:") or "," not in uri:
        return None
    header, payload = uri[5:].split(",", 1)
    mime = header.split(";", 1)[0] or "text/plain"
    try:
        data = base64.b64decode(payload) if header.endswith(";base64") else payload.encode()
    except (binascii.Error, ValueError):
        return None
    return mime, data


def svg_image(data: bytes, scale: float = 1.0) -> QImage | None:
    """An SVG rendered at its own size (times ``scale``) on white; None when it is not SVG."""
    renderer = QSvgRenderer(QByteArray(data))
    if not renderer.isValid():
        return None
    size = renderer.defaultSize()
    if size.isEmpty():
        size = QSize(360, 260)
    image = QImage(size * scale, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    image.setDevicePixelRatio(scale)
    return image


def printable(html: str) -> str:
    """The card with each run of images in a paragraph of its own (QTextDocument otherwise
    lays images that follow a heading out above it)."""
    return _IMAGE_RUN.sub(r"<p>\1</p>", html)


class CardBrowser(QTextBrowser):
    """Shows a model card; links are not followed (the card is one page)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("CardBrowser")
        self.setOpenLinks(False)
        self.images_loaded = 0  # data URIs decoded (the tests read it)
        self.html = ""

    def show_card(self, html: str) -> None:
        self.html = html
        self.images_loaded = 0
        self.setHtml(printable(html))

    def loadResource(self, kind: int, name: QUrl):
        if int(kind) == _IMAGE and name.scheme() == "data":
            decoded = decode_data_uri(name.toString())
            if decoded is not None:
                mime, data = decoded
                ratio = self.devicePixelRatioF()
                image = svg_image(data, ratio) if mime == "image/svg+xml" else QImage()
                if mime != "image/svg+xml":
                    image.loadFromData(data)
                if image is not None and not image.isNull():
                    self.images_loaded += 1
                    return image
            return QImage()
        return super().loadResource(kind, name)
