"""Attribution known answers: a hand-solvable journey set (every model) and a published worked example."""

from __future__ import annotations

import pandas as pd
import pytest

from mktdash.analytics import attribution
from mktdash.warehouse import schema
from mktdash.warehouse.backend import Warehouse


def journeys(spec: list[tuple[str, list[tuple[str, int]], float | None]]) -> pd.DataFrame:
    rows = []
    for jid, touches, value in spec:
        for ch, day in touches:
            rows.append(
                {
                    "journey_id": jid,
                    "touch_ts": pd.Timestamp("2025-01-01") + pd.Timedelta(days=day),
                    "channel": ch,
                    "campaign_name": f"{ch} c",
                    "converted": value is not None,
                    "conversion_value": value,
                }
            )
    return schema.conform(pd.DataFrame(rows), "touchpoints")


# J1 search(d0) > social(d7) -> 100 ; J2 social -> 50 ; J3 search(d0) > display(d7) > social(d14) -> 200
# J4 display -> no conversion ; J5 search(d0) > social(d7) > search(d14) -> 30.   4 conversions, 380 revenue.
HAND = journeys(
    [
        ("J1", [("search", 0), ("social", 7)], 100.0),
        ("J2", [("social", 0)], 50.0),
        ("J3", [("search", 0), ("display", 7), ("social", 14)], 200.0),
        ("J4", [("display", 0)], None),
        ("J5", [("search", 0), ("social", 7), ("search", 14)], 30.0),
    ]
)
# expected (conversions, revenue) per channel, computed by hand:
EXPECTED = {
    # last touch: social gets J1, J2, J3 (100+50+200); search gets J5 (30)
    "last_touch": {"search": (1, 30), "social": (3, 350), "display": (0, 0)},
    # first touch: search gets J1, J3, J5 (100+200+30); social J2
    "first_touch": {"search": (3, 330), "social": (1, 50), "display": (0, 0)},
    # linear: J1 1/2 each; J3 1/3 each; J5 search 2/3, social 1/3
    # search = 1/2 + 1/3 + 2/3 = 1.5, revenue 50 + 200/3 + 20 ; social = 1/2 + 1 + 1/3 + 1/3, 50 + 50 + 200/3 + 10
    "linear": {
        "search": (1.5, 50 + 200 / 3 + 20),
        "social": (13 / 6, 110 + 200 / 3),
        "display": (1 / 3, 200 / 3),
    },
    # time decay, half-life 7 days: J1 ages 7,0 -> 1/2,1 -> 1/3, 2/3 ; J3 ages 14,7,0 -> 1/7, 2/7, 4/7 ;
    # J5 -> search 1/7 + 4/7 = 5/7, social 2/7.  search = 1/3 + 1/7 + 5/7 = 25/21 ; social = 2/3 + 1 + 4/7 + 2/7 = 53/21
    "time_decay": {
        "search": (25 / 21, 100 / 3 + 200 / 7 + 150 / 7),
        "social": (53 / 21, 200 / 3 + 50 + 800 / 7 + 60 / 7),
        "display": (6 / 21, 400 / 7),
    },
    # position based 40/20/40: J1 1/2 each; J3 .4 search, .2 display, .4 social; J5 .8 search, .2 social
    "position_based": {
        "search": (1.7, 50 + 80 + 24),
        "social": (2.1, 50 + 50 + 80 + 6),
        "display": (0.2, 40),
    },
    # Markov: start->search 3/5, ->social 1/5, ->display 1/5 ; search->social 1/2, ->display 1/4, ->conv 1/4 ;
    # social->conv 3/4, ->search 1/4 ; display->social 1/2, ->null 1/2.  Absorption: a_search = 23/27,
    # a_social = 26/27, a_display = 13/27, P(conv) = (3*23 + 26 + 13)/135 = 0.8.
    # Removal: search -> P = 0.225, RE = 23/32 ; social -> P = 0.15, RE = 13/16 ; display -> P = 43/70, RE = 13/56.
    # Shares RE / sum(RE) = 161/395, 182/395, 52/395 of 4 conversions and 380 revenue.
    "markov": {
        "search": (4 * 161 / 395, 380 * 161 / 395),
        "social": (4 * 182 / 395, 380 * 182 / 395),
        "display": (4 * 52 / 395, 380 * 52 / 395),
    },
    # Shapley of v(S) = conversions of journeys whose channel set is inside S: each journey's conversion is split
    # evenly over its distinct channels (a sum of unanimity games). J5's set is {search, social}: 1/2 each.
    "shapley": {
        "search": (1 / 2 + 1 / 3 + 1 / 2, 50 + 200 / 3 + 15),
        "social": (1 / 2 + 1 + 1 / 3 + 1 / 2, 100 + 200 / 3 + 15),
        "display": (1 / 3, 200 / 3),
    },
}


@pytest.mark.parametrize("model", attribution.MODELS)
def test_hand_solved_credits(model: str) -> None:
    got = attribution.credit(HAND, [model], half_life_days=7.0).set_index("channel")
    for ch, (conv, rev) in EXPECTED[model].items():
        assert got.loc[ch, "conversions"] == pytest.approx(conv, abs=1e-9), (model, ch)
        assert got.loc[ch, "revenue"] == pytest.approx(rev, abs=1e-9), (model, ch)
    assert got["conversions"].sum() == pytest.approx(4) and got["revenue"].sum() == pytest.approx(380)


def test_markov_matches_published_example() -> None:
    """Serhii Puzyrov, "Markov Chain Attribution - Simple Explanation Of Removal Effect" (2019),
    https://serhiipuzyrov.com/2019/07/markov-chain-attribution-simple-explanation-of-removal-effect/ :
    paths google ads (2 conv), mailing (1 conv), google ads > mailing (1 conv), google ads (0 conv). Conversion
    probability 0.8; removal effects 0.75 (google ads) and 0.5 (mailing); 4 conversions -> 2.4 and 1.6."""
    pub = journeys(
        [
            ("a", [("google ads", 0)], 1.0),
            ("b", [("google ads", 0)], 1.0),
            ("c", [("mailing", 0)], 1.0),
            ("d", [("google ads", 0), ("mailing", 1)], 1.0),
            ("e", [("google ads", 0)], None),
        ]
    )
    p = attribution.paths(attribution.touches(pub))
    re, base = attribution.markov_removal_effects(p)
    assert base == pytest.approx(0.8)
    assert re["google ads"] == pytest.approx(0.75) and re["mailing"] == pytest.approx(0.5)
    got = attribution.credit(pub, ["markov"]).set_index("channel")["conversions"]
    assert got["google ads"] == pytest.approx(2.4) and got["mailing"] == pytest.approx(1.6)


def test_shapley_enumeration_equals_closed_form() -> None:
    worth = {
        frozenset({"a"}): 3.0,
        frozenset({"a", "b"}): 2.0,
        frozenset({"a", "b", "c"}): 3.0,
        frozenset({"c"}): 1.0,
    }
    got = attribution.shapley_values(worth, ["a", "b", "c"])
    assert got.to_dict() == pytest.approx({"a": 3 + 1 + 1, "b": 1 + 1, "c": 1 + 1})


def test_side_by_side_from_warehouse_table() -> None:
    wh = Warehouse.memory()
    wh.append("touchpoints", HAND)
    wide = attribution.side_by_side(attribution.credit(wh))
    assert list(wide["channel"]) == ["display", "search", "social"]
    assert {f"{m}_conversions" for m in attribution.MODELS} | {
        f"{m}_revenue" for m in attribution.MODELS
    } <= set(wide.columns)
    for m in attribution.MODELS:
        assert wide[f"{m}_conversions"].sum() == pytest.approx(4)
