"""Warehouse: see docs/architecture.md."""
