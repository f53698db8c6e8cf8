"""``python -m desktop.screenshots_contract OUT_DIR [--theme light|dark]``: the screenshots of a
model version's Contract tab (with a check that found violations), its editor refusing a
contradiction, and its Segments tab.

Separate from :mod:`desktop.screenshots` so that these views can be taken alone. A scratch
project gets the demo penguins, a logistic regression predicting ``sex`` with a threshold rule
(so the summary shows the chosen threshold), ``[evaluation] segments = ["island"]``, and a second
data set in which a few rows name an island the model never saw.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.services import TrainRequest, Workspace
from desktop import demo
from desktop.main_window import MainWindow
from desktop.screenshots import SIZE, settle, shoot, start


def prepare(folder: Path) -> tuple[Workspace, str, str]:
    """The project, its registered version and a data set version breaking its contract."""
    workspace = Workspace.create(folder, name="penguins")
    workspace.data.import_file(demo.demo_data())
    request = TrainRequest(
        "penguins", "sex", estimator="logistic_regression", threshold="min_precision=0.85"
    )
    version = workspace.lifecycle.register(workspace.runs.train(request).result().id, "sex")
    settings = folder / "shipway.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + '\n[evaluation]\nsegments = ["island"]\n',
        encoding="utf-8",
    )
    lines = demo.demo_data().read_text(encoding="utf-8").splitlines()
    rows = [line.replace(",Torgersen,", ",Atlantis,") for line in lines[1:41]]
    new = folder.parent / "penguins-new.csv"
    new.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    checked = workspace.data.import_file(new).version.ref
    return workspace, version.ref, checked


def shots(window: MainWindow, ref: str, checked: str, out: Path, theme: str) -> None:
    page = window.show_page("models")
    page.show_version(ref)
    detail = page.detail
    settle(until=lambda: detail.version is not None and detail.contract.stored is not None)
    detail.tabs.setCurrentWidget(detail.contract)
    detail.contract.dataset.setCurrentText(checked)
    page.check_contract(checked)
    settle(until=lambda: detail.contract.check is not None)
    shoot(window, out / f"models-contract-{theme}.png")
    dialog = page.edit_contract()
    dialog.resize(860, 440)
    dialog.cell("body_mass_g", "min").setText("9000")  # above its max: refused
    dialog.save()
    settle(until=lambda: dialog.message.property("role") == "error")
    shoot(dialog, out / f"models-contract-edit-{theme}.png")
    dialog.reject()
    detail.tabs.setCurrentWidget(detail.segments)
    settle(until=lambda: detail.segments.found is not None and detail.segments.found.tables)
    shoot(window, out / f"models-segments-{theme}.png")


def main(argv: list[str] | None = None) -> int:
    args, app, scratch, context = start("python -m desktop.screenshots_contract", argv)
    workspace, ref, checked = prepare(scratch / "penguins")
    window = MainWindow(context, workspace, own_workspace=False)
    window.resize(*SIZE)
    window.move(40, 30)
    window.show()
    try:
        shots(window, ref, checked, args.out, args.theme)
    finally:
        window.close()
        app.processEvents()
        workspace.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
