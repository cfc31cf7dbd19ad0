"""The weekly rollup of ad_daily: the same KPIs as the daily rows, read only while it matches them, kept by ingest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ad_rows import TODAY, rows
from kpi_synth import ad_daily, warehouse

from mktdash import params
from mktdash.analytics import kpis
from mktdash.ingest import engine as ingest
from mktdash.ingest import sources
from mktdash.warehouse import rollup
from mktdash.warehouse.backend import Warehouse


def _daily_path(wh: Warehouse, level: str, **kw: str) -> pd.DataFrame:
    """The same KPIs from the daily rows (an Ibis table is never read through the rollup)."""
    return wh.df(kpis.weekly(wh.table("ad_daily"), kpis.LEVELS[level], **kw))


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
    for c in a.columns:
        if a[c].dtype.kind in "fi":
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-12, err_msg=c)
        else:
            assert a[c].fillna("<null>").tolist() == b[c].fillna("<null>").tolist(), c


@pytest.fixture
def synced() -> Warehouse:
    df = ad_daily(seed=4, n_weeks=12, end_week="2027-W02")  # across 2026-W53, an ISO year's 53rd week
    df.loc[df.index % 7 == 0, "creative"] = None  # missing dimension values are a group of their own
    wh = warehouse(df)
    assert rollup.table(wh) is None  # loaded without the ingest: no rollup yet
    rollup.sync(wh, [])
    assert rollup.table(wh) is not None
    return wh


@pytest.mark.parametrize("level", [lv for lv in kpis.LEVELS])
def test_weekly_kpis_from_the_rollup_equal_those_from_the_daily_rows(synced: Warehouse, level: str) -> None:
    weeks_ = {"first": "2026-W50", "last": "2027-W01"}
    got = synced.df(kpis.weekly(synced, kpis.LEVELS[level], **weeks_))
    _assert_same(got, _daily_path(synced, level, **weeks_))
    assert "2026-W53" in set(got["week"]) and set(got["week"]) <= {"2026-W50", "2026-W51", "2026-W52", "2026-W53",
                                                                   "2027-W01"}  # fmt: skip


def test_a_rollup_that_does_not_match_the_daily_rows_is_not_read_until_synced(synced: Warehouse) -> None:
    extra = ad_daily(seed=5, n_weeks=1, end_week="2027-W01", campaigns_per_channel=1)
    synced.append("ad_daily", extra)  # written past the ingest: the rollup is stale now
    assert rollup.table(synced) is None
    _assert_same(kpis.level_weekly(synced, "campaign").drop(columns=["level", "entity"]),
                 _daily_path(synced, "campaign"))  # fmt: skip
    rollup.sync(synced, [])  # the next ingest rebuilds it
    assert rollup.table(synced) is not None
    _assert_same(synced.df(kpis.weekly(synced, ["channel"])), _daily_path(synced, "channel"))


def test_ingest_keeps_the_rollup_in_step_with_loads_and_corrected_reexports(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path / "home"))
    wh, settings, g = Warehouse.memory(), params.resolve(), sources.get("google_ads_ui")
    built = []  # each build of rollup rows: whole ("") or the refreshed weeks only (a WHERE clause)
    real_rows_of = rollup._rows_of
    monkeypatch.setattr(rollup, "_rows_of", lambda where="": built.append(where) or real_rows_of(where))

    def load(name: str, frame: pd.DataFrame) -> None:
        g.write(frame, tmp_path / name)
        built.clear()
        rep = ingest.ingest_paths(wh, [tmp_path / name], settings, progress=False, today=TODAY)
        assert rep.files[0].status in ingest.LOADED, rep.files[0].error
        assert rollup.table(wh) is not None
        assert built == ([""] if name == "first.csv" else ["WHERE date_day BETWEEN ? AND ?"])  # no rebuild
        spend = wh.sql("SELECT sum(spend_reporting) AS s FROM ad_daily")["s"][0]
        assert wh.df(kpis.weekly(wh, []))["spend"].sum() == pytest.approx(spend, rel=1e-12)
        _assert_same(wh.df(kpis.weekly(wh, ["campaign_name"])), wh.df(kpis.weekly(wh.table("ad_daily"),
                                                                                 ["campaign_name"])))  # fmt: skip

    load("first.csv", rows(spend=10.0))  # July 1..10
    load("next.csv", rows(n=4, start="2025-07-21", days=2, spend=7.0))  # two weeks later
    load("corrected.csv", rows(spend=12.5))  # replaces the first file's period
    load("partial.csv", rows(n=2, start="2025-07-05", days=1, spend=1.0))  # one day of it
    # W27 holds July 1-6 (July 5 re-exported at 2 x 1.0), W28 July 7-10, W30 July 21-22
    assert wh.df(kpis.weekly(wh, []))["spend"].round(2).tolist() == [12.5 * 10 + 2.0, 12.5 * 8, 28.0]


# the dashboards' weekly rows as the test computes them straight from ad_daily (the known answer)
DAILY_SQL = """
SELECT strftime(date_day, '%G-W%V') AS week, coalesce(channel, 'other') AS channel,
       coalesce(platform, 'unknown') AS platform, coalesce(campaign_id, '') AS campaign_id,
       coalesce(any_value(campaign_name), '') AS campaign_name,
       sum(impressions)::BIGINT AS impressions, sum(clicks)::BIGINT AS clicks,
       sum(coalesce(spend_reporting, spend)) AS spend, sum(conversions) AS conversions,
       sum(coalesce(conversions_value_reporting, conversions_value)) AS revenue,
       count(DISTINCT date_day) AS days, min(date_day) AS first_day, max(date_day) AS last_day
FROM ad_daily GROUP BY ALL
"""


def test_the_dashboards_weekly_rows_equal_the_daily_rows_summed_whether_the_rollup_matches_or_not(
    synced: Warehouse,
) -> None:
    """Same rows, days with data counted exactly (weekday bits), missing dimensions and rates handled alike,
    from the rollup when it matches ``ad_daily`` and from the daily rows when it does not."""
    con = synced.con.con
    con.execute(
        "UPDATE ad_daily SET spend_reporting = NULL, platform = NULL WHERE date_day = DATE '2026-12-30'"
    )
    con.execute(
        "DELETE FROM ad_daily WHERE date_day = DATE '2026-12-31' AND channel = 'search'"
    )  # a 6-day week
    keys = "ORDER BY week, channel, platform, campaign_id"
    want = con.execute(f"SELECT * FROM ({DAILY_SQL}) {keys}").df()
    stale = rollup.dashboard_sql(con)  # edited past the ingest: the rollup does not match
    assert f"FROM {rollup.NAME}\n" not in stale
    rollup.sync(synced, [])
    fresh = rollup.dashboard_sql(con)
    assert f"FROM {rollup.NAME}\n" in fresh
    for sql in (stale, fresh):
        got = con.execute(f"SELECT * FROM ({sql}) {keys}").df()
        _assert_same(
            got.drop(columns=["first_day", "last_day"]), want.drop(columns=["first_day", "last_day"])
        )
        assert (got["first_day"] == want["first_day"]).all() and (got["last_day"] == want["last_day"]).all()
        assert 6 in set(got["days"]) and "unknown" in set(got["platform"])


def test_a_rollup_of_an_older_version_is_not_read_and_is_rebuilt(synced: Warehouse) -> None:
    con = synced.con.con
    con.execute("ALTER TABLE ad_weekly DROP COLUMN weekdays")  # the shape an older version wrote
    assert rollup.table(synced) is None
    rollup.sync(synced, [])
    assert rollup.table(synced) is not None and "weekdays" in synced.table("ad_weekly").columns
