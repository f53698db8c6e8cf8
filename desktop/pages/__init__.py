"""The sidebar's pages, in order.

Each page is a subpackage (``data``, ``experiments``, ``compare``, ``models``, ``deployments``,
``monitoring``) whose ``page`` module holds its :class:`~desktop.pages.base.Page` subclass, beside
the modules it is split into; what two pages share is in ``common``. To add or replace a page,
write its subpackage and change its entry in :data:`PAGES`; the main window builds the sidebar,
the Ctrl+1… shortcuts and the page stack from this list alone."""

from __future__ import annotations

from desktop.pages.base import Page
from desktop.pages.compare.page import ComparePage
from desktop.pages.data.page import DataPage
from desktop.pages.deployments.page import DeploymentsPage
from desktop.pages.experiments.page import ExperimentsPage
from desktop.pages.models.page import ModelsPage
from desktop.pages.monitoring.page import MonitoringPage

PAGES: list[type[Page]] = [
    DataPage,
    ExperimentsPage,
    ComparePage,
    ModelsPage,
    DeploymentsPage,
    MonitoringPage,
]

__all__ = ["PAGES", "Page"]
