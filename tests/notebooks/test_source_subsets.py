"""The weekly run with whatever sources a user has (issue 20): each case is a real run (papermill, the four
notebooks, smoke params) on an inbox holding only some of the demo world's export folders (or the external
Fivetran sample). The run must be OK; every section whose inputs are missing says which export would fill
it; the exports keep their columns; the executive summary renders. No data at all: a clear message, exit 2.

The expected notices are derived here from which tables each inbox fills (not from mktdash.reporting.missing).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from mktdash import demo
from mktdash.params import resolve
from mktdash.runner import pipeline

from .conftest import END, ROOT, SMOKE, WeeklyRun

pytestmark = pytest.mark.slow

FIVETRAN_SAMPLE = ROOT / "tests" / "fixtures" / "external" / "fivetran_ad_report_sample.csv"
AD_FOLDERS = ("google_ads", "google_ads_editor", "microsoft_ads", "meta", "linkedin", "tiktok")
# the demo world's inbox folders -> the warehouse tables their exports fill
FILLS = {
    **dict.fromkeys(AD_FOLDERS, {"ad_daily"}),
    "fivetran": {"ad_daily"},
    "ga4": {"web_daily"},
    "hubspot": {"crm_deals", "crm_contacts"},
    "salesforce": {"crm_deals"},
    "product": {"product_usage", "customer_health"},
    "touchpoints": {"touchpoints"},
    "plans": {"budget_plan", "spend_limits", "approvals", "kpi_targets"},
    "fx": {"fx_rates"},
}
NOTEBOOKS = ["00_ingest", "10_kpis", "20_budget", "30_exec_summary"]
KPI_COLUMNS = ["week", "channel", "impressions", "clicks", "spend", "conversions", "revenue",
               "ctr", "cvr", "cpc", "cpa", "roas"]  # fmt: skip
RECOMMENDATION_COLUMNS = ["channel", "current_weekly_spend", "recommended_weekly_spend", "lower_bound",
                          "upper_bound", "expected_revenue_current", "expected_revenue_recommended"]  # fmt: skip
ROI_COLUMNS = ["channel", "roi_mean", "roi_lower_90", "roi_upper_90", "period_start", "period_end"]


@dataclass(frozen=True)
class Case:
    folders: tuple[str, ...]
    fivetran_sample: bool = False  # add the 3-day external Fivetran ad_reporting sample
    few_weeks: bool = False  # ads and GA4 overlap on fewer weeks than the MMM needs

    @property
    def tables(self) -> set[str]:
        out = {t for f in self.folders for t in FILLS[f]}
        return out | ({"ad_daily"} if self.fivetran_sample else set())


CASES = {
    "ads_only_fivetran_sample": Case((), fivetran_sample=True),
    "ads_only": Case(AD_FOLDERS),
    "ads_and_ga4": Case((*AD_FOLDERS, "ga4")),
    "fivetran_sample_and_ga4": Case(("ga4",), fivetran_sample=True, few_weeks=True),
    "ads_and_crm": Case((*AD_FOLDERS, "hubspot", "salesforce")),
    "ga4_only": Case(("ga4",)),
    "crm_only": Case(("hubspot", "salesforce")),
    "product_only": Case(("product",)),
    "touchpoints_only": Case(("touchpoints",)),
    "plans_only": Case(("plans",)),
}


def expected_notices(tables: set[str], few_weeks: bool = False) -> dict[str, bool]:
    """Each notice's opening words -> whether the run must show it (True) or must not (False)."""
    ads, ga4 = "ad_daily" in tables, "web_daily" in tables
    return {
        "No ad-platform data loaded": not ads,
        "No GA4 data loaded": ads and not ga4,  # the MMM's target, asked once ad spend is there
        "No CRM deals loaded": "crm_deals" not in tables,
        "No CRM contacts loaded": "crm_contacts" not in tables,
        "No product usage loaded": "product_usage" not in tables,
        "No customer health loaded": "customer_health" not in tables,
        "No touchpoints loaded": "touchpoints" not in tables,
        "No budget plan loaded": ads and "budget_plan" not in tables,
        "No spend limits loaded": ads and "spend_limits" not in tables,
        "complete weeks of spend and revenue": ads and ga4 and few_weeks,
    }


def notices(run_dir: Path) -> dict[str, list[str]]:
    """The notices shown in each executed notebook (HTML outputs marked ``mktdash-missing``)."""
    out = {}
    for name in NOTEBOOKS:
        cells = json.loads((run_dir / "notebooks" / f"{name}.ipynb").read_text())["cells"]
        html = "".join(
            "".join(o.get("data", {}).get("text/html", "")) for c in cells for o in c.get("outputs", [])
        )
        out[name] = re.findall(r'class="[^"]*mktdash-missing[^"]*">(?:<b>)?(.*?)</', html)
    return out


@pytest.fixture(scope="module")
def world_inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo world's inbox, written once: each case copies the folders it keeps (30 weeks: the MMM's
    minimum of 20 with room, a short fit)."""
    root = tmp_path_factory.mktemp("world")
    demo.generate(root / "inbox", root / "truth.json", seed=7, scale=0.5, end=END, plant=False, weeks=30)
    return root / "inbox"


def run_case(case: Case, world: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> pipeline.RunResult:
    monkeypatch.setenv("MKTDASH_HOME", str(home))
    monkeypatch.setenv("MKTDASH_PARAMS", str(SMOKE))
    inbox = home / "data" / "inbox"
    inbox.mkdir(parents=True)
    for folder in case.folders:
        shutil.copytree(world / folder, inbox / folder)
    if case.fivetran_sample:
        (inbox / "fivetran").mkdir()
        shutil.copy(FIVETRAN_SAMPLE, inbox / "fivetran")
    return pipeline.run(resolve(), progress=False)


def check_run(res: pipeline.RunResult, tables: set[str], few_weeks: bool = False) -> dict[str, list[str]]:
    assert res.ok, res.error
    m = json.loads((res.run_dir / "manifest.json").read_text())
    assert m["status"] == "ok" and [n["status"] for n in m["notebooks"]] == ["ok"] * 4
    shown = notices(res.run_dir)
    every = " | ".join(n for ns in shown.values() for n in ns)
    for words, must in expected_notices(tables, few_weeks).items():
        assert (words in every) == must, f"{words!r} {'missing from' if must else 'wrongly in'}: {every}"
    for n in (n for ns in shown.values() for n in ns):  # each names the export to make, and the docs
        assert "export" in n.lower() and "docs/sources.md" in n, n
    return shown


def check_exports(run_dir: Path, tables: set[str]) -> None:
    ex = run_dir / "exports"
    kpi = pd.read_csv(ex / "kpi_channel_weekly.csv")
    assert list(kpi.columns) == KPI_COLUMNS
    assert kpi.empty == ("ad_daily" not in tables)
    assert isinstance(json.loads((ex / "alerts.json").read_text()), list)
    rec = pd.read_csv(ex / "budget_recommendation.csv")
    assert list(rec.columns) == RECOMMENDATION_COLUMNS
    assert list(pd.read_csv(ex / "mmm_channel_roi.csv").columns) == ROI_COLUMNS
    funnel = pd.read_csv(ex / "funnel.csv")
    assert {"channel", "pipeline_sourced", "pipeline_influenced"} <= set(funnel.columns)
    assert funnel.empty == ("crm_deals" not in tables)
    attribution = pd.read_csv(ex / "attribution.csv")
    assert {"channel", "last_touch_conversions", "shapley_revenue"} <= set(attribution.columns)
    assert attribution.empty == ("touchpoints" not in tables)
    listed = pd.read_csv(ex / "missing_sources.csv")
    assert list(listed.columns) == ["view", "notice"]
    assert ("attribution" in set(listed["view"])) == ("touchpoints" not in tables)
    assert (ex / "kpis.xlsx").stat().st_size > 0


def check_summary(run_dir: Path, shown: list[str]) -> None:
    page = (run_dir / "html" / "30_exec_summary.html").read_text()
    assert "Executive summary" in page and len(page) > 10_000
    for n in shown:  # the notices shown are in the HTML page (escaped as the page escapes them)
        assert n in page, n


@pytest.mark.parametrize("name", list(CASES))
def test_weekly_run_with_a_subset_of_sources(
    name: str, world_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    res = run_case(case, world_inbox, tmp_path, monkeypatch)
    shown = check_run(res, case.tables, case.few_weeks)
    check_exports(res.run_dir, case.tables)
    check_summary(res.run_dir, shown["30_exec_summary"])


def test_everything_shows_no_missing_notice(weekly_run: WeeklyRun) -> None:
    """The whole demo world (the session's weekly run): every section has its inputs."""
    shown = check_run(weekly_run.result, {t for ts in FILLS.values() for t in ts})
    assert shown == {name: [] for name in NOTEBOOKS}
    assert not (weekly_run.result.run_dir / "exports" / "missing_sources.csv").exists()


def test_no_data_at_all_is_a_clear_message_and_exit_2(tmp_path: Path) -> None:
    env = {"MKTDASH_HOME": str(tmp_path), "MKTDASH_PARAMS": str(SMOKE), "PATH": "/usr/bin:/bin"}
    env["PYTHONPATH"] = str(ROOT / "lib")
    out = subprocess.run(
        [sys.executable, "-m", "mktdash.cli", "run", "--no-demo", "--quiet"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "no data to report" in out.stderr and "docs/sources.md" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "outputs").exists()  # no run folder for a run that never started


def test_only_refused_files_is_no_data_exit_2_with_the_reasons(tmp_path: Path) -> None:
    """An inbox whose every file is refused, on an empty warehouse: the run says why each file was refused,
    that there is no data to report, and exits 2; the demo world is not generated over the user's files."""
    inbox = tmp_path / "data" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "notes.csv").write_text("hello,world\n1,2\n", encoding="utf-8")  # no known layout
    (inbox / "Campaign report.csv").write_bytes(b"")  # a failed download
    env = {"MKTDASH_HOME": str(tmp_path), "MKTDASH_PARAMS": str(SMOKE), "PATH": "/usr/bin:/bin"}
    env["PYTHONPATH"] = str(ROOT / "lib")
    for extra in ([], ["--no-demo"]):  # the second run finds both files already refused, unchanged
        out = subprocess.run(
            [sys.executable, "-m", "mktdash.cli", "run", "--quiet", *extra],
            capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
        assert out.returncode == 2, (out.stdout, out.stderr)
        assert "no data to report" in out.stderr and "2 file(s)" in out.stderr, out.stderr
        assert "notes.csv (line 1): not a known export" in out.stdout
        assert "Campaign report.csv" in out.stdout and "the file is empty" in out.stdout
        assert "Traceback" not in out.stdout + out.stderr
    assert sorted(p.name for p in inbox.iterdir()) == ["Campaign report.csv", "notes.csv"]  # no demo world
