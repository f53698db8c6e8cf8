"""The sidebar's pages, in order. To add or replace a page, write one module here and change
its entry in :data:`PAGES`; the main window builds the sidebar, the Ctrl+1… shortcuts and the
page stack from this list alone."""

from __future__ import annotations

from desktop.pages.base import Page
from desktop.pages.coming_next import coming_next
from desktop.pages.compare_page import ComparePage
from desktop.pages.data_page import DataPage
from desktop.pages.experiments_page import ExperimentsPage

PAGES: list[type[Page]] = [
    DataPage,
    ExperimentsPage,
    ComparePage,
    coming_next(
        "models",
        "Models",
        "models",
        "Registered model versions, their aliases (staging, production), validation gates, "
        "approvals and model cards.",
        "register a run from the Experiments page (Register…), and use `shipway models` on "
        "the command line to promote, approve and roll back.",
    ),
    coming_next(
        "deployments",
        "Deployments",
        "deployments",
        "Serve a model version or alias as a local REST service with one click, and watch its "
        "requests.",
        "`shipway deploy MODEL@ALIAS` starts a deployment; `shipway deployments` lists them.",
    ),
    coming_next(
        "monitoring",
        "Monitoring",
        "monitoring",
        "Data drift per feature over time, request rate, latency and the prediction mix, live.",
        "`shipway drift MODEL@VERSION --current FILE` compares new data with the training data.",
    ),
]

__all__ = ["PAGES", "Page"]
