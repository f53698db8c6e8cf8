"""Shipway's PySide6 application. It reaches the engine only through :mod:`core.services`."""
