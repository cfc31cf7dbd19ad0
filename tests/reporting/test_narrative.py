"""Plain words first: the sentence each alert leads with and the executive summary's opening, written out by
hand for known inputs."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from mktdash.reporting import narrative


@pytest.mark.parametrize(
    ("alert", "want"),
    [
        (
            {"level": "campaign", "entity": "Meta - Retargeting - DPA", "metric": "ctr", "direction": "down",
             "kind": "problem", "size": -0.394, "week": "2026-W47", "impact": 6567.0},
            "Meta - Retargeting - DPA gets 39 % fewer clicks per impression than usual since W47: about $6.57k at "
            "stake this week. Refresh the creatives or check targeting.",
        ),
        (
            {"level": "platform", "entity": "microsoft_ads", "metric": "spend", "direction": "up", "kind": "problem",
             "size": 0.49, "week": "2026-W47", "impact": 5697.0},
            "Microsoft Ads spent 49 % more than usual since W47: about $5.7k at stake this week. Check budgets and "
            "bids are as intended.",
        ),
        (
            {"level": "channel", "entity": "display", "metric": "roas", "direction": "down", "kind": "problem",
             "size": -0.497, "week": "2026-W46", "impact": 12293.0},
            "The display channel returns 50 % less revenue per dollar than usual since W46: about $12.3k at stake "
            "this week. Check bids, creatives, landing page and tracking.",
        ),
        (
            {"level": "campaign", "entity": "Meta - Prospecting - Lookalikes", "metric": "cvr", "direction": "up",
             "kind": "opportunity", "size": 0.34, "week": "2026-W47", "impact": 3402.0},
            "Meta - Prospecting - Lookalikes converts 34 % more than usual since W47: about $3.4k to gain this "
            "week. Consider moving budget here.",
        ),
        (
            {"level": "campaign", "entity": "Search - Brand", "metric": "roas", "direction": "up",
             "kind": "opportunity", "size": 0.484, "week": "2026-W47", "impact": 4194.0, "rule": "target",
             "baseline": 2.4},
            "Search - Brand beats its ROAS target of 2.40× by 48 % week after week: about $4.19k more revenue with "
            "20 % more spend. Consider more budget.",
        ),
        ({"entity": "x", "text": "CTR of x fell 40%"}, "CTR of x fell 40%"),  # not ours: its own words
    ],
)  # fmt: skip
def test_each_alert_leads_with_a_sentence_a_director_can_act_on(alert: dict, want: str) -> None:
    assert narrative.plain(alert, "USD") == want


def test_the_statistics_sit_behind_a_closed_details_toggle_and_text_is_escaped() -> None:
    a = {"level": "campaign", "entity": "<b>x</b>", "metric": "cvr", "kind": "problem", "size": -0.5,
         "week": "2026-W45", "impact": 100.0, "z": -6.58, "p_value": 4.7e-11, "q_value": 9.1e-09,
         "text": "CVR down 50% (two-proportion z-test)"}  # fmt: skip
    out = narrative.item_html(a, "EUR", "mk-problem")
    plain = re.search(r'<p class="mk-plain">(.*?)</p>', out).group(1)
    assert plain.startswith(
        "&lt;b&gt;x&lt;/b&gt; converts 50 % less than usual since W45: about €100 at stake"
    )
    stats = re.search(r"<details class=\"mk-stats\"><summary>Statistics</summary><p>(.*?)</p></details>", out)
    assert (
        stats.group(1)
        == "CVR down 50% (two-proportion z-test) (z = -6.6, p_value = 4.7e-11, q_value = 9.1e-09)"
    )
    assert "<details open" not in out and "<b>" not in out
    ours = narrative.item_html({**a, "text": "CVR down 50% (z = -6.6, p = 4.7e-11)"}, "EUR")
    assert "p_value" not in ours  # the statistics the text already gives are not repeated


def test_the_week_in_three_sentences() -> None:
    tiles = {
        "revenue": {"value": 348_043.0, "prev": 335_601.0},
        "spend": {"value": 164_702.0, "prev": 152_653.0},
        "roas": {"value": 2.113, "prev": 2.198},
    }
    movers = pd.DataFrame(
        {
            "level": ["channel", "channel", "campaign", "campaign"],
            "entity": ["search", "social", "Search - Brand", "Meta - DPA"],
            "revenue": [140_000.0, 90_000.0, 50_000.0, 10_000.0],
            "revenue_prev": [130_000.0, 92_000.0, 42_000.0, 16_000.0],
        }
    )
    proposals = [
        {"status": "pending approval", "expected_revenue_change": 14_517.0},
        {"status": "pending approval", "expected_revenue_change": -4_010.0},
        {"status": "approved", "expected_revenue_change": 99_999.0},
    ]
    alerts = [{"level": "channel", "entity": "display", "metric": "roas", "kind": "problem", "size": -0.5,
               "week": "2026-W47", "impact": 12_293.0}]  # fmt: skip
    got = narrative.week_summary(
        week="2026-W47", currency="USD", tiles=tiles, movers=movers, proposals=proposals, alerts=alerts
    )
    # revenue +12,442 (+3.7 %); spend +7.9 %; search moved +10k, Search - Brand +8k; 2 pending moves +10,507
    assert got == [
        "Revenue was $348k in W47, up 3.7 % on the week before (+$12.4k); spend $165k (up 7.9 %), ROAS 2.11× "
        "against 2.20×.",
        "Most of the change came from search (+$10k); the campaign that moved most: Search - Brand (+$8k).",
        "To decide: 2 budget moves await approval (expected +$10.5k revenue a week); the top alert: The display "
        "channel returns 50 % less revenue per dollar than usual since W47: about $12.3k at stake this week. "
        "Check bids, creatives, landing page and tracking.",
    ]
    falling = {"revenue": {"value": 90.0, "prev": 100.0}}
    why = narrative.week_summary(week="2026-W47", currency="USD", tiles=falling, movers=movers)[1]
    assert why.startswith(
        "Most of the change came from social (-$2k); the campaign that moved most: Meta - DPA"
    )


def test_a_quiet_week_says_so() -> None:
    got = narrative.week_summary(week="2026-W47", currency="USD", tiles={})
    assert got == ["No revenue recorded in W47.", "Nothing waits for a decision this week."]
