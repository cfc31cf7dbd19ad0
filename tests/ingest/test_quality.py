"""Per-file hard checks (line and column of planted errors) and the warehouse scorecard (exact planted gaps,
a stale source, counts equal to independent SQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mktdash import params
from mktdash.ingest import quality, scorecard
from mktdash.ingest.sources import ga4
from mktdash.ingest.sources.base import ReadContext, SourceError
from mktdash.warehouse.backend import Warehouse
from mktdash.warehouse.schema import conform

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
TODAY = dt.date(2025, 11, 21)


def ad_frame(n: int = 10, first_line: int = 4) -> pd.DataFrame:
    df = conform(
        pd.DataFrame(
            {
                "date_day": pd.date_range("2025-11-01", periods=n),
                "platform": ["google_ads"] * (n // 2) + ["meta"] * (n - n // 2),
                "account_id": "a1",
                "campaign_name": "Brand",
                "clicks": np.arange(n) + 1,
                "impressions": (np.arange(n) + 1) * 100,
                "spend": np.full(n, 10.0),
                "conversions": np.full(n, 0.5),
                "conversions_value": 5.0,
            }
        ),
        "ad_daily",
    )
    df["_line"] = np.arange(n) + first_line
    return df


def test_clean_frame_passes() -> None:
    assert quality.validate(ad_frame(), "ad_daily", file="x.csv", today=TODAY) == []


def test_negative_spend_names_line_and_column() -> None:
    df = ad_frame()
    df.loc[3, "spend"] = -12.5  # line 7
    df.loc[6, "spend"] = -1.0  # line 10
    with pytest.raises(SourceError) as e:
        quality.validate(df, "ad_daily", file="/inbox/meta_export.csv", today=TODAY)
    err = e.value
    assert (err.line, err.column) == (7, "spend")
    assert "meta_export.csv" in str(err) and "-12.5" in str(err) and "1 more failure" in str(err)
    assert err.hint  # says what to do


def test_future_date_rejected_and_tolerance_from_settings() -> None:
    df = ad_frame()  # 2025-11-01 .. 2025-11-10
    with pytest.raises(SourceError, match="future") as e:
        quality.validate(df, "ad_daily", file="x.csv", today=dt.date(2025, 11, 8))
    assert (e.value.line, e.value.column) == (12, "date_day")  # 2025-11-09 is row 8 -> line 12
    s = params.load({"ingest": {"max_future_days": 2}})
    assert quality.validate(df, "ad_daily", file="x.csv", today=dt.date(2025, 11, 8), settings=s) == []


def test_clicks_above_impressions_is_an_error() -> None:
    df = ad_frame()
    df.loc[1, "clicks"] = 10_000
    with pytest.raises(SourceError, match="clicks greater than impressions") as e:
        quality.validate(df, "ad_daily", file="x.csv", today=TODAY)
    assert (e.value.line, e.value.column) == (5, "clicks")


def test_conversions_above_clicks_error_on_search_platform_warning_on_social() -> None:
    df = ad_frame()
    df.loc[7, "conversions"] = 99.0  # meta: allowed (view-through), a warning
    warnings = quality.validate(df, "ad_daily", file="x.csv", today=TODAY)
    assert len(warnings) == 1 and "conversions > clicks" in warnings[0] and "line 11" in warnings[0]
    df.loc[2, "conversions"] = 99.0  # google_ads: guaranteed per click, an error
    with pytest.raises(SourceError) as e:
        quality.validate(df, "ad_daily", file="x.csv", today=TODAY)
    assert (e.value.line, e.value.column) == (6, "conversions")


def test_duplicate_key_within_file_names_both_lines() -> None:
    df = ad_frame()
    df.loc[5, ["date_day", "platform"]] = [df.loc[4, "date_day"], df.loc[4, "platform"]]
    with pytest.raises(SourceError, match="same .* as line 8") as e:
        quality.validate(df, "ad_daily", file="x.csv", today=TODAY)
    assert e.value.line == 9


def test_missing_required_key_and_wrong_type() -> None:
    df = ad_frame()
    df.loc[0, "platform"] = pd.NA
    with pytest.raises(SourceError, match="missing required value") as e:
        quality.validate(df, "ad_daily", file="x.csv", today=TODAY)
    assert (e.value.line, e.value.column) == (4, "platform")
    df = ad_frame()
    df["clicks"] = df["clicks"].astype("float64") + 0.5
    with pytest.raises(SourceError, match="wrong type") as e:
        quality.validate(df, "ad_daily", file="x.csv", today=TODAY)
    assert e.value.column == "clicks"


@pytest.mark.parametrize(
    ("table", "column", "value", "match"),
    [
        ("spend_limits", "period", "fortnight", "unexpected value"),
        ("customer_health", "health_score", 140.0, "out of range"),
        ("fx_rates", "rate_to_reporting", 0.0, "rate not greater than zero"),
    ],
)
def test_other_table_rules(table: str, column: str, value: object, match: str) -> None:
    base = {
        "spend_limits": {"channel": ["search"], "period": ["week"], "limit_amount": [10.0]},
        "customer_health": {
            "snapshot_date": [pd.Timestamp("2025-11-01")],
            "customer_id": ["c"],
            "health_score": [50.0],
        },
        "fx_rates": {
            "date_day": [pd.Timestamp("2025-11-01")],
            "currency": ["EUR"],
            "rate_to_reporting": [1.1],
        },
    }[table]
    df = conform(pd.DataFrame(base), table).assign(_line=2)
    assert quality.validate(df, table, file="f.csv", today=TODAY) == []
    df[column] = pd.Series([value], dtype=df[column].dtype)
    with pytest.raises(SourceError, match=match) as e:
        quality.validate(df, table, file="f.csv", today=TODAY)
    assert (e.value.line, e.value.column) == (2, column)


def test_real_reader_output_validates() -> None:
    r = ga4.read(FIX / "ga4_traffic_acquisition_daily.csv", ReadContext(pii_salt="s"))
    assert quality.validate(r.frame, "web_daily", file="ga4.csv", today=TODAY) == []


def test_open_deal_with_future_close_date_is_fine() -> None:
    df = conform(
        pd.DataFrame(
            {
                "deal_id": ["1"],
                "crm": ["hubspot"],
                "stage": ["Open"],
                "created_date": [pd.Timestamp("2025-11-01")],
                "close_date": [pd.Timestamp("2026-03-01")],
            }
        ),  # fmt: skip
        "crm_deals",
    ).assign(_line=2)
    assert quality.validate(df, "crm_deals", file="deals.csv", today=TODAY) == []


# ---- scorecard -----------------------------------------------------------------------------------------------
GAPS = {
    ("meta", "m1"): [
        (dt.date(2025, 11, 5), dt.date(2025, 11, 7)),
        (dt.date(2025, 11, 12), dt.date(2025, 11, 12)),
    ]
}


@pytest.fixture
def small_wh() -> Warehouse:
    wh = Warehouse.memory()
    wh.ensure_tables()
    rows = []
    for plat, acct, last in [("google_ads", "g1", 20), ("meta", "m1", 20), ("tiktok", "t1", 15)]:
        for d in pd.date_range("2025-11-01", f"2025-11-{last}"):
            if any(a <= d.date() <= b for a, b in GAPS.get((plat, acct), [])):
                continue
            rows.append({"date_day": d, "platform": plat, "account_id": acct, "campaign_name": "C1", "clicks": 10,
                         "impressions": 100, "spend": 5.0, "conversions": 1.5, "ingest_id": "i1"})  # fmt: skip
    ad = conform(pd.DataFrame(rows), "ad_daily")
    wh.append("ad_daily", ad)
    wh.append("ad_daily", ad.iloc[:2])  # two duplicated rows
    wh.append("crm_deals", conform(pd.DataFrame({
        "deal_id": ["1", "2", "3"], "crm": "hubspot", "stage": ["Closed Won", "Open", "Closed Won"],
        "is_won": [True, False, True], "created_date": pd.to_datetime(["2025-11-03", "2025-11-04", "2025-11-19"])}),
        "crm_deals"))  # fmt: skip
    wh.append("ingest_ledger", conform(pd.DataFrame({
        "ingest_id": ["i1", "i2", "i3", "i4"], "file_name": ["a.csv", "b.csv", "c.csv", "d.csv"],
        "source": "google_ads_ui", "table_name": "ad_daily", "rows": [10, 20, 0, 0],
        "status": ["loaded", "loaded", "duplicate", "quarantined"], "reconciled": [True, False, None, None],
        "loaded_at": pd.Timestamp("2025-11-21")}), "ingest_ledger"))  # fmt: skip
    wh.append("quarantine", conform(pd.DataFrame({
        "ingest_id": ["i4"], "file_name": ["d.csv"], "source": ["meta"], "line": [7], "column_name": ["spend"],
        "error": ["negative value"], "hint": ["fix"], "quarantined_at": [pd.Timestamp("2025-11-21")]}),
        "quarantine"))  # fmt: skip
    return wh


def test_scorecard_finds_exact_gaps_and_stale_source(small_wh: Warehouse) -> None:
    sc = scorecard.scorecard(small_wh, params.load({}), today=TODAY)
    meta = sc.gaps[sc.gaps["platform"] == "meta"]
    assert list(zip(meta["gap_start"], meta["gap_end"], strict=True)) == GAPS[("meta", "m1")]
    tiktok = sc.gaps[
        sc.gaps["platform"] == "tiktok"
    ]  # stopped after the 15th while the table runs to the 20th
    assert list(zip(tiktok["gap_start"], tiktok["gap_end"], strict=True)) == [
        (dt.date(2025, 11, 16), dt.date(2025, 11, 20))
    ]
    assert sc.completeness.set_index("source").loc["meta/m1", "gaps"] == "2025-11-05..2025-11-07; 2025-11-12"
    f = sc.freshness.set_index("source")
    assert f.loc["tiktok/t1", "hours_since"] == 5 * 24 and f.loc["tiktok/t1", "stale"]
    assert f.loc["google_ads/g1", "hours_since"] == 0 and not f.loc["google_ads/g1", "stale"]
    assert sc.summary["stale_sources"] == 1  # deals (last 2025-11-19) are within their weekly target
    assert not sc.quarantine.empty and sc.quarantine.loc[0, "line"] == 7
    assert sc.reconciliation["reconciled"].tolist() == [True, False]
    assert sc.summary["unreconciled_files"] == 1


def test_scorecard_counts_equal_independent_sql(small_wh: Warehouse) -> None:
    sc = scorecard.scorecard(small_wh, today=TODAY)
    q = small_wh.sql
    gap_days = q("""
        WITH d AS (SELECT DISTINCT platform, account_id, date_day FROM ad_daily),
             g AS (SELECT platform, account_id, min(date_day) AS lo, count(*) AS n FROM d GROUP BY ALL),
             m AS (SELECT max(date_day) AS hi FROM ad_daily)
        SELECT sum(date_diff('day', lo, hi) + 1 - n) AS s FROM g, m""")["s"].item()
    assert sc.summary["gap_days"] == gap_days == 9
    dup = q("""SELECT sum(n - 1) AS s FROM (SELECT count(*) AS n FROM ad_daily
               GROUP BY date_day, platform, account_id, campaign_id, campaign_name, ad_group_id, ad_group_name,
                        ad_id, ad_name, audience, creative HAVING count(*) > 1)""")["s"].item()
    assert sc.summary["duplicate_rows"] == dup == 2
    assert (
        sc.summary["files_quarantined"]
        == q("SELECT count(DISTINCT file_name) AS n FROM quarantine")["n"].item()
    )
    assert (
        sc.summary["files_loaded"]
        == q("SELECT count(*) AS n FROM ingest_ledger WHERE status IN ('loaded','replaced')")["n"].item()
    )
    counts = dict(zip(sc.row_counts["table"], sc.row_counts["rows"], strict=True))
    assert counts["ad_daily"] == q("SELECT count(*) AS n FROM ad_daily")["n"].item()
    weekly = q("""SELECT strftime(date_trunc('week', date_day), '%G-W%V') AS week, sum(conversions) AS conv
                  FROM ad_daily GROUP BY ALL ORDER BY week""")
    got = sc.conversions_vs_deals.set_index("week")["platform_conversions"]
    assert got.to_dict() == pytest.approx(dict(zip(weekly["week"], weekly["conv"], strict=True)))
    deals = sc.conversions_vs_deals.set_index("week")
    assert deals.loc["2025-W45", "crm_deals_created"] == 2 and deals.loc["2025-W47", "crm_deals_won"] == 1


def test_scorecard_display_and_chart(small_wh: Warehouse) -> None:
    sc = scorecard.scorecard(small_wh, today=TODAY)
    html = sc._repr_html_()
    assert "Missing days" in html and "d.csv" in html
    fig = sc.chart()
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "Data completeness by source and day"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["google_ads/g1", "meta/m1", "tiktok/t1"]
    assert "missing: 9 source-days" in ax.get_xlabel()
    assert set(sc.summary) >= {
        "files_loaded",
        "files_quarantined",
        "rows_loaded",
        "stale_sources",
        "gap_days",
    }


def test_scorecard_on_empty_warehouse() -> None:
    wh = Warehouse.memory()
    sc = scorecard.scorecard(wh, today=TODAY)
    assert sc.summary["gap_days"] == 0 and sc.summary["files_loaded"] == 0 and sc.freshness.empty
    assert sc.chart().axes[0].get_title(loc="left")


def test_weekly_cadence_and_long_pauses() -> None:
    wh = Warehouse.memory()
    wh.ensure_tables()
    mondays = [
        d for d in pd.date_range("2025-09-01", "2025-11-17", freq="7D") if d != pd.Timestamp("2025-10-13")
    ]
    wh.append("product_usage", conform(pd.DataFrame(
        {"date_day": mondays, "customer_id": "c1", "feature": "f", "events": 1, "active_users": 1}), "product_usage"))  # fmt: skip
    days = [
        d
        for d in pd.date_range("2025-09-01", "2025-11-23")
        if not pd.Timestamp("2025-10-01") <= d <= pd.Timestamp("2025-10-20")
    ]
    wh.append("ad_daily", conform(pd.DataFrame(
        {"date_day": days, "platform": "tiktok", "account_id": "t", "campaign_name": "c", "clicks": 1,
         "impressions": 2, "spend": 1.0}), "ad_daily"))  # fmt: skip
    s = params.load({"ingest": {"pause_days": 14}})
    sc = scorecard.scorecard(wh, s, today=dt.date(2025, 11, 24))
    pu = sc.gaps[sc.gaps["table"] == "product_usage"]
    assert list(zip(pu["gap_start"], pu["gap_end"], strict=True)) == [
        (dt.date(2025, 10, 13), dt.date(2025, 10, 19))
    ]
    assert sc.completeness.set_index("table").loc["product_usage", "cadence_days"] == 7
    f = sc.freshness.set_index("table")
    assert f.loc["product_usage", "target_hours"] == 24 + 6 * 24  # a weekly source may be 7 days old
    assert f.loc["product_usage", "hours_since"] == 6 * 24 and not f.loc["product_usage", "stale"]
    assert sc.gaps[sc.gaps["table"] == "ad_daily"].empty  # 20 days off: a pause, not a gap
    assert list(zip(sc.pauses["gap_start"], sc.pauses["gap_end"], strict=True)) == [
        (dt.date(2025, 10, 1), dt.date(2025, 10, 20))]  # fmt: skip
    assert sc.summary["gap_days"] == 7 and sc.summary["paused_days"] == 20
    assert (sc.days["state"] == "paused").sum() == 20


def _pandera_passes(df: pd.DataFrame, table: str) -> bool:
    schema = quality.build_schema(table, today=TODAY)
    try:
        schema.validate(df.drop(columns="_line"), lazy=True)
    except Exception:  # noqa: BLE001 - SchemaErrors or a dtype error: fails either way
        return False
    return True


def test_fast_path_agrees_with_the_pandera_schema() -> None:
    """validate() skips pandera for frames its vectorised pre-check passes: the two must agree on every rule."""
    rng = np.random.default_rng(3)
    bases = {
        "ad_daily": ad_frame(),
        "spend_limits": conform(
            pd.DataFrame(
                {"channel": ["search", "social"], "period": ["week", "month"], "limit_amount": [10.0, 20.0]}
            ),
            "spend_limits",
        ),
        "customer_health": conform(
            pd.DataFrame(
                {
                    "snapshot_date": pd.to_datetime(["2025-11-01", "2025-11-02"]),
                    "customer_id": ["c", "d"],
                    "health_score": [50.0, 60.0],
                }
            ),
            "customer_health",
        ),
        "fx_rates": conform(
            pd.DataFrame(
                {
                    "date_day": pd.to_datetime(["2025-11-01", "2025-11-02"]),
                    "currency": ["EUR", "EUR"],
                    "rate_to_reporting": [1.1, 1.2],
                }
            ),
            "fx_rates",
        ),
    }
    values = [
        pd.NA,
        -1,
        0,
        1e9,
        140.0,
        "fortnight",
        "month",
        pd.Timestamp("2030-01-01"),
        pd.Timestamp("2025-11-02"),
    ]
    seen = {True: 0, False: 0}
    for i in range(240):
        table = list(bases)[i % len(bases)]
        df = bases[table].copy()
        df["_line"] = np.arange(len(df)) + 2
        for _ in range(int(rng.integers(1, 3))):
            col = str(rng.choice([c for c in df.columns if c not in ("_line", "ingest_id")]))
            row = int(rng.integers(0, len(df)))
            v = values[int(rng.integers(0, len(values)))]
            try:
                s = df[col].copy()
                s.iloc[row] = v
                df[col] = s.astype(df[col].dtype)
            except (TypeError, ValueError):
                continue
        if rng.random() < 0.15:  # a duplicated row
            df = pd.concat([df, df.iloc[[0]]], ignore_index=True)
        if rng.random() < 0.05:  # a wrong dtype
            df["spend" if table == "ad_daily" else df.columns[0]] = df.iloc[:, 0].astype(object)
        fast = quality._fast_ok(df.reset_index(drop=True), table, TODAY, 0, quality.DEFAULT_STRICT_PLATFORMS)
        slow = _pandera_passes(df.reset_index(drop=True), table)
        assert fast == slow, (table, df)
        seen[slow] += 1
    assert min(seen.values()) > 30  # both outcomes really exercised
