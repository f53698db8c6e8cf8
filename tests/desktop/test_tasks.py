"""The task runner: background work with throttled progress, results, failures and Cancel."""

from __future__ import annotations

import threading
import time

import pytest

from core.errors import ImportFailed
from desktop.tasks import TaskRunner
from tests.desktop.conftest import wait_until


@pytest.fixture
def runner(qapp):
    made = TaskRunner()
    yield made
    made.shutdown(10)


def test_progress_is_throttled_and_the_result_arrives(qtbot, runner: TaskRunner) -> None:
    seen: list[tuple[float | None, str]] = []
    results: list[object] = []

    def chatty(progress, cancel):
        started = time.monotonic()
        for step in range(20_000):
            progress(step / 20_000, f"step {step}")
        progress(1.0, "done")
        return time.monotonic() - started, threading.current_thread() is threading.main_thread()

    task = runner.submit("chatty", chatty, on_success=results.append)
    task.progressed.connect(lambda fraction, message: seen.append((fraction, message)))
    wait_until(qtbot, lambda: results, 10)
    seconds, on_main_thread = results[0]
    assert not on_main_thread
    assert task.state == "done"
    assert seen[-1] == (1.0, "done")  # the last step always arrives
    assert len(seen) <= seconds / 0.1 + 3  # at most ten a second, plus the first and last


def test_a_failure_reaches_the_error_channel_with_its_traceback(qtbot, qapp) -> None:
    reported: list[tuple[BaseException, str, str]] = []
    runner = TaskRunner(lambda error, context, trace: reported.append((error, context, trace)))

    def fails(progress, cancel):
        raise ImportFailed("the file is empty", where="x.csv", hint="choose a file with data")

    task = runner.submit("Importing x.csv", fails)
    wait_until(qtbot, lambda: reported, 10)
    error, context, trace = reported[0]
    assert isinstance(error, ImportFailed) and context == "Importing x.csv"
    assert "fails" in trace and task.state == "failed"
    runner.shutdown(5)


def test_cancel_stops_the_work_and_says_so(qtbot, runner: TaskRunner) -> None:
    started = threading.Event()
    cancelled: list[bool] = []

    def patient(progress, cancel):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.01)

    task = runner.submit("patient", patient, on_cancel=lambda: cancelled.append(True))
    assert started.wait(5)
    assert runner.tasks() == [task]
    task.cancel()
    wait_until(qtbot, lambda: cancelled, 10)
    assert task.state == "cancelled"
    assert runner.tasks() == []


def test_quiet_reads_are_not_listed_as_jobs(qtbot, runner: TaskRunner) -> None:
    gate = threading.Event()
    got: list[int] = []
    runner.fetch(lambda: gate.wait(5) and 42, got.append)
    assert runner.tasks() == [] and len(runner.tasks(include_quiet=True)) == 1
    gate.set()
    wait_until(qtbot, lambda: got == [42], 10)


def test_shutdown_cancels_everything_and_waits(qtbot, runner: TaskRunner) -> None:
    def forever(progress, cancel):
        while not cancel.cancelled:
            time.sleep(0.01)
        cancel.raise_if_cancelled()

    tasks = [runner.submit(f"job {n}", forever) for n in range(3)]
    assert runner.shutdown(10)
    assert [t.state for t in tasks] == ["cancelled"] * 3
    with pytest.raises(RuntimeError):
        runner.submit("late", forever)
