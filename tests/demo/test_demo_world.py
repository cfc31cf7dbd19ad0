"""The demo world: determinism, size, invariants, the truth (revenue formula, allocation, anomalies), exports.

Known answers are recomputed here independently of mktdash.demo (own adstock loop, own Hill curve, own
SLSQP optimum, own ISO-week grouping), so a bug in the world cannot hide behind its own helpers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.optimize import minimize

from mktdash import paths, weeks
from mktdash.demo import generate, world
from mktdash.ingest import sources
from mktdash.ingest.sources.base import ReadContext, SourceError
from mktdash.warehouse import schema

END = "2026-11-22"  # a Sunday: 106 complete weeks, no partial week
CHANNELS = ["search", "social", "display", "video", "shopping"]
AD_COLS = ["impressions", "clicks", "spend_reporting", "conversions", "conversions_value_reporting"]


@pytest.fixture(scope="module")
def w() -> world.World:
    return world.simulate(seed=7, end=END)


@pytest.fixture(scope="module")
def quiet() -> world.World:
    return world.simulate(seed=7, end=END, plant=False)


def iso_week(s: pd.Series) -> pd.Series:
    return s.dt.strftime("%G-W%V")


def weekly(ad: pd.DataFrame, by: str) -> pd.DataFrame:
    return ad.assign(week=iso_week(ad["date_day"])).groupby([by, "week"], observed=True)[AD_COLS].sum()


# ---- determinism and size ---------------------------------------------------------------------------------
def test_same_seed_same_world_other_seed_other_world() -> None:
    a = world.simulate(seed=3, scale=0.3, end=END, weeks=30)
    b = world.simulate(seed=3, scale=0.3, end=END, weeks=30)
    c = world.simulate(seed=4, scale=0.3, end=END, weeks=30)
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert json.dumps(a.truth, default=str) == json.dumps(b.truth, default=str)
    assert not a.tables["ad_daily"]["spend"].equals(c.tables["ad_daily"]["spend"])
    assert a.truth["weekly"][-1]["revenue"] != c.truth["weekly"][-1]["revenue"]


def test_size_and_shape(w: world.World) -> None:
    ad = w.tables["ad_daily"]
    assert ad["campaign_name"].nunique() >= 30
    assert ad["date_day"].min() <= pd.Timestamp(END) - pd.Timedelta(days=2 * 365)
    assert ad["date_day"].max() == pd.Timestamp(END)
    assert set(ad["channel"]) == set(CHANNELS)
    assert set(ad["platform"]) == {"google_ads", "microsoft_ads", "meta", "linkedin", "tiktok"}
    assert {"EUR", "GBP", "USD"} == set(ad["currency"])
    assert "fivetran.google_ads" in set(ad["source_relation"])
    assert ad["ad_group_name"].str.contains(r" \| ").all()  # audiences like "Prospecting | Lookalike 1%"
    assert (ad["audience"] == ad["ad_group_name"]).all()
    ad_level = ~ad["source_relation"].isin(["google_ads_editor", "microsoft_ads"])
    assert ad.loc[ad_level, "creative"].notna().all() and ad.loc[~ad_level, "ad_id"].isna().all()
    assert ad["creative"].str.contains(r"Video 15s - Hero v\d").any()
    assert "<script>alert(1)</script>" not in set(ad["campaign_name"])
    for name, df in w.tables.items():  # canonical columns (no ingest_id) and dtypes
        expected = {c: t for c, t in schema.TABLES[name].items() if c != "ingest_id"}
        assert list(df.columns) == list(expected), name
        assert {c: str(df[c].dtype) for c in df} == {
            c: str(pd.Series(dtype=t).dtype) for c, t in expected.items()
        }, name


def test_scale_multiplies_campaigns_and_rows() -> None:
    small = world.simulate(seed=7, scale=0.5, end=END, weeks=30)
    big = world.simulate(seed=7, scale=1.0, end=END, weeks=30)
    ratio = len(small.tables["ad_daily"]) / len(big.tables["ad_daily"])
    assert 0.35 < ratio < 0.65
    assert (
        small.tables["ad_daily"]["campaign_name"].nunique()
        < big.tables["ad_daily"]["campaign_name"].nunique()
    )
    # money scales with the campaigns, so curves scale too and ROI stays comparable
    assert small.truth["channels"]["search"]["beta"] < big.truth["channels"]["search"]["beta"]


def test_channels_follow_the_mapping_in_params(w: world.World) -> None:
    ch = yaml.safe_load((paths.params_dir() / "base.yaml").read_text())["channels"]
    camp = w.catalogue.campaigns
    for r in camp.itertuples():
        by_type = ch["by_campaign_type"].get(r.campaign_type) if r.campaign_type else None
        by_name = next(
            (p["channel"] for p in ch["by_campaign_name"] if re.search(p["pattern"], r.campaign_name)), None
        )
        if by_type:
            assert by_type == r.channel, r.campaign_name
        if by_name:
            assert by_name == r.channel, r.campaign_name
        if not by_type and not by_name:
            assert ch["by_platform"][r.platform] == r.channel, r.campaign_name


def test_hostile_name_only_on_request() -> None:
    h = world.simulate(seed=7, scale=0.5, end=END, weeks=20, hostile_names=True)
    ad = h.tables["ad_daily"]
    rows = ad[ad["campaign_name"] == "<script>alert(1)</script>"]
    assert len(rows) and rows["date_day"].max() == pd.Timestamp(END) and set(rows["channel"]) == {"social"}


def test_default_end_is_yesterday_and_partial_week_kept() -> None:
    d = world.simulate(seed=1, scale=0.3, weeks=20)
    assert d.tables["ad_daily"]["date_day"].max().date() == dt.date.today() - dt.timedelta(days=1)
    wed = world.simulate(seed=1, scale=0.3, end="2026-11-25", weeks=20)
    assert wed.truth["latest_complete_week"] == "2026-W47"
    assert wed.tables["web_daily"]["date_day"].max() == pd.Timestamp("2026-11-25")
    assert wed.tables["ad_daily"]["date_day"].min() == pd.Timestamp(weeks.monday("2026-W28"))  # 20 weeks back


# ---- invariants ---------------------------------------------------------------------------------------------
def test_ad_invariants_and_rates(w: world.World) -> None:
    ad = w.tables["ad_daily"]
    assert (ad["spend"] > 0).all() and (ad["impressions"] >= ad["clicks"]).all()
    assert (ad["clicks"] >= ad["conversions"]).all() and (ad["conversions_value"] >= 0).all()
    assert not ad[["date_day", "platform", "account_id", "campaign_id", "ad_group_id"]].isna().any().any()
    assert not ad.duplicated(["date_day", "account_id", "ad_group_id", "ad_id"]).any()
    g = ad.groupby("channel")[AD_COLS].sum()
    ctr, cpc = g["clicks"] / g["impressions"], g["spend_reporting"] / g["clicks"]
    assert ctr["search"] > ctr["social"] > ctr["display"] and ctr.between(0.001, 0.2).all()
    assert cpc.between(0.2, 5.0).all()
    roas = ad.groupby("platform")[AD_COLS].sum().eval("conversions_value_reporting / spend_reporting")
    assert roas["tiktok"] > roas["linkedin"]  # tiktok over-claims (x1.5), linkedin under-claims (x0.8)


def test_money_converted_with_the_days_fx_rate(w: world.World) -> None:
    ad, fx = w.tables["ad_daily"], w.tables["fx_rates"]
    days = pd.date_range(ad["date_day"].min(), END)
    for cur in ("EUR", "GBP"):
        assert fx[fx["currency"] == cur]["date_day"].tolist() == list(days)
    m = ad[ad["currency"] != "USD"].merge(fx, on=["date_day", "currency"])
    assert len(m) == (ad["currency"] != "USD").sum()
    np.testing.assert_allclose(m["spend_reporting"], m["spend"] * m["rate_to_reporting"], rtol=1e-12)
    usd = ad[ad["currency"] == "USD"]
    assert (usd["spend_reporting"] == usd["spend"]).all()


# ---- the truth: revenue formula ---------------------------------------------------------------------------
def test_weekly_ga4_revenue_equals_the_truth_formula(w: world.World) -> None:
    t = w.truth
    ad, web = w.tables["ad_daily"], w.tables["web_daily"]
    spend = ad.assign(week=iso_week(ad["date_day"])).pivot_table(
        index="week",
        columns="channel",
        values="spend_reporting",
        aggfunc="sum",
        fill_value=0.0,
        observed=True,
    )
    spend = spend.reindex(columns=CHANNELS, fill_value=0.0).sort_index()
    media = np.zeros(len(spend))
    for c in CHANNELS:
        p, x = t["channels"][c], 0.0
        for i, s in enumerate(spend[c]):  # adstock by hand
            x = s + p["decay"] * x
            media[i] += p["beta"] * x ** p["shape"] / (x ** p["shape"] + p["half_saturation"] ** p["shape"])
    b = t["baseline"]
    mondays = [weeks.monday(wk) for wk in spend.index]
    tt = np.array([(m.timetuple().tm_yday - 1) / 365.25 for m in mondays])
    s = b["seasonality"]
    base = (
        b["intercept"]
        + b["trend_per_week"] * np.arange(len(spend))
        + s["sin1"] * np.sin(2 * np.pi * tt)
        + s["cos1"] * np.cos(2 * np.pi * tt)
        + s["sin2"] * np.sin(4 * np.pi * tt)
        + s["cos2"] * np.cos(4 * np.pi * tt)
    )
    noise = np.array([r["noise"] for r in t["weekly"]])
    expected = base + media + noise
    ga4 = web.assign(week=iso_week(web["date_day"])).groupby("week")["revenue"].sum().reindex(spend.index)
    np.testing.assert_allclose(ga4.to_numpy(), expected, atol=0.02)  # noise is stored to the cent
    assert 0.01 < noise.std() / ga4.mean() < 0.06  # modest noise
    assert 0.25 < media.sum() / ga4.sum() < 0.6  # media matters but is not everything
    # ROI in the truth is contribution / spend over the complete weeks
    roi = {c: t["channels"][c]["roi_true"] for c in CHANNELS}
    contrib = np.array([[r["contribution"][c] for c in CHANNELS] for r in t["weekly"]]).sum(axis=0)
    np.testing.assert_allclose([roi[c] for c in CHANNELS], contrib / spend.sum().to_numpy(), rtol=1e-6)
    assert t["channels"]["search"]["period_start"] == str(mondays[0])


def test_spend_moves_enough_to_identify_the_curves(w: world.World) -> None:
    sp = pd.DataFrame([r["spend"] for r in w.truth["weekly"]])
    cv = sp.std() / sp.mean()
    assert (cv > 0.2).all(), cv
    corr = sp.corr().to_numpy()[np.triu_indices(5, 1)]
    assert np.abs(corr).max() < 0.8
    # adstocked spend spans each channel's half-saturation point
    for c in CHANNELS:
        p = w.truth["channels"][c]
        x = sp[c].to_numpy() / (1 - p["decay"])
        assert (
            np.quantile(x, 0.1) < p["half_saturation"] * 1.3
            and np.quantile(x, 0.9) > p["half_saturation"] * 0.5
        ), c


# ---- the truth: allocation --------------------------------------------------------------------------------
def test_current_allocation_is_at_least_15_percent_off_the_optimum(w: world.World) -> None:
    t = w.truth
    last8 = [r["spend"] for r in t["weekly"] if r["complete"]][-8:]
    cur = np.array([np.mean([r[c] for r in last8]) for c in CHANNELS])
    par = [t["channels"][c] for c in CHANNELS]

    def revenue(s: np.ndarray) -> float:
        x = np.maximum(s, 0) / np.array([p["decay"] for p in par]).__rsub__(1)
        return float(
            sum(
                p["beta"] * xi ** p["shape"] / (xi ** p["shape"] + p["half_saturation"] ** p["shape"])
                for p, xi in zip(par, x, strict=True)
            )
        )

    total = cur.sum()
    best = max(
        (
            minimize(
                lambda u: -revenue(u * total) / 1e5,
                x0,
                method="SLSQP",
                bounds=[(0, 1)] * 5,
                constraints=[{"type": "eq", "fun": lambda u: u.sum() - 1}],
            )
            for x0 in (cur / total, np.full(5, 0.2))
        ),
        key=lambda r: -r.fun,
    )
    uplift = revenue(best.x * total) / revenue(cur) - 1
    assert uplift >= 0.15
    alloc = t["allocation"]
    assert alloc["uplift"] == pytest.approx(uplift, abs=0.005)
    assert [alloc["current_weekly_spend"][c] for c in CHANNELS] == pytest.approx(
        cur, rel=1e-6
    )  # truth rounds to cents
    opt = np.array([alloc["optimal_weekly_spend"][c] for c in CHANNELS])
    assert opt.sum() == pytest.approx(total, rel=1e-6)
    assert revenue(opt) == pytest.approx(revenue(best.x * total), rel=1e-3)
    # search is over-funded, shopping under-funded; within +-30% per channel there is still >= 10% to gain
    assert opt[0] < cur[0] and opt[4] > cur[4]
    assert alloc["uplift_within_max_change"] >= 0.10


# ---- the truth: anomalies ---------------------------------------------------------------------------------
def test_anomalies_sit_in_the_last_four_complete_weeks_and_are_visible(w: world.World) -> None:
    t = w.truth
    last = t["latest_complete_week"]
    assert last == weeks.latest_complete(dt.date.fromisoformat(END))
    window = {weeks.shift(last, -k) for k in range(4)}
    an = t["anomalies"]
    assert len(an) >= 4 and {a["week"] for a in an} <= window
    assert sum(a["week"] == last for a in an) >= 3
    assert {a["kind"] for a in an} == {"problem", "opportunity"}
    assert {a["metric"] for a in an} >= {"ctr", "cvr", "spend"}
    ad = w.tables["ad_daily"]
    by_level = {"campaign": weekly(ad, "campaign_name"), "channel": weekly(ad, "channel")}
    metric = {
        "ctr": ("clicks", "impressions"),
        "cvr": ("conversions", "clicks"),
        "roas": ("conversions_value_reporting", "spend_reporting"),
        "spend": ("spend_reporting", None),
    }
    for a in an:
        g = by_level[a["level"]].loc[a["entity"]]
        prev = [weeks.shift(a["week"], -k) for k in range(1, 5)]
        num, den = metric[a["metric"]]
        cur = g.loc[a["week"], num] / (g.loc[a["week"], den] if den else 1)
        ref = g.loc[prev, num].sum() / (g.loc[prev, den].sum() if den else 4)
        change = cur / ref - 1
        count = g.loc[a["week"], "conversions" if a["metric"] in ("cvr", "roas") else "clicks"]
        tol = max(0.1, 0.25 * abs(a["size"])) + 2.5 / np.sqrt(count)  # the base week has Poisson noise too
        assert change == pytest.approx(a["size"], abs=tol), a
        assert a["direction"] == ("up" if a["size"] > 0 else "down")


def test_planted_nothing_world_is_the_same_world_without_anomalies(
    w: world.World, quiet: world.World
) -> None:
    assert quiet.truth["anomalies"] == []
    first = min(weeks.monday(a["week"]) for a in w.truth["anomalies"])
    a, b = w.tables["ad_daily"], quiet.tables["ad_daily"]
    assert len(a) == len(b)
    before = a["date_day"] < pd.Timestamp(first)
    pd.testing.assert_frame_equal(a[before], b[before])
    # in the anomaly week, the planted metric differs from the quiet world by the planted size
    ratio = {
        "ctr": ("clicks", "impressions"),
        "cvr": ("conversions", "clicks"),
        "spend": ("spend_reporting", None),
        "roas": ("conversions_value_reporting", "spend_reporting"),
    }
    for an in w.truth["anomalies"]:
        by = "campaign_name" if an["level"] == "campaign" else "channel"
        p, q = (weekly(x[x[by] == an["entity"]], by).loc[(an["entity"], an["week"])] for x in (a, b))
        num, den = ratio[an["metric"]]
        effect = (p[num] / (p[den] if den else 1)) / (q[num] / (q[den] if den else 1)) - 1
        assert effect == pytest.approx(
            an["size"], abs=0.01 + 2.5 / np.sqrt(q["clicks" if an["metric"] == "ctr" else "conversions"])
        )
    # and the quiet world's latest week looks like the 4 before it for every sizeable campaign
    g = weekly(b, "campaign_name")
    last = quiet.truth["latest_complete_week"]
    prev = [weeks.shift(last, -k) for k in range(1, 5)]
    for name, sub in g.groupby(level=0):
        sub = sub.droplevel(0)
        if last not in sub.index or sub.loc[last, "clicks"] < 2000:
            continue
        ctr = (sub.loc[last, "clicks"] / sub.loc[last, "impressions"]) / (
            sub.loc[prev, "clicks"].sum() / sub.loc[prev, "impressions"].sum()
        )
        spend = sub.loc[last, "spend_reporting"] / sub.loc[prev, "spend_reporting"].mean()
        assert abs(ctr - 1) < 0.1 and abs(spend - 1) < 0.1, name


# ---- plans, controls and the business side ----------------------------------------------------------------
def test_budget_plan_is_off_for_the_current_month_and_a_limit_is_breached(w: world.World) -> None:
    plan, ad = w.tables["budget_plan"], w.tables["ad_daily"]
    months = plan["month"].drop_duplicates().sort_values()
    assert len(months) >= 15 and months.iloc[-1] >= pd.Timestamp("2026-12-01")  # to the end of the quarter
    cur = plan[(plan["month"] == pd.Timestamp("2026-11-01")) & plan["campaign_name"].isna()].set_index(
        "channel"
    )
    nov = ad[ad["date_day"] >= pd.Timestamp("2026-11-01")]
    mtd = nov.groupby("channel")["spend_reporting"].sum()
    last14 = (
        ad[ad["date_day"] > pd.Timestamp(END) - pd.Timedelta(days=14)]
        .groupby("channel")["spend_reporting"]
        .sum()
        / 14
    )
    projected = mtd + last14 * (30 - 22)
    ratio = projected / cur["planned_spend"]
    assert ratio["search"] > 1.15 and ratio["video"] < 0.85
    assert ratio.drop(["search", "video"]).between(0.9, 1.1).all()
    assert w.truth["pacing"]["over"] == ["search"] and w.truth["pacing"]["under"] == ["video"]
    lim = w.tables["spend_limits"]
    weekly_search = (
        ad[(ad["channel"] == "search") & (ad["date_day"] > pd.Timestamp(END) - pd.Timedelta(days=28))][
            "spend_reporting"
        ].sum()
        / 4
    )
    week_lim = lim[(lim["channel"] == "search") & (lim["period"] == "week") & lim["campaign_name"].isna()]
    assert float(week_lim["limit_amount"].iloc[0]) < weekly_search
    assert len(w.tables["approvals"]) >= 2 and set(w.tables["approvals"]["decision"]) == {
        "approved",
        "rejected",
    }
    assert {"revenue", "roas", "cpa", "ctr", "pipeline"} - set(w.tables["kpi_targets"]["metric"]) <= {
        "revenue"
    }


def test_business_tables_differ_by_channel(w: world.World) -> None:
    deals, health = w.tables["crm_deals"], w.tables["customer_health"]
    end = pd.Timestamp(END)
    assert set(deals["crm"]) == {"hubspot", "salesforce"} and (deals["created_date"] <= end).all()
    assert set(deals.loc[deals["crm"] == "salesforce", "currency"]) == {"EUR"}
    closed = deals[deals["is_closed"]]
    win = closed.groupby("channel")["is_won"].mean()
    assert win["referral"] > win["search"] > win["display"]
    cycle = (closed["close_date"] - closed["created_date"]).dt.days.groupby(closed["channel"]).mean()
    assert cycle["display"] > cycle["shopping"] + 10
    assert (
        deals.loc[deals["is_won"], "customer_id"].notna().all()
        and deals.loc[~deals["is_won"], "customer_id"].isna().all()
    )
    churn = health.groupby("acquisition_channel")["churned"].mean()
    assert churn["social"] > churn["referral"]
    assert health["health_score"].between(0, 100).all()
    tp = w.tables["touchpoints"]
    assert tp["journey_id"].nunique() >= 3000 and tp.groupby("journey_id").size().between(1, 6).all()
    assert (tp["touch_ts"] <= end + pd.Timedelta(days=1)).all()
    share = tp["channel"].value_counts(normalize=True)
    assert share["search"] > share["display"]  # the paid mix follows spend
    usage = w.tables["product_usage"]
    adopt = usage.merge(health[["customer_id", "acquisition_channel"]].drop_duplicates(), on="customer_id")
    per = adopt.groupby("acquisition_channel")["feature"].nunique()
    assert per.min() >= 3
    pii = w.contacts_pii
    assert (
        pii["email"]
        .str.fullmatch(r"[a-z.]+\d*@[a-z.]*example\.(com|org|net)|[a-z.]+\d*@outdoors\.example")
        .all()
    )
    assert pii["phone"].str.contains(r" 555 01\d\d$").all()
    assert w.truth["pii_probe"][0]["email"] in set(pii["email"])


# ---- export files --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[world.World, dict, object]:
    root = tmp_path_factory.mktemp("demo")
    wd = generate(
        root / "inbox", root / "demo" / "truth.json", seed=5, scale=0.4, end=END, weeks=40, lift_test=True
    )
    truth = json.loads((root / "demo" / "truth.json").read_text())
    return wd, truth, root / "inbox"


def test_generate_uses_every_format_and_files_read_back(exported: tuple) -> None:
    wd, truth, inbox = exported
    # every format but salesforce_leads: the demo world's contacts all live in HubSpot
    assert {f["format"] for f in truth["files"]} == set(sources.MODULE_NAMES) - {"salesforce_leads"}
    assert truth["fallbacks"] == []
    for key in ("seed", "currency", "channels", "baseline", "anomalies", "gaps", "bad_rows"):
        assert key in truth
    ctx = ReadContext(pii_salt="test-salt")
    skip = (
        {b["file"] for b in truth["bad_rows"]}
        | {d["file"] for d in truth["duplicates"]}
        | {r["replaces"] for r in truth["reexports"]}
    )
    frames: dict[str, list[pd.DataFrame]] = {}
    for f in truth["files"]:
        path = inbox / f["file"]
        assert path.exists(), f["file"]
        assert f["format"] == sources.detect(path).NAME, f["file"]
        if f["file"] in skip:
            continue
        parsed = sources.get(f["format"]).read(path, ctx)
        assert len(parsed.frame) == f["rows"], f["file"]
        frames.setdefault(parsed.table, []).append(parsed.frame)
    ad = pd.concat(frames["ad_daily"])
    gap_rows = pd.Series(False, index=wd.tables["ad_daily"].index)
    for g in truth["gaps"]:
        t = wd.tables["ad_daily"]
        gap_rows |= (t["account_id"] == g["account_id"]) & t["date_day"].between(g["start"], g["end"])
        assert not (
            (ad["account_id"] == g["account_id"]) & ad["date_day"].between(g["start"], g["end"])
        ).any()
    assert gap_rows.sum() > 0
    expected = wd.tables["ad_daily"][~gap_rows]
    assert len(ad) == len(expected)
    for c in ("spend", "clicks", "impressions", "conversions", "conversions_value"):
        assert ad[c].sum() == pytest.approx(expected[c].sum(), rel=1e-9), c
    web = pd.concat(frames["web_daily"])
    assert web["revenue"].sum() == pytest.approx(wd.tables["web_daily"]["revenue"].sum(), abs=0.01)
    for table in (
        "crm_deals",
        "crm_contacts",
        "touchpoints",
        "product_usage",
        "customer_health",
        "fx_rates",
        "budget_plan",
        "spend_limits",
        "approvals",
        "kpi_targets",
    ):
        assert sum(len(x) for x in frames[table]) == len(wd.tables[table]), table
    contacts = pd.concat(frames["crm_contacts"])
    assert (
        contacts["email_hash"].notna().all() and not contacts.isin(set(wd.contacts_pii["email"])).any().any()
    )


def test_planted_file_problems_are_recorded_exactly(exported: tuple) -> None:
    _, truth, inbox = exported
    assert len(truth["bad_rows"]) >= 3 and len(truth["gaps"]) >= 2
    for b in truth["bad_rows"]:
        path = inbox / b["file"]
        raw = path.read_bytes()
        text = raw.decode("utf-16" if raw[:2] == b"\xff\xfe" else "utf-8-sig")
        sep = "\t" if "\t" in text.splitlines()[0] else ","
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
        header = next(r for r in rows if b["column"] in r)
        cells = rows[b["line"] - 1]
        assert len(cells) == len(header) and cells[header.index(b["column"])] == b["value"], b
    garbage = next(b for b in truth["bad_rows"] if "12,3x4" in b["value"])
    with pytest.raises(SourceError) as e:
        sources.get(garbage["source"]).read(inbox / garbage["file"], ReadContext(pii_salt="s"))
    assert e.value.line == garbage["line"] and e.value.column == garbage["column"]
    dup = truth["duplicates"][0]
    assert (inbox / dup["file"]).read_bytes() == (inbox / dup["duplicate_of"]).read_bytes()
    re_ = truth["reexports"][0]
    new, old = inbox / re_["file"], inbox / re_["replaces"]
    assert new.read_bytes() != old.read_bytes() and new.stat().st_mtime > old.stat().st_mtime
    ctx = ReadContext(pii_salt="s")
    a, b2 = (sources.get(re_["source"]).read(p, ctx) for p in (new, old))
    assert a.period == b2.period and a.frame["spend"].sum() > b2.frame["spend"].sum()


def test_truth_json_is_complete(exported: tuple) -> None:
    _, truth, _ = exported
    for c in CHANNELS:
        p = truth["channels"][c]
        assert {"decay", "half_saturation", "shape", "beta", "roi_true", "period_start", "period_end"} <= set(
            p
        )
        assert 0 < p["decay"] < 1 and p["half_saturation"] > 0 and p["beta"] > 0
    assert len(truth["weekly"]) == 40 and truth["period"]["weeks"] == 40
    for a in truth["anomalies"]:
        assert {"week", "level", "entity", "metric", "direction", "size"} <= set(a)
    for g in truth["gaps"]:
        assert {"source", "account_id", "start", "end"} <= set(g)
    for b in truth["bad_rows"]:
        assert {"file", "line", "column", "problem"} <= set(b)
