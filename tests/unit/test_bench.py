"""The weekly-run benchmark's own parts (bench/bench_run.py, bench/_common.py): the papermill floor it divides
by, the memory it reports, and one small measurement end to end. Speed itself is the benchmark's to judge,
not a test's: nothing here asserts a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import psutil
import pytest

from mktdash import paths, pipeline
from mktdash.params import resolve

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import bench_run  # noqa: E402
from _common import PeakRSS  # noqa: E402

WEEKLY = ["00_ingest", "10_kpis", "20_budget", "30_exec_summary"]
MB = 1 << 20


def _parameters_cell(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    return next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))


def test_floor_is_the_weekly_notebooks_emptied_to_their_parameters_cell(tmp_path: Path) -> None:
    bench_run.emptied_notebooks(tmp_path)
    assert sorted(p.stem for p in tmp_path.glob("*.ipynb")) == WEEKLY
    for name in WEEKLY:
        cells = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4).cells
        assert [c.metadata.get("tags") for c in cells] == [["parameters"]]
        assert cells[0].source == _parameters_cell(paths.notebooks_dir() / f"{name}.ipynb")


@pytest.mark.slow
def test_floor_runs_through_the_weekly_runner(home: Path, tmp_path: Path) -> None:
    floor = bench_run.emptied_notebooks(tmp_path)
    result = pipeline.run(resolve(), notebooks_dir=floor, progress=False, echo=lambda *_: None)
    assert result.ok, result.error
    assert [n["name"] for n in result.manifest["notebooks"]] == WEEKLY
    for name in WEEKLY:  # each ran in a kernel: the parameters cell plus papermill's injected one, no more
        ran = nbformat.read(result.run_dir / "notebooks" / f"{name}.ipynb", as_version=4)
        assert [c.metadata.get("tags") for c in ran.cells] == [["parameters"], ["injected-parameters"]]
        assert ran.metadata.papermill.parameters["mode"] == "static"


def test_peak_memory_counts_a_child_process(tmp_path: Path) -> None:
    """A child that fills 300 MB and holds it: the tree's peak RSS and peak PSS both see it."""
    me = psutil.Process().memory_full_info()  # the test process itself, counted in the tree as well
    ready = tmp_path / "ready"
    child = (
        "import pathlib, sys, time\n"
        f"block = bytearray(b'x' * ({300 * MB}))\n"  # written, so resident
        "pathlib.Path(sys.argv[1]).touch()\n"
        "time.sleep(1.5)\n"
    )
    with PeakRSS(interval=0.05) as mem:
        proc = subprocess.Popen([sys.executable, "-c", child, str(ready)])
        assert proc.wait(timeout=60) == 0
    assert ready.exists()
    assert mem.peak - me.rss >= 290 * MB
    assert mem.peak_pss - me.pss >= 290 * MB


@pytest.mark.slow
def test_weekly_run_benchmark_end_to_end() -> None:
    """A tiny world through the whole measurement: demo, cold run, interleaved floor and warm runs."""
    r = bench_run.measure(0.2, [str(paths.project_root() / "params/test/smoke.yaml")], repeat=1)
    assert r["ad_daily_rows"] > 10_000
    assert r["warm_ratio"] == pytest.approx(r["warm_s"] / r["floor_s"])
    assert r["floor_s"] < r["warm_s"] < r["cold_s"]  # the notebooks' work costs something; a cold run, a fit
    assert list(r["warm_notebooks"]) == WEEKLY
    # forked kernels share the server's pages: summed RSS counts them once per kernel, PSS once in all
    assert 0 < r["warm_pss"] < r["warm_rss"]
    assert 0 < r["cold_pss"] < r["cold_rss"]
