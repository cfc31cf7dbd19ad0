"""Notebook 30 in batch mode (papermill, static): parameters, glued headline figures, escaped HTML output."""

from __future__ import annotations

from pathlib import Path

import duckdb
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NB = ROOT / "notebooks" / "30_exec_summary.ipynb"
import world  # noqa: E402


def test_stored_without_outputs_and_with_the_four_parameters():
    nb = nbformat.read(NB, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    names = [line.split(":")[0] for line in params[0].source.splitlines() if line.strip()]
    assert names == ["week", "params", "run_dir", "mode"]
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None
            assert "def " not in c.source and "class " not in c.source


@pytest.mark.slow
def test_static_run_glues_sql_figures_and_escapes(tmp_path, monkeypatch):
    import papermill as pm
    import scrapbook as sb

    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    info = world.build(tmp_path, minimal=True, n_weeks=4, runs=2)
    week = info["weeks"][0]  # not the published week: the parameter must win
    out = tmp_path / "30.ipynb"
    pm.execute_notebook(
        str(NB),
        str(out),
        parameters={"week": week, "run_dir": str(info["run_dirs"][0]), "mode": "static"},
        kernel_name="python3",
        progress_bar=False,
        shutdown_kernel="immediate",
    )
    scraps = sb.read_notebook(str(out)).scraps.data_dict
    con = duckdb.connect(str(info["snapshot"]), read_only=True)
    spend = con.execute(
        "SELECT sum(spend_reporting) FROM ad_daily WHERE strftime(date_day, '%G-W%V') = ?", [week]
    ).fetchone()[0]
    con.close()
    assert scraps["exec_week"] == week
    assert scraps["exec_spend"] == pytest.approx(spend, rel=1e-9)
    html = "".join(
        o.get("data", {}).get("text/html", "")
        for c in nbformat.read(out, as_version=4).cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert "mk-tile" in html and '<img class="mk-chart' in html
    assert world.HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
