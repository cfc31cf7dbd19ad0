"""Multi-touch attribution over the ``touchpoints`` journeys: rule-based and data-driven models.

Models (each gives conversions and revenue credited per channel; every model credits exactly the
conversions and the revenue of the converted journeys):

* ``last_touch``, ``first_touch``, ``linear``;
* ``time_decay``: weight ``2 ** (-(t_last - t) / half_life)`` per touch, normalised within the journey;
* ``position_based`` (U-shaped 40/20/40): 40% to the first and the last touch, 20% split over the middle
  (one touch: 100%; two touches: 50/50);
* ``markov``: first-order Markov chain (start -> channels -> conversion/null) with the removal effect of
  each channel (Anderl et al. 2016), conversions and revenue shared in proportion to removal effects;
* ``shapley``: Shapley value of the cooperative game ``v(S) = conversions (revenue) of converted journeys
  whose channel set is contained in S`` (Zhao et al. 2018, "Shapley value methods for attribution modeling
  in online advertising"), computed by subset enumeration.

Why hand-written: the PyPI candidates do not fit. ``ChannelAttribution`` (Markov only) is GPL-licensed
(ours is Apache-2.0); ``marketing-attribution-models`` (DP6 MAM) is GPL-3.0 and now Polars/Portuguese-only;
``mta`` (0.0.9) is unmaintained, reads its own file layout and loops in pure Python. Each model here is a few
vectorised pandas/numpy lines with known-answer tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import factorial
from typing import Any

import numpy as np
import pandas as pd

from mktdash.reporting import missing

MODELS = ("last_touch", "first_touch", "linear", "time_decay", "position_based", "markov", "shapley")


def touches(source: Any) -> pd.DataFrame:
    """Ordered touches with ``pos`` (0-based), ``n`` (touches in the journey), journey ``converted`` and
    ``value``. ``source``: a Warehouse, an Ibis table or a pandas frame of the ``touchpoints`` table."""
    if hasattr(source, "df") and hasattr(source, "table"):
        df = source.df("touchpoints")
    elif isinstance(source, pd.DataFrame):
        df = source.copy()
    else:
        df = source.to_pandas()
    df = df.sort_values(["journey_id", "touch_ts"], kind="stable").reset_index(drop=True)
    df["channel"] = df["channel"].astype(str)
    g = df.groupby("journey_id", sort=False)
    df["pos"] = g.cumcount()
    df["n"] = g["channel"].transform("size")
    df["converted"] = df["converted"].fillna(False).astype(bool)
    df["converted"] = df.groupby("journey_id", sort=False)["converted"].transform("max").astype(bool)
    df["value"] = g["conversion_value"].transform("max").fillna(0.0).astype(float)
    return df


def _rule_weights(t: pd.DataFrame, model: str, half_life_days: float) -> pd.Series:
    pos, n = t["pos"], t["n"]
    if model == "last_touch":
        return (pos == n - 1).astype(float)
    if model == "first_touch":
        return (pos == 0).astype(float)
    if model == "linear":
        return 1.0 / n
    if model == "time_decay":
        last = t.groupby("journey_id", sort=False)["touch_ts"].transform("max")
        age_days = (last - t["touch_ts"]).dt.total_seconds() / 86400.0
        w = np.power(2.0, -age_days / half_life_days)
        return w / w.groupby(t["journey_id"], sort=False).transform("sum")
    if model == "position_based":
        mid = np.where(n > 2, 0.2 / (n - 2).clip(lower=1), 0.0)
        ends = np.where(n == 1, 1.0, np.where(n == 2, 0.5, 0.4))
        return pd.Series(np.where((pos == 0) | (pos == n - 1), ends, mid), index=t.index)
    raise ValueError(f"unknown rule-based model {model!r}")


def _credit_from_weights(t: pd.DataFrame, w: pd.Series) -> pd.DataFrame:
    c = t[t["converted"]]
    w = w.loc[c.index]
    return (
        pd.DataFrame({"conversions": w, "revenue": w * c["value"], "channel": c["channel"]})
        .groupby("channel")[["conversions", "revenue"]]
        .sum()
    )


def paths(t: pd.DataFrame) -> pd.DataFrame:
    """One row per journey: ``path`` (tuple of channels in order), ``converted``, ``value``."""
    starts = np.flatnonzero(t["pos"].to_numpy() == 0)  # ``touches`` orders rows by journey, then time
    chans = t["channel"].to_numpy(dtype=object)
    bounds = [*starts[1:], len(t)] if len(starts) else []
    return pd.DataFrame(
        {
            "journey_id": t["journey_id"].to_numpy()[starts],
            "path": [tuple(chans[a:b]) for a, b in zip(starts, bounds, strict=True)],
            "converted": t["converted"].to_numpy()[starts],
            "value": t["value"].to_numpy()[starts],
        }
    )


def markov_removal_effects(p: pd.DataFrame) -> tuple[pd.Series, float]:
    """Removal effect per channel and the chain's overall conversion probability (first order).

    Transitions are counted from every journey: start -> first channel, channel -> next channel,
    last channel -> conversion or null.
    """
    channels = sorted({c for path in p["path"] for c in path})
    idx = {c: i for i, c in enumerate(channels)}
    k = len(channels)
    counts = np.zeros((k + 1, k + 2))  # rows: start + channels; cols: channels + conv + null
    start = k
    for path, conv in zip(p["path"], p["converted"], strict=True):
        prev = start
        for c in path:
            counts[prev, idx[c]] += 1
            prev = idx[c]
        counts[prev, k if conv else k + 1] += 1
    rows = counts.sum(axis=1, keepdims=True)
    prob = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)

    def p_conv(removed: int | None) -> float:
        q = prob[:k, :k].copy()
        r = prob[:k, k].copy()
        s = prob[start, :k].copy()
        if removed is not None:  # everything entering the removed channel goes to null
            q[removed, :] = 0.0
            r[removed] = 0.0
        absorb = np.linalg.solve(np.eye(k) - q, r)  # P(conversion | in channel state)
        return float(s @ absorb)

    base = p_conv(None)
    re = {c: (1.0 - p_conv(idx[c]) / base) if base > 0 else 0.0 for c in channels}
    return pd.Series(re, name="removal_effect"), base


def _markov_credit(p: pd.DataFrame) -> pd.DataFrame:
    re, _ = markov_removal_effects(p)
    conv = p[p["converted"]]
    share = re / re.sum() if re.sum() > 0 else re * 0
    return pd.DataFrame({"conversions": share * len(conv), "revenue": share * conv["value"].sum()})


def shapley_values(coalition_worth: dict[frozenset[str], float], players: Sequence[str]) -> pd.Series:
    """Shapley value of each player for the game ``v(S) = sum of worth(T) for T subset of S``.

    >>> shapley_values({frozenset("a"): 2.0, frozenset("ab"): 1.0}, ["a", "b"]).to_dict()
    {'a': 2.5, 'b': 0.5}
    """
    players = list(players)
    n = len(players)
    bit = {p: 1 << i for i, p in enumerate(players)}
    masks = np.array([sum(bit[x] for x in s) for s in coalition_worth], dtype=np.int64)
    worth = np.array(list(coalition_worth.values()), dtype=float)
    full = 1 << n
    v = np.array([worth[(masks & ~s) == 0].sum() for s in range(full)])  # v(S) for every subset
    weight = [factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)]
    size = np.array([bin(s).count("1") for s in range(full)])
    out = {}
    for p in players:
        b = bit[p]
        without = np.array([s for s in range(full) if not s & b])
        out[p] = float(sum(weight[size[s]] * (v[s | b] - v[s]) for s in without))
    return pd.Series(out)


def _shapley_credit(p: pd.DataFrame) -> pd.DataFrame:
    conv = p[p["converted"]]
    players = sorted({c for path in p["path"] for c in path})
    if not players:
        return pd.DataFrame(columns=["conversions", "revenue"])
    sets = conv["path"].map(frozenset)
    n_by = conv.groupby(sets).size().astype(float).to_dict()
    v_by = conv.groupby(sets)["value"].sum().to_dict()
    if len(players) > 16:  # 2^n subsets; the game is a sum of unanimity games, so split evenly per set
        rows = [(c, n / len(s), v_by[s] / len(s)) for s, n in n_by.items() for c in s]
        return pd.DataFrame(rows, columns=["channel", "conversions", "revenue"]).groupby("channel").sum()
    return pd.DataFrame(
        {"conversions": shapley_values(n_by, players), "revenue": shapley_values(v_by, players)}
    )


def credit(source: Any, models: Sequence[str] = MODELS, *, half_life_days: float = 7.0) -> pd.DataFrame:
    """Conversions and revenue credited per channel by each model (long: model, channel, conversions,
    revenue). Without touchpoints: an empty table whose notice says which export would fill it."""
    t = touches(source)
    if t.empty:
        return missing.frame(
            missing.text("touchpoints", "conversions credited by each attribution model"),
            ["model", "channel", "conversions", "revenue"],
        )
    out = []
    p = paths(t) if {"markov", "shapley"} & set(models) else None
    for m in models:
        if m == "markov":
            c = _markov_credit(p)
        elif m == "shapley":
            c = _shapley_credit(p)
        else:
            c = _credit_from_weights(t, _rule_weights(t, m, half_life_days))
        c = c.rename_axis("channel").reset_index()
        c.insert(0, "model", m)
        out.append(c)
    res = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["model", "channel"])
    channels = sorted(t["channel"].unique())
    full = pd.MultiIndex.from_product([list(models), channels], names=["model", "channel"])
    res = res.set_index(["model", "channel"]).reindex(full, fill_value=0.0).reset_index()
    return res.astype({"conversions": float, "revenue": float})


def side_by_side(credits: pd.DataFrame) -> pd.DataFrame:
    """One row per channel; columns ``<model>_conversions`` and ``<model>_revenue`` for every model."""
    if notice := missing.of(credits):
        cols = [f"{m}_{k}" for m in MODELS for k in ("conversions", "revenue")]
        return missing.frame(notice, ["channel", *cols])
    models = list(dict.fromkeys(credits["model"]))
    conv = credits.pivot(index="channel", columns="model", values="conversions")[models].add_suffix(
        "_conversions"
    )
    rev = credits.pivot(index="channel", columns="model", values="revenue")[models].add_suffix("_revenue")
    cols = [c for m in models for c in (f"{m}_conversions", f"{m}_revenue")]
    out = pd.concat([conv, rev], axis=1)[cols].reset_index()
    out.columns.name = None
    return out
