"""Ad-platform export formats: real-layout fixtures, detection, round trips, clear errors."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mktdash import sources
from mktdash.sources.base import ReadContext, SourceError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
FIVETRAN_SAMPLE = FIX.parent / "external" / "fivetran_ad_report_sample.csv"
AD_FORMATS = ["google_ads_ui", "google_ads_editor", "meta", "linkedin", "microsoft_ads", "tiktok", "fivetran"]
METRICS = ["impressions", "clicks", "spend", "conversions", "conversions_value"]

# hand-summed from the fixture files: impressions, clicks, spend, conversions, conversions_value
FIXTURES = {
    "google_ads_campaign_day.csv": (
        "google_ads_ui",
        5,
        (209413, 7052, 6077.20, 986.5, 24830.00),
        (dt.date(2025, 7, 7), dt.date(2025, 7, 8)),
        [4, 5, 6, 7, 8],
    ),
    "google_ads_adgroup_oneday_eur.csv": (
        "google_ads_ui",
        2,
        (13005, 1629, 1428.35, 247.0, 6175.00),
        (dt.date(2025, 7, 9), dt.date(2025, 7, 9)),
        [4, 5],
    ),
    "google_ads_ad_alltime.csv": (
        "google_ads_ui",
        2,
        (3000, 285, 240.75, 25.0, 625.00),
        (dt.date(2025, 7, 10), dt.date(2025, 7, 10)),
        [4, 5],
    ),
    "google_ads_editor_2025-07-08.csv": (
        "google_ads_editor",
        2,
        (42114, 2170, 1692.25, 271.0, 8170.50),
        (dt.date(2025, 7, 8), dt.date(2025, 7, 8)),
        [2, 3],
    ),
    "meta_ads_manager_daily.csv": (
        "meta",
        3,
        (98000, 1620, 612.40, 22.0, 1760.00),
        (dt.date(2025, 7, 7), dt.date(2025, 7, 8)),
        [3, 4, 5],
    ),
    "linkedin_campaign_performance.csv": (
        "linkedin",
        3,
        (35010, 189, 2370.75, 5.0, 7500.00),
        (dt.date(2025, 7, 1), dt.date(2025, 7, 3)),
        [5, 6, 7],
    ),
    "microsoft_ads_campaign.csv": (
        "microsoft_ads",
        3,
        (37400, 1965, 1183.25, 110.0, 6125.50),
        (dt.date(2025, 7, 1), dt.date(2025, 7, 2)),
        [12, 13, 14],
    ),
    "tiktok_ads_daily.csv": (
        "tiktok",
        3,
        (76000, 750, 385.75, 15.0, 610.00),
        (dt.date(2025, 7, 7), dt.date(2025, 7, 8)),
        [2, 3, 4],
    ),
}
# which fixtures carry totals rows the engine reconciles (metric -> value in the file)
FIXTURE_TOTALS = {
    "google_ads_campaign_day.csv": {"spend": 6077.20, "clicks": 7052},
    "meta_ads_manager_daily.csv": {"spend": 612.40, "impressions": 98000},
    "tiktok_ads_daily.csv": {"spend": 385.75, "conversions_value": 610.00},
    "microsoft_ads_campaign.csv": {"rows": 3},
}


@pytest.fixture
def ctx() -> ReadContext:
    return ReadContext(reporting_currency="USD", today=dt.date(2026, 1, 1))


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_reads_with_known_sums(name: str, ctx: ReadContext) -> None:
    module, n, sums, period, lines = FIXTURES[name]
    parsed = sources.get(module).read(FIX / name, ctx)
    f = parsed.frame
    assert len(f) == n
    got = tuple(round(float(f[m].sum()), 2) for m in METRICS)
    assert got == pytest.approx(sums)
    assert parsed.period == period
    assert f["_line"].tolist() == lines
    assert (f["platform"] == sources.get(module).PLATFORM).all()
    assert f["date_day"].notna().all() and f["campaign_name"].notna().all()
    for k, v in FIXTURE_TOTALS.get(name, {}).items():
        assert parsed.totals[k] == pytest.approx(v)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_detection_picks_the_right_module(name: str) -> None:
    assert FIXTURES[name][0] == sources.detect(FIX / name).NAME


def test_registry_lists_every_ad_format() -> None:
    assert set(AD_FORMATS) <= set(sources.names())
    for m in sources.FORMATS:
        assert callable(m.sniff) and callable(m.read) and callable(m.write) and m.TABLE


def test_google_quirks(ctx: ReadContext) -> None:
    f = sources.get("google_ads_ui").read(FIX / "google_ads_campaign_day.csv", ctx).frame
    paused = f[f["_line"] == 7].iloc[0]  # " --" conversions, 0 impressions
    assert pd.isna(paused["conversions"]) and paused["impressions"] == 0
    assert f["_campaign_type"].tolist() == ["Search", "Display", "Search", "Display", "Video"]
    assert f.loc[f["_line"] == 4, "impressions"].item() == 25881  # "25,881"
    eur = sources.get("google_ads_ui").read(FIX / "google_ads_adgroup_oneday_eur.csv", ctx).frame
    assert set(eur["currency"]) == {"EUR"} and set(eur["ad_group_name"]) == {
        "Brand - Core",
        "Brand - Misspell",
    }
    ad = sources.get("google_ads_ui").read(FIX / "google_ads_ad_alltime.csv", ctx)
    assert ad.frame["ad_id"].tolist() == ["70000001", "70000002"]
    assert ad.replace_key == {
        "platform": "google_ads",
        "source_relation": "google_ads_ui",
        "account_id": "123-456-7890",
    }


def test_meta_quirks(ctx: ReadContext) -> None:
    f = sources.get("meta").read(FIX / "meta_ads_manager_daily.csv", ctx).frame
    assert set(f["currency"]) == {"USD"}  # from "Amount spent (USD)"
    # Results of a link-click objective are not conversions
    assert f.loc[f["_line"] == 4, "conversions"].item() == 0
    assert f["clicks"].sum() == 1620  # Link clicks, not Clicks (all)


def test_editor_is_utf16_tabs_crlf() -> None:
    raw = (FIX / "google_ads_editor_2025-07-08.csv").read_bytes()
    assert raw[:2] == b"\xff\xfe" and "\t" in raw.decode("utf-16") and b"\r\x00\n\x00" in raw


def test_fivetran_real_sample_loads_with_known_sums(ctx: ReadContext) -> None:
    with open(FIVETRAN_SAMPLE, newline="") as fh:
        rows = list(csv.DictReader(fh))
    want = {m: sum(float(r[m]) for r in rows) for m in METRICS}
    assert sources.detect(FIVETRAN_SAMPLE).NAME == "fivetran"
    parsed = sources.get("fivetran").read(FIVETRAN_SAMPLE, ctx)
    f = parsed.frame
    assert len(f) == len(rows) == 16
    for m in METRICS:
        assert float(f[m].sum()) == pytest.approx(want[m])
    assert f["platform"].value_counts().to_dict() == {"google_ads": 6, "meta": 6, "tiktok": 4}
    assert parsed.period == (dt.date(2025, 8, 10), dt.date(2025, 8, 12))
    assert f["_line"].tolist() == list(range(2, 18))
    assert f["source_relation"].iloc[0] == "google_ads.daily"


# ---- round trips ------------------------------------------------------------------------------------------
def canonical_rows(n: int = 60, seed: int = 3, currency: str = "USD", days: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ad = np.arange(n) % max(1, n // days)
    imp = rng.integers(1000, 90_000, n)
    clicks = (imp * rng.uniform(0.01, 0.05, n)).astype("int64")
    conv = (clicks * rng.uniform(0, 0.1, n)).round(2)
    return pd.DataFrame(
        {
            "date_day": pd.Timestamp("2025-07-01") + pd.to_timedelta(np.arange(n) // max(1, n // days), "D"),
            "platform": "google_ads",
            "account_id": "111-222-3333",
            "account_name": "Round Trip Co",
            "campaign_id": (100 + ad // 4).astype(str),
            "campaign_name": [
                f'Campaign {a // 4}, "quoted"' if a % 7 == 0 else f"Campaign {a // 4}" for a in ad
            ],
            "ad_group_id": (200 + ad // 2).astype(str),
            "ad_group_name": [f"Group {a // 2}" for a in ad],
            "ad_id": (300 + ad).astype(str),
            "ad_name": [f"Ad {a} – é" for a in ad],
            "clicks": clicks,
            "impressions": imp,
            "spend": (rng.uniform(0, 5000, n)).round(2),
            "conversions": conv,
            "conversions_value": (conv * 40).round(2),
            "currency": currency,
        }
    )


KEYS = ["date_day", "campaign_name", "ad_group_name", "ad_name"]


def _compare(orig: pd.DataFrame, back: pd.DataFrame, cols: list[str]) -> None:
    a = orig.sort_values(KEYS).reset_index(drop=True)
    b = back.sort_values(KEYS).reset_index(drop=True)
    assert len(a) == len(b)
    for c in cols:
        if c in METRICS:
            np.testing.assert_allclose(b[c].astype(float), a[c].astype(float).round(2), atol=0.005)
        elif c == "date_day":
            assert (pd.to_datetime(b[c]) == pd.to_datetime(a[c])).all()
        else:
            assert b[c].astype(str).tolist() == a[c].astype(str).tolist(), c


@pytest.mark.parametrize("name", AD_FORMATS)
def test_round_trip(name: str, tmp_path: Path, ctx: ReadContext) -> None:
    m = sources.get(name)
    df = canonical_rows()
    path = tmp_path / f"{name}_export.csv"
    m.write(df, path)
    assert name == sources.detect(path).NAME
    parsed = m.read(path, ctx)
    cols = ["date_day", "campaign_name", "ad_group_name", "ad_name", "currency", *METRICS]
    if name != "linkedin":  # LinkedIn ids are group/campaign/creative ids, same mapping both ways
        cols += ["campaign_id", "ad_group_id"]
    _compare(df, parsed.frame, cols)
    for k, v in parsed.totals.items():  # totals rows written by the writer reconcile with the rows
        if k in METRICS:
            assert v == pytest.approx(float(df[k].round(2).sum()), abs=0.01)
    assert parsed.period == (dt.date(2025, 7, 1), dt.date(2025, 7, 5))


@pytest.mark.parametrize("level", ["campaign", "ad_group", "ad"])
def test_google_levels_and_all_time(level: str, tmp_path: Path, ctx: ReadContext) -> None:
    df = canonical_rows(n=12, days=1)
    if level != "ad":
        df = df.drop(columns=["ad_id", "ad_name"]).drop_duplicates(
            ["date_day", "campaign_name", "ad_group_name"]
        )
    if level == "campaign":
        df = df.drop(columns=["ad_group_id", "ad_group_name"]).drop_duplicates(["date_day", "campaign_name"])
    m = sources.get("google_ads_ui")
    for opts in ({"level": level, "day": False}, {"level": level, "all_time": True}):
        path = tmp_path / f"g_{level}_{len(opts)}.csv"
        m.write(df, path, **opts)
        parsed = m.read(path, ctx)
        assert len(parsed.frame) == len(df)
        assert parsed.frame["spend"].sum() == pytest.approx(df["spend"].sum(), abs=0.01)
        assert parsed.totals["clicks"] == df["clicks"].sum()
        assert parsed.period == (dt.date(2025, 7, 1), dt.date(2025, 7, 1))
        assert parsed.frame["ad_group_name"].notna().any() == (level != "campaign")


def test_fivetran_parquet_round_trip(tmp_path: Path, ctx: ReadContext) -> None:
    df = canonical_rows()
    path = tmp_path / "ad_reporting.parquet"
    sources.get("fivetran").write(df, path)
    assert sources.detect(path).NAME == "fivetran"
    _compare(df, sources.get("fivetran").read(path, ctx).frame, ["date_day", "campaign_name", *METRICS])


# ---- errors -------------------------------------------------------------------------------------------------
def test_unknown_file_names_first_line_and_known_sources(tmp_path: Path) -> None:
    p = tmp_path / "mystery.csv"
    p.write_text("foo,bar\n1,2\n")
    with pytest.raises(SourceError) as e:
        sources.detect(p)
    msg = str(e.value)
    assert "mystery.csv" in msg and "first line was 'foo,bar'" in msg and "--source" in msg and "meta" in msg
    with pytest.raises(SourceError, match="unknown source 'nope'"):
        sources.get("nope")


def test_garbage_number_names_line_and_column(tmp_path: Path, ctx: ReadContext) -> None:
    text = (FIX / "tiktok_ads_daily.csv").read_text().replace("75.50", "seventy")
    p = tmp_path / "tiktok_bad.csv"
    p.write_text(text)
    with pytest.raises(SourceError) as e:
        sources.get("tiktok").read(p, ctx)
    assert e.value.line == 3 and e.value.column == "Cost" and "tiktok_bad.csv" in str(e.value)


def test_missing_column_and_no_day_segment(tmp_path: Path, ctx: ReadContext) -> None:
    text = (FIX / "linkedin_campaign_performance.csv").read_text().replace("Total Spent", "Spent total")
    p = tmp_path / "li.csv"
    p.write_text(text)
    with pytest.raises(SourceError) as e:
        sources.get("linkedin").read(p, ctx)
    assert e.value.column == "Total Spent" and "Spent total" in str(e.value)
    g = (FIX / "google_ads_campaign_day.csv").read_text().replace("Day,", "Week,", 1)
    p2 = tmp_path / "g.csv"
    p2.write_text(g)
    with pytest.raises(SourceError, match="a Week segment over 2025-07-07..2025-07-08: its first or last week"):
        sources.get("google_ads_ui").read(p2, ctx)


def test_row_outside_stated_period_is_rejected(tmp_path: Path, ctx: ReadContext) -> None:
    text = (
        (FIX / "microsoft_ads_campaign.csv")
        .read_bytes()
        .decode("utf-8-sig")
        .replace('"7/2/2025","Acme', '"7/9/2025","Acme')
    )
    p = tmp_path / "ms.csv"
    p.write_text(text, encoding="utf-8-sig")
    with pytest.raises(SourceError) as e:
        sources.get("microsoft_ads").read(p, ctx)
    assert e.value.line == 14 and "outside the report period" in str(e.value)
