"""Deployments: managed local REST servers of model versions and aliases (see manager)."""
