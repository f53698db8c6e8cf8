"""Monitoring: how far the data a model sees in use has moved from the data it was trained on.

- :mod:`core.monitoring.reference`: statistics of a version's training rows (computed once, at
  registration, and stored as a blob), :mod:`core.monitoring.codec` their file format;
- :mod:`core.monitoring.stats` and :mod:`core.monitoring.engine`: the per-feature tests, chosen
  the way Evidently chooses them, and the dataset-drift verdict;
- :mod:`core.monitoring.sources`: current data from a file, a data set version or the prediction
  log of a deployment; :mod:`core.monitoring.buckets` drift over time, cached per bucket;
- :mod:`core.monitoring.live`: live metrics from feedback; :mod:`core.monitoring.triggers`:
  alerts and retraining;
- :mod:`core.monitoring.service`: the engine's front door for all of it.

docs/monitoring.md states the decisions.
"""
