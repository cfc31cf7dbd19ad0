"""On the demo world every planted anomaly is found; the same world without plants gives no alerts.

The default demo world (seed 7, end 2026-11-22, one of the 20 worlds of bench/bench_alerts.py); the bench
reports recall/precision over all of them. Its search-campaign CVR plant is only found relative to the rest of
the channel (the campaign's CVR moves with the channel's), so this also guards the parent-adjusted test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mktdash import params, weeks
from mktdash.analytics import alerts, kpis
from mktdash.warehouse import schema
from mktdash.warehouse.backend import Warehouse

world = pytest.importorskip("mktdash.demo.world")


def _world(plant: bool):  # noqa: ANN202
    w = world.simulate(seed=7, end="2026-11-22", plant=plant)
    wh = Warehouse.memory()
    wh.append("ad_daily", schema.conform(w.tables["ad_daily"], "ad_daily"))
    return w, wh, kpis.resolve_week(wh)


def _detect(plant: bool):  # noqa: ANN202
    w, wh, week = _world(plant)
    return w.truth["anomalies"], alerts.detect(wh, week, params.load({}))


@pytest.mark.slow
def test_demo_world_planted_found_and_quiet_world_silent() -> None:
    planted, found = _detect(True)
    assert len(planted) >= 5
    for p in planted:
        hit = found[(found.week == p["week"]) & (found.entity == p["entity"]) & (found.metric == p["metric"])]
        assert len(hit) == 1, p
        assert hit["direction"].iloc[0] == p["direction"]
        assert hit["size"].iloc[0] == pytest.approx(p["size"], abs=0.2)
    _, quiet = _detect(False)
    assert (quiet["rule"] == "change").sum() == 0, quiet["text"].tolist()


@pytest.mark.slow
def test_level_frames_the_notebook_has_give_the_same_alerts() -> None:
    _, wh, week = _world(True)
    settings = params.load({})
    first = weeks.shift(week, -53)  # as 10_kpis computes them, a year back
    known = {lv: kpis.level_weekly(wh, lv, first=first, last=week) for lv in ("platform", "campaign")}
    found = alerts.detect(wh, week, settings, known=known)
    assert len(found) >= 5
    pd.testing.assert_frame_equal(found, alerts.detect(wh, week, settings))
