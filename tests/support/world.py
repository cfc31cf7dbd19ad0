"""A small published world for the dashboard tests and benchmark (not a test module).

Builds, under a ``MKTDASH_HOME``: a DuckDB warehouse (from ``mktdash.demo.world.simulate`` when the demo
package provides it, else minimal canonical frames made here, including a campaign named
``<script>alert(1)</script>``), run folders with the exports of docs/contracts.md for the last few weeks, and a
published snapshot (``mktdash.dashboards.publish.publish``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

HOSTILE = "<script>alert(1)</script>"
CHANNELS = {
    "search": ["google_ads", "microsoft_ads"],
    "social": ["meta", "linkedin", "tiktok"],
    "display": ["google_ads"],
    "video": ["google_ads"],
    "shopping": ["google_ads"],
}


def _demo_tables(seed: int, scale: float, end: dt.date, n_weeks: int) -> dict[str, pd.DataFrame] | None:
    if os.environ.get("MKTDASH_TEST_OWN_WORLD"):
        return None
    try:
        from mktdash.demo import world  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        w = world.simulate(seed=seed, scale=scale, end=end, weeks=n_weeks, plant=True, hostile_names=True)
    except Exception as e:  # the demo package is optional here: fall back to the minimal world
        import warnings

        warnings.warn(
            f"mktdash.demo.world.simulate failed ({e!r}); using the minimal test world", stacklevel=2
        )
        return None
    tables = dict(w.tables)
    if not tables.get("ad_daily", pd.DataFrame()).campaign_name.eq(HOSTILE).any():
        return None
    return tables


def own_tables(seed: int, scale: float, end: dt.date, n_weeks: int) -> dict[str, pd.DataFrame]:
    """Minimal canonical frames: ``ad_daily`` with ~40*scale ads per day plus the cross-domain tables."""
    rng = np.random.default_rng(seed)
    last_sunday = end - dt.timedelta(days=end.isoweekday() % 7)
    days = pd.date_range(last_sunday - dt.timedelta(days=7 * n_weeks - 1), last_sunday, freq="D")
    ads = []
    k = 0
    per = max(1, round(8 * scale))
    for ch, plats in CHANNELS.items():
        for plat in plats:
            for c in range(max(1, per // len(plats))):
                name = (
                    HOSTILE
                    if (ch == "search" and plat == "google_ads" and c == 0)
                    else f"{ch.title()} {plat} C{c:03d}"
                )
                for a in range(1 if scale < 5 else 3):
                    ads.append((ch, plat, f"cmp-{k:05d}", name, f"ad-{k:05d}-{a}"))
                k += 1
    nd, na = len(days), len(ads)
    meta = pd.DataFrame(ads, columns=["channel", "platform", "campaign_id", "campaign_name", "ad_id"])
    base = rng.gamma(2.0, 60.0, na)
    idx_d = np.repeat(np.arange(nd), na)
    idx_a = np.tile(np.arange(na), nd)
    season = 1 + 0.2 * np.sin(np.arange(nd) / 7.0)
    spend = base[idx_a] * season[idx_d] * rng.lognormal(0, 0.25, nd * na)
    impressions = (spend * rng.uniform(80, 200, nd * na)).astype("int64")
    clicks = (impressions * rng.uniform(0.005, 0.04, nd * na)).astype("int64")
    conv = np.round(clicks * rng.uniform(0.02, 0.08, nd * na), 2)
    value = conv * rng.uniform(40, 120, nd * na)
    m = meta.iloc[idx_a].reset_index(drop=True)
    ad = pd.DataFrame(
        {
            "date_day": days[idx_d],
            "platform": m["platform"],
            "source_relation": "test",
            "account_id": "acc-" + m["platform"],
            "account_name": m["platform"] + " account",
            "campaign_id": m["campaign_id"],
            "campaign_name": m["campaign_name"],
            "ad_group_id": m["campaign_id"] + "-g",
            "ad_group_name": "group",
            "ad_id": m["ad_id"],
            "ad_name": "ad",
            "clicks": clicks,
            "impressions": impressions,
            "spend": spend,
            "conversions": conv,
            "conversions_value": value,
            "channel": m["channel"],
            "currency": "USD",
            "spend_reporting": spend,
            "conversions_value_reporting": value,
            "ingest_id": "test",
        }
    )
    web = pd.DataFrame(
        {
            "date_day": days,
            "property_id": "p1",
            "channel_group": "Paid Search",
            "sessions": 1000,
            "engaged_sessions": 600,
            "users": 800,
            "key_events": 30.0,
            "revenue": rng.uniform(20000, 30000, nd),
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(nd * 2)],
            "crm": "hubspot",
            "deal_name": "deal",
            "stage": "won",
            "is_closed": True,
            "is_won": [i % 3 == 0 for i in range(nd * 2)],
            "amount": 1000.0 + np.arange(nd * 2),
            "currency": "USD",
            "amount_reporting": 1000.0 + np.arange(nd * 2),
            "created_date": np.repeat(days, 2),
            "close_date": np.repeat(days, 2),
            "channel": "search",
        }
    )
    usage = pd.DataFrame(
        {
            "date_day": np.repeat(days, 5),
            "customer_id": [f"u{i % 5 + (d % 3)}" for d in range(nd) for i in range(5)],
            "feature": "reports",
            "events": 3,
            "active_users": 2,
        }
    )
    health = pd.DataFrame(
        {
            "snapshot_date": np.repeat(days[6::7], 4),
            "customer_id": [f"u{i}" for _ in days[6::7] for i in range(4)],
            "acquisition_channel": "search",
            "plan": "pro",
            "mrr": 500.0,
            "health_score": np.tile([60.0, 70.0, 80.0, 90.0], len(days[6::7])),
            "churned": np.tile([False, False, False, True], len(days[6::7])),
        }
    )
    targets = pd.DataFrame(
        {
            "metric": ["revenue", "roas", "cpa"],
            "level": "total",
            "entity": "all",
            "period": "week",
            "target": [float(value.sum() / n_weeks * 1.1), 4.0, 50.0],
        }
    )
    return {
        "ad_daily": ad,
        "web_daily": web,
        "crm_deals": deals,
        "product_usage": usage,
        "customer_health": health,
        "kpi_targets": targets,
    }


def load_warehouse(tables: dict[str, pd.DataFrame], path: Path) -> None:
    from mktdash.warehouse import schema
    from mktdash.warehouse.backend import Warehouse

    with Warehouse.open(path) as wh:
        wh.ensure_tables()
        for name, df in tables.items():
            if name in schema.TABLES:
                wh.append(name, schema.conform(df, name))
        wh.checkpoint()


def write_run(
    wh_path: Path,
    week: str,
    run_id: str,
    runs_dir: Path,
    *,
    hostile_alert: bool = True,
    real_alerts: bool = True,
) -> Path:
    """A run folder with manifest (status ok) and the docs/contracts.md exports computed by SQL from the warehouse."""
    import duckdb

    rd = runs_dir / week / run_id
    (rd / "exports").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(wh_path), read_only=True)
    try:
        kpi = con.execute("""
            SELECT strftime(date_day, '%G-W%V') AS week, channel, sum(impressions) AS impressions,
                   sum(clicks) AS clicks, sum(spend_reporting) AS spend, sum(conversions) AS conversions,
                   sum(conversions_value_reporting) AS revenue
            FROM ad_daily GROUP BY ALL ORDER BY week, channel""").df()
        camp = con.execute(
            """
            SELECT campaign_name, channel, sum(spend_reporting) AS spend FROM ad_daily
            WHERE strftime(date_day, '%G-W%V') = ? GROUP BY ALL ORDER BY spend DESC""",
            [week],
        ).df()
    finally:
        con.close()
    kpi["ctr"] = kpi.clicks / kpi.impressions
    kpi["cvr"] = kpi.conversions / kpi.clicks
    kpi["cpc"] = kpi.spend / kpi.clicks
    kpi["cpa"] = kpi.spend / kpi.conversions
    kpi["roas"] = kpi.revenue / kpi.spend
    wk = kpi[kpi.week == week].reset_index(drop=True)
    alerts = [
        {
            "week": week,
            "level": "channel",
            "entity": r.channel,
            "channel": r.channel,
            "metric": "roas",
            "direction": "down" if i % 2 else "up",
            "kind": "problem" if i % 2 else "opportunity",
            "size": -0.2 if i % 2 else 0.25,
            "z": 3.1,
            "impact": float(1000 * (i + 1)),
            "text": f"ROAS of {r.channel} moved {'down' if i % 2 else 'up'} {20 + i}% vs 4-week average",
        }
        for i, r in wk.iterrows()
    ]
    try:  # the colleagues' KPI and alert libraries, when present, write the real exports
        from mktdash.analytics import alerts as alerts_mod
        from mktdash.analytics import kpis as kpis_mod
        from mktdash.warehouse.backend import Warehouse

        with Warehouse.open(wh_path, read_only=True) as wh:
            kpi = kpis_mod.channel_weekly(wh)
            if real_alerts:  # ~10 s each on a busy machine: only for the published week
                found = alerts_mod.records(alerts_mod.detect(wh, week))
                alerts = [a for a in found if a.get("week") == week] + alerts
    except ImportError:
        pass
    kpi.to_csv(rd / "exports" / "kpi_channel_weekly.csv", index=False)
    if hostile_alert:
        alerts.append(
            {
                "week": week,
                "level": "campaign",
                "entity": HOSTILE,
                "channel": "search",
                "metric": "ctr",
                "direction": "down",
                "kind": "problem",
                "size": -0.4,
                "z": 4.0,
                "impact": 99999.0,
                "text": f"CTR of {HOSTILE} fell 40%",
            }
        )
    (rd / "exports" / "alerts.json").write_text(json.dumps(alerts, indent=1), encoding="utf-8")
    budget = pd.DataFrame(
        {
            "channel": wk.channel,
            "current_weekly_spend": wk.spend,
            "recommended_weekly_spend": wk.spend * np.linspace(0.8, 1.2, len(wk)),
            "lower_bound": wk.spend * 0.5,
            "upper_bound": wk.spend * 1.5,
            "expected_revenue_current": wk.revenue,
            "expected_revenue_recommended": wk.revenue * 1.05,
        }
    )
    budget.to_csv(rd / "exports" / "budget_recommendation.csv", index=False)
    roi = pd.DataFrame(
        {
            "channel": wk.channel,
            "roi_mean": wk.roas,
            "roi_lower_90": wk.roas * 0.7,
            "roi_upper_90": wk.roas * 1.3,
            "period_start": "2025-01-01",
            "period_end": "2025-12-31",
        }
    )
    roi.to_csv(rd / "exports" / "mmm_channel_roi.csv", index=False)
    i = int(run_id[-1]) if run_id[-1].isdigit() else 0  # what the success panel reads, known per run
    fresh = {"source": ["google_ads/1", "meta/2", "ga4/3"], "hours_since": [6.0 + i, 30.0 - 5 * i, 12.0]}
    pd.DataFrame({**fresh, "target_hours": 24.0}).to_csv(
        rd / "exports" / "quality_freshness.csv", index=False
    )
    scraps = {"20_budget": {"compliance": 0.9 + 0.02 * i}}
    (rd / "manifest.json").write_text(
        json.dumps(
            {
                "run_id": run_id,
                "week": week,
                "status": "ok",
                "finished_at": f"{week}T{run_id}",
                "scraps": scraps,
            }
        ),
        encoding="utf-8",
    )
    del camp
    return rd


def build(
    home: Path,
    *,
    scale: float = 1.0,
    n_weeks: int = 16,
    seed: int = 7,
    runs: int = 3,
    end: dt.date | None = None,
    minimal: bool = False,
    real_alerts: bool = True,
) -> dict[str, object]:
    """Create the whole world under ``home`` (call with MKTDASH_HOME=home); returns weeks and paths.

    ``minimal``: the small hand-made world and hand-made alerts only (fast unit tests).
    """
    from mktdash import paths, weeks
    from mktdash.dashboards import publish

    assert paths.home() == home.resolve(), "set MKTDASH_HOME to home first"
    end = end or dt.date(2026, 11, 22)
    tables = (None if minimal else _demo_tables(seed, scale, end, n_weeks)) or own_tables(
        seed, scale, end, n_weeks
    )
    wh_path = paths.warehouse_path()
    load_warehouse(tables, wh_path)
    last = weeks.latest_complete(end)
    wks = [weeks.shift(last, -i) for i in range(runs)][::-1]
    run_dirs = [
        write_run(
            wh_path,
            w,
            f"20261123T{i:02d}0000Z-r{i}",
            paths.runs_dir(),
            real_alerts=real_alerts and not minimal and i == len(wks) - 1,
        )
        for i, w in enumerate(wks)
    ]
    (paths.outputs_dir() / "index.html").write_text(
        "<!doctype html><title>Run archive</title><h1>Run archive</h1><ul>"
        + "".join(
            f'<li><a href="runs/{w}/{r.name}/manifest.json">{w}</a></li>'
            for w, r in zip(wks, run_dirs, strict=True)
        )
        + "</ul>",
        encoding="utf-8",
    )
    snap = publish.publish(run_dirs[-1], wh_path)
    return {
        "weeks": wks,
        "run_dirs": run_dirs,
        "warehouse": wh_path,
        "snapshot": snap,
        "ad_rows": int(len(tables["ad_daily"])),
    }
