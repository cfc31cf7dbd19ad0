"""The ingest engine: idempotence, corrected re-exports, atomicity, quarantine, FX conversion, channels."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
from ad_rows import TODAY, rows  # noqa: E402  (tests/support)

from mktdash import params, paths
from mktdash.ingest import engine as ingest
from mktdash.ingest import sources
from mktdash.warehouse.backend import Warehouse

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "exports"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Warehouse, params.Settings, Path]:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MKTDASH_PII_SALT", "test-salt")
    wh = Warehouse.memory()
    return wh, params.resolve(), tmp_path


def run(wh: Warehouse, files: list[Path], settings: params.Settings, **kw: object) -> ingest.IngestReport:
    return ingest.ingest_paths(wh, files, settings, progress=False, today=TODAY, **kw)  # type: ignore[arg-type]


def sums(wh: Warehouse, where: str = "true") -> tuple[int, int, float]:
    r = wh.sql(
        f"SELECT count(*) AS n, sum(clicks) AS c, round(sum(spend), 2) AS s FROM ad_daily WHERE {where}"
    )
    return int(r["n"][0]), int(r["c"][0] or 0), float(r["s"][0] or 0)


def fx_file(folder: Path, rows: list[tuple[str, str, float]]) -> Path:
    p = folder / "fx_rates.csv"
    p.write_text("date,currency,rate_to_usd\n" + "".join(f"{d},{c},{r}\n" for d, c, r in rows))
    return p


def test_all_fixtures_load_reconciled_with_channels(env: tuple) -> None:
    wh, settings, tmp = env
    files = [
        FIX / n
        for n in (
            "google_ads_campaign_day.csv",
            "google_ads_ad_alltime.csv",
            "meta_ads_manager_daily.csv",
            "linkedin_campaign_performance.csv",
            "microsoft_ads_campaign.csv",
            "tiktok_ads_daily.csv",
            "google_ads_editor_2025-07-08.csv",
        )
    ]
    before = {p: p.read_bytes() for p in files}
    rep = run(wh, files, settings)
    assert [f.status for f in rep.files] == ["loaded"] * 7, rep.summary()
    assert sums(wh) == (
        5 + 2 + 3 + 3 + 3 + 3 + 2,
        7052 + 285 + 1620 + 189 + 1965 + 750 + 2170,
        round(6077.20 + 240.75 + 612.40 + 2370.75 + 1183.25 + 385.75 + 1692.25, 2),
    )
    led = wh.df("ingest_ledger").set_index("file_name")
    assert led.loc["google_ads_campaign_day.csv", "reconciled"] == True  # noqa: E712
    assert led.loc["microsoft_ads_campaign.csv", "reconciled"] == True  # noqa: E712  ("Rows: 3")
    assert pd.isna(led.loc["linkedin_campaign_performance.csv", "reconciled"])  # no totals in LinkedIn files
    ch = wh.sql("SELECT campaign_name, channel FROM ad_daily WHERE source_relation = 'google_ads_ui'")
    assert dict(zip(ch.campaign_name, ch.channel, strict=False)) == {
        "Brand - Exact": "search",
        "GDN Remarketing": "display",
        "YouTube Launch": "video",
    }
    assert set(wh.sql("SELECT DISTINCT channel FROM ad_daily WHERE platform='meta'").channel) == {"social"}
    shop = wh.sql("SELECT channel FROM ad_daily WHERE campaign_name='Shopping - Bing'").channel
    assert shop.tolist() == ["shopping"]  # by campaign-name regex before platform
    aud = wh.sql(
        "SELECT DISTINCT audience, creative FROM ad_daily WHERE platform='meta' AND ad_name='Carousel B'"
    )
    assert aud.values.tolist() == [["Interests - Marketing", "Carousel B"]]
    # USD rows: reporting money equals the original
    r = wh.sql("SELECT sum(spend) - sum(spend_reporting) AS d, count(DISTINCT ingest_id) AS k FROM ad_daily")
    assert abs(r["d"][0]) < 1e-9 and r["k"][0] == 7
    # originals archived by hash, inbox files untouched
    for p in files:
        sha = hashlib.sha256(before[p]).hexdigest()
        assert list((paths.raw_dir() / sha[:2]).glob(sha + "*")), p
        assert p.read_bytes() == before[p]
    assert "7 loaded" in str(rep) and rep.rows == 21
    assert list(rep.summary().columns)[:3] == ["file", "status", "source"]


def test_a_week_with_nothing_new_to_load_needs_no_ibis(tmp_path: Path) -> None:
    """00_ingest's first cells (imports, then an ingest that finds nothing new) run before anything else of
    the weekly run can start: Ibis (~0.5 s to import) stays out of them; the ledger is read with plain SQL."""
    import os
    import subprocess
    import sys

    inbox = tmp_path / "home" / "data" / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(FIX / "tiktok_ads_daily.csv", inbox)
    week = (
        "import sys\nimport mktdash.ingest.engine, mktdash.runner.context, mktdash.ingest.scorecard\n"
        "from mktdash.warehouse.backend import Warehouse\nfrom mktdash.params import resolve\n"
        "with Warehouse.open() as wh:\n    rep = mktdash.ingest.engine.ingest_inbox(wh, resolve(), progress=False)\n"
        "print(*[f.status for f in rep.files], 'ibis' in sys.modules)\n"
    )
    env = {**os.environ, "MKTDASH_HOME": str(tmp_path / "home"), "MKTDASH_PII_SALT": "s"}
    out = [subprocess.run([sys.executable, "-c", week], env=env, capture_output=True, text=True, check=True).stdout
           for _ in range(2)]  # fmt: skip
    assert out[0].split() == ["loaded", "True"]  # loading a file writes through Ibis
    assert out[1].split() == ["unchanged", "False"]


def test_ingest_twice_is_idempotent(env: tuple) -> None:
    wh, settings, _ = env
    files = [FIX / "tiktok_ads_daily.csv", FIX / "meta_ads_manager_daily.csv"]
    run(wh, files, settings)
    first = sums(wh)
    rep = run(wh, files, settings)
    assert [f.status for f in rep.files] == ["unchanged", "unchanged"]
    assert sums(wh) == first == (6, 750 + 1620, round(385.75 + 612.40, 2))
    # seen before under the same name: nothing is written, so the ledger does not grow week after week
    assert wh.sql(
        "SELECT status, count(*) AS n FROM ingest_ledger GROUP BY 1 ORDER BY 1"
    ).values.tolist() == [["loaded", 2]]
    # the same bytes under another name in one batch: loaded once
    copy = env[2] / "copy.csv"
    shutil.copy(FIX / "linkedin_campaign_performance.csv", copy)
    rep = run(wh, [FIX / "linkedin_campaign_performance.csv", copy], settings)
    assert [f.status for f in rep.files] == ["loaded", "duplicate"]


def test_unchanged_files_are_neither_read_nor_parsed(env: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    wh, settings, tmp = env
    f, g = tmp / "google.csv", sources.get("google_ads_ui")
    g.write(rows(spend=10.0), f)
    assert run(wh, [f], settings).files[0].status == "loaded"

    def no_reading(*a: object, **k: object) -> None:
        raise AssertionError("an unchanged file was opened")

    with monkeypatch.context() as m:
        m.setattr(Path, "read_bytes", no_reading)
        m.setattr(sources, "detect", no_reading)
        assert run(wh, [f], settings).files[0].status == "unchanged"
    # edited in place (same name, new content): read again, and it replaces its period
    g.write(rows(spend=12.5), f)
    assert run(wh, [f], settings).files[0].status == "replaced"
    assert sums(wh) == (20, 200, 250.0)


def test_corrected_reexport_replaces_not_adds(env: tuple) -> None:
    wh, settings, tmp = env
    g = sources.get("google_ads_ui")
    g.write(rows(spend=10.0), tmp / "first.csv")  # July 1..10, 20 rows x 10
    g.write(rows(spend=12.5), tmp / "corrected.csv")
    g.write(rows(n=4, start="2025-07-11", days=2, spend=7.0), tmp / "next.csv")  # adjacent period: adds
    r1 = run(wh, [tmp / "first.csv", tmp / "next.csv"], settings)
    assert sums(wh) == (24, 240, 200.0 + 28.0)
    r2 = run(wh, [tmp / "corrected.csv"], settings)
    assert r2.files[0].status == "replaced"
    assert r2.files[0].replaces == [r1.files[0].ingest_id]
    assert sums(wh) == (24, 240, 250.0 + 28.0)  # the new file's sum, not both
    led = wh.sql("SELECT replaces FROM ingest_ledger WHERE status = 'replaced'")
    assert led.replaces.tolist() == [r1.files[0].ingest_id]
    # a re-export of part of the period only replaces the overlapping days
    g.write(rows(n=2, start="2025-07-05", days=1, spend=1.0), tmp / "partial.csv")
    run(wh, [tmp / "partial.csv"], settings)
    assert sums(wh, "date_day = DATE '2025-07-05'") == (2, 20, 2.0)
    assert sums(wh, "date_day = DATE '2025-07-04'") == (2, 20, 25.0)
    # another account in the same period is not touched
    other = rows(spend=3.0).assign(account_id="999-999-9999")
    g.write(other, tmp / "other.csv")
    run(wh, [tmp / "other.csv"], settings)
    assert sums(wh, "account_id = '111-222-3333'")[2] == 250.0 - 25.0 + 2.0 + 28.0


def test_crash_mid_load_rolls_back(env: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    wh, settings, tmp = env
    run(wh, [FIX / "tiktok_ads_daily.csv"], settings)
    before = (sums(wh), wh.count("ingest_ledger"))
    real_insert = ingest._insert
    inserted: list[str] = []

    def boom(wh_: Warehouse, name: str, df: pd.DataFrame) -> None:
        real_insert(wh_, name, df)
        inserted.append(name)
        if name == "ad_daily":  # rows are in, the ledger row is not: the worst moment
            raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "_insert", boom)
    with pytest.raises(KeyboardInterrupt):
        run(wh, [FIX / "meta_ads_manager_daily.csv"], settings)
    assert inserted == ["ad_daily"]  # the rows really went in before the crash ...
    assert (sums(wh), wh.count("ingest_ledger")) == before  # ... and were rolled back

    def fail_delete(*a: object, **k: object) -> list[str]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "_insert", real_insert)
    g = sources.get("tiktok")
    df = g.read(FIX / "tiktok_ads_daily.csv", sources.ReadContext()).frame.assign(spend=1.0)
    g.write(df, tmp / "tiktok_fix.csv")
    monkeypatch.setattr(Warehouse, "delete_period", fail_delete)
    with pytest.raises(RuntimeError, match="disk full"):
        run(wh, [tmp / "tiktok_fix.csv"], settings)
    assert (sums(wh), wh.count("ingest_ledger")) == before
    monkeypatch.undo()
    monkeypatch.setenv("MKTDASH_HOME", str(tmp / "home"))
    assert (
        run(wh, [FIX / "meta_ads_manager_daily.csv"], settings).files[0].status == "loaded"
    )  # next run works


def test_a_file_loads_with_one_duckdb_thread_and_the_settings_are_put_back(
    env: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh, settings, _ = env
    wh.raw.execute("SET threads = 2")
    real_insert = ingest._insert
    during: list[int] = []

    def spy(wh_: Warehouse, name: str, df: pd.DataFrame) -> None:
        during.append(int(wh_.raw.execute("SELECT current_setting('threads')").fetchone()[0]))
        real_insert(wh_, name, df)
        if name == "ad_daily" and len(during) > 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "_insert", spy)
    assert run(wh, [FIX / "tiktok_ads_daily.csv"], settings).files[0].status == "loaded"
    assert during == [1, 1]  # the rows and the ledger row, in the file's transaction
    with pytest.raises(KeyboardInterrupt):  # a crash inside the load: the setting is put back all the same
        run(wh, [FIX / "meta_ads_manager_daily.csv"], settings)
    assert during == [1, 1, 1]
    assert wh.raw.execute("SELECT current_setting('threads')").fetchone()[0] == 2
    assert wh.raw.execute("SELECT current_setting('disabled_compression_methods')").fetchone()[0] == ""


def test_quarantine_names_file_line_column_and_batch_goes_on(env: tuple) -> None:
    wh, settings, tmp = env
    bad = tmp / "tiktok_bad.csv"
    bad.write_text((FIX / "tiktok_ads_daily.csv").read_text().replace("160.25", "16O.25"))
    rep = run(wh, [bad, FIX / "meta_ads_manager_daily.csv"], settings)
    st = {Path(f.file).name: f for f in rep.files}
    assert st["meta_ads_manager_daily.csv"].status == "loaded"
    q = st["tiktok_bad.csv"]
    assert q.status == "quarantined" and q.line == 4 and q.column == "Cost"
    assert "tiktok_bad.csv" in (q.error or "") and "16O.25" in (q.error or "")
    qt = wh.df("quarantine")
    assert qt[["file_name", "line", "column_name"]].values.tolist() == [["tiktok_bad.csv", 4, "Cost"]]
    assert qt["hint"].iloc[0]
    assert sums(wh) == (3, 1620, 612.40)
    assert (ingest.quarantine_dir()).glob("*tiktok_bad.csv")
    assert Path(qt["raw_path"].iloc[0]).read_bytes() == bad.read_bytes()
    led = wh.sql("SELECT status FROM ingest_ledger WHERE file_name = 'tiktok_bad.csv'")
    assert led.status.tolist() == ["quarantined"]
    # still in the inbox next week: still quarantined with the recorded error, not parsed or recorded again
    again = run(wh, [bad], settings).files[0]
    assert (again.status, again.line, again.column, again.error) == ("quarantined", 4, "Cost", q.error)
    assert (wh.count("quarantine"), wh.count("ingest_ledger")) == (1, 2)
    # fixed and dropped again: loads (a quarantined hash is not a duplicate)
    bad.write_text((FIX / "tiktok_ads_daily.csv").read_text())
    assert run(wh, [bad], settings).files[0].status == "loaded"


def test_totals_mismatch_is_quarantined_with_numbers(env: tuple) -> None:
    wh, settings, tmp = env
    p = tmp / "google_edited.csv"
    p.write_text((FIX / "google_ads_campaign_day.csv").read_text().replace("2610.09", "2510.09"))
    f = run(wh, [p], settings).files[0]
    assert f.status == "quarantined" and f.column == "spend" and f.line == 13
    assert "6,077.20" in (f.error or "") and "5,977.20" in (f.error or "")
    assert wh.count("ad_daily") == 0


def test_fx_conversion_against_hand_math_and_load_order(env: tuple) -> None:
    wh, settings, tmp = env
    fx = fx_file(tmp, [("2025-07-08", "EUR", 1.2), ("2025-07-09", "EUR", 1.1), ("2025-07-09", "GBP", 1.3)])
    # ad file listed first: the engine loads FX first
    rep = run(wh, [FIX / "google_ads_adgroup_oneday_eur.csv", fx], settings)
    assert [f.table for f in rep.files] == ["fx_rates", "ad_daily"]
    assert [f.status for f in rep.files] == ["loaded", "loaded"], rep.summary().error.tolist()
    r = wh.sql(
        "SELECT ad_group_name, currency, spend, spend_reporting, conversions_value_reporting FROM ad_daily ORDER BY 1"
    )
    assert r.values.tolist() == [
        ["Brand - Core", "EUR", 1340.25, pytest.approx(1340.25 * 1.1), pytest.approx(6000.00 * 1.1)],
        ["Brand - Misspell", "EUR", 88.10, pytest.approx(88.10 * 1.1), pytest.approx(175.00 * 1.1)],
    ]


def test_missing_fx_rate_names_currency_and_date(env: tuple) -> None:
    wh, settings, tmp = env
    f = run(wh, [FIX / "google_ads_adgroup_oneday_eur.csv"], settings).files[0]
    assert f.status == "quarantined"
    assert "no FX rate for EUR on 2025-07-09" in (f.error or "") and f.line == 4
    assert wh.count("ad_daily") == 0


def test_formula_cells_are_neutralised_and_reported(env: tuple) -> None:
    wh, settings, tmp = env
    p = tmp / "tiktok_formula.csv"
    p.write_text(
        (FIX / "tiktok_ads_daily.csv")
        .read_text()
        .replace("Creator video 2", '"=HYPERLINK(""http://x"",""y"")"')
    )
    f = run(wh, [p], settings).files[0]
    assert f.status == "loaded"
    names = wh.sql("SELECT ad_name FROM ad_daily").ad_name.tolist()
    assert '\'=HYPERLINK("http://x","y")' in names and not any(n.startswith("=") for n in names)
    msg = wh.sql("SELECT message FROM ingest_ledger").message.iloc[0]
    assert "formula" in msg and "line 3" in msg


def test_ingest_inbox_walks_subfolders_and_skips_hidden(env: tuple) -> None:
    wh, settings, tmp = env
    inbox = paths.inbox_dir()
    (inbox / "meta").mkdir(parents=True)
    (inbox / "tiktok" / "2025").mkdir(parents=True)
    shutil.copy(FIX / "meta_ads_manager_daily.csv", inbox / "meta")
    shutil.copy(FIX / "tiktok_ads_daily.csv", inbox / "tiktok" / "2025")
    (inbox / ".DS_Store").write_bytes(b"\x00\x01")
    rep = ingest.ingest_inbox(wh, settings, progress=False, today=TODAY)
    from_inbox = sorted(Path(f.file).name for f in rep.files if Path(f.file).is_relative_to(inbox))
    assert from_inbox == ["meta_ads_manager_daily.csv", "tiktok_ads_daily.csv"]
    others = [f for f in rep.files if not Path(f.file).is_relative_to(inbox)]  # params files formats register
    assert all(Path(f.file).is_relative_to(paths.params_dir()) for f in others)
    assert sums(wh) == (6, 2370, round(612.40 + 385.75, 2))


def test_forced_source_and_unknown_file(env: tuple) -> None:
    wh, settings, tmp = env
    p = tmp / "notes.txt"
    p.write_text("hello\nworld\n")
    f = run(wh, [p], settings).files[0]
    assert (
        f.status == "quarantined"
        and "not a known export" in (f.error or "")
        and "notes.txt" in (f.error or "")
    )
    f2 = run(wh, [FIX / "tiktok_ads_daily.csv"], settings, source="meta").files[0]
    assert f2.status == "quarantined" and "Amount spent (USD)" in (f2.error or "")


def test_future_dates_rejected(env: tuple) -> None:
    wh, settings, tmp = env
    f = ingest.ingest_paths(
        wh, [FIX / "tiktok_ads_daily.csv"], settings, progress=False, today=dt.date(2025, 7, 7)
    ).files[0]
    assert f.status == "quarantined" and f.line == 4 and "future" in (f.error or "")


def test_snapshot_without_period_replaces_rows_of_the_same_key(env: tuple) -> None:
    wh, settings, tmp = env
    a = tmp / "kpi_targets_a.csv"
    a.write_text("metric,level,entity,period,target\nroas,total,all,week,3.0\ncpa,channel,search,week,45\n")
    b = tmp / "kpi_targets_b.csv"
    b.write_text("metric,level,entity,period,target\nroas,total,all,week,3.5\n")
    r1 = run(wh, [a], settings)
    assert r1.files[0].status == "loaded", r1.files[0].error
    r2 = run(wh, [b], settings)
    assert r2.files[0].status == "replaced" and r2.files[0].replaces == [r1.files[0].ingest_id]
    got = wh.sql("SELECT metric, target FROM kpi_targets ORDER BY metric").values.tolist()
    assert got == [["cpa", 45.0], ["roas", 3.5]]  # roas replaced, cpa (not in the new file) kept


def test_crm_amounts_use_the_nearest_rate() -> None:
    from mktdash.ingest import channels

    deals = pd.DataFrame(
        {
            "_fx_date": pd.to_datetime(["2025-07-01", "2030-01-01", None]).astype("datetime64[s]"),
            "currency": ["EUR", "EUR", "USD"],
            "amount": [100.0, 200.0, 50.0],
        }
    )
    rates = pd.DataFrame(
        {
            "date_day": pd.to_datetime(["2025-07-01", "2025-07-02"]),
            "currency": ["EUR", "EUR"],
            "rate_to_reporting": [1.1, 1.2],
        }
    )
    out = channels.convert_currency(
        deals, rates, "USD", money={"amount": "amount_reporting"}, date_col="_fx_date", nearest=True
    )
    assert out["amount_reporting"].tolist() == pytest.approx([110.0, 240.0, 50.0])


def test_crm_channel_from_lead_and_original_source(env: tuple) -> None:
    wh, settings, tmp = env
    deals = (FIX / "hubspot_deals_export.csv").read_text().splitlines()
    deals[2] = deals[2].replace("Paid Social", "paid SOCIAL")  # case-insensitive match
    deals[3] = deals[3].replace("Organic Search", "Carrier Pigeon")  # unmapped -> default
    (tmp / "deals.csv").write_text("\n".join(deals) + "\n")
    contacts = (FIX / "hubspot_contacts_export.csv").read_text().replace(",Paid Social,", ",PAID_SOCIAL,")
    (tmp / "contacts.csv").write_text(contacts)
    fx = fx_file(tmp, [(f"2025-{m:02d}-{d:02d}", "EUR", 1.1) for m in (9, 10, 11, 12) for d in range(1, 29)])
    rep = run(wh, [fx, tmp / "deals.csv", tmp / "contacts.csv"], settings)
    assert [f.status for f in rep.files] == ["loaded"] * 3, rep.summary()
    got = dict(wh.sql("SELECT lead_source, channel FROM crm_deals").values.tolist())
    assert got == {"Paid Search": "search", "paid SOCIAL": "social", "Carrier Pigeon": "other"}
    got = wh.sql("SELECT original_source, channel FROM crm_contacts").drop_duplicates().values.tolist()
    assert ["Paid Search", "search"] in got and ["PAID_SOCIAL", "social"] in got  # exact key, not via case
    assert all(c for _, c in got)  # every contact has a channel
    # cross-domain views see mapped channels (no 'unknown' sourced pipeline)
    from mktdash.analytics import crossdomain

    fun = crossdomain.funnel(wh).set_index("channel")
    assert "unknown" not in fun.index
    assert fun.loc["search", "pipeline_sourced"] == pytest.approx(12000.0)


def test_crm_channel_exact_rule_wins_over_case_folded() -> None:
    from mktdash.ingest import channels
    from mktdash.params import ChannelParams

    p = ChannelParams(crm_sources={"Paid Search": "search", "PAID SEARCH": "paid_caps"}, default="zz")
    got = channels.map_crm_sources(pd.Series(["PAID SEARCH", "paid search", " Paid Search ", "", None]), p)
    assert got.tolist() == ["paid_caps", "search", "search", "zz", "zz"]


def test_touchpoints_corrected_reexport_replaces(env: tuple) -> None:
    wh, settings, tmp = env
    head = "journey_id,timestamp,channel,campaign,converted,conversion_value\n"
    first = tmp / "touchpoints_a.csv"
    first.write_text(
        head + "j1,2025-11-10T09:00:00,search,B,true,100\nj1,2025-11-12T23:30:00,social,P,true,100\n"
        "j2,2025-11-11T10:00:00,display,,false,0\nj3,2025-11-12T08:00:00,video,V,true,40\n"
    )
    second = tmp / "touchpoints_b.csv"  # the corrected export of the same days: j2 converted, j3 gone
    second.write_text(
        head + "j1,2025-11-10T09:00:00,search,B,true,110\nj1,2025-11-12T23:30:00,social,P,true,110\n"
        "j2,2025-11-11T10:00:00,display,,true,30\n"
    )
    r1 = run(wh, [first], settings)
    assert r1.files[0].status == "loaded", r1.files[0].error
    r2 = run(wh, [second], settings)
    assert r2.files[0].status == "replaced" and r2.files[0].replaces == [r1.files[0].ingest_id]
    r = wh.sql(
        "SELECT count(*) n, sum(conversion_value) v, count(*) FILTER (WHERE converted) k FROM touchpoints"
    )
    assert r.values.tolist() == [
        [3, 250.0, 3]
    ]  # the second file's rows, not both (23:30 on the last day too)
    # a later, adjacent period adds
    third = tmp / "touchpoints_c.csv"
    third.write_text(head + "j9,2025-11-13T01:00:00,search,B,false,0\n")
    assert run(wh, [third], settings).files[0].status == "loaded"
    assert wh.count("touchpoints") == 4


def test_formula_rule_is_one_for_every_reader(env: tuple) -> None:
    wh, settings, tmp = env
    p = tmp / "spend_limits.csv"  # a non-ad reader: neutralised and loaded, like the ad readers
    p.write_text(
        'channel,campaign_name,period,limit_amount\nsearch,"=HYPERLINK(""http://x"")",week,10\n'
        "social,+1 555 0100,week,20\nvideo,-2+3+cmd|' /C calc'!A0,week,30\ndisplay,-12.50,week,40\n"
    )
    f = run(wh, [p], settings).files[0]
    assert f.status == "loaded", f.error
    got = dict(wh.sql("SELECT channel, campaign_name FROM spend_limits").values.tolist())
    assert got == {
        "search": '\'=HYPERLINK("http://x")',
        "social": "+1 555 0100",
        "video": "'-2+3+cmd|' /C calc'!A0",
        "display": "-12.50",
    }
    msg = wh.sql("SELECT message FROM ingest_ledger").message.iloc[0]
    assert "neutralised 2 formula-like cell(s) in campaign_name" in msg and "line 2" in msg
    # a text column the file provides that the engine used to skip (touchpoints.channel)
    t = tmp / "touchpoints.csv"
    t.write_text(
        "journey_id,timestamp,channel,campaign,converted,conversion_value\n"
        "j1,2025-11-10T09:00:00,@SUM(A1),B,true,5\n"
    )
    assert run(wh, [t], settings).files[0].status == "loaded"
    assert wh.sql("SELECT channel, conversion_value FROM touchpoints").values.tolist() == [["'@SUM(A1)", 5.0]]


def test_phone_numbers_are_not_touched_before_hashing(env: tuple) -> None:
    from mktdash.ingest import pii

    wh, settings, tmp = env
    rep = run(wh, [FIX / "hubspot_contacts_export.csv"], settings)
    assert rep.files[0].status == "loaded", rep.files[0].error
    assert "formula" not in " ".join(rep.files[0].warnings)
    got = wh.sql("SELECT phone_hash FROM crm_contacts WHERE contact_id = '501'").phone_hash.iloc[0]
    assert got == pii.hash_value("+1 (555) 010-4477", pii.salt(settings), "phone")


def test_cli_ingest_explains_every_refusal_and_counts_per_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mktdash import cli

    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MKTDASH_PII_SALT", "test-salt")
    inbox = paths.inbox_dir()
    (inbox / "meta").mkdir(parents=True)
    shutil.copy(FIX / "tiktok_ads_daily.csv", inbox / "tiktok.csv")
    shutil.copy(FIX / "tiktok_ads_daily.csv", inbox / "tiktok_again.csv")  # same bytes: duplicate
    bad = (FIX / "meta_ads_manager_daily.csv").read_text().splitlines()
    cells = bad[2].split(",")
    col = bad[0].split(",").index("Impressions")
    cells[col] = "lots"
    (inbox / "meta" / "broken.csv").write_text("\n".join([*bad[:2], ",".join(cells), *bad[3:]]) + "\n")
    assert cli.main(["ingest", "--quiet"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ingest: 3 files (1 duplicate, 1 loaded, 1 quarantined), 3 rows loaded"
    counts = {ln.split()[0]: int(ln.split()[1]) for ln in out[1:4]}
    assert counts == {"loaded": 1, "duplicate": 1, "quarantined": 1}
    refusal = next(ln for ln in out if ln.strip().startswith("meta/broken.csv"))
    assert "(line 3, column 'Impressions')" in refusal and "not a number" in refusal and "'lots'" in refusal
    assert out[out.index(refusal) + 1].strip().startswith("what to do: ")
    with Warehouse.open(read_only=True) as wh:  # the same text as the quarantine table
        q = wh.df("quarantine").iloc[0]
    assert q["error"] in refusal and q["hint"] in out[out.index(refusal) + 1]
    (inbox / "meta" / "broken.csv").unlink()
    assert cli.main(["ingest", "--quiet"]) == 0  # nothing refused any more
    assert "unchanged" in capsys.readouterr().out


def test_nothing_ever_loaded_only_when_every_file_seen_was_refused(
    env: tuple[Warehouse, params.Settings, Path],
) -> None:
    """`mktdash run`'s "no data to report" (exit 2) after its ingest: files seen, none ever loaded."""
    tmp_path = env[2]
    db = tmp_path / "w.duckdb"
    assert not ingest.nothing_ever_loaded(db)  # no warehouse: nothing was ingested, not "all refused"
    bad = tmp_path / "notes.csv"
    bad.write_text("hello,world\n1,2\n", encoding="utf-8")
    with Warehouse.open(db) as wh:
        assert run(wh, [bad], params.resolve()).by_status("quarantined")
    assert ingest.nothing_ever_loaded(db)
    with Warehouse.open(db) as wh:
        assert run(wh, [FIX / "tiktok_ads_daily.csv"], params.resolve()).rows > 0
    assert not ingest.nothing_ever_loaded(db)  # one file loaded once: there is data
