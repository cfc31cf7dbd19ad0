"""Non-ad export formats: hand-made fixtures in the real layouts read with known answers, round trips
(write then read gives the same canonical rows), sniffing, and the quirks (GA4 variants and totals,
Salesforce footer and record count, ECB rates)."""

from __future__ import annotations

import datetime as dt
import importlib
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mktdash.ingest import pii
from mktdash.ingest.sources.base import ReadContext, SourceError
from mktdash.warehouse.schema import conform

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
PARAMS = Path(__file__).resolve().parents[2] / "params"
SALT = "test-salt"
CTX = ReadContext(pii_salt=SALT)
MODULES = [
    "ga4", "hubspot_deals", "hubspot_contacts", "salesforce", "salesforce_leads", "product_usage", "customer_health",
    "budget_plan", "spend_limits", "approvals", "kpi_targets", "fx_rates", "touchpoints",
]  # fmt: skip
FIXTURES = {
    "ga4_traffic_acquisition_daily.csv": "ga4",
    "ga4_legacy_conversions.csv": "ga4",
    "hubspot_deals_export.csv": "hubspot_deals",
    "hubspot_contacts_export.csv": "hubspot_contacts",
    "salesforce_opportunities.csv": "salesforce",
    "salesforce_leads_report.csv": "salesforce_leads",
    "fx_rates_eurofxref_hist.csv": "fx_rates",
    "fx_rates_simple.csv": "fx_rates",
    "product_usage_daily.csv": "product_usage",
    "customer_health_snapshot.csv": "customer_health",
    "touchpoints_journeys.csv": "touchpoints",
    "budget_plan_2025q4.csv": "budget_plan",
    "spend_limits_weekly.csv": "spend_limits",
    "approvals_log.csv": "approvals",
    "kpi_targets_quarter.csv": "kpi_targets",
}


def mod(name: str):
    return importlib.import_module(f"mktdash.ingest.sources.{name}")


def read(name: str, path: Path):
    return mod(name).read(path, CTX)


def canon(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["_line", "ingest_id"], errors="ignore").reset_index(drop=True)


# ---- sniffing ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fname", sorted(FIXTURES))
def test_each_fixture_is_sniffed_by_its_module_only(fname: str) -> None:
    head = (FIX / fname).read_text(encoding="utf-8")[:8192]
    claimed = [m for m in MODULES if mod(m).sniff(head, fname)]
    assert claimed == [FIXTURES[fname]]


@pytest.mark.parametrize(
    ("fname", "name"), [("targets.yaml", "kpi_targets"), ("approvals.yaml", "approvals")]
)
def test_params_yaml_examples_are_sniffed_and_read(fname: str, name: str) -> None:
    p = PARAMS / fname
    claimed = [m for m in MODULES if mod(m).sniff(p.read_text()[:8192], fname)]
    assert claimed == [name]
    res = read(name, p)
    assert len(res.frame) >= 2
    assert res.frame["_line"].is_monotonic_increasing and res.frame["_line"].min() > 1


def test_base_yaml_is_not_claimed() -> None:
    p = PARAMS / "base.yaml"
    assert [m for m in MODULES if mod(m).sniff(p.read_text()[:8192], p.name)] == []


# ---- GA4 -------------------------------------------------------------------------------------------------------
def test_ga4_newer_key_events_fixture_known_totals() -> None:
    r = read("ga4", FIX / "ga4_traffic_acquisition_daily.csv")
    f = r.frame
    assert len(f) == 5  # Grand total row and the non-daily section skipped
    assert f["sessions"].sum() == 3610 == r.totals["sessions"]  # "3,610" with a thousands separator
    assert f["key_events"].sum() == pytest.approx(97.5) == r.totals["key_events"]
    assert f["revenue"].sum() == pytest.approx(18450.75) == r.totals["revenue"]
    assert set(f["property_id"]) == {"312345678"}
    assert r.period == (dt.date(2025, 11, 10), dt.date(2025, 11, 12))  # from the preamble, not the data
    assert r.replace_key == {"property_id": "312345678"}
    assert f["_line"].tolist() == [12, 13, 14, 15, 16]
    assert f.loc[f["_line"] == 14, "channel_group"].item() == "Direct"
    assert f["date_day"].min() == pd.Timestamp("2025-11-10")
    assert any("line 25" in w for w in r.warnings)


def test_ga4_older_conversions_fixture_with_source_medium() -> None:
    r = read("ga4", FIX / "ga4_legacy_conversions.csv")
    f = r.frame
    assert f["key_events"].tolist() == [5.0, 6.0, 3.0]  # "Conversions" column of older exports
    assert f["users"].sum() == 645  # "Users" (older) instead of "Total users"
    assert f["source_medium"].tolist() == ["facebook / cpc", "facebook / cpc", "newsletter / email"]
    assert r.replace_key == {"property_id": "298765432"}  # from "# Property ID:"
    assert r.totals == {
        "sessions": 700,
        "engaged_sessions": 370,
        "users": 645,
        "key_events": 14,
        "revenue": 1130.5,
        "_line": 15,
    }  # the Grand total line, for the engine's reconciliation error


def test_ga4_garbage_number_names_line_and_column(tmp_path: Path) -> None:
    text = (FIX / "ga4_traffic_acquisition_daily.csv").read_text().replace("640,450", "640,lots")
    p = tmp_path / "ga4_bad.csv"
    p.write_text(text)
    with pytest.raises(SourceError) as e:
        read("ga4", p)
    assert (e.value.line, e.value.column) == (13, "Engaged sessions")
    assert "ga4_bad.csv" in str(e.value)


def test_ga4_without_date_dimension_is_refused(tmp_path: Path) -> None:
    lines = (FIX / "ga4_traffic_acquisition_daily.csv").read_text().splitlines()
    p = tmp_path / "ga4_nodate.csv"
    p.write_text("\n".join(lines[17:]) + "\n")  # only the summary section
    with pytest.raises(SourceError, match="Date"):
        read("ga4", p)


@pytest.mark.parametrize("legacy", [False, True])
def test_ga4_round_trip(tmp_path: Path, legacy: bool) -> None:
    days = pd.date_range("2025-01-01", periods=4)
    df = conform(
        pd.DataFrame(
            {
                "date_day": np.repeat(days, 2),
                "property_id": "42",
                "channel_group": ["Direct", "Paid Search"] * 4,
                "sessions": np.arange(8) * 1000 + 5,
                "engaged_sessions": np.arange(8) * 500,
                "users": np.arange(8) * 900,
                "key_events": np.linspace(0, 7.5, 8),
                "revenue": np.round(np.linspace(0, 12345.67, 8), 2),
            }
        ),
        "web_daily",
    )
    p = tmp_path / "ga4.csv"
    mod("ga4").write(df, p, legacy=legacy, summary_section=True)
    assert ("Conversions" in p.read_text()) is legacy
    r = read("ga4", p)
    pd.testing.assert_frame_equal(canon(r.frame), canon(df))
    assert r.totals["revenue"] == pytest.approx(df["revenue"].sum())


# ---- HubSpot / Salesforce -------------------------------------------------------------------------------------
def test_hubspot_deals_fixture() -> None:
    r = read("hubspot_deals", FIX / "hubspot_deals_export.csv")
    f = r.frame.set_index("deal_id")
    assert f.loc["9001", "is_won"] and f.loc["9001", "is_closed"]
    assert not f.loc["9002", "is_won"] and f.loc["9002", "is_closed"]
    assert not f.loc["9003", "is_closed"]
    assert f["amount"].sum() == pytest.approx(15500.5)
    assert f.loc["9001", "contact_id"] == "501"  # first of "501;502"
    assert f.loc["9001", "customer_id"] == "7001"
    assert f.loc["9001", "campaign_name"] == "Brand - Exact"
    assert f.loc["9001", "created_date"] == pd.Timestamp("2025-10-01")
    assert f.loc["9001", "deal_name"] == pii.hash_value(
        "Acme Corp - Harriet Planted-Deal renewal", SALT, "name"
    )
    assert r.replace_key == {"crm": "hubspot"} and r.period is None


def test_hubspot_contacts_fixture_hashes_pii() -> None:
    f = read("hubspot_contacts", FIX / "hubspot_contacts_export.csv").frame.set_index("contact_id")
    assert f.loc["501", "email_hash"] == pii.hash_value("harriet.planted@example.com", SALT, "email")
    assert f.loc["501", "phone_hash"] == pii.hash_value("15550104477", SALT, "phone")
    assert f.loc["501", "name_hash"] == pii.hash_value("harriet planted-contact", SALT, "name")
    assert pd.isna(f.loc["502", "phone_hash"])
    assert f.loc["501", "lead_score"] == 87 and f.loc["502", "lifecycle_stage"] == "Marketing Qualified Lead"


def test_salesforce_fixture_footer_and_currency() -> None:
    r = read("salesforce", FIX / "salesforce_opportunities.csv")
    f = r.frame.set_index("deal_id")
    assert len(f) == 3  # footer lines not read as rows
    assert f["amount"].tolist() == [25000.0, 4250.75, 1200.0]
    assert f["currency"].tolist() == ["USD", "EUR", "USD"]  # "USD 25,000.00", "EUR ...", "$1,200.00"
    assert f.loc["0065g00000AbCdEAA1", "close_date"] == pd.Timestamp("2025-11-04")  # M/D/YYYY
    assert f["is_won"].tolist() == [True, False, False]
    assert f.loc["0065g00000AbCdEAA1", "customer_id"] == "0015g00000XyZAAA"


def test_salesforce_record_count_mismatch_is_refused(tmp_path: Path) -> None:
    text = (
        (FIX / "salesforce_opportunities.csv")
        .read_text()
        .replace("Grand Totals (3 records)", "Grand Totals (4 records)")
    )
    p = tmp_path / "sf.csv"
    p.write_text(text)
    with pytest.raises(SourceError, match="4 records but 3 rows") as e:
        read("salesforce", p)
    assert e.value.line == 7  # the footer line


def test_salesforce_truncated_without_footer_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "sf.csv"
    p.write_text("\n".join((FIX / "salesforce_opportunities.csv").read_text().splitlines()[:3]) + "\n")
    with pytest.raises(SourceError, match="truncated"):
        read("salesforce", p)


def _deals() -> pd.DataFrame:
    return conform(
        pd.DataFrame(
            {
                "deal_id": ["d1", "d2", "d3"],
                "deal_name": ["Acme - Jane Roe", "Globex", "Initech, Inc."],
                "stage": ["Closed Won", "Closed Lost", "Qualification"],
                "is_closed": [True, True, False],
                "is_won": [True, False, False],
                "amount": [1234.5, 99.0, np.nan],
                "currency": ["USD", "EUR", "USD"],
                "created_date": pd.to_datetime(["2025-01-02", "2025-01-03", "2025-02-01"]),
                "close_date": pd.to_datetime(["2025-02-02", "2025-02-03", "2025-03-01"]),
                "pipeline": ["default", "default", "default"],
                "lead_source": ["Paid Search", "Paid Social", None],
                "campaign_name": ["Brand", None, "Launch, EU"],
                "contact_id": ["c1", "c2", None],
                "customer_id": ["a1", None, None],
            }
        ),
        "crm_deals",
    )


@pytest.mark.parametrize("name", ["hubspot_deals", "salesforce"])
def test_crm_deals_round_trip(tmp_path: Path, name: str) -> None:
    df = _deals()
    p = tmp_path / f"{name}.csv"
    mod(name).write(df, p)
    r = read(name, p)
    want = df.assign(crm=name.split("_")[0], deal_name=pii.hash_series(df["deal_name"], SALT, "name"))
    got = canon(r.frame)
    if name == "salesforce":  # the details-only report carries no pipeline name: "Type" holds it
        assert got["pipeline"].tolist() == ["default"] * 3
    pd.testing.assert_frame_equal(got, canon(conform(want, "crm_deals")))


def test_hubspot_contacts_round_trip(tmp_path: Path) -> None:
    raw = pd.DataFrame(
        {
            "contact_id": ["1", "2"],
            "email": ["A@B.com", "c@d.org"],
            "first_name": ["Ann", "Bo"],
            "last_name": ["Lee", "Kim"],
            "phone": ["+44 20 7946 0000", ""],
            "created_date": pd.to_datetime(["2025-01-01", "2025-01-05"]),
            "lifecycle_stage": ["Lead", "Customer"],
            "lead_status": ["New", None],
            "lead_score": [10.0, 55.0],
            "original_source": ["Paid Search", "Direct Traffic"],
            "original_campaign": ["Brand", None],
        }
    )
    p = tmp_path / "contacts.csv"
    mod("hubspot_contacts").write(raw, p)
    got = canon(read("hubspot_contacts", p).frame)
    want = conform(
        raw.assign(
            crm="hubspot",
            email_hash=pii.hash_series(raw["email"], SALT, "email"),
            name_hash=pii.hash_series(raw["first_name"] + " " + raw["last_name"], SALT, "name"),
            phone_hash=pii.hash_series(raw["phone"].replace("", None), SALT, "phone"),
        ),
        "crm_contacts",
    )
    pd.testing.assert_frame_equal(got, canon(want))


# ---- generic tables -----------------------------------------------------------------------------------------
GENERIC = {
    "product_usage": pd.DataFrame(
        {"date_day": pd.to_datetime(["2025-01-01", "2025-01-02"]), "customer_id": ["c1", "c2"],
         "feature": ["reports", "export"], "events": [10, 0], "active_users": [3, 0]}
    ),
    "customer_health": pd.DataFrame(
        {"snapshot_date": pd.to_datetime(["2025-01-05"] * 2), "customer_id": ["c1", "c2"],
         "acquisition_channel": ["search", None], "plan": ["pro", "free"], "mrr": [490.5, 0.0],
         "health_score": [81.5, 12.0], "churned": [False, True]}
    ),
    "touchpoints": pd.DataFrame(
        {"journey_id": ["j1", "j1", "j2"],
         "touch_ts": pd.to_datetime(["2025-01-01 10:00:00", "2025-01-02 11:30:15", "2025-01-02 00:00:00"]),
         "channel": ["search", "social", "display"], "campaign_name": ["Brand", None, "Retarget, EU"],
         "converted": [True, True, False], "conversion_value": [99.5, 99.5, 0.0]}
    ),
    "budget_plan": pd.DataFrame(
        {"month": pd.to_datetime(["2025-01-01", "2025-02-01"]), "channel": ["search", "social"],
         "campaign_name": [None, "Prospecting"], "planned_spend": [1000.0, 250.25]}
    ),
    "spend_limits": pd.DataFrame(
        {"channel": ["search", "social"], "campaign_name": [None, "Prospecting"], "period": ["week", "month"],
         "limit_amount": [5000.0, 800.0]}
    ),
    "approvals": pd.DataFrame(
        {"proposal_id": ["2025-W02-budget"], "approved_by": ["cmo"],
         "approved_at": pd.to_datetime(["2025-01-13 09:30:00"]), "decision": ["approved"], "note": ["ok: go"]}
    ),
    "kpi_targets": pd.DataFrame(
        {"metric": ["roas", "cpa"], "level": ["total", "channel"], "entity": ["all", "search"],
         "period": ["week", "month"], "target": [3.0, 45.5]}
    ),
}  # fmt: skip


@pytest.mark.parametrize("suffix", [".csv", ".yaml"])
@pytest.mark.parametrize("name", sorted(GENERIC))
def test_generic_round_trip(tmp_path: Path, name: str, suffix: str) -> None:
    if suffix == ".yaml" and name in ("product_usage", "customer_health", "touchpoints"):
        pytest.skip("CSV only")
    df = conform(GENERIC[name], name)
    p = tmp_path / f"{name}{suffix}"
    mod(name).write(df, p)
    assert mod(name).sniff(p.read_text()[:8192], p.name)
    r = read(name, p)
    pd.testing.assert_frame_equal(canon(r.frame), canon(df))


def test_generic_fixtures_known_values() -> None:
    assert read("product_usage", FIX / "product_usage_daily.csv").frame["events"].sum() == 162
    h = read("customer_health", FIX / "customer_health_snapshot.csv").frame
    assert h["mrr"].sum() == pytest.approx(589.5) and h["churned"].tolist() == [False, True]
    b = read("budget_plan", FIX / "budget_plan_2025q4.csv")
    assert b.frame["planned_spend"].sum() == pytest.approx(260000.5)
    assert b.period == (dt.date(2025, 10, 1), dt.date(2025, 11, 30))
    t = read("touchpoints", FIX / "touchpoints_journeys.csv").frame
    assert t["touch_ts"].iloc[1] == pd.Timestamp("2025-11-11 18:02:11")
    assert mod("spend_limits").SNAPSHOT and mod("kpi_targets").SNAPSHOT and mod("approvals").SNAPSHOT
    # replacement keys are canonical columns (the engine deletes earlier rows with the file's values)
    for name in MODULES:
        r = read(name, FIX / next(f for f, m in FIXTURES.items() if m == name))
        assert set(r.replace_key) <= set(r.frame.columns), name


def test_generic_missing_column_is_refused_formula_kept_for_the_engine(tmp_path: Path) -> None:
    p = tmp_path / "usage.csv"
    p.write_text("date,customer_id,feature\n2025-01-01,c1,x\n")
    with pytest.raises(SourceError, match="missing column 'events'"):
        read("product_usage", p)
    # one rule for all readers: the reader keeps the cell, the engine neutralises it (test_ingest)
    p.write_text('channel,campaign_name,period,limit_amount\nsearch,"=HYPERLINK(""http://x"")",week,10\n')
    assert read("spend_limits", p).frame["campaign_name"].tolist() == ['=HYPERLINK("http://x")']


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    p = tmp_path / "targets.yaml"
    p.write_text("kpi_targets:\n  - {metric: roas, target: 3}\n  - {metric: cpa target: }\n")
    with pytest.raises(SourceError, match="invalid YAML") as e:
        read("kpi_targets", p)
    assert e.value.line == 3


# ---- FX -----------------------------------------------------------------------------------------------------
def test_fx_ecb_layout_known_rates() -> None:
    r = read("fx_rates", FIX / "fx_rates_eurofxref_hist.csv")
    f = r.frame.set_index(["date_day", "currency"])["rate_to_reporting"]
    d = pd.Timestamp("2025-11-07")
    assert f[(d, "EUR")] == pytest.approx(1.155)
    assert f[(d, "GBP")] == pytest.approx(1.155 / 0.879)
    assert f[(d, "JPY")] == pytest.approx(1.155 / 176.8)
    assert "CYP" not in set(r.frame["currency"]) and "USD" not in set(r.frame["currency"])  # N/A dropped
    assert r.period == (dt.date(2025, 11, 6), dt.date(2025, 11, 7))


def test_fx_simple_layout_and_cross_rates(tmp_path: Path) -> None:
    r = read("fx_rates", FIX / "fx_rates_simple.csv")
    assert r.frame["rate_to_reporting"].tolist() == [1.15, 1.3068, 1.155]
    # reporting in EUR: cross through the EUR row of each day
    eur = mod("fx_rates").read(FIX / "fx_rates_simple.csv", ReadContext(reporting_currency="EUR"))
    f = eur.frame.set_index(["date_day", "currency"])["rate_to_reporting"]
    assert f[(pd.Timestamp("2025-11-06"), "GBP")] == pytest.approx(1.3068 / 1.15)
    assert f[(pd.Timestamp("2025-11-06"), "USD")] == pytest.approx(1 / 1.15)


@pytest.mark.parametrize("layout", ["simple", "ecb"])
def test_fx_round_trip(tmp_path: Path, layout: str) -> None:
    df = conform(
        pd.DataFrame(
            {"date_day": pd.to_datetime(["2025-01-02"] * 2 + ["2025-01-03"] * 2), "currency": ["EUR", "GBP"] * 2,
             "rate_to_reporting": [1.03, 1.25, 1.04, 1.26]}
        ),
        "fx_rates",
    )  # fmt: skip
    p = tmp_path / "fx.csv"
    mod("fx_rates").write(df, p, layout=layout)
    got = canon(read("fx_rates", p).frame)
    pd.testing.assert_frame_equal(got, canon(df), rtol=1e-9)


def test_empty_and_undecodable_files_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text("")
    with pytest.raises(SourceError, match="empty"):
        read("product_usage", p)
    # Windows-1252 (Excel on Windows) and UTF-16 without BOM are decoded as the ad readers do (one decoder)
    text = "date,customer_id,feature,events\n2025-01-01,caf\xe9,x,1\n"
    for raw in (text.encode("cp1252"), text.encode("utf-16-le"), b"\xfe\xff" + text.encode("utf-16-be")):
        p.write_bytes(raw)
        assert read("product_usage", p).frame["customer_id"].tolist() == ["caf\xe9"]
    p.write_bytes(text.encode("cp1252").replace(b"\xe9", b"\x81"))  # 0x81: not UTF-8, not Windows-1252
    with pytest.raises(SourceError, match="UTF-8") as e:
        read("product_usage", p)
    assert e.value.line == 2


# ---- through the ingest engine ------------------------------------------------------------------------------
OURS = [f for f in sorted(FIXTURES) if not f.startswith(("hubspot_deals", "salesforce"))]


def _ingest(files: list[Path], today: dt.date = dt.date(2025, 11, 21)):
    from mktdash import params
    from mktdash.ingest import engine as ingest
    from mktdash.warehouse.backend import Warehouse

    wh = Warehouse.open(Path(paths_home()) / "wh.duckdb")
    rep = ingest.ingest_paths(wh, files, params.load({}), progress=False, today=today)
    return wh, rep


def paths_home() -> str:
    import os

    return os.environ["MKTDASH_HOME"]


def test_fixtures_load_through_the_engine_idempotently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    monkeypatch.setenv("MKTDASH_PII_SALT", "engine-test-salt")
    files = [FIX / f for f in OURS]
    wh, rep = _ingest(files)
    status = {Path(f.file).name: f.status for f in rep.files}
    assert all(s in ("loaded", "replaced") for s in status.values()), rep.summary()
    assert {Path(f.file).name: f.reconciled for f in rep.files if f.source == "ga4"} == {
        "ga4_legacy_conversions.csv": True, "ga4_traffic_acquisition_daily.csv": True}  # fmt: skip
    assert wh.sql("SELECT sum(sessions) AS s FROM web_daily")["s"].item() == 3610 + 700
    assert wh.sql("SELECT sum(planned_spend) AS s FROM budget_plan")["s"].item() == pytest.approx(260000.5)
    counts = {
        t: wh.count(t) for t in ("web_daily", "crm_contacts", "fx_rates", "product_usage", "touchpoints")
    }
    _, rep2 = _ingest(files)
    assert {f.status for f in rep2.files} == {"unchanged"}
    assert {t: wh.count(t) for t in counts} == counts
    wh.checkpoint()
    data = (tmp_path / "wh.duckdb").read_bytes()
    assert b"Harriet" not in data and b"example.com" not in data.lower() and b"Zylberstein" not in data


def test_corrected_reexport_replaces_and_bad_totals_quarantine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    src = FIX / "ga4_traffic_acquisition_daily.csv"
    wh, _ = _ingest([src])
    fixed = tmp_path / "ga4_fixed.csv"  # same property and period, one day corrected: replaces, not adds
    fixed.write_text(src.read_text().replace("Paid Search,20251110,1200", "Paid Search,20251110,1300")
                     .replace('"3,610"', '"3,710"'))  # fmt: skip
    _, rep = _ingest([fixed])
    assert rep.files[0].status == "replaced" and rep.files[0].replaces  # the ledger says what it replaced
    assert wh.sql("SELECT sum(sessions) AS s FROM web_daily")["s"].item() == 3710
    bad = tmp_path / "ga4_bad_total.csv"
    bad.write_text(src.read_text().replace('"3,610"', '"3,999"').replace("20251112", "20251113"))
    _, rep = _ingest([bad])
    f = rep.files[0]
    assert f.status == "quarantined" and f.line == 11 and f.column == "sessions"  # the Grand total line
    assert wh.sql("SELECT sum(sessions) AS s FROM web_daily")["s"].item() == 3710


def test_crm_deal_exports_load_through_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    files = [
        FIX / "fx_rates_eurofxref_hist.csv",
        FIX / "hubspot_deals_export.csv",
        FIX / "salesforce_opportunities.csv",
    ]
    wh, rep = _ingest(files)
    assert [f.status for f in rep.files] == ["loaded"] * 3, rep.summary()
    assert wh.count("crm_deals") == 6
    eur = wh.sql("SELECT amount_reporting FROM crm_deals WHERE deal_id = '0065g00000AbCdFAA1'")
    assert eur["amount_reporting"].item() == pytest.approx(4250.75 * 1.155)  # ECB EUR rate on the close date
    assert (
        not wh.sql("SELECT * FROM crm_deals")
        .astype(str)
        .apply(lambda c: c.str.contains("Planted"))
        .any()
        .any()
    )


def _mutate(b: bytes, rng) -> bytes:  # noqa: ANN001
    lines = b.split(b"\n")
    i = rng.randrange(len(lines))
    k = rng.randrange(8)
    if k == 0:
        return b[: rng.randrange(len(b))]  # truncated
    if k == 1:
        return b.decode("utf-8").encode("utf-16-le")  # wrong encoding, no BOM
    if k == 2:
        return b"\n".join([*lines[:i], lines[i], *lines[i:]])  # duplicated line (header or row)
    if k == 3:
        j = rng.randrange(len(b))
        return b[:j] + bytes([rng.randrange(256)]) + b[j + 1 :]  # garbage byte
    if k == 4:
        return b"\n".join([*lines[:i], b'=HYPERLINK("http://x"),' + lines[i], *lines[i + 1 :]])
    if k == 5:
        return b"\n".join(ln for ln in lines if rng.random() > 0.25)  # dropped lines
    if k == 6:
        return b.replace(b"1", b"99999999999999999999", 2)  # huge values
    return b.replace(lines[0], lines[0].replace(b",", b";", 2))  # renamed / merged header cells


@pytest.mark.parametrize("fname", sorted(FIXTURES))
def test_malformed_variants_fail_cleanly(tmp_path: Path, fname: str) -> None:
    """Each reader, fed 15 seeded malformed variants of its fixture, either reads it or raises SourceError."""
    import random

    rng = random.Random(fname)
    src = (FIX / fname).read_bytes()
    m = mod(FIXTURES[fname])
    errors = 0
    for i in range(15):
        p = tmp_path / f"{i}_{fname}"
        p.write_bytes(_mutate(src, rng))
        try:
            m.read(p, CTX)
        except SourceError as e:
            errors += 1
            assert e.file and str(e)  # names the file
    assert errors >= 1  # the variants really are broken


# ---- the corpus of real layouts through `mktdash ingest` ------------------------------------------------------
REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real_layouts"
MAPPINGS = REAL / "custom_mappings.yaml"
# fixture -> (table, rows loaded, {channel: rows} or None) when it loads; (None, 0, "refusal text") when refused.
# Channels counted by hand from each file's source column and params/base.yaml channels.crm_sources.
CORPUS: dict[str, tuple[str | None, int, dict[str, int] | str | None]] = {
    "hubspot_contacts_current.csv": ("crm_contacts", 12, {
        "organic_social": 1, "direct": 2, "organic": 1, "search": 2, "social": 1, "email": 1, "referral": 2,
        "other": 1, "offline": 1}),
    "hubspot_contacts_legacy.csv": ("crm_contacts", 8, {
        "organic_social": 1, "search": 1, "organic": 1, "direct": 1, "offline": 1, "email": 1, "referral": 1,
        "other": 1}),
    "hubspot_contacts_api_names.csv": ("crm_contacts", 6, {
        "search": 1, "organic_social": 1, "referral": 1, "offline": 1, "social": 1, "direct": 1}),
    "hubspot_contacts_all_properties.csv": ("crm_contacts", 25, {
        "organic_social": 3, "direct": 3, "organic": 3, "search": 3, "social": 3, "email": 2, "referral": 4,
        "other": 2, "offline": 2}),
    "xlsx_hubspot_contacts.xlsx": ("crm_contacts", 12, {
        "organic_social": 1, "direct": 2, "organic": 1, "search": 2, "social": 1, "email": 1, "referral": 2,
        "other": 1, "offline": 1}),
    "hubspot_deals_current.csv": ("crm_deals", 4, {"search": 1, "organic_social": 1, "offline": 1, "referral": 1}),
    "hubspot_deals_legacy.csv": ("crm_deals", 3, {"search": 1, "organic_social": 1, "direct": 1}),
    "salesforce_opportunities_report.csv": ("crm_deals", 5, {"direct": 1, "referral": 1, "event": 2, "other": 1}),
    "xlsx_salesforce_opportunities.xlsx": ("crm_deals", 5, {"direct": 1, "referral": 1, "event": 2, "other": 1}),
    "salesforce_opportunities_truncated.csv": (None, 0, "no 'Grand Totals (N records)' footer"),
    "salesforce_opportunities_eu_locale.csv": ("crm_deals", 3, {"direct": 1, "event": 2}),
    "salesforce_leads_report.csv": ("crm_contacts", 9, {
        "direct": 2, "referral": 3, "outbound": 1, "other": 2, "event": 1}),
    "ga4_traffic_acquisition_daily.csv": ("web_daily", 11, None),
    "ga4_reports_snapshot_sections.csv": ("web_daily", 4, None),
    "ga4_traffic_acquisition_de.csv": ("web_daily", 5, None),
    "ga4_data_export_no_date.csv": (None, 0, "add the 'Date' dimension"),
    "xlsx_google_ads_campaign_report.xlsx": ("ad_daily", 5, None),
    "xlsx_meta_ads_manager.xlsx": ("ad_daily", 3, None),
    "xlsx_linkedin_campaign_performance.xlsx": ("ad_daily", 3, None),
    "custom_partner_leads.csv": ("crm_contacts", 4, {"event": 2, "referral": 1, "other": 1}),
    "custom_partner_deals.xlsx": ("crm_deals", 3, {"referral": 1, "event": 1, "other": 1}),
    "custom_ad_network_daily.csv": ("ad_daily", 4, {"other": 4}),
    "unknown_layout_unmapped.csv": (None, 0, "not a known export"),
}  # fmt: skip
# params a fixture needs besides MAPPINGS (a EUR file loads without FX rates in a EUR-reporting setup)
EXTRA_PARAMS = {"salesforce_opportunities_eu_locale.csv": "reporting_currency: EUR\n"}
# the same file, read two ways, gives the same canonical rows
XLSX_TWINS = {
    "xlsx_hubspot_contacts.xlsx": (REAL / "hubspot_contacts_current.csv", "hubspot_contacts"),
    "xlsx_google_ads_campaign_report.xlsx": (FIX / "google_ads_campaign_day.csv", "google_ads_ui"),
    "xlsx_meta_ads_manager.xlsx": (FIX / "meta_ads_manager_daily.csv", "meta"),
    "xlsx_linkedin_campaign_performance.xlsx": (FIX / "linkedin_campaign_performance.csv", "linkedin"),
}
_DRIVER = """
import contextlib, io, json, os, sys
from mktdash.cli import main
out = {}
for home, path, params in json.loads(sys.argv[1]):
    os.environ["MKTDASH_HOME"] = home
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        rc = main(["ingest", "--quiet", *[a for p in params for a in ("--params", p)], path])
    out[path] = [rc, buf.getvalue()]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list]]:
    """Every corpus file through the `mktdash ingest` command, each into its own empty home, in one subprocess
    (one interpreter start for 21 files)."""
    import json
    import os
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("corpus")
    jobs = []
    for f in CORPUS:
        extra = []
        if f in EXTRA_PARAMS:
            (root / f"{f}.yaml").write_text(EXTRA_PARAMS[f])
            extra = [str(root / f"{f}.yaml")]
        jobs.append([str(root / f), str(REAL / f), [str(MAPPINGS), *extra]])
    env = {
        **os.environ,
        "MKTDASH_PII_SALT": "corpus-salt",
        "PYTHONPATH": str(Path(__file__).parents[2] / "lib"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(jobs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return root, {Path(k).name: v for k, v in got.items()}


def test_corpus_has_a_source_line_per_file() -> None:
    listed = (REAL / "SOURCES.md").read_text(encoding="utf-8")
    ours = [f for f in sorted(REAL.iterdir()) if f.name != "SOURCES.md" and f.name in CORPUS]
    assert len(ours) == len(CORPUS) >= 15
    assert [f.name for f in ours if f"`{f.name}`" not in listed] == []


@pytest.mark.parametrize("fname", sorted(CORPUS))
def test_corpus_file_through_mktdash_ingest(corpus_run: tuple[Path, dict[str, list]], fname: str) -> None:
    import duckdb

    root, results = corpus_run
    table, rows, want = CORPUS[fname]
    rc, printed = results[fname]
    con = duckdb.connect(str(root / fname / "data" / "warehouse.duckdb"), read_only=True)
    try:
        ledger = con.sql("SELECT status, rows, message FROM ingest_ledger").fetchall()
        assert len(ledger) == 1, ledger
        status, n, message = ledger[0]
        if table is None:  # refused: exit 1, quarantined with the reason
            assert (rc, status, n) == (1, "quarantined", 0), printed
            assert isinstance(want, str) and want in message
            assert "1 quarantined" in printed
            return
        assert (rc, status, n) == (0, "loaded", rows), (printed, message)
        assert con.sql(f"SELECT count(*) FROM {table}").fetchone() == (rows,)
        if isinstance(want, dict):
            got = dict(con.sql(f"SELECT channel, count(*) FROM {table} GROUP BY 1").fetchall())
            assert got == want
    finally:
        con.close()


def test_corpus_known_totals_campaigns_and_no_pii(corpus_run: tuple[Path, dict[str, list]]) -> None:
    import duckdb

    root, _ = corpus_run

    def q(fname: str, sql: str) -> list[tuple]:
        con = duckdb.connect(str(root / fname / "data" / "warehouse.duckdb"), read_only=True)
        try:
            return con.sql(sql).fetchall()
        finally:
            con.close()

    camps = q("hubspot_contacts_current.csv", "SELECT DISTINCT original_campaign FROM crm_contacts")
    assert {c for (c,) in camps if c} == {
        "autumn-launch", "brand-exact", "retargeting-q4", "october-newsletter", "podcast-sponsor", "generic-crm"}  # fmt: skip
    assert q("ga4_traffic_acquisition_daily.csv", "SELECT sum(sessions), sum(revenue) FROM web_daily") == [
        (2672, pytest.approx(8714.5))
    ]
    assert q("ga4_reports_snapshot_sections.csv", "SELECT sum(sessions) FROM web_daily") == [(774,)]
    assert q(
        "ga4_traffic_acquisition_de.csv",
        "SELECT sum(sessions), sum(revenue), min(property_id) FROM web_daily",
    ) == [(3835, 4526.5, "123123123")]
    assert q("ga4_traffic_acquisition_de.csv", "SELECT period_start, period_end FROM ingest_ledger") == [
        (dt.date(2025, 11, 3), dt.date(2025, 11, 4))
    ]
    assert q("custom_partner_deals.xlsx", "SELECT sum(amount), min(currency) FROM crm_deals") == [
        (8250.5, "USD")
    ]
    assert q("xlsx_salesforce_opportunities.xlsx", "SELECT sum(amount) FROM crm_deals") == [(71700.0,)]
    eu = "SELECT sum(amount), min(currency), max(currency), min(close_date) FROM crm_deals"
    assert q("salesforce_opportunities_eu_locale.csv", eu) == [(56450.5, "EUR", "EUR", dt.date(2025, 10, 30))]
    assert q("custom_ad_network_daily.csv", "SELECT sum(spend), sum(clicks) FROM ad_daily") == [(597.0, 392)]
    assert q("custom_ad_network_daily.csv", "SELECT reconciled FROM ingest_ledger") == [(True,)]
    assert q("xlsx_google_ads_campaign_report.xlsx", "SELECT reconciled FROM ingest_ledger") == [(True,)]
    scores = q("custom_partner_leads.csv", "SELECT contact_id, lead_score FROM crm_contacts ORDER BY 1")
    assert scores == [("PL-0001", 12.5), ("PL-0002", 40.0), ("PL-0003", 1005.25), ("PL-0004", 7.0)]
    email = q("custom_partner_leads.csv", "SELECT email_hash FROM crm_contacts WHERE contact_id = 'PL-0001'")
    assert email == [(pii.hash_value("anna.beispiel@example.com", "corpus-salt", "email"),)]
    for f in CORPUS:
        data = (root / f / "data" / "warehouse.duckdb").read_bytes()
        assert b"@example." not in data and b"Avery" not in data, f


def test_unmapped_crm_labels_are_listed_with_row_counts(corpus_run: tuple[Path, dict[str, list]]) -> None:
    from mktdash import params
    from mktdash.ingest import channels
    from mktdash.warehouse.backend import Warehouse

    root, _ = corpus_run
    settings = params.resolve()
    want = {
        "salesforce_opportunities_report.csv": [("crm_deals", "salesforce", "Fax Blast", 1)],
        "salesforce_leads_report.csv": [("crm_contacts", "salesforce", "Carrier Pigeon", 1)],
        "custom_partner_deals.xlsx": [("crm_deals", "partner_deals", "Marketplace Listing", 1)],
        "hubspot_contacts_all_properties.csv": [],  # every current HubSpot label is mapped
    }
    for fname, rows in want.items():
        with Warehouse.open(root / fname / "data" / "warehouse.duckdb", read_only=True) as wh:
            got = channels.unmapped_crm_sources(wh, settings)
        assert [tuple(r[:4]) for r in got.itertuples(index=False)] == rows, fname
        assert set(got["channel_now"]) <= {"other"}


@pytest.mark.parametrize("xlsx", sorted(XLSX_TWINS))
def test_xlsx_reads_as_its_csv_download(xlsx: str) -> None:
    csv_path, fmt = XLSX_TWINS[xlsx]
    from mktdash.ingest import sources

    assert fmt == sources.detect(REAL / xlsx).NAME
    a, b = read(fmt, REAL / xlsx), read(fmt, csv_path)
    pd.testing.assert_frame_equal(canon(a.frame), canon(b.frame))
    assert (a.period, a.totals, a.replace_key) == (b.period, b.totals, b.replace_key)


# ---- repeated columns, CRM labels, mappings, workbooks ----------------------------------------------------------
def test_repeated_columns_refuse_only_when_read(tmp_path: Path) -> None:
    from mktdash.ingest.sources import _tabular as T

    p = tmp_path / "x.csv"
    text = "Record ID,Billing Contact,Create Date,Billing Contact,Email,Email\n1,a,2025-01-01,b,x@example.com,x@example.com\n"
    df = T.read_block(text, file=p)
    assert list(df.columns) == ["Record ID", "Billing Contact", "Create Date", "Email", "_line"]
    assert T.pick(df, "Email") == "Email"  # identical copies collapse into one
    assert df["Billing Contact"].tolist() == ["a"]  # the first copy, kept but ambiguous
    with pytest.raises(SourceError, match="appears more than once") as e:
        T.pick(df, "Billing Contact")
    assert (e.value.line, e.value.column) == (1, "Billing Contact")
    with pytest.raises(SourceError, match="appears more than once"):
        T.require(df, ["Record ID", "Billing Contact"], file=p, line=1, what="x")


def test_hubspot_campaign_comes_from_the_drilldown_of_its_source(tmp_path: Path) -> None:
    p = tmp_path / "contacts.csv"
    p.write_text(
        "Record ID,Create Date,Original Traffic Source,Original Traffic Source Drill-Down 1,"
        "Original Traffic Source Drill-Down 2,Original Campaign\n"
        "1,2025-01-01,Paid Search,brand,kw,\n2,2025-01-01,Paid Social,Facebook,q1,\n"
    )
    f = read("hubspot_contacts", p).frame
    assert f["original_campaign"].isna().all()  # an exported (empty) campaign column wins over drill-downs
    p.write_text("\n".join(ln.rsplit(",", 1)[0] for ln in p.read_text().splitlines()) + "\n")
    f = read("hubspot_contacts", p).frame
    assert f["original_campaign"].tolist() == ["brand", "q1"]


def test_crm_labels_of_hubspot_and_salesforce_map_by_default() -> None:
    from mktdash import params
    from mktdash.ingest import channels

    c = params.resolve().channels
    labels = {
        "Organic Social": "organic_social", "Direct Traffic": "direct", "Organic Search": "organic",
        "Paid Search": "search", "Paid Social": "social", "Email Marketing": "email", "Referrals": "referral",
        "Other Campaigns": "other", "Offline Sources": "offline", "AI Referrals": "referral",
        "Social Media": "organic_social", "ORGANIC_SOCIAL": "organic_social", "AI_REFERRALS": "referral",
        "OFFLINE": "offline", "Organic search": "organic", "Web": "direct", "Phone Inquiry": "direct",
        "Partner Referral": "referral", "Purchased List": "outbound", "Other": "other",
        "Advertisement": "display", "Employee Referral": "referral", "External Referral": "referral",
        "Partner": "referral", "Public Relations": "organic", "Seminar - Internal": "event",
        "Seminar - Partner": "event", "Trade Show": "event", "Word of mouth": "referral",
    }  # fmt: skip
    got = channels.map_crm_sources(pd.Series(list(labels)), c).tolist()
    assert dict(zip(labels, got, strict=True)) == labels
    rule = channels.crm_source_rules(c)
    assert [rule(x) for x in ("Fax Blast", "", "  ")] == [None, None, None]


def test_scorecard_lists_unmapped_crm_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mktdash import params
    from mktdash.ingest import scorecard

    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    wh, rep = _ingest([REAL / "salesforce_leads_report.csv", REAL / "hubspot_contacts_current.csv"])
    assert [f.status for f in rep.files] == ["loaded", "loaded"], rep.summary()
    sc = scorecard.scorecard(wh, params.resolve())
    got = sc.unmapped_sources[["table", "crm", "source_label", "rows"]].values.tolist()
    assert got == [["crm_contacts", "salesforce", "Carrier Pigeon", 1]]
    assert sc.tables()["unmapped_sources"] is sc.unmapped_sources
    assert any("Unmapped CRM sources" in t for t in sc.sections())


def _mapping_yaml(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "m.yaml"
    p.write_text("mappings:\n  leads:\n" + "".join(f"    {ln}\n" for ln in body.strip().splitlines()))
    return p


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("files: [a.csv]\ntable: crm_deals\ncolumns: {No: deal_id}",
         "header No was read by YAML as False: quote it"),
        ("files: [a.csv]\ntable: crm_contacts\ncolums: {A: contact_id}",
         "unknown key 'mappings.leads.colums'; did you mean 'mappings.leads.columns'?"),
        ("files: [a.csv]\ntable: crm_contact\ncolumns: {A: contact_id}",
         "mappings.leads: unknown table 'crm_contact'; did you mean 'crm_contacts'?"),
        ("files: [a.csv]\ntable: crm_contacts\ncolumns: {A: contactid}",
         "crm_contacts has no column 'contactid'; did you mean 'contact_id'?"),
        ("files: [a.csv]\ntable: product_usage\ncolumns: {A: events}\ncurrency: EUR",
         "product_usage has no currency column"),
        ("files: [a.csv]\ntable: crm_deals\ncolumns: {A: deal_id}\ndecimal: ';'", "decimal"),
        ("files: [a.csv]\ntable: crm_deals\ncolumns: {A: deal_id}\ndate_format: dd/mm/yyyy", "has no % code"),
    ],
)  # fmt: skip
def test_mapping_params_are_validated(tmp_path: Path, body: str, message: str) -> None:
    from mktdash.params import ParamsError, resolve

    with pytest.raises(ParamsError) as e:
        resolve([_mapping_yaml(tmp_path, body)])
    assert message in str(e.value) and "m.yaml" in str(e.value) and "\n" not in str(e.value)


def _mapped(tmp_path: Path, body: str):
    from mktdash import params
    from mktdash.ingest import sources

    settings = params.resolve([_mapping_yaml(tmp_path, body)])
    return settings, lambda p: sources.detect(p, settings.mappings)


def test_mapping_round_trip_and_explain(tmp_path: Path) -> None:
    settings, detect = _mapped(
        tmp_path,
        'files: ["deals_*.csv"]\ntable: crm_deals\ndate_format: "%d/%m/%Y"\ndecimal: ","\ndelimiter: ";"\n'
        "currency: eur\ncolumns: {'No': deal_id, Title: deal_name, Phase: stage, Value: amount, Opened: created_date,"
        " Closed: close_date, From: lead_source}",
    )
    fmt = detect(tmp_path / "DEALS_2025.csv")  # patterns match case-insensitively
    assert (fmt.NAME, fmt.TABLE) == ("custom:leads", "crm_deals")
    df = _deals()
    fmt.write(df, tmp_path / "deals_1.csv")
    assert "1234,5" in (tmp_path / "deals_1.csv").read_text()  # written with the decimal comma
    r = fmt.read(tmp_path / "deals_1.csv", CTX)
    want = df.assign(crm="leads", currency="EUR", deal_name=pii.hash_series(df["deal_name"], SALT, "name"))
    cols = ["deal_id", "crm", "deal_name", "stage", "is_closed", "is_won", "amount", "currency", "created_date",
            "close_date", "lead_source"]  # fmt: skip
    pd.testing.assert_frame_equal(canon(r.frame)[cols], canon(conform(want, "crm_deals"))[cols])
    assert r.replace_key == {"crm": None} and r.period is None
    text = "\n".join(fmt.explain())
    assert "'Value' -> amount" in text and "%d/%m/%Y" in text and "decimal ','" in text


def test_mapping_refusals_name_line_column_and_fix(tmp_path: Path) -> None:
    _, detect = _mapped(
        tmp_path,
        'files: ["u*.csv"]\ntable: product_usage\ndate_format: "%d.%m.%Y"\n'
        "columns: {Day: date_day, Customer: customer_id, Feature: feature, Events: events}",
    )
    p = tmp_path / "u1.csv"
    p.write_text("Day,Customer,Featur,Events\n01.02.2025,c1,x,3\n")
    with pytest.raises(
        SourceError, match="'Feature' of mappings.leads is not in the header; did you mean 'Featur'"
    ):
        detect(p).read(p, CTX)
    p.write_text("Day,Customer,Feature,Events\n01.02.2025,c1,x,3\n2025-02-02,c1,x,4\n")
    with pytest.raises(SourceError, match=r"not a date \(expected %d.%m.%Y\)") as e:
        detect(p).read(p, CTX)
    assert (e.value.line, e.value.column) == (3, "Day")
    p.write_text("Day,Customer,Feature,Events\n01.02.2025,c1,x,3.5\n")
    with pytest.raises(SourceError, match="whole number") as e:
        detect(p).read(p, CTX)
    assert e.value.line == 2
    _, detect = _mapped(tmp_path, 'files: ["v*.csv"]\ntable: product_usage\ncolumns: {Customer: customer_id}')
    (tmp_path / "v.csv").write_text("Customer\nc1\n")
    with pytest.raises(SourceError, match="gives no 'date_day'"):
        detect(tmp_path / "v.csv").read(tmp_path / "v.csv", CTX)


def test_mapping_header_row_and_sheet(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["notes only"])
    ws = wb.create_sheet("Data")
    for row in (["Usage export"], [], ["Date", "Account", "Module", "Events"],
                [dt.datetime(2025, 3, 1), "c1", "reports", 7], [dt.datetime(2025, 3, 2), "c2", "reports", 5]):  # fmt: skip
        ws.append(row)
    wb.save(tmp_path / "usage.xlsx")
    _, detect = _mapped(
        tmp_path,
        'files: ["usage*"]\ntable: product_usage\nsheet: Data\nheader_row: 3\n'
        "columns: {Date: date_day, Account: customer_id, Module: feature, Events: events}",
    )
    r = detect(tmp_path / "usage.xlsx").read(tmp_path / "usage.xlsx", CTX)
    assert r.frame["events"].tolist() == [7, 5] and r.frame["_line"].tolist() == [4, 5]
    assert r.period == (dt.date(2025, 3, 1), dt.date(2025, 3, 2)) and r.replace_key == {"feature": None}
    _, detect = _mapped(
        tmp_path, 'files: ["usage*"]\ntable: product_usage\nsheet: Dta\ncolumns: {Date: date_day}'
    )
    with pytest.raises(SourceError, match="no worksheet 'Dta'"):
        detect(tmp_path / "usage.xlsx").read(tmp_path / "usage.xlsx", CTX)


def test_xlsx_cells_and_broken_workbooks(tmp_path: Path) -> None:
    import openpyxl

    from mktdash.ingest import sources
    from mktdash.ingest.sources import _xlsx

    wb = openpyxl.Workbook()
    for row in (["Title of the report"], [None, "Only here"], ["a", "b", "c"],
                [dt.datetime(2025, 1, 2), 3.0, 0.25], [dt.datetime(2025, 1, 2, 13, 5), True, "x\ny"],
                [None, None, None], ["Footer line", None, None]):  # fmt: skip
        wb.active.append(row)
    wb.save(tmp_path / "w.xlsx")
    assert _xlsx.to_csv_text(tmp_path / "w.xlsx").splitlines() == [
        "Title of the report", "Only here", "a,b,c", "2025-01-02,3,0.25", "2025-01-02 13:05:00,true,x y",
        "", "Footer line"]  # fmt: skip
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(SourceError, match="not a readable Excel workbook"):
        sources.detect(tmp_path / "bad.xlsx")
    (tmp_path / "old.xls").write_bytes(_xlsx.OLE_MAGIC + b"\x00" * 100)
    with pytest.raises(SourceError, match=r"Excel 97-2003 workbook \(.xls\)") as e:
        sources.detect(tmp_path / "old.xls")
    assert "as .xlsx or CSV" in str(e.value)


def _mutate_corpus(rng: random.Random, data: bytes) -> bytes:
    """One malformed variant: truncated, random bytes, a repeated header name, garbage in a cell, a lost cell,
    a blank or deleted line, or Latin-1 text."""
    lines = data.decode("utf-8-sig").split("\n")
    op = rng.randrange(8)
    if op == 0:
        return data[: rng.randrange(len(data))]
    if op == 1:
        pos = rng.randrange(len(data))
        return data[:pos] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12))) + data[pos:]
    i = rng.randrange(len(lines))
    if op == 2:  # the header's (or any line's) cells: one renamed to another's name
        sep = ";" if lines[i].count(";") > lines[i].count(",") else ","
        cells = lines[i].split(sep)
        cells[rng.randrange(len(cells))] = cells[rng.randrange(len(cells))]
        lines[i] = sep.join(cells)
    elif op == 3 and lines[i]:
        pos = rng.randrange(len(lines[i]))
        lines[i] = (
            lines[i][:pos]
            + rng.choice(["abc", "1e400", "=cmd|x", '"', "½", "--", ",,", ";"])
            + lines[i][pos:]
        )
    elif op == 4:
        lines[i] = lines[i].rsplit(",", 1)[0]
    elif op == 5:
        lines.insert(i, "")
    elif op == 6:
        del lines[i]
    else:
        return "\n".join(lines).replace("e", "é").encode("latin-1", errors="replace")
    return "\n".join(lines).encode("utf-8")


def test_corpus_mutations_never_traceback(tmp_path: Path) -> None:
    """200 malformed variants of the CSV corpus: each reads or is refused with a SourceError, never another
    exception (the engine would wrap it, but the reader must say what is wrong)."""
    from mktdash import params
    from mktdash.ingest import sources

    mappings = params.resolve([MAPPINGS]).mappings
    rng = random.Random(20)
    files = [REAL / f for f in sorted(CORPUS) if f.endswith(".csv")]
    outcomes = {"read": 0, "refused": 0}
    for _ in range(200):
        src = rng.choice(files)
        p = tmp_path / src.name
        p.write_bytes(_mutate_corpus(rng, src.read_bytes()))
        try:
            sources.detect(p, mappings).read(p, CTX)
            outcomes["read"] += 1
        except SourceError as e:
            assert e.message and e.file, e
            outcomes["refused"] += 1
    assert outcomes["read"] > 20 and outcomes["refused"] > 20, outcomes  # both kinds were exercised


def test_formats_lists_the_params_mappings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from mktdash import cli

    monkeypatch.setenv("MKTDASH_PARAMS", str(MAPPINGS))
    assert cli.main(["formats"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(ln.startswith("salesforce_leads ") and "crm_contacts" in ln for ln in out)
    mapped = [ln.split()[0] for ln in out if ln.startswith("custom:")]
    assert mapped == ["custom:partner_portal", "custom:partner_deals", "custom:ad_network"]
