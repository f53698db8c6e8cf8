"""What a new user runs into: the main action of each page in sight at 1280 × 800, plots that
read right (plain share axes after a theme switch, many categories, untested drift in grey),
latency figures that say how they were measured, monitoring settings edited in the app, the
file chooser, the model description, the server log and the words of the texts."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from core.services import TrainRequest
from desktop.pages import PAGES
from desktop.pages.common.gate_table import GATE_COLUMNS, rule_name
from desktop.pages.compare.tables import costs_table
from desktop.pages.data.views import ProfileView
from desktop.pages.deployments.detail import visible_log
from desktop.pages.experiments.detail import overview_text
from desktop.pages.monitoring.snapshot import RANGES, read_snapshot
from desktop.widgets.common import plural
from desktop.widgets.dialogs import ask
from desktop.widgets.live_plots import HeatStrip, LivePlot, PairedBars
from desktop.widgets.plots import PlotPanel
from tests.desktop.conftest import penguins_copy, post_json, wait_until

# -- 6. the main action of every page is in sight; Ctrl+R starts a run (test_first_project) --


def test_each_page_keeps_its_main_action_in_sight_at_1280_by_800(qtbot, lab_window, served) -> None:
    assert lab_window.size().width() == 1280 and lab_window.size().height() == 800
    form = lab_window.shell.page("experiments").form
    wait_until(qtbot, lambda: form.estimator.count() > 0, 30)
    most = max(range(form.estimator.count()), key=lambda i: len(form.catalog[i].params))
    form.estimator.setCurrentIndex(most)  # the longest form the catalog makes
    for page_class in PAGES:
        page = lab_window.show_page(page_class.key)
        qtbot.wait(300)
        button = page.primary_button
        assert button is not None and button.isVisible(), page.key
        seen = button.visibleRegion().boundingRect()
        assert seen == button.rect(), f"{page.key}: {button.text()} is cut: {seen}"
        corner = button.mapTo(lab_window, button.rect().bottomRight())
        assert lab_window.rect().contains(corner), f"{page.key}: {button.text()} off screen"


# -- 7. plots ---------------------------------------------------------------------------------


def test_share_axes_stay_plain_numbers_after_a_theme_switch(qtbot, context) -> None:
    plot = LivePlot("Prediction mix", "share")
    panel = PlotPanel(y_label="share")
    for widget in (plot, panel):
        qtbot.addWidget(widget)
        widget.show()
    x = np.arange(10, dtype=float)
    plot.set_curve("a", x, np.linspace(0.1, 0.6, 10))
    plot.finish()
    panel.draw(lambda p, c: p.item.plot(x, np.linspace(0.1, 0.6, 10)), y_label="share")
    for name in ("dark", "light", "dark"):
        context.theme.apply(name)
        qtbot.wait(50)
        for item in (plot.item, panel.item):
            axis = item.getAxis("left")
            assert axis.autoSIPrefixScale == 1.0, name  # 0.1–0.6, never 100–600
            assert "x" not in axis.labelString()
    context.theme.apply("light")


def test_many_categories_show_the_largest_and_other_beside_their_bars(qtbot, context) -> None:
    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.show()
    top = [{"value": f"town number {i}", "count": 100 - i} for i in range(20)]
    stats = {"type": "string", "count": 4000, "distinct": 40, "top": top}
    ProfileView.show_distribution(panel, "town", stats)
    ticks = [label for _, label in panel.item.getAxis("left")._tickLevels[0]]
    assert len(ticks) == 11 and ticks[-1] == "other (30 values)"  # names beside the bars
    assert panel.item.getViewBox().yInverted()  # the largest on top

    bars = PairedBars("Training vs now")
    qtbot.addWidget(bars)
    bars.show()
    labels = [f"c{i}" for i in range(20)] + ["(other)"]
    shares = list(np.linspace(0.08, 0.01, 21))
    bars.set_shares(range(21), shares, shares[::-1], 1.0, labels)
    ticks = [label for _, label in bars.item.getAxis("left")._tickLevels[0]]
    assert len(ticks) == 11 and ticks[-1] == "other"
    assert bars.horizontal


def test_the_drift_threshold_is_named_above_the_plot_not_on_the_curves(qtbot, context) -> None:
    from desktop.pages.monitoring.board import MonitoringBoard
    from desktop.pages.monitoring.snapshot import DriftOverTime

    board = MonitoringBoard()
    qtbot.addWidget(board)
    board.show()
    times = np.arange(5, dtype=float) * 10
    drift = DriftOverTime(
        ["mass"], times, {"mass": np.ones(5)}, 1.3, "−log₁₀ p", np.ones((1, 5)),
        np.zeros((1, 5), bool), np.full(5, np.nan), np.zeros(5), "f1", None,
    )  # fmt: skip
    board._draw_scores(drift, (0.0, 50.0))
    line = board.scores.lines["threshold"][0]
    assert getattr(line, "label", None) is None  # nothing written over the curves
    assert "–&nbsp;–</span>&nbsp;threshold" in board.scores.key.text()


def test_untested_drift_is_grey_never_red(qtbot, context, lab, served) -> None:
    """Requests whose bill lengths are all missing: the engine cannot test that feature in
    their bucket; the heat strip shows the cell grey, as 'not tested'."""
    row = {
        "island": "Biscoe", "bill_length_mm": None, "bill_depth_mm": 17.0,
        "flipper_length_mm": 200, "body_mass_g": 4000, "sex": "male", "year": 2008,
    }  # fmt: skip
    for _ in range(12):
        post_json(f"{served.url}/predict", {"records": [row]})
    wait_until(qtbot, lambda: _untested(lab, served.id) is not None, 60)
    drift, name = _untested(lab, served.id)
    strip = HeatStrip("Drift over time")
    qtbot.addWidget(strip)
    strip.show()
    strip.set_matrix(drift.features, drift.times, drift.levels, 10, untested=drift.untested)
    colours = strip.colours(context.theme.colors)
    row_of = drift.features.index(name)
    cells = colours[row_of][drift.untested[row_of]]
    assert len(cells) and all(tuple(cell[3:]) == (110,) for cell in cells)  # the grey
    red = np.array([198, 40, 40])
    assert not any((cell[:3] == red).all() for cell in cells)
    assert "not tested" in strip.key.text()


def _untested(lab, deployment_id: str):
    snapshot = read_snapshot(lab, deployment_id, RANGES[0])
    drift = snapshot.drift
    if drift is None or not drift.untested.any():
        return None
    row = int(np.argwhere(drift.untested.any(axis=1))[0][0])
    return drift, drift.features[row]


# -- 9. latency figures say how they were measured --------------------------------------------


def test_latency_figures_say_what_they_measure(lab, registered) -> None:
    run = lab.runs.get(registered.run_id)
    text = overview_text(run)
    assert "single-row predict p50" in text and "training worker" in text
    assert "per row" not in text  # not a batch divided by its rows
    other = lab.runs.train(
        TrainRequest(data="penguins", target="species", estimator="decision_tree")
    ).result()
    model, _export = costs_table(lab.runs.compare([run.id, other.id]))
    titles = [model.column(c).title for c in range(model.columnCount())]
    assert "Single-row predict p95 (ms)" in titles
    tip = model.column(titles.index("Single-row predict p95 (ms)")).tooltip
    assert "training worker" in tip and "gate" in tip
    assert rule_name("max_latency_p95_ms") == "single-row p95 latency (ms)"


def test_the_latency_gate_row_explains_its_measurement() -> None:
    from core.entities import GateResult

    result = GateResult("max_latency_p95_ms", True, "single-row predict p95 = 12.00 ms", 12.0, 50)
    tip = GATE_COLUMNS[1].cell_tip(result)
    assert "evaluated" in tip and "training worker" in tip


# -- 10. monitoring settings in the app; warnings with their line ------------------------------


def test_project_settings_write_triggers_and_keep_comments(qtbot, window) -> None:
    path = window.workspace.root / "shipway.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("[project]\n", "[project]\nbucket_seconds = 5\n"),
        encoding="utf-8",
    )
    dialog = window.project_settings()
    wait_until(qtbot, lambda: dialog.loaded is not None, 20)
    notes = dialog.notes.label.text()
    assert dialog.notes.isVisible() and "belongs in [drift]" in notes and "line" in notes
    form = dialog.form
    form.bucket.setCurrentIndex(form.bucket.findData(10))
    form.use_drift.setChecked(True)
    form.drift_buckets.setValue(2)
    form.use_live.setChecked(True)
    form.live_rule.setText(">= 0.7")
    form.retrain.setChecked(True)
    dialog.save()
    wait_until(qtbot, lambda: not dialog.isVisible(), 20)
    text = path.read_text(encoding="utf-8")
    assert "# Shipway project settings" in text  # the template's comments are kept
    settings = tomllib.loads(text)
    assert settings["drift"]["bucket_seconds"] == 10
    assert settings["triggers"] == {
        "drift_buckets": 2,
        "live_metrics": {"f1": ">= 0.7"},
        "min_feedback": 30,
        "retrain": True,
    }
    config = window.workspace.monitoring.trigger_config()
    assert config.drift_buckets == 2 and config.retrain
    banner = window.banner
    wait_until(qtbot, lambda: banner.isVisible() and "belongs in [drift]" in banner.label.text())
    assert "line" in banner.label.text()


def test_a_refused_setting_is_said_in_the_dialog_and_nothing_is_written(qtbot, window) -> None:
    path = window.workspace.root / "shipway.toml"
    before = path.read_text(encoding="utf-8")
    dialog = window.project_settings()
    wait_until(qtbot, lambda: dialog.loaded is not None, 20)
    dialog.form.use_live.setChecked(True)
    dialog.form.live_rule.setText("high")
    assert not dialog.save_button.isEnabled() and "comparison" in dialog.message.text()
    assert path.read_text(encoding="utf-8") == before


# -- 12. smaller things -------------------------------------------------------------------------


def test_the_file_chooser_opens_over_the_window_before_the_import_dialog(
    qtbot, window, tmp_path: Path, monkeypatch
) -> None:
    source = penguins_copy(tmp_path)
    asked: list[tuple[object, list]] = []

    def choose(parent, *_args, **_kwargs):
        dialogs = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.isModal()]
        asked.append((parent, dialogs))
        return (str(source) if len(asked) > 1 else "", "")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(choose))
    page = window.show_page("data")
    window.import_action.trigger()  # Ctrl+I, cancelled: nothing opens
    assert asked[0] == (window, []) and getattr(page, "import_dialog", None) is None
    window.import_action.trigger()
    assert asked[1] == (window, [])  # no dialog under the file chooser
    dialog = page.import_dialog
    assert dialog.isVisible() and dialog.panel.path == source
    wait_until(qtbot, lambda: dialog.import_button.isEnabled(), 30)
    dialog.import_button.click()
    wait_until(qtbot, lambda: page.datasets.rowCount() == 1, 60)


def test_columns_grow_to_their_content(qtbot, window, tmp_path: Path) -> None:
    name = "seattle-weather-daily-observations-2012-2015"
    page = window.show_page("data")
    page.import_files([penguins_copy(tmp_path, f"{name}.csv")])
    wait_until(qtbot, lambda: page.datasets.rowCount() == 1, 60)
    table = page.dataset_table
    wait_until(qtbot, lambda: table.columnWidth(0) >= table.sizeHintForColumn(0), 10)
    index = page.datasets.index(0, 0)
    assert page.datasets.data(index, 3) == name  # its tooltip, should it still be cut


def test_the_description_is_written_in_the_app(qtbot, lab_window, lab, registered) -> None:
    page = lab_window.show_page("models")
    page.show_version(registered.ref)
    detail = page.detail
    wait_until(qtbot, lambda: detail.version is not None and detail.version.ref == registered.ref)
    if not registered.description:
        assert "shipway models edit" not in detail.card.toPlainText()
        assert "Description field" in detail.card.toPlainText()
    text = f"Logistic regression baseline, {time.time():.0f}"
    detail.description.setText(text)
    assert detail.save_description.isEnabled()
    page.save_description()
    wait_until(qtbot, lambda: lab.registry.version(registered.ref).description == text, 20)
    wait_until(qtbot, lambda: text in detail.card.toPlainText(), 20)


def test_queue_depth_warnings_are_counted_in_one_explained_line() -> None:
    log = "\n".join(
        ["INFO waitress serving on http://127.0.0.1:5000"]
        + ["WARNING:waitress.queue:Task queue depth is 2"] * 40
        + ["INFO POST '/predict' 200"]
    )
    shown = visible_log(log, hide_probes=True).splitlines()
    assert len(shown) == 3 and "Task queue depth" not in shown[1]
    assert shown[-1].startswith("[Shipway] 40 waitress warnings") and "waited" in shown[-1]


def test_counts_are_written_in_words() -> None:
    assert plural(1, "run") == "1 run" and plural(2, "run") == "2 runs"
    assert plural(1_000, "row") == "1,000 rows"


def test_questions_name_their_act_and_use_no_platform_ball(qtbot, context) -> None:
    seen: list[QMessageBox] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        seen.append(box)
        act = next(b for b in box.buttons() if b.text() == "Roll back")
        act.click()

    QTimer.singleShot(0, answer)
    assert ask(None, "Roll back production", "Move it back?", yes="Roll back")
    box = seen[0]
    assert box.icon() == QMessageBox.Icon.NoIcon  # the app's line icon as a pixmap, or none
    assert sorted(b.text() for b in box.buttons()) == ["Cancel", "Roll back"]


def test_the_compare_picker_counts_in_words(qtbot, lab, registered) -> None:
    from desktop.pages.compare.picker import RunPicker

    picker = RunPicker()
    qtbot.addWidget(picker)
    picker.set_runs([r for r in lab.runs.list() if r.status == "done"])
    picker.tick([registered.run_id])
    assert picker.count.text() == "1 run ticked — tick at least 2"


# -- 11. a theme switch restyles what is in sight (the bench measures how long it takes) -------


def test_a_theme_switch_restyles_what_is_in_sight_and_the_rest_when_shown(
    qtbot, window, context
) -> None:
    from desktop.theme import _style_sheet

    data, models = window.shell.page("data"), window.shell.page("models")
    window.show_page("data")
    qtbot.wait(50)
    context.theme.apply("dark")
    assert QApplication.instance().styleSheet() == ""  # never re-polished app-wide
    assert data.styleSheet() == _style_sheet("dark")
    assert window.shell.sidebar.styleSheet() == _style_sheet("dark")
    assert models.styleSheet() != _style_sheet("dark")  # hidden: restyled when shown
    window.show_page("models")
    assert models.styleSheet() == _style_sheet("dark")
    # a dialog made with the window as its parent is adopted as it is made
    dialog = QMessageBox(window)
    assert dialog.styleSheet() == _style_sheet("dark")
    context.theme.apply("light")


def test_long_lived_objects_leave_the_collectors_walks_while_a_project_is_open(
    qtbot, window
) -> None:
    """A full garbage collection holds the GIL for every tracked object: frozen ones are not
    walked. Closing the project gives them back, so its widgets can be collected."""
    import gc

    window.session._freeze_long_lived()  # what its timer does a few seconds after opening
    assert gc.get_freeze_count() > 50_000
    window.close_project()
    assert gc.get_freeze_count() == 0


def test_pool_threads_yield_to_the_gui_thread(qtbot, context) -> None:
    import os
    import sys
    import threading

    assert sys.getswitchinterval() <= 0.001
    task = context.runner.fetch(
        lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), lambda _: None
    )
    wait_until(qtbot, lambda: not task.running, 10)
    if sys.platform.startswith("linux"):
        assert task.result > os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
