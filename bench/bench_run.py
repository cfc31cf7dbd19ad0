"""Weekly run wall time as a ratio to the papermill floor, and peak memory, at demo scale and at >= 1M rows.

The floor is the same four notebooks emptied to their parameters cell, run by the same runner in the same
process: what papermill, kernels and the archive cost on their own. For each scale the bench measures a
cold run (ingest everything, fit the MMM) and a warm weekly run (nothing new to load, cached model), which
is what a real week costs; floor and warm runs are repeated, interleaved, and their medians compared (a
shared machine's noise is +-15% here). Memory is the peak of the runner's and its kernels' summed PSS (the RAM
the process tree holds); their summed RSS is printed beside it, an overstatement: the kernels are forked from
one server and each counts the pages it shares with it. Target (issue 2): warm ratio <= 3 at 1M rows, peak
memory <= 2 GB.

    .venv/bin/python bench/bench_run.py            # scale 1 and 10 (10 ≈ 1M ad_daily rows)
    .venv/bin/python bench/bench_run.py --quick    # scale 1 only
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat

sys.path.insert(0, str(Path(__file__).parent))
from _common import gb, temp_home, timed  # noqa: E402

from mktdash import paths, pipeline  # noqa: E402
from mktdash.params import resolve  # noqa: E402
from mktdash.warehouse import Warehouse  # noqa: E402


def emptied_notebooks(dest: Path) -> Path:
    """Copies of the weekly notebooks holding only their parameters cell."""
    for src in sorted(paths.notebooks_dir().glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        nb.cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        nbformat.write(nb, dest / src.name)
    return dest


def measure(scale: float, settings_files: list[str], repeat: int) -> dict[str, Any]:
    settings = resolve(settings_files)
    with temp_home(), tempfile.TemporaryDirectory() as empty:
        # in its own process, as `mktdash demo` does: the runner's RSS is then the weekly job's alone
        subprocess.run([sys.executable, "-m", "mktdash.cli", "demo", "--seed", "7", "--scale", str(scale)],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        floor_dir = emptied_notebooks(Path(empty))
        timed(pipeline.run, settings, notebooks_dir=floor_dir, progress=False)  # the runner's own imports
        cold, cold_s, cold_rss, cold_pss = timed(pipeline.run, settings, progress=False)
        floors, warms = [], []
        for _ in range(repeat):  # interleaved: drift of a shared machine hits both alike
            floors.append(timed(pipeline.run, settings, notebooks_dir=floor_dir, progress=False)[1])
            warms.append(timed(pipeline.run, settings, progress=False))
        with Warehouse.open(read_only=True) as wh:
            rows = wh.count("ad_daily")
        assert cold.ok and all(w[0].ok for w in warms), cold.error
        floor_s, warm_s = statistics.median(floors), statistics.median(w[1] for w in warms)
        warm_rss, warm_pss = max(w[2] for w in warms), max(w[3] for w in warms)
        median_run = sorted(warms, key=lambda w: w[1])[len(warms) // 2][0]
        timings = {n["name"]: n["seconds"] for n in median_run.manifest["notebooks"]}
    return {
        "scale": scale, "ad_daily_rows": rows, "floor_s": floor_s, "cold_s": cold_s, "warm_s": warm_s,
        "cold_ratio": cold_s / floor_s, "warm_ratio": warm_s / floor_s, "floor_runs": floors,
        "warm_runs": [w[1] for w in warms], "cold_rss": cold_rss, "warm_rss": warm_rss, "cold_pss": cold_pss, "warm_pss": warm_pss,
        "warm_notebooks": timings,
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
          f"{'warm/floor':>10} {'cold PSS':>8} {'warm PSS':>8} {'cold RSS':>8} {'warm RSS':>8}")  # fmt: skip
    for r in results:
        print(f"{r['scale']:>5.1f} {r['ad_daily_rows']:>10,} {r['floor_s']:>8.1f} {r['cold_s']:>8.1f} "
              f"{r['warm_s']:>8.1f} {r['cold_ratio']:>10.2f} {r['warm_ratio']:>10.2f} {gb(r['cold_pss']):>8} "
              f"{gb(r['warm_pss']):>8} {gb(r['cold_rss']):>8} {gb(r['warm_rss']):>8}")  # fmt: skip
        print(
            f"      floor runs (s): {', '.join(f'{v:.1f}' for v in r['floor_runs'])}; "
            f"warm runs (s): {', '.join(f'{v:.1f}' for v in r['warm_runs'])}"
        )
        print(
            "      median warm run by notebook (s; 10 and 20 overlap 00's data-quality cells): "
            + ", ".join(f"{k} {v:.1f}" for k, v in r["warm_notebooks"].items())
        )
    print(
        "target: warm/floor <= 3 at >= 1M rows; peak PSS (runner + kernels) <= 2 GB "
        "(summed RSS counts shared pages once per process)"
    )
    print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
