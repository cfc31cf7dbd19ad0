"""Test helpers for the budget area: a small demo-world warehouse (no ingest), and the tiny-fit settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mktdash.params import resolve
from mktdash.warehouse import schema
from mktdash.warehouse.backend import Warehouse

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "params" / "test" / "smoke.yaml"
END = dt.date(2026, 11, 22)  # a Sunday: 2026-W47 is the latest complete week
WEEK = "2026-W47"
TABLES = ("ad_daily", "web_daily", "budget_plan", "spend_limits", "approvals", "kpi_targets", "fx_rates")
TINY = {"mmm": {"chains": 1, "tune": 25, "draws": 25, "max_treedepth": 5, "curve_samples": 25}}


def tiny_settings(**budget: Any) -> Any:
    """Smoke params with an even tinier MMM fit (tests assert shapes and plumbing, not accuracy)."""
    over = {**TINY, "budget": budget} if budget else TINY
    return resolve([SMOKE], overrides=over)


def load_world(path: Path, world: Any) -> Path:
    """Write the world's canonical tables into a DuckDB warehouse at ``path``."""
    with Warehouse.open(path) as wh:
        wh.ensure_tables()
        for name in TABLES:
            df = world.tables[name]
            wh.replace_table(name, schema.conform(df, name))
        wh.checkpoint()
    return path


def demo_world(weeks: int = 60) -> Any:
    from mktdash.demo.world import simulate

    return simulate(seed=7, scale=1.0, end=END, weeks=weeks)
