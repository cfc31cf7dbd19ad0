"""The one table format: values shown for people, worked out by hand; exports untouched."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mktdash.reporting import numbers, tables


@pytest.fixture(autouse=True)
def _context():  # noqa: ANN202
    saved = numbers.Context(**vars(numbers.CONTEXT))
    numbers.configure(currency="USD", last_day=dt.date(2026, 11, 25), home=Path("/srv/mkt"))
    yield
    numbers.CONTEXT.__dict__.update(vars(saved))


def test_each_kind_of_number_reads_as_people_write_it() -> None:
    df = pd.DataFrame(
        {
            "channel": ["search", None],
            "spend": [65586.173606, 98.834],
            "roas": [2.2412, np.nan],
            "ctr": [0.935, 0.0123],
            "clicks": [1234567, 12],
            "p_value": [4.55e-07, 0.25],
            "week": ["2026-W47", "2026-W48"],
            "ok": [True, False],
        }
    )
    got = tables.formatted(df)
    assert list(got.columns) == ["Channel", "Spend", "ROAS", "CTR", "Clicks", "P value", "Week", "Ok"]
    assert got.iloc[0].tolist() == [
        "search",
        "$65,586",
        "2.24×",
        "93.5 %",
        "1,234,567",
        "4.5e-07",
        "2026-W47",
        "yes",
    ]
    # W48 ends on Sunday 29 Nov 2026, after the last day with data (25 Nov): partial
    assert got.iloc[1].tolist() == ["", "$98.83", "", "1.2 %", "12", "0.25", "2026-W48 (partial)", "no"]


def test_other_currencies_and_negative_money() -> None:
    assert numbers.money(-1204.4, "EUR") == "-€1,204"
    assert numbers.money(1204.4, "SEK") == "1,204 SEK"
    assert numbers.money(-0.001) == "$0.00"
    numbers.configure(currency="GBP")
    assert tables.formatted(pd.DataFrame({"revenue": [10.5]})).iloc[0, 0] == "£10.50"


def test_a_long_metric_table_formats_each_row_by_its_metric() -> None:
    df = pd.DataFrame(
        {"metric": ["spend", "roas", "ctr", "conversions"], "value": [1500.0, 2.5, 0.02, 310.0]}
    )
    assert tables.formatted(df)["Value"].tolist() == ["$1,500", "2.50×", "2.0 %", "310"]


def test_headers_index_and_paths() -> None:
    assert tables.header("weekly_roas_cv") == "Weekly ROAS CV"
    assert tables.header("expected_revenue_recommended") == "Expected revenue recommended"
    assert tables.header("Revenue (USD)") == "Revenue (USD)"
    df = pd.DataFrame({"value": [1.0]}, index=pd.Index(["search"], name="channel"))
    assert list(tables.formatted(df).columns) == ["Channel", "Value"]
    files = pd.DataFrame({"file": ["/srv/mkt/data/inbox/meta/a.csv", Path("/srv/mkt/data/x.csv")]})
    assert tables.formatted(files)["File"].tolist() == ["data/inbox/meta/a.csv", "data/x.csv"]


def test_html_escapes_scrolls_and_has_no_index_nor_none() -> None:
    df = pd.DataFrame({"campaign_name": ["<script>x</script>", None], "spend": [1.0, 2.0]}, index=[5, 9])
    out = tables.table_html(df.reset_index(drop=True))
    assert "&lt;script&gt;" in out and "<script>" not in out
    assert "overflow-x:auto" in out and "None" not in out and "nan" not in out
    assert re.findall(r"<th[^>]*>([^<]*)</th>", out) == ["Campaign name", "Spend"]
    assert re.findall(r"<td class=num>([^<]*)</td>", out) == ["$1.00", "$2.00"]
    assert "First 1 of 2 rows" in tables.table_html(df.reset_index(drop=True), max_rows=1)


def test_exports_keep_exact_values(tmp_path: Path) -> None:
    from mktdash.reporting import exports

    df = pd.DataFrame({"spend": [65586.173606], "roas": [2.2412345]})
    path = exports.write_csv(df, "x", tmp_path)
    back = pd.read_csv(path)
    assert back["spend"].iloc[0] == 65586.173606 and back["roas"].iloc[0] == 2.2412345


def test_only_the_week_holding_the_last_day_is_partial() -> None:
    # last day with data: Wednesday 25 Nov 2026, inside 2026-W48 (23-29 Nov)
    assert tables.week("2026-W47") == "2026-W47"
    assert tables.week("2026-W48") == "2026-W48 (partial)"
    assert tables.week("2026-W49") == "2026-W49"  # a forecast week is not a partial one
    numbers.configure(last_day=dt.date(2026, 11, 29))  # the Sunday: W48 is complete
    assert tables.week("2026-W48") == "2026-W48"


def test_dates_stay_on_one_line_and_numbers_align_right() -> None:
    df = pd.DataFrame({"period_start": [dt.date(2026, 11, 1)], "channel": ["search"], "variance": [-668.91]})
    out = tables.table_html(df)
    assert re.findall(r"<td( class=\w+)?>([^<]*)</td>", out) == [
        (" class=nw", "2026-11-01"),
        ("", "search"),
        (" class=num", "-$669"),
    ]
