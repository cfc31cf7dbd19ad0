"""Sections whose inputs are missing (mktdash.reporting.missing): the notice, the empty table's columns, escaping, and
the report week without ad data. The end-to-end matrix is tests/notebooks/test_source_subsets.py."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from mktdash.analytics import attribution, crossdomain, kpis
from mktdash.reporting import missing
from mktdash.warehouse.backend import Warehouse
from mktdash.warehouse.schema import conform


@pytest.fixture
def wh() -> Warehouse:
    w = Warehouse.memory()
    w.ensure_tables()
    return w


def test_a_notice_frame_keeps_its_columns_and_notice_through_slicing() -> None:
    f = missing.frame("No X loaded: export Y (see docs/sources.md) to see Z.", ["a", "b"])
    assert list(f.columns) == ["a", "b"] and f.empty
    assert missing.of(f) == missing.of(f.head(3)) == missing.of(f.tail(1)) == f.notice
    assert missing.of(pd.DataFrame({"a": [1]})) is None
    assert repr(f).startswith("No X loaded")


def test_the_notice_is_escaped_in_html() -> None:
    html = missing.frame("No <script>alert(1)</script> loaded", ["a"])._repr_html_() or ""
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'class="mktdash-missing"' in html


def test_the_reports_table_format_shows_the_notice_above_the_table() -> None:
    from mktdash.reporting import tables

    html = tables.display_html(
        missing.frame("No CRM contacts loaded: export <HubSpot>", ["channel", "leads"])
    )
    assert "mktdash-missing" in html and "No CRM contacts loaded: export &lt;HubSpot&gt;" in html
    assert html.index("mktdash-missing") < html.index("<table")
    assert "mktdash-missing" not in tables.display_html(pd.DataFrame({"channel": ["search"]}))


def test_annotate_keeps_rows_and_adds_the_notice_only_when_given() -> None:
    df = pd.DataFrame({"spend": [1.0, 2.0]})
    assert missing.annotate(df, None) is df
    out = missing.annotate(df, "No CRM deals loaded: export ...")
    assert out["spend"].tolist() == [1.0, 2.0] and missing.of(out) == "No CRM deals loaded: export ..."


def test_section_notices_name_the_first_empty_table_of_each_section() -> None:
    have = {"ad_daily"}
    got = missing.section_notices(lambda t: t in have)
    assert set(got) == {"budget", "pipeline", "product", "health"}  # performance has its ad data
    assert got["budget"].startswith("No GA4 data loaded: export the GA4 Traffic acquisition report")
    assert got["pipeline"].startswith("No CRM deals loaded: export HubSpot deals or Salesforce opportunities")


def test_attribution_without_touchpoints_is_an_empty_table_with_every_model_column(wh: Warehouse) -> None:
    side = attribution.side_by_side(attribution.credit(wh))
    assert side.empty and len(side.columns) == 1 + 2 * 7
    assert {"channel", "markov_revenue", "shapley_conversions"} <= set(side.columns)
    assert missing.of(side) is not None and missing.of(side).startswith("No touchpoints loaded")  # type: ignore[union-attr]


def test_crossdomain_views_without_crm_or_product_say_which_export(wh: Warehouse) -> None:
    start, end = dt.date(2026, 1, 5), dt.date(2026, 3, 29)
    funnel = crossdomain.funnel(wh, start, end)
    assert funnel.empty and list(funnel.columns) == crossdomain.FUNNEL_COLUMNS
    assert "No CRM deals loaded" in (missing.of(funnel) or "")
    assert "No CRM contacts loaded" in (missing.of(crossdomain.lead_quality(wh, start, end)) or "")
    assert "No customer health loaded" in (missing.of(crossdomain.customer_health(wh, end)) or "")
    assert "No product usage loaded" in (missing.of(crossdomain.feature_adoption(wh, start, end)) or "")
    assert "No ad-platform data loaded" in (missing.of(crossdomain.finance(wh, start, end)) or "")


def test_report_week_without_ad_data_comes_from_ga4_then_the_calendar(wh: Warehouse) -> None:
    today = dt.date.today() - dt.timedelta(days=1)
    assert kpis.resolve_week(wh) == kpis.weeks.latest_complete(today)  # nothing dated at all
    web = pd.DataFrame({"date_day": pd.to_datetime(["2026-03-01", "2026-03-12"]), "property_id": "p",
                        "channel_group": "Direct", "source_medium": "(direct) / (none)", "sessions": 1,
                        "engaged_sessions": 1, "users": 1, "key_events": 0.0, "revenue": 10.0,
                        "ingest_id": "t"})  # fmt: skip
    wh.append("web_daily", conform(web, "web_daily"))
    assert kpis.resolve_week(wh) == "2026-W10"  # 2026-03-12 is a Thursday of W11: W10 is the last complete
    assert kpis.channel_weekly(wh).empty and "No ad-platform data" in (
        missing.of(kpis.channel_weekly(wh)) or ""
    )
