"""Weekly run wall time as a ratio to the papermill floor, and peak memory, at demo scale and at >= 1M rows.

The weekly run is what a user starts: ``mktdash run`` in a new process (interpreter, runner, preheated
kernels, the four notebooks, HTML, archive, snapshot). The floor is the same command on the same four notebooks
emptied to their parameters cell (a project folder with the real params/ and the emptied notebooks/,
``MKTDASH_PROJECT``): what papermill, our runner, its kernels and the archive cost on their own. For each
scale the bench makes a cold run (ingest everything, fit the MMM), then repeats floor and warm runs (nothing
new to load, cached model: what a real week costs), interleaved, and compares their medians (a shared
machine's noise is +-15% here).

Memory is measured on runs of its own (the cold one and one more warm one), never on timed ones: reading
/proc takes CPU beside the run (~4% of a warm run when the runner sampled itself). It is the peak of the
summed PSS of the runner's process tree (the RAM the tree holds); their summed RSS is printed beside it, an
overstatement: each process counts the shared libraries' pages it shares with the others.

Beside the command's ratio, the in-process one that this bench printed until 2026-12-05: ``pipeline.run``
called in this process, with the runner's own start-up (interpreter, imports) paid once beforehand and so
left out of both. Information only: the weekly-run time target is retired (issue 23: the runner is kept simple,
without the kernel fork server); the figures show what a run costs.

    .venv/bin/python bench/bench_run.py            # scale 1 and 10 (10 ≈ 1M ad_daily rows)
    .venv/bin/python bench/bench_run.py --quick    # scale 1 only
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from _common import PeakRSS, gb, temp_home  # noqa: E402

from mktdash import paths  # noqa: E402
from mktdash.params import resolve  # noqa: E402
from mktdash.runner import pipeline  # noqa: E402
from mktdash.warehouse.backend import Warehouse  # noqa: E402


def emptied_notebooks(dest: Path) -> Path:
    """Copies of the weekly notebooks holding only their parameters cell."""
    for src in sorted(paths.notebooks_dir().glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        nb.cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        nbformat.write(nb, dest / src.name)
    return dest


def floor_project(dest: Path) -> Path:
    """A project folder for the floor: the real ``params/``, the weekly notebooks emptied to their parameters cell."""
    (dest / "notebooks").mkdir(parents=True)
    (dest / "params").symlink_to(paths.params_dir(), target_is_directory=True)
    emptied_notebooks(dest / "notebooks")
    return dest


def weekly_command(
    params_files: list[str], project: Path, *, memory: bool = False
) -> tuple[float, dict[str, Any], tuple[int, int]]:
    """``mktdash run`` of ``project`` in a new process: (seconds, its manifest, (peak summed RSS, peak summed PSS)
    of its process tree, sampled only with ``memory``, else zeros)."""
    params = [a for f in params_files for a in ("--params", str(Path(f).resolve()))]
    env = dict(os.environ, MKTDASH_PROJECT=str(project))
    argv = [sys.executable, "-m", "mktdash.cli", "run", "--quiet", "--no-demo", *params]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    with PeakRSS(root=proc.pid) if memory else contextlib.nullcontext() as mem:
        out, _ = proc.communicate()
    seconds = time.perf_counter() - t0
    manifest = next(line.split(":", 1)[1].strip() for line in out.splitlines() if "manifest:" in line)
    result = json.loads(Path(manifest).read_text(encoding="utf-8"))
    # 3: ok, with files quarantined (the demo world plants some; docs/cli.md)
    assert proc.returncode in (0, 3) and result["status"] == "ok", result.get("error")
    return seconds, result, (mem.peak, mem.peak_pss) if mem else (0, 0)


def in_process(settings: Any, notebooks_dir: Path | None = None) -> float:
    t0 = time.perf_counter()
    result = pipeline.run(settings, notebooks_dir=notebooks_dir, progress=False, echo=lambda _: None)
    assert result.ok, result.error
    return time.perf_counter() - t0


def measure(scale: float, params_files: list[str], repeat: int) -> dict[str, Any]:
    settings = resolve(params_files)
    project = paths.project_root()
    with temp_home(), tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "mktdash.cli", "demo", "--seed", "7", "--scale", str(scale)],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        floor = floor_project(Path(tmp))
        cold_s, _, (cold_rss, cold_pss) = weekly_command(params_files, project, memory=True)
        weekly_command(params_files, floor)  # first floor: the page cache, not the runner's speed
        in_process(settings, floor / "notebooks")  # the runner's imports, once for the in-process runs
        runs: dict[str, list[float]] = {"floor": [], "warm": [], "floor_in": [], "warm_in": []}
        manifests = []
        for _ in range(repeat):  # interleaved: drift of a shared machine hits all alike
            runs["floor"].append(weekly_command(params_files, floor)[0])
            seconds, manifest, _ = weekly_command(params_files, project)
            runs["warm"].append(seconds)
            manifests.append((seconds, manifest))
            runs["floor_in"].append(in_process(settings, floor / "notebooks"))
            runs["warm_in"].append(in_process(settings))
        _, _, (warm_rss, warm_pss) = weekly_command(params_files, project, memory=True)
        with Warehouse.open(read_only=True) as wh:
            rows = wh.count("ad_daily")
    med = {k: statistics.median(v) for k, v in runs.items()}
    median_run = sorted(manifests, key=lambda m: m[0])[len(manifests) // 2][1]
    return {
        "scale": scale, "ad_daily_rows": rows, "cold_s": cold_s, "floor_s": med["floor"], "warm_s": med["warm"],
        "cold_ratio": cold_s / med["floor"], "warm_ratio": med["warm"] / med["floor"],
        "in_process_floor_s": med["floor_in"], "in_process_warm_s": med["warm_in"],
        "in_process_ratio": med["warm_in"] / med["floor_in"], "runs": runs,
        "cold_rss": cold_rss, "warm_rss": warm_rss, "cold_pss": cold_pss, "warm_pss": warm_pss,
        "warm_notebooks": {n["name"]: n["seconds"] for n in median_run["notebooks"]},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="demo scale only")
    ap.add_argument("--scales", type=float, nargs="*", default=None)
    ap.add_argument("--params", action="append", default=[], help="params files (default: base.yaml)")
    ap.add_argument(
        "--repeat", type=int, default=3, help="floor and warm runs per scale (medians; default 3)"
    )
    args = ap.parse_args(argv)
    scales = args.scales or ([1.0] if args.quick else [1.0, 10.0])
    results = [measure(s, args.params, args.repeat) for s in scales]
    print(f"\n{'scale':>5} {'rows':>10} {'floor s':>8} {'cold s':>8} {'warm s':>8} {'cold/floor':>10} "
          f"{'warm/floor':>10} {'in-process':>10} {'cold PSS':>8} {'warm PSS':>8} {'cold RSS':>8} {'warm RSS':>8}")  # fmt: skip
    for r in results:
        print(f"{r['scale']:>5.1f} {r['ad_daily_rows']:>10,} {r['floor_s']:>8.1f} {r['cold_s']:>8.1f} "
              f"{r['warm_s']:>8.1f} {r['cold_ratio']:>10.2f} {r['warm_ratio']:>10.2f} {r['in_process_ratio']:>10.2f} "
              f"{gb(r['cold_pss']):>8} {gb(r['warm_pss']):>8} {gb(r['cold_rss']):>8} {gb(r['warm_rss']):>8}")  # fmt: skip
        for name, label in (("floor", "floor"), ("warm", "warm"), ("floor_in", "in-process floor"),
                            ("warm_in", "in-process warm")):  # fmt: skip
            print(f"      {label} runs (s): {', '.join(f'{v:.2f}' for v in r['runs'][name])}")
        print(
            "      median warm run by notebook (s; 10 and 20 run at the same time): "
            + ", ".join(f"{k} {v:.1f}" for k, v in r["warm_notebooks"].items())
        )
    print(
        "information (no target): warm/floor (`mktdash run` as a new process; in-process: the runner started "
        "once, its start-up left out of both); peak PSS (runner + kernels) (summed RSS counts shared "
        "pages once per process)"
    )
    print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
