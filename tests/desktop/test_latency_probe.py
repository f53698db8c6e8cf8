"""The event-loop probe the responsiveness tests rely on still sees a frozen GUI thread, whether
it works (CPU) or waits (a sleep, a lock), once the machine's load is taken off its gaps."""

from __future__ import annotations

import time

from tests.desktop.conftest import LatencyProbe


def test_a_gui_thread_that_sleeps_is_seen_frozen(qtbot) -> None:
    with LatencyProbe() as probe:
        qtbot.wait(50)
        time.sleep(0.6)  # blocked, not waiting for a CPU: counts
        qtbot.wait(50)
    assert probe.worst_ms >= 550


def test_a_gui_thread_that_computes_is_seen_frozen(qtbot) -> None:
    with LatencyProbe() as probe:
        qtbot.wait(50)
        began = time.thread_time()
        while time.thread_time() - began < 0.6:  # 0.6 s of CPU on the GUI thread
            pass
        qtbot.wait(50)
    assert probe.worst_ms >= 550
