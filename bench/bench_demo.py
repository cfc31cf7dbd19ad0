"""Demo world speed: simulate at scale 1 and 10 (>= 1M ``ad_daily`` rows), and generate (export files) at scale 1.

Baseline measured in the same run: pandas ``to_csv`` of every simulated table into one file each, i.e. the
floor of writing the same rows without the platforms' layouts. Prints seconds, rows, peak RSS and ratios.
``--quick`` skips scale 10.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import PeakRSS  # noqa: E402

from mktdash.demo import generate, world  # noqa: E402

END = "2026-11-22"


def _simulate(scale: float) -> tuple[world.World, float, int]:
    with PeakRSS() as rss:
        t = time.perf_counter()
        w = world.simulate(seed=7, scale=scale, end=END)
        dt = time.perf_counter() - t
    return w, dt, rss.peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="scale 1 only")
    args = ap.parse_args()
    for scale in (1.0,) if args.quick else (1.0, 10.0):
        w, secs, peak = _simulate(scale)
        rows = len(w.tables["ad_daily"])
        print(
            f"simulate scale {scale:>4}: {secs:6.1f} s  ad_daily {rows:>9,} rows  "
            f"{rows / secs / 1e3:7.0f} k rows/s  peak RSS {peak / 2**20:6.0f} MB"
        )
    w, _, _ = _simulate(1.0)
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        for name, df in w.tables.items():
            df.to_csv(Path(d) / f"{name}.csv", index=False)
        floor = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d, PeakRSS() as rss:
        t = time.perf_counter()
        g = generate(Path(d) / "inbox", Path(d) / "truth.json", seed=7, scale=1.0, end=END)
        secs = time.perf_counter() - t
        n_files = len(g.truth["files"])
    print(
        f"generate scale  1.0: {secs:6.1f} s  {n_files} files  peak RSS {rss.peak / 2**20:6.0f} MB  "
        f"(to_csv floor {floor:.1f} s; ratio generate / floor {secs / floor:.1f}, includes simulate)"
    )


if __name__ == "__main__":
    main()
