"""Deployable bundles: one zip that serves a model version anywhere (see docs/bundles.md)."""
