"""Shipway's engine: projects, versioned data, experiments, registry, serving, monitoring.

Nothing below this package imports Qt; the desktop application reaches it through
:mod:`core.services`.
"""

__version__ = "0.1.0"
