"""The Models page: registered models, their versions, gates, approvals, promotion."""
