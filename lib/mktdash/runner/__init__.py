"""Runner: see docs/architecture.md."""
