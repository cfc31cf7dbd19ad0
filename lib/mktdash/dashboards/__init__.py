"""Dashboards: see docs/architecture.md."""
