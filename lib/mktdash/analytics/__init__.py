"""Analytics: see docs/architecture.md."""
