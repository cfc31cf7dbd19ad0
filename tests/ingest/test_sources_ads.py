"""Ad-platform export formats: real-layout fixtures, detection, round trips, clear errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mktdash import params
from mktdash.analytics import kpis
from mktdash.ingest import engine as ingest
from mktdash.ingest import periods, sources
from mktdash.ingest.sources import _csv, _locale
from mktdash.ingest.sources.base import ReadContext, SourceError
from mktdash.warehouse.backend import Warehouse

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
    with pytest.raises(
        SourceError, match="a Week segment over 2025-07-07..2025-07-08: its first or last week"
    ):
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


# ---- the corpus of real layouts, through the real `mktdash ingest` ------------------------------------------
CORPUS = FIX.parent / "real_layouts" / "ads"
# per file: (table, rows, clicks, spend) summed by hand from the invented rows (equal to the file's totals
# row where it has one), or the reason it must be refused
LOADS = {
    "adwords_legacy_ad_report_2016.csv": ("ad_period", 3, 50, 26.44),
    "google_ads_adgroup_day_currency_twice.csv": ("ad_daily", 4, 2156, 1642.05),
    "google_ads_campaign_28days_en_gb.csv": ("ad_period", 3, 4484, 2774.48),
    "google_ads_campaign_day_de.csv": ("ad_daily", 6, 12358, 9835.74),
    "google_ads_campaign_day_en_us.csv": ("ad_daily", 9, 18362, 12826.45),
    "google_ads_campaign_day_es.csv": ("ad_daily", 4, 6997, 4810.01),
    "google_ads_campaign_day_fr.csv": ("ad_daily", 4, 6997, 4810.01),
    "google_ads_campaign_day_it_semicolon_cp1252.csv": ("ad_daily", 4, 6997, 4810.01),
    "google_ads_campaign_day_nl.csv": ("ad_daily", 4, 6997, 4810.01),
    "google_ads_campaign_day_pt_br.csv": ("ad_daily", 4, 6997, 4810.01),
    "google_ads_campaign_day_utf16be.csv": ("ad_daily", 6, 12358, 9835.74),
    "google_ads_campaign_lastweek_de_excel.csv": ("ad_daily", 2, 2421, 1330.38),
    "google_ads_campaign_lastweek_en_gb_excel.csv": ("ad_daily", 3, 4484, 2774.48),
    "google_ads_campaign_no_rows.csv": ("ad_daily", 0, 0, 0.0),
    "google_ads_editor_stats_2025-08-18.csv": ("ad_daily", 2, 417, 346.62),
    "google_ads_editor_stats_de_2025-09-15.csv": ("ad_daily", 2, 1067, 1814.16),
    "linkedin_ad_performance_utf16.csv": ("ad_daily", 6, 114, 458.10),
    "linkedin_campaign_performance_en.csv": ("ad_daily", 4, 876, 728.78),
    "linkedin_performance_de_no_group.csv": (
        "ad_daily",
        4,
        56,
        562.50,
    ),  # 22+9+18+7; 212,40+98,75+187,05+64,30
    "meta_ads_manager_28days_no_breakdown.csv": ("ad_period", 3, 439, 229.29),
    "meta_ads_manager_daily_de.csv": ("ad_daily", 6, 1049, 539.20),
    "meta_ads_manager_day_breakdown_column.csv": ("ad_daily", 6, 604, 275.31),
    "meta_ads_manager_day_fr_semicolon.csv": ("ad_daily", 4, 605, 2945.71),
    "meta_ads_manager_daily_en.csv": ("ad_daily", 9, 1543, 834.85),
    "meta_ads_manager_daily_fr.csv": ("ad_daily", 6, 1049, 539.20),
    "meta_ads_manager_lastweek_no_breakdown.csv": ("ad_daily", 3, 439, 229.29),
    "meta_ads_manager_no_data.csv": ("ad_daily", 0, 0, 0.0),
    "meta_ads_manager_no_data_padded.csv": ("ad_daily", 0, 0, 0.0),
    "microsoft_ads_campaign_performance_daily.csv": ("ad_daily", 4, 876, 728.78),
    "microsoft_ads_campaign_summary_lastweek.csv": ("ad_daily", 2, 1337, 1111.31),
    "tiktok_ads_manager_daily.csv": ("ad_daily", 4, 876, 728.78),
}
REFUSALS = {
    "google_ads_campaign_all_time_no_day.csv": "no Day column and the report covers all time",
    "google_ads_campaign_day_truncated.csv": "the file looks truncated",
    "google_ads_campaign_settings_only.csv": "this report has no metric columns: add Impr., Clicks, Cost",
}
WEEK_GRAIN = {  # no Day segment over one ISO week: every row on the week's Sunday
    "google_ads_campaign_lastweek_de_excel.csv": "2025-12-14",
    "google_ads_campaign_lastweek_en_gb_excel.csv": "2026-01-11",
    "meta_ads_manager_lastweek_no_breakdown.csv": "2025-12-07",
    "microsoft_ads_campaign_summary_lastweek.csv": "2025-08-24",
}


def _fx_file(folder: Path) -> Path:
    """Daily rates for the corpus's currencies over its dates (the corpus's money is EUR, GBP, BRL, AUD)."""
    days = [*pd.date_range("2019-08-01", "2019-08-31"), *pd.date_range("2025-06-01", "2026-03-01")]
    rates = (("EUR", 1.1), ("GBP", 1.25), ("BRL", 0.2), ("AUD", 0.65))
    p = folder / "fx_rates.csv"
    pd.DataFrame(
        [(d.date(), c, r) for d in days for c, r in rates], columns=["date", "currency", "rate_to_usd"]
    ).to_csv(p, index=False)
    return p


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MKTDASH_HOME": str(home), "MKTDASH_PII_SALT": "corpus"}
    return subprocess.run(
        [sys.executable, "-m", "mktdash.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_corpus_is_complete_and_documented() -> None:
    files = sorted(p.name for p in CORPUS.iterdir())
    assert len(files) >= 25 and set(files) == set(LOADS) | set(REFUSALS)
    sources_md = (CORPUS.parent / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f"`ads/{name}`" in sources_md for name in files), [n for n in files if n not in sources_md]


def test_every_corpus_file_loads_with_its_totals_or_is_refused_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(CORPUS, inbox)
    _fx_file(inbox)
    run = _cli(tmp_path, "ingest", "--quiet", str(inbox))
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr  # 1: some files refused
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    with Warehouse.open(read_only=True) as wh:
        ledger = wh.sql("SELECT file_name, status, table_name, rows, ingest_id FROM ingest_ledger")
        sums = wh.sql(
            "SELECT ingest_id, count(*) n, sum(clicks) c, round(sum(spend), 2) s, min(date_day) d FROM ad_daily "
            "GROUP BY 1 UNION ALL SELECT ingest_id, count(*), sum(clicks), round(sum(spend), 2), NULL "
            "FROM ad_period GROUP BY 1"
        ).set_index("ingest_id")
        errors = wh.sql("SELECT file_name, error FROM quarantine").set_index("file_name")["error"]
    by_file = ledger.set_index("file_name")
    for name, (table, rows, clicks, spend) in LOADS.items():
        row = by_file.loc[name]
        assert (row["status"], row["table_name"], row["rows"]) == ("loaded", table, rows), (name, row)
        got = sums.loc[row["ingest_id"]] if rows else None
        if got is not None:
            assert (int(got["n"]), int(got["c"]), float(got["s"])) == (rows, clicks, spend), name
        if name in WEEK_GRAIN:
            assert str(pd.Timestamp(got["d"]).date()) == WEEK_GRAIN[name], name
    for name, reason in REFUSALS.items():
        assert by_file.loc[name]["status"] == "quarantined" and reason in errors[name], name
    explained = _cli(tmp_path, "ingest", "--explain", *(str(inbox / n) for n in sorted(REFUSALS)))
    assert explained.returncode == 1 and "Traceback" not in explained.stderr
    for name, reason in REFUSALS.items():  # the reason is printed where the user looks
        section = explained.stdout.split(str(inbox / name), 1)[1].split("\n\n", 1)[0]
        assert f"refused:    {name}" in section and reason in section, section


def test_explain_shows_encoding_delimiter_locale_mapping_and_verdict(tmp_path: Path) -> None:
    out = _cli(tmp_path, "ingest", "--explain", str(CORPUS / "google_ads_campaign_lastweek_de_excel.csv"))
    text = out.stdout
    for want in (
        "encoding:   UTF-16LE (BOM)",
        "format:     google_ads_ui -> table ad_daily",
        "because:    the date range 2025-12-08..2025-12-14 on line 2 and a Google Ads header on line 3",
        "delimiter:  tab, header on line 3",
        "locale:     German headers, decimal comma (1.234,56)",
        "'Kosten' (Cost) -> spend",
        "'Klicks' (Clicks) -> clicks",
        "ignored: 'Kampagnenstatus', 'Kampagnentyp', 'CTR'",
        "period:     2025-12-08..2025-12-14 (ISO week 2025-W50); grain: week",
        "currency:   EUR",
        "totals row: line 7: clicks 2,421, impressions 25,757, spend 1,330.38",
        "no FX rate for EUR on 2025-12-14",  # an empty warehouse has no rates: refused, and says why
    ):
        assert want in text, (want, text, out.stderr[-2000:])
    assert out.returncode == 1
    ok = _cli(tmp_path, "ingest", "--explain", str(CORPUS / "google_ads_campaign_day_en_us.csv"))
    assert (
        ok.returncode == 0
        and "would load: 9 rows into ad_daily (impressions 205,355, clicks 18,362" in ok.stdout
    )


def _google_week(path: Path, day: bool, account: str = "111-222-3333") -> None:
    """A Google Ads campaign report for ISO week 2025-W50, with the Day segment (7 rows) or without (1 row):
    100 clicks and 10.00 spend a day, so 700 / 70.00 for the week either way."""
    head = ["Campaign report", '"December 8, 2025 - December 14, 2025"']
    cols = (["Day"] if day else []) + ["Customer ID", "Campaign", "Currency code", "Impr.", "Clicks", "Cost"]
    rows = (
        [[f"2025-12-{8 + i:02d}", account, "Brand", "USD", "1,000", "100", "10.00"] for i in range(7)]
        if day
        else [[account, "Brand", "USD", "7,000", "700", "70.00"]]
    )
    total = ["Total: Account"] + [" --"] * (len(cols) - 5) + ["USD", "7,000", "700", "70.00"]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([cols, *rows, total])
    path.write_text("\n".join(head) + "\n" + buf.getvalue(), encoding="utf-8")


@pytest.mark.parametrize("order", [("daily", "week"), ("week", "daily")])
def test_daily_and_week_files_of_one_account_do_not_double_count(
    order: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    wh = Warehouse.memory()
    cfg = params.resolve()
    for kind in order:
        p = tmp_path / f"{kind}.csv"
        _google_week(p, day=kind == "daily")
        rep = ingest.ingest_paths(wh, [p], cfg, progress=False, today=dt.date(2026, 1, 1))
        assert [f.status for f in rep.files] == ["replaced" if kind == order[1] else "loaded"]
    got = wh.sql("SELECT count(*) n, sum(clicks) c, sum(spend) s FROM ad_daily").iloc[0]
    assert (int(got["c"]), float(got["s"])) == (700, 70.0)  # the week once, not twice
    assert int(got["n"]) == (7 if order[1] == "daily" else 1)  # the later file replaced the earlier
    # a week file alone still makes its week the latest complete one, and counts in the weekly KPIs
    assert kpis.resolve_week(wh) == "2025-W50"
    week = wh.df(kpis.weekly(wh, by=()))
    assert week[["week", "spend", "clicks"]].values.tolist() == [["2025-W50", 70.0, 700]]


def _mutants(folder: Path, n: int = 200, seed: int = 20) -> list[Path]:
    """``n`` seeded damaged copies of the corpus: truncation, encoding swaps, delimiter swaps, a dropped
    column, garbage lines."""
    rng = np.random.default_rng(seed)
    names = sorted(p.name for p in CORPUS.iterdir())
    ops = ["truncate", "encoding", "delimiter", "drop_column", "garbage"]
    out = []
    for i in range(n):
        name, op = names[i % len(names)], ops[(i // len(names) + i) % len(ops)]
        raw = (CORPUS / name).read_bytes()
        text = (
            raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8", "replace")
        )
        lines = text.split("\n")
        if op == "truncate":
            data = raw[: int(rng.integers(0, len(raw)))]
        elif op == "encoding":
            codec = str(rng.choice(["utf-16-le", "utf-16", "cp1252", "latin-1", "utf-8-sig"]))
            data = text.encode(codec, errors="replace")
        elif op == "delimiter":
            a, b = rng.choice([",", "\t", ";"], size=2, replace=False)
            data = text.replace(str(a), str(b)).encode("utf-8")
        elif op == "drop_column":
            k = int(rng.integers(0, 8))
            data = "\n".join(
                ",".join(c for j, c in enumerate(line.split(",")) if j != k) for line in lines
            ).encode("utf-8")
        else:
            at = int(rng.integers(0, len(lines) + 1))
            junk = bytes(rng.integers(0, 256, size=int(rng.integers(1, 40)), dtype=np.uint8)).decode(
                "latin-1"
            )
            data = "\n".join([*lines[:at], junk, *lines[at:]]).encode("utf-8", errors="replace")
        p = folder / f"{i:03d}_{op}_{name}"
        p.write_bytes(data)
        out.append(p)
    return out


def test_two_hundred_damaged_exports_never_make_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "mutants"
    folder.mkdir()
    files = _mutants(folder)
    assert len(files) == 200
    run = _cli(tmp_path, "ingest", "--quiet", str(folder))
    assert run.returncode in (0, 1) and "Traceback" not in run.stderr + run.stdout, run.stderr[-3000:]
    assert "ingest: 200 files" in run.stdout
    explained = _cli(tmp_path, "ingest", "--explain", *map(str, files[:60]))
    assert explained.returncode in (0, 1) and "Traceback" not in explained.stderr, explained.stderr[-3000:]
    assert explained.stdout.count("  encoding:   ") == 60  # every file explained


# ---- locales, encodings, grains ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, start, end",
    [
        ('"July 8, 2025 - July 31, 2025"', (2025, 7, 8), (2025, 7, 31)),  # en-US
        ("27 January 2026 - 23 February 2026", (2026, 1, 27), (2026, 2, 23)),  # en-GB
        ("Ad report (Oct 25, 2016-Oct 31, 2016)", (2016, 10, 25), (2016, 10, 31)),  # legacy AdWords title
        ("1. Dezember 2025 - 7. Dezember 2025", (2025, 12, 1), (2025, 12, 7)),  # de
        ("3 novembre 2025 - 9 novembre 2025", (2025, 11, 3), (2025, 11, 9)),  # fr
        ("1er janv. 2026 - 31 janv. 2026", (2026, 1, 1), (2026, 1, 31)),  # fr, abbreviated
        ("10 de noviembre de 2025 - 16 de noviembre de 2025", (2025, 11, 10), (2025, 11, 16)),  # es
        ("6 de outubro de 2025 - 12 de outubro de 2025", (2025, 10, 6), (2025, 10, 12)),  # pt
        ("1 settembre 2025 - 7 settembre 2025", (2025, 9, 1), (2025, 9, 7)),  # it
        ("8 september 2025 - 14 september 2025", (2025, 9, 8), (2025, 9, 14)),  # nl
        ("3 maart 2026 - 9 mrt 2026", (2026, 3, 3), (2026, 3, 9)),  # nl, abbreviated
        ("Report Start: August 18, 2019, 12:00 AM Report End: August 20, 2019", (2019, 8, 18), (2019, 8, 20)),
        # the abbreviated forms of the UI languages (CLDR "yMMMd", SOURCES.md "Month names")
        ("1. Jan. 2026 - 28. Jan. 2026", (2026, 1, 1), (2026, 1, 28)),  # de
        ("1. Jän. 2026 - 28. Jän. 2026", (2026, 1, 1), (2026, 1, 28)),  # de-AT
        ("01.12.2025 - 07.12.2025", (2025, 12, 1), (2025, 12, 7)),  # de, numeric
        ("1 janv. 2026 - 28 janv. 2026", (2026, 1, 1), (2026, 1, 28)),  # fr
        ("1 juill. 2026 - 28 juill. 2026", (2026, 7, 1), (2026, 7, 28)),  # fr-CA
        ("1 ene 2026 - 28 ene 2026", (2026, 1, 1), (2026, 1, 28)),  # es
        ("1 de jan. de 2026 - 28 de jan. de 2026", (2026, 1, 1), (2026, 1, 28)),  # pt-BR
        ("1 gen 2026 - 28 gen 2026", (2026, 1, 1), (2026, 1, 28)),  # it
        ("1 jan 2026 - 28 jan 2026", (2026, 1, 1), (2026, 1, 28)),  # nl
    ],
)
def test_date_ranges_in_the_ui_languages(text: str, start: tuple, end: tuple) -> None:
    assert _locale.parse_range(text) == (dt.date(*start), dt.date(*end))


# CLDR's abbreviated month names (format context), January to December, as the UIs write them
CLDR_MONTHS = {
    "en-US": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    "en-GB": "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec",
    "de": "Jan. Feb. März Apr. Mai Juni Juli Aug. Sept. Okt. Nov. Dez.",
    "de-AT": "Jän. Feb. März Apr. Mai Juni Juli Aug. Sep. Okt. Nov. Dez.",
    "fr": "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.",
    "es": "ene feb mar abr may jun jul ago sept oct nov dic",
    "es-419": "ene feb mar abr may jun jul ago sep oct nov dic",
    "pt": "jan. fev. mar. abr. mai. jun. jul. ago. set. out. nov. dez.",
    "it": "gen feb mar apr mag giu lug ago set ott nov dic",
    "nl": "jan feb mrt apr mei jun jul aug sep okt nov dec",
}


@pytest.mark.parametrize("lang", sorted(CLDR_MONTHS))
def test_every_abbreviated_month_of_the_ui_languages_is_read(lang: str) -> None:
    for month, abbr in enumerate(CLDR_MONTHS[lang].split(), start=1):
        assert _locale.find_dates(f"15 {abbr} 2026") == [dt.date(2026, month, 15)], abbr


def test_no_range_and_all_time() -> None:
    assert _locale.parse_range("Campaign report") is None
    assert _locale.parse_range("July 31, 2025 - July 8, 2025") is None  # end before start
    assert _locale.is_all_time('"All time"') and _locale.is_all_time("Gesamter Zeitraum")
    assert _locale.is_iso_week((dt.date(2026, 1, 5), dt.date(2026, 1, 11)))
    assert not _locale.is_iso_week((dt.date(2026, 1, 6), dt.date(2026, 1, 12)))  # Tuesday to Monday


def test_decimal_comma_is_decided_by_the_files_own_cells() -> None:
    assert _locale.decimal_comma(["1.234,56", "12"]) and _locale.decimal_comma(["0,57"])
    assert _locale.decimal_comma(["2\u202f745,71"])  # French thousands: narrow no-break space
    assert not _locale.decimal_comma(["1,234.56"], "de")  # the cells win over the UI language
    assert not _locale.decimal_comma(["0.57", "1,234"])  # "1,234" alone is ambiguous, "0.57" is not
    assert _locale.decimal_comma(["12", "7"], "de") and not _locale.decimal_comma(["12"], "en")


@pytest.mark.parametrize(
    "header, lang",
    [
        (["Tag", "Kampagne", "Kosten", "Klicks", "Conv.-Wert"], "de"),
        (["Jour", "Campagne", "Coût", "Clics", "Valeur de conv."], "fr"),
        (["Día", "Campaña", "Coste", "Clics", "Valor de conv."], "es"),
        (["Dia", "Campanha", "Custo", "Cliques", "Valor conv."], "pt"),
        (["Giorno", "Campagna", "Costo", "Clic", "Valore conv."], "it"),
        (["Dag", "Campagne", "Kosten", "Klikken", "Conv.waarde"], "nl"),
    ],
)
def test_google_ads_headers_translate_to_english(header: list[str], lang: str) -> None:
    assert _locale.translate(header, _locale.GOOGLE_ADS) == (
        ["Day", "Campaign", "Cost", "Clicks", "Conv. value"],
        lang,
    )


def test_meta_spent_column_keeps_its_currency_when_translated() -> None:
    names, lang = _locale.translate(
        ["Berichtsbeginn", "Ausgegebener Betrag (EUR)"], _locale.META, prefixes=True
    )
    assert (names, lang) == (["Reporting starts", "Amount spent (EUR)"], "de")


def test_windows_1252_semicolons_and_decimal_comma(ctx: ReadContext) -> None:
    p = CORPUS / "google_ads_campaign_day_it_semicolon_cp1252.csv"
    raw = p.read_bytes()
    assert b"Per\xf2 Brand" in raw and b";" in raw  # the fixture really is cp1252 with semicolons
    parsed = sources.detect(p).read(p, ctx)
    f = parsed.frame
    assert sorted(f["campaign_name"].unique()) == ["Città Display", "Però Brand"]
    assert round(float(f["spend"].sum()), 2) == 4810.01 and int(f["clicks"].sum()) == 6997


def test_utf16_without_bom_and_binary_are_refused_clearly(tmp_path: Path) -> None:
    text = (CORPUS / "google_ads_campaign_day_en_us.csv").read_text()
    for codec in ("utf-16-le", "utf-16-be"):  # a lost byte-order mark: still read, and --explain says so
        data, enc = _csv.decode(text.encode(codec))
        assert data.decode("utf-8") == text and enc == f"{codec.upper()} (no BOM)"
    p = tmp_path / "binary.csv"
    p.write_bytes(b"PK\x03\x04\x00\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xa3\xb1\x93\x1d\x9f")
    with pytest.raises(SourceError, match="not a readable Excel workbook \\(BadZipFile\\)"):
        _csv.read_bytes(
            p
        )  # a zip file is taken for a workbook (downloads get renamed), and this one is broken


def test_a_repeated_column_with_different_values_is_refused(tmp_path: Path, ctx: ReadContext) -> None:
    text = (CORPUS / "google_ads_adgroup_day_currency_twice.csv").read_text()
    p = tmp_path / "twice.csv"
    p.write_text(text.replace(',AUD,"1', ',NZD,"1', 1).replace(",AUD,", ",AUD,", 1), encoding="utf-8")
    lines = p.read_text().split("\n")
    cells = next(csv.reader([lines[3]]))
    cells[12] = "NZD"  # the second Currency code of the first row
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    lines[3] = buf.getvalue()
    p.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(
        SourceError, match="column 'Currency code' appears twice in the header with different"
    ):
        sources.get("google_ads_ui").read(p, ctx)


def test_week_segment_loads_whole_weeks_and_refuses_partial_ones(tmp_path: Path, ctx: ReadContext) -> None:
    def report(first: str, last: str) -> Path:
        p = tmp_path / f"week_{first}.csv"
        p.write_text(
            f'Campaign report\n"{first} - {last}"\nWeek,Campaign,Currency code,Impr.,Clicks,Cost\n'
            '2025-12-01,Brand,USD,"1,000",100,10.00\n2025-12-08,Brand,USD,"2,000",200,20.00\n'
            'Total: Account, --,USD,"3,000",300,30.00\n',
            encoding="utf-8",
        )
        return p

    parsed = sources.get("google_ads_ui").read(report("December 1, 2025", "December 14, 2025"), ctx)
    assert parsed.table == "ad_daily" and parsed.grain == "week"
    assert [d.date() for d in parsed.frame["date_day"]] == [dt.date(2025, 12, 7), dt.date(2025, 12, 14)]
    with pytest.raises(SourceError, match="its first or last week is partial"):
        sources.get("google_ads_ui").read(report("December 3, 2025", "December 14, 2025"), ctx)


def test_an_empty_report_loads_zero_rows_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    wh = Warehouse.memory()
    files = [CORPUS / "meta_ads_manager_no_data.csv", CORPUS / "google_ads_campaign_no_rows.csv"]
    rep = ingest.ingest_paths(wh, files, params.resolve(), progress=False, today=dt.date(2026, 12, 6))
    assert [(f.status, f.rows) for f in rep.files] == [("loaded", 0), ("loaded", 0)]
    ledger = wh.sql("SELECT file_name, status, rows, message FROM ingest_ledger ORDER BY file_name")
    assert ledger["status"].tolist() == ["loaded", "loaded"] and ledger["rows"].tolist() == [0, 0]
    assert "no rows for 2026-01-12..2026-01-18: nothing to load" in ledger["message"][0]
    assert "no rows for its period" in ledger["message"][1] and wh.count("ad_daily") == 0


def test_explain_an_unknown_file(tmp_path: Path) -> None:
    p = tmp_path / "mystery.csv"
    p.write_text("foo;bar\n1;2\n", encoding="utf-8")
    out = _cli(tmp_path, "ingest", "--explain", str(p))
    assert out.returncode == 1 and "format:     not recognised" in out.stdout
    # an unknown file may hold personal data: its cells are shown by their shape, as ingest stores them
    assert (
        "refused:    mystery.csv, line 1: not a known export: first line was '<3 chars>;<3 chars>'"
        in out.stdout
    )


def test_period_totals_reconcile_with_the_daily_rows_of_their_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 10-day report without Day goes to ad_period; the daily report of the same days matches it, a daily
    report missing a day differs, a campaign without daily rows says so."""
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    wh = Warehouse.memory()
    head = 'Campaign report\n"December 1, 2025 - December 10, 2025"\n'
    period = tmp_path / "period.csv"
    period.write_text(
        head + 'Campaign,Currency code,Impr.,Clicks,Cost\nBrand,USD,"10,000",1000,100.00\n'
        'Generic,USD,500,50,5.00\nTotal: Account,USD,"10,500",1050,105.00\n',
        encoding="utf-8",
    )
    days = [f'2025-12-{d:02d},Brand,USD,"1,000",100,10.00\n' for d in range(1, 11)]
    daily = tmp_path / "daily.csv"
    daily.write_text(
        head + "Day,Campaign,Currency code,Impr.,Clicks,Cost\n" + "".join(days)
        + "Total: Account, --,USD,\"10,000\",1000,100.00\n",
        encoding="utf-8",
    )  # fmt: skip
    rep = ingest.ingest_paths(
        wh, [period, daily], params.resolve(), progress=False, today=dt.date(2026, 1, 1)
    )
    assert [(f.status, f.table, f.rows) for f in rep.files] == [
        ("loaded", "ad_period", 2),
        ("loaded", "ad_daily", 10),
    ]
    got = periods.reconcile(wh).set_index("campaign_name")
    assert got.loc["Brand", "status"] == "match" and float(got.loc["Brand", "daily_spend"]) == 100.0
    assert got.loc["Generic", "status"] == "no daily rows"
    last = dt.datetime(2025, 12, 10)  # a day missing from the daily data
    wh.delete_period("ad_daily", where={}, date_column="date_day", start=last, end=last)
    assert periods.reconcile(wh).set_index("campaign_name").loc["Brand", "status"] == "differs"


def test_reports_without_account_ids_replace_only_their_own_campaigns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two accounts' campaign reports for the same week (no Customer ID column, the default) both stay; a
    corrected re-export of one replaces that one only."""
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    wh = Warehouse.memory()

    def report(name: str, campaign: str, cost: str) -> Path:
        p = tmp_path / name
        p.write_text(
            'Campaign report\n"December 8, 2025 - December 14, 2025"\nCampaign,Currency code,Impr.,Clicks,Cost\n'
            f"{campaign},USD,100,10,{cost}\nTotal: Account,USD,100,10,{cost}\n",
            encoding="utf-8",
        )
        return p

    files = [report("a.csv", "Account A brand", "10.00"), report("b.csv", "Account B brand", "20.00")]
    files.append(report("a_fixed.csv", "Account A brand", "12.00"))
    rep = ingest.ingest_paths(wh, files, params.resolve(), progress=False, today=dt.date(2026, 1, 1))
    assert [f.status for f in rep.files] == ["loaded", "loaded", "replaced"]
    got = wh.sql("SELECT campaign_name, sum(spend) s FROM ad_daily GROUP BY 1 ORDER BY 1")
    assert got.values.tolist() == [["Account A brand", 12.0], ["Account B brand", 20.0]]


def test_written_out_days_in_the_ui_language(tmp_path: Path, ctx: ReadContext) -> None:
    p = tmp_path / "tage.csv"
    p.write_text(
        'Kampagnenbericht\n"1. Dezember 2025 - 2. Dezember 2025"\nTag,Kampagne,Währungscode,Impr.,Klicks,Kosten\n'
        '1. Dezember 2025,Marke,USD,1.000,100,"10,50"\n2. Dezember 2025,Marke,USD,2.000,200,"1.020,25"\n'
        'Gesamt: Konto, --,USD,3.000,300,"1.030,75"\n',
        encoding="utf-8",
    )
    assert _totals_days_spend_impressions(p, ctx) == (
        {"_line": 6.0, "clicks": 300.0, "impressions": 3000.0, "spend": 1030.75},
        [dt.date(2025, 12, 1), dt.date(2025, 12, 2)],
        [10.5, 1020.25],
        [1000, 2000],
    )


def _totals_days_spend_impressions(p: Path, ctx: ReadContext) -> tuple[object, ...]:
    parsed = sources.detect(p).read(p, ctx)
    f = parsed.frame
    return parsed.totals, [d.date() for d in f["date_day"]], f["spend"].tolist(), f["impressions"].tolist()


# Meta Ads Manager headers as they appear in exports of each UI language (where each was seen: SOURCES.md,
# "Header dictionaries"); the reader must see the English names.
META_SEEN = {
    "es": (["Inicio de los informes", "Fin de los informes", "Nombre de la campaña", "Importe gastado (EUR)",
            "Impresiones", "Clics en el enlace"],
           ["Reporting starts", "Reporting ends", "Campaign name", "Amount spent (EUR)", "Impressions", "Link clicks"]),
    "pt": (["Início dos relatórios", "Encerramento dos relatórios", "Nome da campanha", "Valor usado (BRL)",
            "Impressões", "Cliques no link"],
           ["Reporting starts", "Reporting ends", "Campaign name", "Amount spent (BRL)", "Impressions", "Link clicks"]),
    "it": (["Giorno", "Nome della campagna", "Importo speso (EUR)", "Impression", "Copertura", "Clic sul link"],
           ["Day", "Campaign name", "Amount spent (EUR)", "Impressions", "Reach", "Link clicks"]),
    "nl": (["Start rapportage", "Einde rapportage", "Campagnenaam", "Besteed bedrag (EUR)", "Weergaven",
            "Klikken op links"],
           ["Reporting starts", "Reporting ends", "Campaign name", "Amount spent (EUR)", "Impressions", "Link clicks"]),
    "fr": (["Début des rapports", "Fin des rapports", "Nom de la campagne", "Montant dépensé (EUR)", "Portée",
            "Clics sur le lien"],
           ["Reporting starts", "Reporting ends", "Campaign name", "Amount spent (EUR)", "Reach", "Link clicks"]),
    "de": (["Berichtsbeginn", "Berichtsende", "Kampagnenname", "Ausgegebener Betrag (EUR)", "Impressionen",
            "Link-Klicks"],
           ["Reporting starts", "Reporting ends", "Campaign name", "Amount spent (EUR)", "Impressions", "Link clicks"]),
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(META_SEEN))
def test_meta_headers_as_seen_in_exports_translate(lang: str) -> None:
    seen, english = META_SEEN[lang]
    assert _locale.translate(seen, _locale.META, prefixes=True) == (english, lang)


# Google Ads UI download headers as public code reading genuine downloads (or Google's help pages) spell them
# (SOURCES.md, "Header dictionaries"); the reader must see the English names.
GOOGLE_SEEN = {
    "fr": (["Campagne", "État de la campagne", "Code de la devise", "Coût", "Clics", "CPC moy.", "Coût/conv.",
            "Taux de conv."],
           ["Campaign", "Campaign status", "Currency code", "Cost", "Clicks", "Avg. CPC", "Cost / conv.",
            "Conv. rate"]),
    "es": (["Campaña", "Estado de la campaña", "Código de moneda", "Coste", "Clics", "CPC medio", "Coste/conv.",
            "Tasa de conv."],
           ["Campaign", "Campaign status", "Currency code", "Cost", "Clicks", "Avg. CPC", "Cost / conv.",
            "Conv. rate"]),
    "pt": (["Campanha", "Tipo de campanha", "Código da moeda", "Custo", "Cliques", "CPC méd.", "Custo / conv.",
            "Taxa de conv."],
           ["Campaign", "Campaign type", "Currency code", "Cost", "Clicks", "Avg. CPC", "Cost / conv.",
            "Conv. rate"]),
    "it": (["Campagna", "Costo", "Clic", "CPC medio"], ["Campaign", "Cost", "Clicks", "Avg. CPC"]),
    "nl": (["Campagne", "Kosten", "Klikken", "Verton.", "Gem. CPC"],
           ["Campaign", "Cost", "Clicks", "Impr.", "Avg. CPC"]),
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(GOOGLE_SEEN))
def test_google_ads_headers_as_seen_translate(lang: str) -> None:
    seen, english = GOOGLE_SEEN[lang]
    assert _locale.translate(seen, _locale.GOOGLE_ADS) == (english, lang)
    assert _locale.translate(["Campaña", "Costo", "Costo/conv.", "CPC prom."], _locale.GOOGLE_ADS) == (
        ["Campaign", "Cost", "Cost / conv.", "Avg. CPC"],
        "es",
    )  # Latin American Spanish
    assert _locale.translate(
        ["Startdatum (in UTC)", "Gesamtausgaben", "Impressions", "Klicks"], _locale.LINKEDIN
    ) == (
        ["Start Date (in UTC)", "Total Spent", "Impressions", "Clicks"],
        "de",
    )  # LinkedIn, German UI


# ---- LinkedIn's newer level names, German UI (no campaign group column; SOURCES.md "LinkedIn, de") --------
LINKEDIN_DE = CORPUS / "linkedin_performance_de_no_group.csv"
LI_CTX = ReadContext(reporting_currency="USD", today=dt.date(2026, 12, 6))


def test_linkedin_levels_with_and_without_campaign_group() -> None:
    assert sources.detect(LINKEDIN_DE).NAME == "linkedin"
    f = sources.get("linkedin").read(LINKEDIN_DE, LI_CTX).frame
    spend = f.groupby(["campaign_name", "ad_group_name", "ad_group_id"])["spend"].sum().round(2).to_dict()
    assert spend == {  # the file's campaign is our campaign, its ad group our ad group
        ("Herbst Webinar", "Entscheider DACH", "51001"): 399.45,  # 212,40 + 187,05
        ("Herbst Webinar", "IT-Leitung", "51002"): 98.75,
        ("Marke 2026", "Alle Follower", "52001"): 64.30,
    }
    assert f["campaign_id"].isna().all() and set(f["currency"]) == {"USD"}
    assert [str(d.date()) for d in f["date_day"]] == ["2026-10-01", "2026-10-01", "2026-10-02", "2026-10-02"]
    assert f["conversions"].tolist() == [4, 1, 3, 0]  # Conversions, not Leads
    en = sources.get("linkedin").read(CORPUS / "linkedin_campaign_performance_en.csv", LI_CTX).frame
    assert en[["campaign_name", "campaign_id", "ad_group_name", "ad_group_id"]].iloc[0].tolist() == [
        "Awareness",
        "441",
        "Awareness - AG",
        "4411",
    ]  # with a campaign group column: group -> campaign, campaign -> ad group


@pytest.mark.parametrize(
    ("preamble", "period"),
    [
        (
            "Startdatum des Berichts: 1.10.2026\nEnddatum des Berichts: 2.10.2026\n",
            ("2026-10-01", "2026-10-02"),
        ),
        ("Startdatum des Berichts: 1.10.2026\nEnddatum des Berichts: 1.10.2026\n", None),  # rows outside
        ("Startdatum des Berichts: today\n", ("2026-10-01", "2026-10-02")),  # no date: the rows' dates
    ],
)
def test_linkedin_german_preamble_period(
    tmp_path: Path, preamble: str, period: tuple[str, str] | None
) -> None:
    text = LINKEDIN_DE.read_text(encoding="utf-8").replace("Startdatum des Berichts: 1.10.2026\n", preamble)
    p = tmp_path / "li.csv"
    p.write_text(text, encoding="utf-8")
    assert sources.detect(p).NAME == "linkedin"
    if period is None:
        with pytest.raises(SourceError, match="outside the report period"):
            sources.get("linkedin").read(p, LI_CTX)
        return
    got = sources.get("linkedin").read(p, LI_CTX).period
    assert got is not None and (str(got[0]), str(got[1])) == period


# a whole download per UI language: title, range line (abbreviated months), header, two days, account total
GOOGLE_FILES = {
    "fr": ("1 janv. 2026 - 2 janv. 2026", "Jour,Campagne,Code de la devise,Impr.,Clics,Coût,CPC moy.,Coût/conv.",
           "Total : compte"),
    "es": ("1 ene 2026 - 2 ene 2026", "Día,Campaña,Código de moneda,Impr.,Clics,Coste,CPC medio,Coste/conv.",
           "Total: cuenta"),
    "pt": ("1 de jan. de 2026 - 2 de jan. de 2026",
           "Dia,Campanha,Código da moeda,Impr.,Cliques,Custo,CPC méd.,Custo / conv.", "Total: conta"),
    "it": ("1 gen 2026 - 2 gen 2026", "Giorno,Campagna,Codice valuta,Impr.,Clic,Costo,CPC medio,Tasso conv.",
           "Totale: account"),
    "nl": ("1 jan 2026 - 2 jan 2026", "Dag,Campagne,Valutacode,Verton.,Klikken,Kosten,Gem. CPC,Conv.ratio",
           "Totaal: account"),
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(GOOGLE_FILES))
def test_google_ads_download_in_each_ui_language_loads(lang: str, tmp_path: Path, ctx: ReadContext) -> None:
    period, header, total = GOOGLE_FILES[lang]
    p = tmp_path / f"google_{lang}.csv"
    p.write_text(
        f'Report\n"{period}"\n{header}\n2026-01-01,Marque,EUR,1000,100,"10,50","0,11","5,25"\n'
        f'2026-01-02,Marque,EUR,2000,200,"20,25","0,10","5,06"\n{total},--,EUR,3000,300,"30,75","0,10","5,13"\n',
        encoding="utf-8",
    )
    assert _totals_days_spend_impressions(p, ctx) == (
        {"_line": 6.0, "clicks": 300.0, "impressions": 3000.0, "spend": 30.75},
        [dt.date(2026, 1, 1), dt.date(2026, 1, 2)],
        [10.5, 20.25],
        [1000, 2000],
    )
