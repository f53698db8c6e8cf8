"""``--dist loadfile`` that survives a crashed worker (registered in tests/conftest.py).

pytest-xdist 3.8's file scheduler hangs the whole run when a worker dies: it puts back every
file the dead worker ever had, the finished ones included, and the crashed test too. A worker
handed a finished file is sent an empty list of tests, so it never reports a test again, and the
scheduler (which only hands out work when a test reports) waits for it forever; the crashed test
also runs a second time and may take the replacement worker down with it.

Here a dead worker's files go back only with the tests it had not run yet, without the one that
crashed (xdist reports that one as failed), so the run ends with the crash as one failure. A
worker also runs a test only once it knows the next one (or is told to finish), so the worker
that replaces the dead one is given at least two tests, or told to finish when nothing is left;
otherwise a single test left of a file would wait forever.
"""

from __future__ import annotations

from xdist.scheduler import LoadFileScheduling
from xdist.workermanage import WorkerController


class CrashSafeLoadFile(LoadFileScheduling):
    """Whole files per worker; a dead worker's unfinished tests go to the others."""

    def remove_node(self, node: WorkerController) -> str | None:
        workload = self.assigned_work.pop(node)
        unfinished = {scope: unit for scope, unit in workload.items() if not all(unit.values())}
        if not unfinished:
            return None
        crashed = next(
            nodeid for unit in unfinished.values() for nodeid, done in unit.items() if not done
        )
        unfinished[self._split_scope(crashed)][crashed] = True  # reported failed; not run again
        self.workqueue.update(
            (scope, unit) for scope, unit in unfinished.items() if not all(unit.values())
        )
        for other in self.assigned_work:
            self._reschedule(other)
        return crashed

    def _reschedule(self, node: WorkerController) -> None:
        if node.shutting_down:
            return
        if self.workqueue and self._pending_of(self.assigned_work[node]) <= 2:
            self._assign_work_unit(node)
            while self.workqueue and self._pending_of(self.assigned_work[node]) < 2:
                self._assign_work_unit(node)
        if not self.workqueue:
            node.shutdown()
