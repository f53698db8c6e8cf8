"""The Models page's Contract and Segments tabs on a real registry: a binary classifier of the
shared project, trained with a threshold rule and registered; its contract shown, edited through
the dialog (and refused when it contradicts itself, with nothing saved), checked against a data
set version; its metrics per segment once shipway.toml asks for them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.entities import ModelVersion
from core.services import TrainRequest, Workspace
from desktop.pages.models.contract_view import allowed_text
from desktop.pages.models.version_detail import summary_text
from tests.desktop.conftest import PENGUINS, show_version, wait_until


@pytest.fixture(scope="module")
def binary(lab: Workspace) -> ModelVersion:
    """A logistic regression predicting ``sex`` with precision at least 0.8: ``sexes@1``."""
    request = TrainRequest(
        data="penguins",
        target="sex",
        estimator="logistic_regression",
        threshold="min_precision=0.8",
    )
    return lab.lifecycle.register(lab.runs.train(request).result().id, "sexes")


def _rows(model) -> dict[str, list[str]]:
    """The shown table as {first cell: every cell's text}."""
    rows = {}
    for row in range(model.rowCount()):
        cells = [model.index(row, c).data() for c in range(model.columnCount())]
        rows[cells[0]] = cells
    return rows


def test_the_contract_tab_shows_every_rule_and_the_summary_the_threshold(
    qtbot, lab_window, lab: Workspace, binary: ModelVersion
) -> None:
    page = show_version(qtbot, lab_window, binary.ref)
    view = page.detail.contract
    page.detail.tabs.setCurrentWidget(view)
    kept = lab.registry.contract(binary.ref).contract
    rows = _rows(view.rules)
    assert list(rows) == [rule.name for rule in kept.columns] == list(binary.features)
    mass = kept.column("body_mass_g")
    assert rows["body_mass_g"] == [
        "body_mass_g", "integer", f"{mass.minimum:g}", f"{mass.maximum:g}", "any",
        "yes" if mass.nullable else "no", "no",
    ]  # fmt: skip
    assert rows["island"][4] == "Biscoe, Dream, Torgersen"
    assert "Inferred from the training data" in view.origin.text()

    summary = page.detail.summary.text()
    chosen = lab.runs.get(binary.run_id).curves["threshold"]
    assert f"decision threshold <b>{chosen['threshold']:.3f}</b> on P(male)" in summary
    assert f"precision ≥ 0.8 (precision {chosen['precision']:.4f}" in summary
    assert f"recall {chosen['recall']:.4f}" in summary
    without = dataclasses.replace(page.detail.detail, threshold=None)
    assert "decision threshold" not in summary_text(without)  # a version without a rule


def test_an_edit_is_saved_and_shown_after_a_refresh(
    qtbot, lab_window, lab: Workspace, binary: ModelVersion
) -> None:
    page = show_version(qtbot, lab_window, binary.ref)
    dialog = page.edit_contract()
    assert dialog is not None and dialog.isVisible()
    assert dialog.assignments() == ()  # nothing changed yet
    dialog.cell("body_mass_g", "max").setText("7000")
    dialog.cell("species", "categories").setText("Adelie, Gentoo")
    dialog.cell("bill_length_mm", "nullable").setCheckState(Qt.CheckState.Unchecked)
    assert dialog.assignments() == (
        "species.categories=Adelie, Gentoo",
        "bill_length_mm.nullable=false",
        "body_mass_g.max=7000",
    )
    dialog.save_button.click()
    wait_until(qtbot, lambda: dialog.result_contract is not None, 30)
    assert not dialog.isVisible()

    stored = lab.registry.contract(binary.ref)
    assert stored.source == "edited"
    assert stored.contract.column("body_mass_g").maximum == 7000
    assert stored.contract.column("species").categories == ("Adelie", "Gentoo")
    assert stored.contract.column("bill_length_mm").nullable is False
    page.refresh()
    view = page.detail.contract
    wait_until(qtbot, lambda: _rows(view.rules)["body_mass_g"][3] == "7000", 30)
    assert _rows(view.rules)["species"][4] == "Adelie, Gentoo"
    wait_until(qtbot, lambda: "Edited since registration" in view.origin.text(), 30)


@pytest.mark.parametrize(
    ("column", "key", "text", "said"),
    [
        ("body_mass_g", "min", "90000", "body_mass_g.min (90000) is above body_mass_g.max"),
        ("bill_depth_mm", "max", "deep", "bill_depth_mm.max must be a number"),
        ("island", "categories", "", "island.categories is empty"),
    ],
)
def test_a_contradicting_edit_is_refused_in_the_dialog_and_nothing_is_saved(
    qtbot, lab_window, lab: Workspace, binary: ModelVersion, column, key, text, said
) -> None:
    page = show_version(qtbot, lab_window, binary.ref)
    before = lab.registry.contract(binary.ref).to_dict()
    dialog = page.edit_contract()
    dialog.cell(column, key).setText(text)
    dialog.save_button.click()
    wait_until(qtbot, lambda: dialog.message.property("role") == "error", 30)
    assert said in dialog.message.text()
    assert "nothing was changed" in dialog.message.text()
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert dialog.cell(column, key).text() == text  # the person's text is kept
    assert dialog.result_contract is None
    assert lab.registry.contract(binary.ref).to_dict() == before
    dialog.reject()


def test_the_contract_is_checked_against_a_data_set_version(
    qtbot, lab_window, lab: Workspace, binary: ModelVersion, tmp_path: Path
) -> None:
    lines = PENGUINS.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    island = header.index("island")
    changed = [lines[0]]
    for number, line in enumerate(lines[1:]):
        cells = line.split(",")
        if number < 3:
            cells[island] = "Atlantis"  # not an island the model saw
        changed.append(",".join(cells))
    data = tmp_path / "atlantis.csv"
    data.write_text("\n".join(changed) + "\n", encoding="utf-8")
    imported = lab.data.import_file(data).version.ref
    page = show_version(qtbot, lab_window, binary.ref)
    view = page.detail.contract
    wait_until(qtbot, lambda: imported in [view.dataset.itemText(i)
                                           for i in range(view.dataset.count())], 30)  # fmt: skip
    assert view.dataset.currentText().startswith("penguins@")  # the version's own data first
    view.dataset.setCurrentText(imported)
    view.check_button.click()
    wait_until(qtbot, lambda: view.check is not None, 180)
    rows = _rows(view.violations)
    assert rows["island.categories"][1] == "3"
    assert rows["island.categories"][3] == "0, 1, 2"
    assert "broken in " + imported in view.verdict.text()
    assert view.verdict.property("role") == "error"


def test_the_segments_tab_shows_each_segment_or_says_how_to_get_them(
    qtbot, lab_window, binary: ModelVersion, settings_file: Path
) -> None:
    page = show_version(qtbot, lab_window, binary.ref)
    view = page.detail.segments
    page.detail.tabs.setCurrentWidget(view)
    wait_until(qtbot, lambda: view.found is not None, 180)
    assert view.stack.currentWidget() is view.empty
    assert "segments = [" in view.empty.text.text()

    segments = '\n[evaluation]\nsegments = ["island", "no_such_column"]\n'
    settings_file.write_text(settings_file.read_text(encoding="utf-8") + segments, "utf-8")
    page.refresh()  # reads the detail twice (the models, then the versions): the newer one shows
    wait_until(qtbot, lambda: view.found is not None and view.found.tables, 180)
    assert view.stack.currentIndex() == 1
    assert "no column 'no_such_column'" in view.status.text()  # the other column still shows
    assert not view.status.isHidden()
    model = view.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers[:4] == ["Segment by", "Value", "Rows", "accuracy"]
    rows = {model.index(r, 1).data(): r for r in range(model.rowCount())}
    assert set(rows) == {"Biscoe", "Dream", "Torgersen"}
    table = view.found.tables[0]
    biscoe = next(s for s in table.segments if s.value == "Biscoe")
    row = rows["Biscoe"]
    assert model.index(row, 0).data() == "island"
    assert model.index(row, 2).data() == str(biscoe.rows)
    accuracy = biscoe.metrics["accuracy"]
    assert model.index(row, 3).data() == (
        f"{accuracy.value:.4g} ({accuracy.low:.3g}–{accuracy.high:.3g})"
    )


def test_long_lists_of_allowed_values_are_shortened_with_their_count() -> None:
    assert allowed_text(None) == "any"
    assert allowed_text(("a", "b", "c", "d")) == "a, b, c, d"
    assert allowed_text(tuple("abcdefg")) == "a, b, c, … (7 values)"
