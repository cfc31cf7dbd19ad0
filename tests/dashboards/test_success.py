"""The success metrics, on hand-made archived runs whose answers are worked out below."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from mktdash.dashboards import success

RUNS = {"2026-W44": "20261102T060000Z-a", "2026-W45": "20261109T060000Z-b", "2026-W46": "20261116T060000Z-c"}


def _run(root: Path, week: str, run_id: str, proposals: list, fresh: dict, compliance: float | None) -> Path:
    rd = root / week / run_id
    (rd / "exports").mkdir(parents=True)
    scraps = {"20_budget": {"compliance": compliance}} if compliance is not None else {}
    (rd / "manifest.json").write_text(json.dumps({"week": week, "status": "ok", "scraps": scraps}))
    (rd / "exports" / "proposals.json").write_text(json.dumps(proposals))
    pd.DataFrame({"source": list(fresh), "hours_since": list(fresh.values()), "target_hours": 24.0}).to_csv(
        rd / "exports" / "quality_freshness.csv", index=False
    )
    return rd


@pytest.fixture()
def world(tmp_path: Path) -> dict:
    def prop(pid: str, week: str, channel: str, gain: float) -> dict:
        return {"proposal_id": pid, "run_id": RUNS[week], "week": week, "channel": channel,
                "expected_revenue_change": gain, "status": "pending approval"}  # fmt: skip

    runs = {
        "2026-W44": _run(tmp_path, "2026-W44", RUNS["2026-W44"],
                         [prop("P1", "2026-W44", "search", 1000.0), prop("P2", "2026-W44", "social", 500.0)],
                         {"a": 10.0, "b": 30.0}, 0.90),
        "2026-W45": _run(tmp_path, "2026-W45", RUNS["2026-W45"], [prop("P3", "2026-W45", "search", 2000.0)],
                         {"a": 5.0, "b": 20.0}, 0.97),
        "2026-W46": _run(tmp_path, "2026-W46", RUNS["2026-W46"], [prop("P4", "2026-W46", "display", -300.0)],
                         {"a": 12.0}, None),
    }  # fmt: skip
    approvals = pd.DataFrame(
        {
            "proposal_id": ["P1", "P2", "P3", "P1"],
            "approved_at": pd.to_datetime(
                ["2026-11-03 06:00", "2026-11-04 18:00", "2026-11-10 18:00", "2026-11-20 00:00"]
            ),
            "decision": ["approved", "rejected", "approved", "rejected"],  # P1's later line: cycle closed
        }
    )
    rev = {"2026-W40": 10000, "2026-W41": 10000, "2026-W42": 10000, "2026-W43": 10000, "2026-W44": 10600,
           "2026-W45": 10800, "2026-W46": 11000, "2026-W47": 11400}  # fmt: skip
    revenue = pd.DataFrame(
        {"week": list(rev), "channel": "search", "revenue": [float(v) for v in rev.values()]}
    )
    log = tmp_path / "access.log"
    lines = [("2026-10-27T09:00:00", "alice"), ("2026-10-28T09:00:00", "bob"), ("2026-11-03T09:00:00", "alice"),
             ("2026-11-10T09:00:00", "alice"), ("2026-11-11T09:00:00", "bob"), ("2026-11-12T09:00:00", "carol")]  # fmt: skip
    rows = [json.dumps({"at": t, "login": u, "event": "page"}) for t, u in lines]
    failed = json.dumps({"at": "2026-11-12T10:00:00", "login": "unknown", "event": "login_failed"})
    log.write_text(
        "\n".join([*rows, failed, "not json"]) + "\n"
    )  # as mktdash.dashboards.users.record_access writes
    return {"runs": runs, "approvals": approvals, "revenue": revenue, "log": log}


def test_each_metric_per_week_by_hand(world: dict) -> None:
    t = success.measure(world["runs"], world["approvals"], world["revenue"], world["log"])
    got = t.pivot(index="week", columns="metric", values="value")
    # P1 made 2026-11-02 06:00, decided 11-03 06:00: 24 h; P2 decided 11-04 18:00: 60 h -> median 42 h
    assert got.loc["2026-W44", "decision_cycle_hours"] == pytest.approx(42.0)
    # P3 made 2026-11-09 06:00, decided 11-10 18:00: 36 h
    assert got.loc["2026-W45", "decision_cycle_hours"] == pytest.approx(36.0)
    assert math.isnan(got.loc["2026-W46", "decision_cycle_hours"])  # P4 pending
    assert got["freshness_hours"].tolist() == [30.0, 20.0, 12.0]
    assert got["weekly_active_share"].tolist() == [1.0, 0.5, 1.0]
    assert got.loc["2026-W44", "compliance"] == 0.90 and math.isnan(got.loc["2026-W46", "compliance"])
    # P1 (search, approved in W45): after = W46, W47 -> 11200; before = W40..W43 -> 10000; 1200 / 1000
    assert got.loc["2026-W44", "realized_vs_predicted"] == pytest.approx(1.2)
    # P3 (approved in W46): after = W47 -> 11400; before = W41..W44 -> 10150; 1250 / 2000
    assert got.loc["2026-W45", "realized_vs_predicted"] == pytest.approx(0.625)


def test_the_panel_shows_latest_values_against_targets(world: dict) -> None:
    t = success.measure(world["runs"], world["approvals"], world["revenue"], world["log"])
    out = success.panel_html(t, success.freshness({"2026-W46": world["runs"]["2026-W46"]}))
    tiles = dict(re.findall(r'data-metric="(\w+)" data-value="([^"]*)"', out))
    assert float(tiles["compliance"]) == 0.97 and float(tiles["freshness_hours"]) == 12.0
    assert float(tiles["realized_vs_predicted"]) == 0.625
    assert "W44 90 % · W45 97 %" in out and "target under 48 h" in out
    assert '<div class="mk-wow mk-good">target at least 85 %</div>' in out


def test_no_access_log_says_no_data() -> None:
    assert success.weekly_active(None, ["2026-W46"]).empty
    out = success.panel_html(pd.DataFrame(columns=["week", "metric", "value"]))
    assert out.count("no data yet") == len(success.TARGETS)
