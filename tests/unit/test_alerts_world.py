"""On the demo world every planted anomaly is found; the same world without plants gives no alerts.

The default demo world (seed 7, end 2026-11-22, one of the 20 worlds of bench/bench_alerts.py); the bench
reports recall/precision over all of them. Its search-campaign CVR plant is only found relative to the rest of
the channel (the campaign's CVR moves with the channel's), so this also guards the parent-adjusted test.
"""

from __future__ import annotations

import pytest

from mktdash import alerts, kpis, params, schema
from mktdash.warehouse import Warehouse

world = pytest.importorskip("mktdash.demo.world")


def _detect(plant: bool):  # noqa: ANN202
    w = world.simulate(seed=7, end="2026-11-22", plant=plant)
    wh = Warehouse.memory()
    wh.append("ad_daily", schema.conform(w.tables["ad_daily"], "ad_daily"))
    week = kpis.resolve_week(wh)
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
