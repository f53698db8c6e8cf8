"""The "Try it" panel: send an editable JSON body to a deployment's POST /predict, see the answer.

The request goes out from a background job with urllib (the server is a separate process; a
slow or dead one must not freeze the window). Error answers (422 with the columns at fault,
401, 413…) are shown as they came, with their status, because they are what a client sees.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.context import AppContext
from desktop.pages.deployments.endpoint_examples import predict_body
from desktop.pages.deployments.explanation_view import ExplanationView
from desktop.theme import set_style_property
from desktop.widgets.common import heading, icon_button, muted

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Answer:
    """What the server said: HTTP status (0 when it could not be reached), body, time taken."""

    status: int
    text: str
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def pretty(self) -> str:
        try:
            return json.dumps(json.loads(self.text), indent=2)
        except ValueError:
            return self.text


def post_json(url: str, body: bytes, token: str | None = None) -> Answer:
    """POST ``body`` as JSON; never raises for an HTTP error or a server that is gone."""
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
            text = answer.read().decode("utf-8", "replace")
            status = answer.status
    except urllib.error.HTTPError as error:
        text, status = error.read().decode("utf-8", "replace"), error.code
    except (OSError, ValueError) as error:
        text, status = f"The server could not be reached: {error}", 0
    return Answer(status, text, (time.perf_counter() - started) * 1000)


def json_problem(text: str) -> str | None:
    """None when ``text`` is JSON, else where it is not."""
    try:
        json.loads(text)
    except ValueError as error:
        return f"This is not valid JSON: {error}"
    return None


def with_explain(text: str, explain: bool) -> bytes:
    """The body to send: ``text`` as typed, with ``"explain": true`` when asked for (a body
    that is not an object is sent as it is, for the server to refuse)."""
    if explain:
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            return json.dumps({**payload, "explain": True}).encode("utf-8")
    return text.encode("utf-8")


def explanations_of(answer: Answer) -> dict[str, Any] | None:
    """The ``explanations`` of a successful answer, if it has them."""
    if not answer.ok:
        return None
    try:
        payload = json.loads(answer.text)
    except ValueError:
        return None
    found = payload.get("explanations") if isinstance(payload, dict) else None
    return found if isinstance(found, dict) else None


class TryItPanel(QWidget):
    """Editor with a sample row on the left, the server's answer on the right."""

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.url = ""
        self.record: dict[str, Any] = {}
        self.answer: Answer | None = None
        self.editor = QPlainTextEdit()
        self.editor.setProperty("mono", True)
        self.response = QPlainTextEdit()
        self.response.setReadOnly(True)
        self.response.setProperty("mono", True)
        self.response.setPlaceholderText("The answer of POST /predict appears here.")
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.send_button = icon_button("Send", "run", primary=True, tip="POST the body to /predict")
        self.send_button.clicked.connect(self.send)
        self.reset_button = icon_button("Sample row", "reproduce", tip="Put the sample row back")
        self.reset_button.clicked.connect(self.reset)
        self.explain = QCheckBox("Explain")
        self.explain.setToolTip('Send "explain": true: how much each column counted')
        self.explanation = ExplanationView()
        self._layout()
        self.set_target("", {})

    def _layout(self) -> None:
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(heading("Request body (edit it)"))
        column.addWidget(self.editor, 1)
        row = QHBoxLayout()
        row.addWidget(self.reset_button)
        row.addStretch(1)
        row.addWidget(self.explain)
        row.addWidget(self.send_button)
        column.addLayout(row)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(heading("Answer"))
        column.addWidget(self.response, 1)
        column.addWidget(self.explanation, 1)
        column.addWidget(self.result)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        note = "A sample row built from the model's input schema; change any value (or break it)"
        layout.addWidget(muted(f"{note} and send it to the running server."))
        layout.addWidget(split, 1)

    def set_target(self, url: str, record: dict[str, Any], running: bool = True) -> None:
        """Point the panel at a deployment (``url`` empty: none)."""
        changed = url != self.url
        self.url, self.record = url, record
        self.send_button.setEnabled(bool(url) and running)
        if changed:
            self.reset()
            self.response.clear()
            self.explanation.show_explanations(None)
            self._say("", "")

    def reset(self) -> None:
        self.editor.setPlainText(predict_body([self.record]) if self.record else "")

    def _say(self, text: str, kind: str) -> None:
        self.result.setText(text)
        set_style_property(self.result, "role", kind)

    def send(self):
        text = self.editor.toPlainText()
        problem = json_problem(text)
        if problem or not self.url:
            self._say(problem or "Choose a running deployment first.", "error")
            return None
        url, body = f"{self.url}/predict", with_explain(text, self.explain.isChecked())
        self.send_button.setEnabled(False)
        self._say(f"Sending to {url}…", "")
        return self.context.runner.submit(
            f"POST {url}",
            lambda _p, _c: post_json(url, body),
            on_success=self._answered,
            owner=self,
        )

    def _answered(self, answer: Answer) -> None:
        self.answer = answer
        self.send_button.setEnabled(bool(self.url))
        self.response.setPlainText(answer.pretty())
        self.explanation.show_explanations(explanations_of(answer))
        if answer.status == 0:
            self._say(answer.text, "error")
            return
        verdict = "answered" if answer.ok else "refused the request"
        self._say(
            f"HTTP {answer.status}: the server {verdict} in {answer.elapsed_ms:.0f} ms.",
            "ok" if answer.ok else "error",
        )
