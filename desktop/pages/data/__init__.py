"""The Data page: data sets and versions, import, profile, import report, version diff."""
