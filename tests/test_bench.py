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

from mktdash import paths
from mktdash.params import resolve

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
import bench_run  # noqa: E402
from _common import PeakRSS  # noqa: E402
from run_world import add_sample_export  # noqa: E402

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
def test_floor_is_the_weekly_command_on_the_emptied_notebooks(home: Path, tmp_path: Path) -> None:
    add_sample_export(home)
    floor = bench_run.floor_project(tmp_path / "floor")
    seconds, manifest, _ = bench_run.weekly_command([], floor)
    assert seconds > 0 and manifest["status"] == "ok"
    assert [n["name"] for n in manifest["notebooks"]] == WEEKLY
    assert manifest["params"] == resolve().model_dump(mode="json")  # the real params/, resolved the same
    run_dir = next((home / "outputs" / "runs").glob(f"*/{manifest['run_id']}"))
    for name in WEEKLY:  # each ran in a kernel: the parameters cell plus papermill's injected one, no more
        ran = nbformat.read(run_dir / "notebooks" / f"{name}.ipynb", as_version=4)
        assert [c.metadata.get("tags") for c in ran.cells] == [["parameters"], ["injected-parameters"]]
        assert ran.metadata.papermill.parameters["mode"] == "static"


def test_peak_memory_counts_a_process_tree(tmp_path: Path) -> None:
    """A child that fills 300 MB and holds it: a sampler of this process's tree and one of the child's own both
    see it, in RSS and in PSS; only the first also counts this process."""
    me = psutil.Process().memory_full_info()
    ready = tmp_path / "ready"
    child = (
        "import pathlib, sys, time\n"
        f"block = bytearray(b'x' * ({300 * MB}))\n"  # written, so resident
        "pathlib.Path(sys.argv[1]).touch()\n"
        "time.sleep(1.5)\n"
    )
    with PeakRSS(interval=0.05) as tree:
        proc = subprocess.Popen([sys.executable, "-c", child, str(ready)])
        with PeakRSS(interval=0.05, root=proc.pid) as alone:
            assert proc.wait(timeout=60) == 0
    assert ready.exists()
    assert tree.peak - me.rss >= 290 * MB and tree.peak_pss - me.pss >= 290 * MB
    assert alone.peak >= 300 * MB and alone.peak_pss >= 300 * MB
    assert alone.peak < tree.peak


@pytest.mark.slow
def test_weekly_run_benchmark_end_to_end() -> None:
    """A tiny world through the whole measurement: demo, cold run, interleaved floor and warm runs (as commands
    and in-process), memory on runs of its own."""
    r = bench_run.measure(0.2, [str(paths.project_root() / "params/test/smoke.yaml")], repeat=1)
    assert r["ad_daily_rows"] > 10_000
    assert r["warm_ratio"] == pytest.approx(r["warm_s"] / r["floor_s"])
    assert r["in_process_ratio"] == pytest.approx(r["in_process_warm_s"] / r["in_process_floor_s"])
    assert r["floor_s"] < r["warm_s"] < r["cold_s"]  # the notebooks' work costs something; a cold run, a fit
    assert r["in_process_floor_s"] < r["floor_s"]  # the command also starts an interpreter and the runner
    assert list(r["warm_notebooks"]) == WEEKLY
    # processes share libraries' pages: summed RSS counts them once per process, PSS once in all
    assert 0 < r["warm_pss"] < r["warm_rss"]
    assert 0 < r["cold_pss"] < r["cold_rss"]
