"""Small, dependency-free SVG charts for model cards (line and scatter plots, histograms).

Every text that reaches the SVG is XML-escaped, so labels from the data cannot inject markup.
Charts are returned as ``data:image/svg+xml;base64,...`` URIs, which Markdown viewers, browsers
and Qt's rich text all show as images.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 360, 260
MARGIN = 40
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4d7c0f")


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _scale(values: Sequence[float], low: float, high: float, start: float, end: float):
    span = (high - low) or 1.0
    return [start + (v - low) / span * (end - start) for v in values]


def _frame(title: str, x_label: str, y_label: str, bounds: tuple[float, ...]) -> list[str]:
    x0, x1, y0, y1 = bounds
    right, bottom = WIDTH - 10, HEIGHT - MARGIN
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, sans-serif" font-size="10">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="14" text-anchor="middle" font-size="12">{escape(title)}</text>',
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/>',
        f'<line x1="{MARGIN}" y1="24" x2="{MARGIN}" y2="{bottom}" stroke="#444"/>',
        f'<text x="{(MARGIN + right) / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text x="12" y="{(24 + bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(24 + bottom) / 2})">{escape(y_label)}</text>',
        f'<text x="{MARGIN}" y="{bottom + 12}" text-anchor="middle">{x0:.3g}</text>',
        f'<text x="{right}" y="{bottom + 12}" text-anchor="end">{x1:.3g}</text>',
        f'<text x="{MARGIN - 3}" y="{bottom}" text-anchor="end">{y0:.3g}</text>',
        f'<text x="{MARGIN - 3}" y="30" text-anchor="end">{y1:.3g}</text>',
    ]


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    x_label: str,
    y_label: str,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    diagonal: bool = False,
    points: bool = False,
) -> str:
    """Lines (or, with ``points``, dots) for each ``(label, xs, ys)``; returns a data URI."""
    xs_all = [x for _, xs, _ in series for x in xs] or [0.0, 1.0]
    ys_all = [y for _, _, ys in series for y in ys] or [0.0, 1.0]
    x0, x1, y0, y1 = bounds or (min(xs_all), max(xs_all), min(ys_all), max(ys_all))
    parts = _frame(title, x_label, y_label, (x0, x1, y0, y1))
    left, right, top, bottom = MARGIN, WIDTH - 10, 24, HEIGHT - MARGIN
    if diagonal:
        parts.append(
            f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{top}" stroke="#999" '
            'stroke-dasharray="4 3"/>'
        )
    for index, (label, xs, ys) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        px = _scale(xs, x0, x1, left, right)
        py = _scale(ys, y0, y1, bottom, top)
        if points:
            parts.extend(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.6" fill="{color}" fill-opacity="0.6"/>'
                for x, y in zip(px, py, strict=True)
            )
        else:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(px, py, strict=True))
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{path}"/>'
            )
        parts.append(
            f'<text x="{right - 4}" y="{top + 12 + 12 * index}" text-anchor="end" '
            f'fill="{color}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return data_uri("".join(parts))


def histogram(title: str, edges: Sequence[float], counts: Sequence[int], x_label: str) -> str:
    """Bars of ``counts`` between consecutive ``edges``; returns a data URI."""
    if len(edges) < 2 or not counts:
        edges, counts = [0.0, 1.0], [0]
    top_count = max(counts) or 1
    parts = _frame(title, x_label, "rows", (edges[0], edges[-1], 0, top_count))
    left, right, top, bottom = MARGIN, WIDTH - 10, 24, HEIGHT - MARGIN
    xs = _scale(list(edges), edges[0], edges[-1], left, right)
    for index, count in enumerate(counts):
        height = (bottom - top) * count / top_count
        parts.append(
            f'<rect x="{xs[index]:.1f}" y="{bottom - height:.1f}" '
            f'width="{max(xs[index + 1] - xs[index] - 1, 0.5):.1f}" height="{height:.1f}" '
            f'fill="{PALETTE[0]}"/>'
        )
    parts.append("</svg>")
    return data_uri("".join(parts))
