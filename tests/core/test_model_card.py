"""Model cards in Markdown and HTML, with embedded curves, and no markup injected by the data."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.services import TrainRequest, Workspace

HOSTILE_COLUMN = "<script>alert(1)</script>"
HOSTILE_CATEGORY = '<img src=x onerror="alert(2)">'


@pytest.fixture(scope="module")
def carded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose data holds markup in a column name and in a category."""
    base = tmp_path_factory.mktemp("card")
    rng = np.random.default_rng(0)
    rows = 300
    colour = rng.choice(["red", HOSTILE_CATEGORY, "blue"], rows)
    size = rng.normal(0, 1, rows)
    frame = pd.DataFrame(
        {
            HOSTILE_COLUMN: size,
            "colour": colour,
            "label": np.where(size + (colour == "red") > 0.3, "yes", "no"),
        }
    )
    frame.to_csv(base / "hostile.csv", index=False)
    rows_reg = pd.DataFrame({"x": rng.normal(0, 1, rows)})
    rows_reg["y"] = 3 * rows_reg["x"] + rng.normal(0, 0.1, rows)
    rows_reg.to_csv(base / "line.csv", index=False)
    root = base / "project"
    with Workspace.create(root) as ws:
        ws.data.import_file(base / "hostile.csv")
        ws.data.import_file(base / "line.csv")
        run = ws.runs.train(
            TrainRequest("hostile", "label", estimator="logistic_regression", cv_folds=3)
        ).result()
        ws.lifecycle.register(run.id, "hostile", description="<b>bold</b> & [link](javascript:x)")
        ws.registry.evaluate_gates("hostile@1")
        reg = ws.runs.train(TrainRequest("line", "y", estimator="linear_regression")).result()
        ws.lifecycle.register(reg.id, "line")
    return root


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])


def test_html_card_has_every_section_and_no_injected_markup(carded: Path) -> None:
    with Workspace.open(carded) as ws:
        page = ws.registry.card("hostile@1", "html")
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags
    assert set(parser.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "h2",
                                "p", "table", "tr", "th", "td", "pre", "img"}  # fmt: skip
    assert all(src.startswith("data:image/svg+xml;base64,") for src in parser.images)
    assert len(parser.images) == 2  # ROC and precision-recall
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    for heading in ("Summary", "Data", "Features", "Metrics", "Curves", "Gates", "Lineage",
                    "Environment", "Known limits", "Approvals and aliases"):  # fmt: skip
        assert f"<h2>{heading}</h2>" in page
    assert " ± " in page  # cross-validation spread
    assert "Gates of production: passed" in page


def test_embedded_curves_are_well_formed_svg(carded: Path) -> None:
    with Workspace.open(carded) as ws:
        page = ws.registry.card("hostile@1", "html")
    for uri in re.findall(r'src="(data:image/svg\+xml;base64,[^"]+)"', page):
        svg = base64.b64decode(uri.split(",", 1)[1]).decode()
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert "<script" not in svg and "<img" not in svg


def test_markdown_card_escapes_the_data(carded: Path) -> None:
    with Workspace.open(carded) as ws:
        text = ws.registry.card("hostile@1")
    assert text.startswith("# Model card: hostile@1")
    fences = text.count("```")
    assert fences % 2 == 0
    prose = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks are shown literally
    assert "<script>" not in prose and "<img src=x" not in prose and "<b>" not in prose
    assert "&lt;script&gt;" in prose
    assert "\\[link\\]" in text  # no live link from a description
    assert "![ROC curve per class](data:image/svg+xml;base64," in text
    for row in (line for line in text.splitlines() if line.startswith("| ")):
        assert row.endswith(" |")


def test_regression_card_shows_its_own_curves_and_metrics(carded: Path) -> None:
    with Workspace.open(carded) as ws:
        text = ws.registry.card("line")
    assert "| rmse |" in text and "| f1 |" not in text
    assert "Predicted against actual values" in text and "Histogram of residuals" in text


def test_unknown_format_is_refused(carded: Path) -> None:
    with Workspace.open(carded) as ws, pytest.raises(ValueError, match="unknown card format"):
        ws.registry.card("line", "pdf")
