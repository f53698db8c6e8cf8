"""The model registry: versions registered from runs, aliases guarded by validation gates,
approvals, rollbacks and model cards. Decisions are written down in docs/registry.md."""
