"""10_kpis runs with papermill on a small warehouse; glued figures and exports equal raw SQL on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kpi_synth import ad_daily  # noqa: E402

from mktdash import paths
from mktdash.warehouse import schema
from mktdash.warehouse.backend import Warehouse

NB = Path(__file__).resolve().parents[2] / "notebooks" / "10_kpis.ipynb"


@pytest.mark.slow
def test_10_kpis_papermill(tmp_path, monkeypatch) -> None:
    import papermill as pm
    import scrapbook as sb

    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    evil = "<script>alert(1)</script>"
    df = ad_daily(
        seed=3,
        n_weeks=20,
        plant=[{"week": "2025-W46", "entity": "Search campaign 2", "metric": "ctr", "size": -0.5}],
    )
    df.loc[df["campaign_name"] == "Video campaign 3", "campaign_name"] = evil
    with Warehouse.open(paths.warehouse_path()) as wh:
        wh.append("ad_daily", df)
        wh.append(
            "touchpoints",
            schema.conform(
                pd.DataFrame(
                    {
                        "journey_id": ["a", "a", "b"],
                        "touch_ts": pd.to_datetime(["2025-11-01", "2025-11-03", "2025-11-02"]),
                        "channel": ["search", "social", "social"],
                        "campaign_name": "x",
                        "converted": [True, True, False],
                        "conversion_value": [100.0, 100.0, None],
                    }
                ),
                "touchpoints",
            ),
        )
    run_dir = tmp_path / "run"
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(NB),
        str(out),
        parameters={"week": "latest", "run_dir": str(run_dir)},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    nb = sb.read_notebook(str(out))
    scraps = nb.scraps.data_dict
    assert scraps["report_week"] == "2025-W46"
    with Warehouse.open(paths.warehouse_path(), read_only=True) as wh:
        tot = wh.sql("""SELECT SUM(spend_reporting) s, SUM(conversions_value_reporting) r FROM ad_daily
                        WHERE date_day BETWEEN '2025-11-10' AND '2025-11-16'""")
        by = wh.sql("""SELECT strftime(date_day, '%G-W%V') AS week, channel, SUM(clicks) AS clicks,
                       SUM(spend_reporting) AS spend, SUM(conversions_value_reporting) / SUM(spend_reporting) AS roas
                       FROM ad_daily GROUP BY 1, 2 ORDER BY 1, 2""")
    assert scraps["total_spend"] == pytest.approx(tot["s"].iloc[0])
    assert scraps["total_revenue"] == pytest.approx(tot["r"].iloc[0])
    assert scraps["roas"] == pytest.approx(tot["r"].iloc[0] / tot["s"].iloc[0])
    exp = run_dir / "exports"
    csv = pd.read_csv(exp / "kpi_channel_weekly.csv")
    assert list(csv.columns) == [
        "week",
        "channel",
        "impressions",
        "clicks",
        "spend",
        "conversions",
        "revenue",
        "ctr",
        "cvr",
        "cpc",
        "cpa",
        "roas",
    ]
    assert csv["week"].tolist() == by["week"].tolist() and csv["clicks"].tolist() == by["clicks"].tolist()
    np.testing.assert_allclose(csv["roas"], by["roas"], rtol=1e-9)
    alerts = json.loads((exp / "alerts.json").read_text())
    assert scraps["n_alerts"] == len(alerts) >= 1
    assert any(a["entity"] == "Search campaign 2" and a["week"] == "2025-W46" for a in alerts), [
        (a["entity"], a["metric"], a["week"]) for a in alerts
    ]
    assert (exp / "kpis.xlsx").exists() and (exp / "alerts.csv").exists()
    outputs = [o for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", [])]
    html_out = "".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert evil not in html_out and "&lt;script&gt;alert(1)&lt;/script&gt;" in html_out  # shown, escaped
    params_cell = next(
        c for c in json.loads(NB.read_text())["cells"] if "parameters" in c["metadata"].get("tags", [])
    )
    assert "".join(params_cell["source"]).count(":") >= 4 and not any(
        c.get("outputs") for c in json.loads(NB.read_text())["cells"]
    )
