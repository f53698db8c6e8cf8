"""Team refresh: the window polls the change feed and shows what others did."""

from __future__ import annotations

from datetime import UTC, datetime

from core.entities import AuditEntry
from core.services import Workspace
from desktop.team_watch import describe_change, events_for
from tests.desktop.conftest import penguins_copy, wait_until


def _entry(action: str, ref: str, user: str = "bob") -> AuditEntry:
    return AuditEntry(1, datetime.now(UTC), user, action, "x", ref)


def test_each_kind_of_change_refreshes_the_pages_it_concerns() -> None:
    entries = [_entry(a, "r") for a in ("run.done", "model.promote", "deploy", "dataset.import")]
    assert events_for(entries) == [
        "runs_changed",
        "models_changed",
        "deployments_changed",
        "datasets_changed",
    ]
    assert events_for([_entry("access.denied", "r")]) == []
    assert describe_change(_entry("model.register", "penguins@3")) == "bob registered penguins@3"


def test_a_change_by_another_user_shows_up_after_a_refresh(
    qtbot, window, workspace: Workspace, tmp_path, monkeypatch
) -> None:
    page = window.show_page("data")
    wait_until(qtbot, lambda: window.session.watcher.cursor is not None, 10)
    assert page.datasets.rowCount() == 0
    monkeypatch.setenv("SHIPWAY_USER", "bob")
    with Workspace.open(workspace.root) as other:  # a teammate, on the same project
        other.data.import_file(penguins_copy(tmp_path))
    wait_until(qtbot, lambda: page.datasets.rowCount() == 1, 15)
    assert page.datasets.index(0, 0).data() == "penguins"
    assert "bob imported penguins@1" in window.statusBar().currentMessage()
