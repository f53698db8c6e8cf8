"""The sidebar's pages, in order. To add or replace a page, write one module here and change
its entry in :data:`PAGES`; the main window builds the sidebar, the Ctrl+1… shortcuts and the
page stack from this list alone."""

from __future__ import annotations

from desktop.pages.base import Page
from desktop.pages.compare_page import ComparePage
from desktop.pages.data_page import DataPage
from desktop.pages.deployments_page import DeploymentsPage
from desktop.pages.experiments_page import ExperimentsPage
from desktop.pages.models_page import ModelsPage
from desktop.pages.monitoring_page import MonitoringPage

PAGES: list[type[Page]] = [
    DataPage,
    ExperimentsPage,
    ComparePage,
    ModelsPage,
    DeploymentsPage,
    MonitoringPage,
]

__all__ = ["PAGES", "Page"]
