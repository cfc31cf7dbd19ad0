"""Period reports (``ad_period``) shown in the data-quality scorecard and reconciled with the daily rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from mktdash import params
from mktdash.ingest import engine as ingest
from mktdash.ingest import periods, scorecard
from mktdash.reporting import exports
from mktdash.warehouse.backend import Warehouse

# 28 days, Monday 2025-11-03 .. Sunday 2025-11-30: four ISO weeks, so a report without Day goes to ad_period
DAYS = [dt.date(2025, 11, 3) + dt.timedelta(days=i) for i in range(28)]
HEAD = 'Campaign report\n"November 3, 2025 - November 30, 2025"\n'


def _files(tmp_path: Path) -> list[Path]:
    """A daily report (UTF-8, commas) and the 28-day report of the same account ("Excel .csv": UTF-16LE, tabs).

    Daily: Brand 1,000 impressions, 100 clicks, 10.00 a day; Generic 50, 5, 1.50 a day. Over 28 days: Brand
    28,000 / 2,800 / 280.00 (the 28-day file says the same: match); Generic 1,400 / 140 / 42.00, while the
    28-day file says 1,400 / 140 / 50.00 (differs by -8.00). Search Only has no daily rows.
    """
    daily = tmp_path / "daily.csv"
    rows = "".join(
        f'{d:%Y-%m-%d},Brand,USD,"1,000",100,10.00\n{d:%Y-%m-%d},Generic,USD,50,5,1.50\n' for d in DAYS
    )
    daily.write_text(
        HEAD + "Day,Campaign,Currency code,Impr.,Clicks,Cost\n" + rows
        + 'Total: Account, --,USD,"29,400",2940,322.00\n',
        encoding="utf-8",
    )  # fmt: skip
    period = tmp_path / "last_28_days.csv"
    lines = [
        "Campaign\tCurrency code\tImpr.\tClicks\tCost",
        "Brand\tUSD\t28,000\t2800\t280.00",
        "Generic\tUSD\t1,400\t140\t50.00",
        "Search Only\tUSD\t300\t30\t3.00",
        "Total: Account\tUSD\t29,700\t2970\t333.00",
    ]
    period.write_bytes(b"\xff\xfe" + (HEAD.replace(",", "") + "\n".join(lines) + "\n").encode("utf-16-le"))
    return [daily, period]


@pytest.fixture
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    w = Warehouse.memory()
    rep = ingest.ingest_paths(
        w, _files(tmp_path), params.resolve(), progress=False, today=dt.date(2026, 1, 1)
    )
    assert [(f.status, f.table, f.rows) for f in rep.files] == [
        ("loaded", "ad_daily", 56),
        ("loaded", "ad_period", 3),
    ]
    return w


def test_reconcile_match_differs_and_no_daily_rows_with_the_difference(wh: Warehouse) -> None:
    out = periods.reconcile(wh)
    assert list(out.columns) == periods.COLUMNS
    got = out.set_index("campaign_name")
    brand, generic, only = got.loc["Brand"], got.loc["Generic"], got.loc["Search Only"]
    assert (brand["period_start"], brand["period_end"]) == (pd.Timestamp(DAYS[0]), pd.Timestamp(DAYS[-1]))
    assert brand["status"] == "match" and int(brand["daily_rows"]) == 28
    assert float(brand["daily_spend"]) == pytest.approx(280.0) and float(brand["difference_spend"]) == 0.0
    assert generic["status"] == "differs"
    assert float(generic["period_spend"]) == pytest.approx(50.0)
    assert float(generic["daily_spend"]) == pytest.approx(42.0)
    assert float(generic["difference_spend"]) == pytest.approx(-8.0)
    assert float(generic["difference_clicks"]) == 0.0 and float(generic["difference_impressions"]) == 0.0
    assert only["status"] == "no daily rows" and int(only["daily_rows"]) == 0
    assert pd.isna(only["difference_spend"])


def test_scorecard_shows_period_reports_and_exports_them(wh: Warehouse, tmp_path: Path) -> None:
    sc = scorecard.scorecard(wh, params.resolve(), today=dt.date(2026, 1, 1))
    shown = sc.sections()[scorecard.PERIOD_REPORTS_TITLE]
    assert shown is sc.period_reports and sc.tables()["period_reports"] is sc.period_reports
    assert sorted(shown["status"]) == ["differs", "match", "no daily rows"]
    assert sc.summary["period_reports"] == 3 and sc.summary["period_reports_differing"] == 1
    assert sc.period_reports["period_spend"].astype(float).sum() == pytest.approx(333.0)  # the file's total
    html = sc._repr_html_()
    assert "Period reports" in html and "Search Only" in html and "differs" in html
    for name, df in sc.tables().items():  # what 00_ingest does: ctx.export_tables(card.tables(), "quality")
        exports.write_csv(df, f"quality_{name}", tmp_path)
    csv = pd.read_csv(tmp_path / "exports" / "quality_period_reports.csv").set_index("campaign_name")
    assert csv.loc["Generic", "difference_spend"] == pytest.approx(-8.0)
    assert csv.loc["Brand", "status"] == "match"


def test_scorecard_without_period_reports_has_an_empty_section() -> None:
    w = Warehouse.memory()
    w.ensure_tables()
    sc = scorecard.scorecard(w, today=dt.date(2026, 1, 1))
    assert sc.period_reports.empty and list(sc.period_reports.columns) == periods.COLUMNS
    assert sc.summary["period_reports"] == 0 and sc.summary["period_reports_differing"] == 0
