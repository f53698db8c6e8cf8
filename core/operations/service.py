"""``shipway service run``: the loop that keeps a project's models served, watched and retrained.

One service per project at a time: it holds an exclusive lock on ``.shipway/service.lock``
(``flock``; the kernel lets go of it when the process dies, so a killed service never leaves
it stuck) and writes ``.shipway/service.json`` (pid, host, start, heartbeat, its job thread's
health) on every tick. Every few seconds (:data:`TICK_S`) it

1. reads shipway.toml again when it changed (a broken table: the last good settings stay in
   force, the error is logged, audited and sent once as a ``service_failed`` notice);
2. keeps the kept deployments up (:mod:`core.operations.keeper`);
3. when ``[monitor] every`` is due, evaluates the triggers over each running deployment
   (``Lifecycle.check_triggers``, with ``[retrain] on_metric_drop`` as one more live-metric
   rule): each new alert is sent, and starts a retraining job when ``[retrain]`` says so;
4. starts the retrainings ``[retrain] every`` and ``on_new_data`` call for, the imports of
   ``[imports.NAME]`` that are due, and the pruning of prediction logs past ``[monitor] keep``.

Work that takes long (retraining, importing, pruning) runs as jobs on one thread of its own
(:mod:`core.operations.runner`), so a long training never delays a restart. A retraining
trains the version's spec on the newest data, registers the run, evaluates its production gates
and stops there, unless ``[retrain] promote`` names an alias: then it promotes, through the
gates as a person would (so never past an approval gate). The service records itself as the
user ``service`` in the audit trail.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from core.errors import ShipwayError
from core.operations.config import OperationsConfig, load_operations_config
from core.operations.housekeeping import import_now, prune_all
from core.operations.keeper import Keeper
from core.operations.lock import ServiceLock, write_heartbeat
from core.operations.notices import Notice
from core.operations.outbox import Outbox
from core.operations.retraining import retrain_work, retraining_text
from core.operations.runner import JobRunner
from core.operations.schedule import due, ran
from core.settings_rules import MetricRule
from core.times import Clock, utcnow

log = logging.getLogger("shipway.service")
TICK_S = 5.0
SERVICE_USER = "service"


class ServiceLoop:
    """The always-on service of one project. ``workspace`` is an open core.services.Workspace
    (opened as the user ``service``); ``clock`` the time source (tests pass one they move)."""

    def __init__(
        self,
        workspace: Any,
        *,
        clock: Clock | None = None,
        send: Callable[[Notice, Any], Any] | None = None,
    ) -> None:
        self.ws = workspace
        self.root = Path(workspace.root)
        self.clock = clock or Clock()
        self.lock = ServiceLock(self.root)
        self.config = OperationsConfig()
        self._config_stamp: tuple[float, int] | None = None
        self._config_error: str | None = None
        self._send = send
        self.outbox: Outbox | None = None
        self.runner: JobRunner | None = None
        self.keeper = Keeper(workspace.deployments)
        self.started_at = utcnow()
        self.ticks = 0
        self.last_error: str | None = None

    # -- starting and stopping -------------------------------------------------------------------

    def start(self) -> None:
        self.lock.acquire()
        abandoned = self.ws.jobs.fail_abandoned()
        for job in abandoned:
            log.warning(
                "job %s (%s) was left unfinished by a service that ended", job.id, job.title
            )
        self.runner = JobRunner(self.ws.jobs.repository)
        self.outbox = Outbox(self.ws.project.record, lambda: self.config.notify, self._send)
        self._reload_config(first=True)
        self._heartbeat()
        log.info("service started for %s (pid %d)", self.root, os.getpid())

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.cancel_running()
            self.runner.stop()
        if self.outbox is not None:
            self.outbox.close()
        self._heartbeat(stopped=True)
        self.lock.release()
        log.info("service stopped")

    def run(self, stop: threading.Event, tick_s: float = TICK_S) -> None:
        """Tick until ``stop`` is set (SIGTERM, SIGINT)."""
        self.start()
        try:
            while True:
                self.tick()
                if self.clock.sleep(tick_s, stop):
                    break
        finally:
            self.stop()

    # -- one tick --------------------------------------------------------------------------------

    def tick(self) -> None:
        """One pass over everything the service does; an error in one part never stops the rest."""
        self.ticks += 1
        if self.runner is not None and not self.runner.alive:  # never an outage in silence
            self._failed("run jobs", f"the job thread ended ({self.runner.last_error})")
            self.runner = JobRunner(self.ws.jobs.repository)
        for part in (self._reload_config, self._keep, self._monitor, self._retrain_every,
                     self._new_data, self._imports, self._prune):  # fmt: skip
            try:
                part()
            except ShipwayError as error:
                self._failed(part.__name__, error.one_line())
            except Exception as error:  # a bug must not end the service: say it, go on
                log.exception("service: %s failed", part.__name__)
                self._failed(part.__name__, f"{type(error).__name__}: {error}")
        self._heartbeat()

    def _failed(self, part: str, message: str) -> None:
        if message == self.last_error:
            return  # said once: the same error every tick is not news
        self.last_error = message
        log.error("service: %s: %s", part.lstrip("_"), message)
        self.notify("service_failed", f"the service could not {part.strip('_')}", message)

    # -- settings --------------------------------------------------------------------------------

    def _reload_config(self, first: bool = False) -> None:
        from core.config import SETTINGS_FILE, load_settings

        path = self.root / SETTINGS_FILE
        stat = path.stat()
        stamp = (stat.st_mtime, stat.st_size)
        if stamp == self._config_stamp:
            return
        self._config_stamp = stamp
        try:
            config = load_operations_config(self.root, load_settings(self.root).raw)
        except ShipwayError as error:
            message = error.one_line()
            if message != self._config_error:
                self._config_error = message
                self.ws.project.record("service.settings_refused", "project", str(self.root),
                                       error=message)  # fmt: skip
                text = f"{message}. The service goes on with the settings it had."
                self.notify("service_failed", "shipway.toml was not taken", text)
            return
        self._config_error = None
        self.config = config
        if not first:
            log.info("shipway.toml read again")

    # -- kept deployments ------------------------------------------------------------------------

    def _keep(self) -> None:
        for event in self.keeper.look():
            self.ws.project.record(f"service.deployment_{event.what}", "deployment",
                                   event.deployment, message=event.message)  # fmt: skip
            if event.what == "gave_up":
                self.notify("deployment_down", f"deployment {event.deployment} is down",
                            event.message, deployment=event.deployment)  # fmt: skip

    # -- monitoring and retraining ---------------------------------------------------------------

    def _monitor(self) -> None:
        now = self.clock.now()
        if not due(self.ws.jobs.repository, "monitor", self.config.monitor_every_s, now):
            return
        check = self.ws.lifecycle.check_triggers(now=now.timestamp(), config=self._triggers())
        ran(self.ws.jobs.repository, "monitor", now, deployments=list(check.deployments))
        for problem in check.problems:
            log.info("monitor: %s", problem)
        for alert in check.alerts:
            self.notify("alert", f"{alert.kind} alert on {alert.model}@{alert.version}",
                        f"Deployment {alert.deployment}: {alert.message}",
                        alert=alert.id, deployment=alert.deployment)  # fmt: skip
            policy = self.config.retrain
            if (alert.kind == "drift" and policy.on_drift) or (
                alert.kind == "metric" and (policy.on_metric_drop or self._triggers_retrain())
            ):
                self.retrain(f"{alert.model}@{alert.version}", f"alert {alert.id}: {alert.message}",
                             {"alert": str(alert.id)})  # fmt: skip

    def _triggers(self):
        """shipway.toml's [triggers], with [retrain] on_metric_drop as one more rule and the
        retraining left to the service's jobs."""
        config = self.ws.monitoring.trigger_config()
        drop = self.config.retrain.on_metric_drop
        rules = config.live_metrics
        if drop is not None:
            rules = (*rules, MetricRule(drop.metric, ">=", drop.below))
        buckets = config.drift_buckets or (3 if self.config.retrain.on_drift else 0)
        return replace(config, live_metrics=rules, drift_buckets=buckets, retrain=False)

    def _triggers_retrain(self) -> bool:
        return bool(self.ws.monitoring.trigger_config().retrain)

    def _served_versions(self) -> list[str]:
        refs = {f"{d.model}@{d.version}" for d in self.ws.deployments.list(include_stopped=False)}
        return sorted(refs)

    def _retrain_every(self) -> None:
        every = self.config.retrain.every_s
        if not every:
            return
        now = self.clock.now()
        for ref in self._served_versions():
            model = ref.split("@", 1)[0]
            name = f"retrain-every:{model}"
            if due(self.ws.jobs.repository, name, every, now, first=False):
                ran(self.ws.jobs.repository, name, now, version=ref)
                self.retrain(ref, "scheduled retraining", {"schedule": "every"})

    def _new_data(self) -> None:
        dataset = self.config.retrain.on_new_data
        if not dataset:
            return
        versions = self.ws.data.versions(dataset)
        if not versions:
            return
        newest = max(v.version for v in versions)
        name = f"new-data:{dataset}"
        mark = self.ws.jobs.repository.mark_detail(name)
        if mark is None:  # first look: remember what there is, retrain on the next version
            ran(self.ws.jobs.repository, name, self.clock.now(), version=newest)
            return
        if newest <= int(mark.get("version", 0)):
            return
        ran(self.ws.jobs.repository, name, self.clock.now(), version=newest)
        for ref in self._served_versions():
            version = self.ws.registry.version(ref)
            if version.dataset == dataset:
                self.retrain(
                    ref, f"new data: {dataset}@{newest}", {"new_data": f"{dataset}@{newest}"}
                )

    def retrain(self, ref: str, why: str, tags: dict[str, str]) -> None:
        """Queue a retraining job of ``ref`` (unless one for it waits or runs already)."""
        if self.runner is None or self.runner.pending("retrain", ref):
            return
        work = partial(retrain_work, self.ws, ref, why, tags, self.config.retrain.promote)
        self.runner.submit("retrain", f"retrain {ref} ({why})", ref, work,
                           on_end=self._retrained, reason=why)  # fmt: skip

    def _retrained(self, job) -> None:
        title = f"retraining of {job.target}: {job.status}"
        self.notify("retrained", title, retraining_text(job), job=job.id)

    # -- imports and retention -------------------------------------------------------------------

    def _imports(self) -> None:
        now = self.clock.now()
        for schedule in self.config.imports:
            name = f"import:{schedule.dataset}"
            if not due(self.ws.jobs.repository, name, schedule.every_s, now):
                continue
            ran(self.ws.jobs.repository, name, now)
            if self.runner is not None and not self.runner.pending("import", schedule.dataset):
                work = partial(import_now, self.ws, self.root, schedule)
                self.runner.submit("import", f"import {schedule.dataset}", schedule.dataset, work)

    def _prune(self) -> None:
        keep = self.config.keep_s
        if not keep:
            return
        now = self.clock.now()
        if not due(self.ws.jobs.repository, "prune", 86400.0, now):
            return
        ran(self.ws.jobs.repository, "prune", now)
        if self.runner is not None and not self.runner.pending("prune"):
            work = partial(lambda keep_s, progress, cancel: prune_all(self.ws, keep_s), keep)
            self.runner.submit("prune", "prune prediction logs", "", work)

    # -- notices and heartbeat -------------------------------------------------------------------

    def notify(self, kind: str, title: str, text: str, **detail: Any) -> None:
        if self.outbox is None:  # not started: nobody to tell but the log
            log.warning("%s: %s", title, text)
            return
        self.outbox.put(Notice(kind, self.ws.project.info().name, title, text, detail))

    def _heartbeat(self, stopped: bool = False) -> None:
        runner = self.runner.health() if self.runner is not None else None
        data = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": self.started_at.isoformat(),
            "heartbeat_at": utcnow().isoformat(),
            "stopped": stopped,
            "ticks": self.ticks,
            "jobs": runner,
            "last_error": self.last_error,
            "settings_error": self._config_error,
        }
        write_heartbeat(self.root, data)
