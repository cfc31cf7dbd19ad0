"""The weekly suite end to end on the demo world: what `make run` must leave, checked independently."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from mktdash import paths
from mktdash.reporting import html as htmlexport
from mktdash.warehouse.backend import Warehouse

from .conftest import HOSTILE, ROOT, WEEK, WeeklyRun

pytestmark = pytest.mark.slow
NOTEBOOKS = ["00_ingest", "10_kpis", "20_budget", "30_exec_summary"]


def test_run_leaves_four_notebooks_their_html_and_an_ok_manifest(weekly_run: WeeklyRun) -> None:
    res = weekly_run.result
    assert res.ok, res.error
    m = json.loads((res.run_dir / "manifest.json").read_text())
    assert m["status"] == "ok" and m["week"] == WEEK and res.run_dir.parent.name == WEEK
    assert [n["name"] for n in m["notebooks"]] == NOTEBOOKS and all(
        n["status"] == "ok" for n in m["notebooks"]
    )
    for name in NOTEBOOKS:
        assert (res.run_dir / "notebooks" / f"{name}.ipynb").exists()
        assert (res.run_dir / "html" / f"{name}.html").stat().st_size > 10_000
        assert m["scraps"][name], f"{name} glued no headline figures"
    inbox_files = [p for p in paths.inbox_dir().rglob("*") if p.is_file()]
    assert len([k for k in m["inputs"] if k.startswith("data/inbox")]) == len(inbox_files)
    assert m["params"]["mmm"]["draws"] == 60  # the smoke params, as resolved and run


def test_the_run_counts_the_files_its_ingest_quarantined(weekly_run: WeeklyRun) -> None:
    """What `mktdash run` exits 3 on (docs/cli.md): the files this run's ingest quarantined, as the ledger says."""
    with Warehouse.open(read_only=True) as wh:
        ledger = wh.sql("SELECT count(*) AS n FROM ingest_ledger WHERE status = 'quarantined'")
    planted = {b["file"] for b in weekly_run.world.truth["bad_rows"]}
    assert weekly_run.result.quarantined == int(ledger.n[0]) >= len(planted) > 0


def test_kpi_export_equals_independent_sql(weekly_run: WeeklyRun) -> None:
    got = pd.read_csv(weekly_run.result.run_dir / "exports" / "kpi_channel_weekly.csv")
    assert list(got.columns) == [
        "week", "channel", "impressions", "clicks", "spend", "conversions", "revenue",
        "ctr", "cvr", "cpc", "cpa", "roas",
    ]  # fmt: skip
    with Warehouse.open(read_only=True) as wh:
        want = wh.sql(
            """
            SELECT strftime(date_day, '%G-W%V') AS week, channel,
                   sum(impressions) AS impressions, sum(clicks) AS clicks, sum(spend_reporting) AS spend,
                   sum(conversions) AS conversions, sum(conversions_value_reporting) AS revenue
            FROM ad_daily GROUP BY ALL ORDER BY week, channel
            """
        )
    want = want.astype({c: "float64" for c in ("impressions", "clicks", "spend", "conversions", "revenue")})
    merged = got.merge(want, on=["week", "channel"], suffixes=("", "_sql"), how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    for col in ("impressions", "clicks", "spend", "conversions", "revenue"):
        assert merged[col].to_numpy() == pytest.approx(merged[f"{col}_sql"].to_numpy(), rel=1e-9), col
    assert merged["roas"].to_numpy() == pytest.approx(
        (merged.revenue_sql / merged.spend_sql).to_numpy(), rel=1e-9
    )
    assert merged["ctr"].to_numpy() == pytest.approx(
        (merged.clicks_sql / merged.impressions_sql).to_numpy(), rel=1e-9
    )


def test_guide_exports_exist_with_their_columns(weekly_run: WeeklyRun) -> None:
    ex = weekly_run.result.run_dir / "exports"
    alerts = json.loads((ex / "alerts.json").read_text())
    assert isinstance(alerts, list) and alerts
    for key in ("week", "level", "entity", "metric", "direction", "kind", "size", "impact", "text"):
        assert key in alerts[0], key
    rec = pd.read_csv(ex / "budget_recommendation.csv")
    assert {"channel", "current_weekly_spend", "recommended_weekly_spend", "lower_bound", "upper_bound",
            "expected_revenue_current", "expected_revenue_recommended"} <= set(rec.columns)  # fmt: skip
    roi = pd.read_csv(ex / "mmm_channel_roi.csv")
    assert {"channel", "roi_mean", "roi_lower_90", "roi_upper_90", "period_start", "period_end"} <= set(
        roi.columns
    )


def test_html_opens_offline_and_hides_code_where_asked(weekly_run: WeeklyRun) -> None:
    html_dir = weekly_run.result.run_dir / "html"
    for name in NOTEBOOKS:
        page = (html_dir / f"{name}.html").read_text()
        assert htmlexport.external_refs(page) == [], name
        assert not re.search(r"<link\b[^>]*href=[\"']?(https?:)?//", page), name
        shows_code = "hl-ipython3" in page  # pygments-highlighted code cells
        assert shows_code == (name not in ("20_budget", "30_exec_summary")), name


def test_campaign_names_are_escaped_in_every_html_output(weekly_run: WeeklyRun) -> None:
    names = set(weekly_run.world.tables["ad_daily"]["campaign_name"])
    assert HOSTILE in names  # the world really planted it
    pages = list((weekly_run.home / "outputs").rglob("*.html"))
    assert len(pages) >= 5
    escaped_somewhere = False
    for page in pages:
        text = page.read_text()
        assert HOSTILE not in text, page
        escaped_somewhere |= "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert escaped_somewhere


def test_no_raw_pii_in_warehouse_notebooks_html_or_archive(weekly_run: WeeklyRun) -> None:
    probes = weekly_run.world.truth["pii_probe"]
    pii = [p[k] for p in probes for k in ("email", "phone")] + [
        f"{p['first_name']} {p['last_name']}" for p in probes
    ]
    assert len(pii) >= 6
    inbox = b"".join(f.read_bytes() for f in paths.inbox_dir().rglob("*") if f.is_file())
    assert any(v.encode() in inbox for v in pii)  # the exports really carry it
    blobs = [paths.warehouse_path(), *(weekly_run.home / "outputs").rglob("*")]
    for f in blobs:
        if f.is_file():
            data = f.read_bytes()
            for v in pii:
                assert v.encode() not in data, f"raw PII {v!r} in {f}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom_with_its_defaults(weekly_run: WeeklyRun, name: str) -> None:
    """As an analyst would in JupyterLab: no papermill, no injected parameters."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert (paths.scratch_dir() / "exports").exists()


def test_cli_runs_lists_the_run(weekly_run: WeeklyRun) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mktdash.cli", "runs"], capture_output=True, text=True, check=True
    )
    assert weekly_run.result.run_id in out.stdout and "ok" in out.stdout
