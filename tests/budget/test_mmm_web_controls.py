"""``mmm.controls``: GA4 web_daily metrics (a demand proxy such as organic sessions) as MMM controls."""

from __future__ import annotations

from pathlib import Path

import budget_world as bw
import numpy as np
import pandas as pd
import pytest

from mktdash.budget import mmm
from mktdash.warehouse.backend import Warehouse


def _settings(controls: list[str]):  # type: ignore[no-untyped-def]
    s = bw.tiny_settings()
    return s.model_copy(update={"mmm": s.mmm.model_copy(update={"controls": controls})})


def test_web_controls_are_weekly_ga4_metrics_standardized(tmp_path: Path) -> None:
    w = bw.demo_world(40)
    path = bw.load_world(tmp_path / "wh.duckdb", w)
    with Warehouse.open(path, read_only=True) as wh:
        plain = mmm.weekly_from_warehouse(wh, bw.tiny_settings(), through_week=bw.WEEK)
        data = mmm.weekly_from_warehouse(
            wh, _settings(["sessions:Organic Search", "users"]), through_week=bw.WEEK
        )
        with pytest.raises(mmm.MmmError, match=r"no channel group 'Organic'.*Organic Search"):
            mmm.weekly_from_warehouse(wh, _settings(["sessions:Organic"]), through_week=bw.WEEK)
        with pytest.raises(mmm.MmmError, match=r"'visits:Direct' names no web_daily metric.*sessions"):
            mmm.weekly_from_warehouse(wh, _settings(["visits:Direct"]), through_week=bw.WEEK)
    assert data.controls == [*plain.controls, "ctl_sessions_organic_search", "ctl_users"]
    pd.testing.assert_frame_equal(data.frame[plain.frame.columns], plain.frame)  # nothing else moves
    # known answer from the world's own table: weekly sums over the modelled Mondays, standardized
    web = w.tables["web_daily"].assign(
        monday=lambda d: pd.to_datetime(d["date_day"]).dt.to_period("W").dt.start_time
    )
    mondays = pd.to_datetime(data.frame["date"])
    for col, rows, metric in (
        ("ctl_sessions_organic_search", web[web["channel_group"] == "Organic Search"], "sessions"),
        ("ctl_users", web, "users"),
    ):
        weekly = rows.groupby("monday")[metric].sum().reindex(mondays).to_numpy(dtype=float)
        want = (weekly - weekly.mean()) / weekly.std(ddof=1)
        np.testing.assert_allclose(data.frame[col].to_numpy(), want, rtol=1e-9, atol=1e-12)
