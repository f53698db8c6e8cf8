"""Bayesian search (``--search bayes``) with Optuna: a TPE sampler and a median pruner.

Optuna is optional (``pip install 'shipway[search]'``); it is imported only here, and only when
a Bayesian search starts (:func:`require_optuna` says how to get it when it is missing).

- **The study** lives in the project's folder, in an Optuna RDB storage (SQLite file
  ``studies.db``), one study per search. The study's name is derived from what the search asks
  (the spec, the metric), so running the same search again *resumes* it: the trials finished
  before count toward ``--trials`` and inform the sampler; a trial an interrupted search left
  running is marked failed.
- **Trials** are asked of the study a batch at a time (as many as the executor's workers),
  each recorded as a child run of the search's parent run, like grid and random trials, then
  told their value (the primary metric on the test rows, the value the best trial is chosen on).
- **Pruning** needs ``--cv K``: the worker reports each fold's primary metric to the study,
  and a trial whose fold falls below the median of earlier trials' same fold (above it, for a
  metric where lower is better) stops there. Its run is recorded failed with error code
  ``pruned``, naming the fold. The first two trials and the first fold are never pruned.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from core import metrics
from core.errors import ShipwayError, UsageError
from core.experiments import catalog
from core.experiments.spec import RunSpec

STUDIES_FILE = "studies.db"
INSTALL_HINT = "install it with: pip install 'shipway[search]' (or pip install optuna)"


class Pruned(ShipwayError, code="pruned"):
    """A trial of a Bayesian search stopped early by the median pruner (not a failure)."""


def require_optuna() -> Any:
    """The optuna module, or a UsageError saying how to get it."""
    try:
        import optuna
    except ImportError:
        raise UsageError(
            "--search bayes needs Optuna, which is not installed", hint=INSTALL_HINT
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def storage_url(root: Path) -> str:
    return f"sqlite:///{Path(root) / STUDIES_FILE}"


def _storage(url: str) -> Any:
    optuna = require_optuna()
    # Workers report folds to the same file: wait for its lock instead of failing.
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})


def study_name(spec: RunSpec, metric: str) -> str:
    """The same search (spec and metric) → the same study, so that it resumes."""
    key = json.dumps({"spec": spec.to_dict(), "metric": metric}, sort_keys=True, default=str)
    return f"search-{spec.estimator}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def open_study(root: Path, spec: RunSpec, metric: str) -> tuple[Any, int]:
    """The search's study (created or resumed) and how many trials it finished before."""
    optuna = require_optuna()
    direction = "maximize" if metrics.GREATER_IS_BETTER[metric] else "minimize"
    study = optuna.create_study(
        study_name=study_name(spec, metric),
        storage=_storage(storage_url(root)),
        direction=direction,
        sampler=optuna.samplers.TPESampler(seed=spec.seed, n_startup_trials=3),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
        load_if_exists=True,
    )
    state = optuna.trial.TrialState
    for trial in study.get_trials(deepcopy=False, states=(state.RUNNING, state.WAITING)):
        study._storage.set_trial_state_values(trial._trial_id, state=state.FAIL)
    finished = study.get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED))
    return study, len(finished)


def suggest(trial: Any, estimator: catalog.EstimatorSpec, fixed: Mapping[str, Any]) -> dict:
    """The trial's parameters: each searched one (a catalog parameter with a grid) from its
    range, log-scaled where marked; nullable ones among their grid values (``None`` included)."""
    drawn: dict[str, Any] = {}
    for param in estimator.params:
        if not param.grid or param.name in fixed:
            continue
        if param.kind == "choice":
            drawn[param.name] = trial.suggest_categorical(param.name, list(param.choices))
        elif param.kind == "bool" or param.nullable:
            drawn[param.name] = trial.suggest_categorical(param.name, list(param.grid))
        elif param.kind == "int":
            low, high = int(param.low), int(param.high)
            drawn[param.name] = trial.suggest_int(param.name, low, high, log=param.log)
        else:
            drawn[param.name] = trial.suggest_float(
                param.name, param.low, param.high, log=param.log
            )
    values = {**drawn, **fixed}
    return {p.name: values[p.name] for p in estimator.params if p.name in values}


def fold_reporter(prune: Mapping[str, Any]) -> Callable[[int, int, Mapping[str, Any]], None]:
    """In the worker: report each CV fold's metric to the trial; raise Pruned when it should
    stop. ``prune`` holds the storage URL, the study name, the trial id and the metric."""
    optuna = require_optuna()
    study = optuna.load_study(study_name=prune["study"], storage=_storage(prune["storage"]))
    trial = optuna.trial.Trial(study, prune["trial"])

    def report(fold: int, folds: int, measured: Mapping[str, Any]) -> None:
        value = metrics.finite(measured.get(prune["metric"]))
        if value is None:
            return
        trial.report(value, fold)
        if fold < folds and trial.should_prune():
            raise Pruned(
                f"pruned after fold {fold} of {folds}: {prune['metric']} {value:.4g} is worse "
                "than the median of earlier trials at that fold",
                where=f"trial {prune['trial']}",
            )

    return report


def prune_target(root: Path, study: Any, trial: Any, metric: str) -> dict[str, Any]:
    """What a trial's worker needs to report its folds (:func:`fold_reporter`)."""
    return {
        "storage": storage_url(root),
        "study": study.study_name,
        "trial": trial._trial_id,
        "metric": metric,
    }


def tell(study: Any, trial: Any, run: Any, metric: str) -> None:
    """Tell the study how the trial's run ended: its value, pruned, or failed."""
    optuna = require_optuna()
    trial.set_user_attr("run", run.id)
    value = metrics.finite(run.metrics.get(metric)) if run.status == "done" else None
    if value is not None:
        study.tell(trial, value)
    elif run.error and run.error.startswith("pruned after fold"):
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        tell_failed(study, trial)


def tell_failed(study: Any, trial: Any) -> None:
    study.tell(trial, state=require_optuna().trial.TrialState.FAIL)
