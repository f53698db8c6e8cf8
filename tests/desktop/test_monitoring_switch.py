"""Switching to the Monitoring page of a deployment under traffic: the frame of the switch paints
none of the seven plots (they are let through one per event-loop turn, their ranges fitted
first), a look that arrives while the page is hidden sets no plot until the page is shown
again, and the histogram's changing title never moves the grid (which would resize and repaint
every plot at once)."""

from __future__ import annotations

import random

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from core.services import Workspace
from desktop.traffic import read_rows
from tests.desktop.conftest import PENGUINS, post_json, wait_until


def send_requests(url: str, count: int = 30) -> None:
    rows = [row for row, _ in read_rows(PENGUINS, "species")]
    for row in random.Random(3).choices(rows, k=count):
        post_json(f"{url}/predict", {"records": [row]})


def test_switching_to_monitoring_paints_its_plots_one_per_turn(
    qtbot, lab_window, lab: Workspace, served
) -> None:
    send_requests(served.url)
    shell = lab_window.shell
    page = shell.page("monitoring")
    page.show_deployment(served.id)
    page.choose_range(300)
    board = page.board
    wait_until(qtbot, lambda: page.snapshot is not None and page.snapshot.traffic.total, 30)
    # The histogram comes with the first look that has drift (a later one on a loaded machine).
    wait_until(qtbot, lambda: board.settled and board.histogram.updates > 0, 60)
    assert all(plot.plot.updatesEnabled() for plot in board.plots)

    # Hidden: a look that arrives sets the figures, but no plot until the board is seen.
    shell.show_page("data")
    updates = [plot.updates for plot in board.plots]
    board.show_snapshot(page.snapshot)
    assert not board.stagger.pending and not board.settled
    assert [plot.updates for plot in board.plots] == updates

    # Shown: the switch's own frame paints no plot; each is let through in a later turn.
    shell.show_page("monitoring")
    assert not any(plot.plot.updatesEnabled() for plot in board.plots)
    wait_until(qtbot, lambda: all(plot.plot.updatesEnabled() for plot in board.plots), 15)
    wait_until(qtbot, lambda: board.settled, 15)
    assert board.rate.updates > updates[0] and board.histogram.updates > updates[5]

    # The histogram's title, however long, wraps in its column: the grid stays put.
    before = [plot.geometry() for plot in board.plots]
    board.histogram.title.setText("a title far longer than its column " * 4)
    for _ in range(5):  # the label's, its plot's, the board's layouts, in turn
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    assert [plot.geometry() for plot in board.plots] == before
    assert not lab_window.context.errors.history
