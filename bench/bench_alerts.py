"""Alert precision and recall over seeded demo worlds (plant=True) and false alarms on planted-nothing worlds.

Usage: .venv/bin/python bench/bench_alerts.py [--quick] [--seeds N]

Recall = planted anomalies found (same week, entity, metric). Precision (change alerts only; target
opportunities are reported apart) counts an alert as explained when it is in a planted week and its metric is
a planted metric or a direct consequence (``alerts.CONSEQUENCES``) on the planted entity, its channel/platform
or, for a channel-level plant, a campaign of that channel. Baseline in the same run: the naive rule
"|week vs trailing mean| >= min_relative_change" without any test.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from mktdash import params, weeks
from mktdash.analytics import alerts, kpis
from mktdash.demo import world
from mktdash.warehouse import schema
from mktdash.warehouse.backend import Warehouse


def load(w: world.World) -> Warehouse:
    wh = Warehouse.memory()
    for name, df in w.tables.items():
        if name == "ad_daily":
            wh.append(name, schema.conform(df, name))
    return wh


def explained(a: pd.Series, plants: list[dict], camp: pd.DataFrame) -> bool:
    for p in plants:
        if a["week"] != p["week"] or a["metric"] not in alerts.CONSEQUENCES[p["metric"]]:
            continue
        if a["entity"] == p["entity"]:
            return True
        row = camp[camp["campaign_name"] == p["entity"]]
        parent = p["level"] == "campaign" and a["level"] in ("channel", "platform")
        if parent and len(row) and a["entity"] in set(row[a["level"]]):
            return True
        child = p["level"] == "channel" and a["level"] in ("campaign", "platform")
        col = "campaign_name" if a["level"] == "campaign" else "platform"
        if child and a["entity"] in set(camp.loc[camp["channel"] == p["entity"], col]):
            return True
    return False


def naive(wh: Warehouse, week: str, s: params.Settings) -> int:
    """Alerts a threshold-only rule would raise (same levels, metrics, weeks)."""
    n = 0
    for lv in s.alerts.levels:
        w = kpis.level_weekly(wh, lv, first=weeks.shift(week, -(s.alerts.history_weeks + 4)), last=week)
        for h in range(s.alerts.history_weeks + 1):
            cmp = kpis.compare(
                w, weeks.shift(week, -h), ["entity"], trailing_weeks=4, metrics=s.alerts.metrics
            )
            n += int((cmp["vs_trailing"].abs() >= s.alerts.min_relative_change).sum())
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="3 seeds instead of 20")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--weeks", type=int, default=106, help="complete weeks per world (>= baseline + history)")
    args = ap.parse_args()
    n = 3 if args.quick else args.seeds
    s = params.load({})
    rows = []
    t0 = time.time()
    for seed in range(1, n + 1):
        for plant in (True, False):
            w = world.simulate(seed=seed, weeks=args.weeks, plant=plant, end="2026-11-22")
            wh = load(w)
            week = kpis.resolve_week(wh)
            a = alerts.detect(wh, week, s)
            ch = a[a["rule"] == "change"] if len(a) else a
            camp = wh.df(wh.table("ad_daily").select("campaign_name", "channel", "platform").distinct())
            plants = w.truth["anomalies"]
            found = (
                sum(
                    any(
                        (ch["week"] == p["week"])
                        & (ch["entity"] == p["entity"])
                        & (ch["metric"] == p["metric"])
                    )
                    for p in plants
                )
                if len(ch)
                else 0
            )
            for p in plants:
                if not (
                    len(ch)
                    and any(
                        (ch["week"] == p["week"])
                        & (ch["entity"] == p["entity"])
                        & (ch["metric"] == p["metric"])
                    )
                ):
                    print(
                        f"  missed (seed {seed}): {p['week']} {p['level']} {p['entity']} {p['metric']} {p['size']}"
                    )
            expl = 0
            for _, r in ch.iterrows():
                if plants and explained(r, plants, camp):
                    expl += 1
                else:
                    print(f"  unexplained (seed {seed}, plant={plant}): {r['text']}")
            rows.append(
                {
                    "seed": seed,
                    "plant": plant,
                    "planted": len(plants),
                    "found": found,
                    "alerts": len(ch),
                    "explained": expl,
                    "target_opps": int((a["rule"] == "target").sum()) if len(a) else 0,
                    "naive_alerts": naive(wh, week, s),
                }
            )
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    p, q = df[df.plant], df[~df.plant]
    recall = p["found"].sum() / max(p["planted"].sum(), 1)
    precision = p["explained"].sum() / max(p["alerts"].sum(), 1)
    print("\n" + df.to_string(index=False))
    print(f"\nworlds: {n} planted + {n} planted-nothing; {time.time() - t0:.0f} s")
    print(f"recall    {recall:.3f}  ({p['found'].sum()}/{p['planted'].sum()} planted anomalies found)")
    print(
        f"precision {precision:.3f}  ({p['explained'].sum()}/{p['alerts'].sum()} change alerts explained by a plant)"
    )
    print(
        f"false alarms on planted-nothing worlds: {q['alerts'].sum()} change alerts in {n} worlds "
        f"({(q['alerts'] > 0).mean():.0%} of worlds with any)"
    )
    print(
        f"naive threshold rule (no test): {q['naive_alerts'].sum()} alerts on planted-nothing worlds "
        f"(ratio tested/naive = {q['alerts'].sum() / max(q['naive_alerts'].sum(), 1):.3f})"
    )


if __name__ == "__main__":
    main()
