"""Ingest throughput: ``ingest_paths`` versus DuckDB's own ``read_csv`` of the same export files.

Writes >= 1M ``ad_daily`` rows (``--quick``: 100k) as platform exports with the format writers (rows generated
with numpy), then in the same run:

- baseline: DuckDB ``CREATE TABLE ... AS SELECT * FROM read_csv(file, skip=<preamble>, ...)`` per file, in one
  fresh DuckDB file (DuckDB gets the preamble length for free and skips bad footer lines with
  ``ignore_errors``; it does no validation, mapping or conversion);
- ours: ``mktdash.ingest.engine.ingest_paths`` into a fresh DuckDB warehouse (hashing, archiving, parsing, channel
  mapping, FX conversion, validation, reconciliation, ledger, one transaction per file).

Prints rows/s of both and the ratio ours/DuckDB (target >= 0.5). Then the same comparison on one Google Ads
"Excel .csv" download (UTF-16LE with BOM, tab-separated; ``--utf16-rows``, default 300k, quick 60k), which
mktdash transcodes to UTF-8 before parsing and DuckDB reads with ``encoding='utf-16'``.

    .venv/bin/python bench/bench_ingest.py [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

# formats in the mix: (module name, DuckDB read_csv options for the same file)
MIX = [
    ("google_ads_ui", "skip=2, ignore_errors=true"),
    ("meta", "ignore_errors=true"),
    ("linkedin", "skip=3"),
    ("microsoft_ads", "skip=10, ignore_errors=true"),
    ("tiktok", "ignore_errors=true"),
    ("fivetran", ""),
]


def make_rows(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` canonical ad_daily rows: 2 years of days x ads, vectorised."""
    rng = np.random.default_rng(seed)
    n_ads = max(1, n // 730)
    ad = np.arange(n) % n_ads
    day = np.arange(n) // n_ads
    camp = ad // 20
    imp = rng.integers(100, 50_000, n)
    clicks = (imp * rng.uniform(0.005, 0.05, n)).astype("int64")
    spend = (clicks * rng.uniform(0.3, 2.5, n)).round(2)
    conv = (clicks * rng.uniform(0, 0.1, n)).round(0)
    return pd.DataFrame(
        {
            "date_day": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, "D"),
            "account_id": "100-200-3000",
            "account_name": "Bench Co",
            "campaign_id": (1000 + camp).astype(str),
            "campaign_name": pd.Series(camp).map(
                lambda c: f"Campaign {c} {['Search', 'Video', 'Display'][c % 3]}"
            ),
            "ad_group_id": (5000 + ad // 4).astype(str),
            "ad_group_name": pd.Series(ad // 4).map(lambda a: f"Ad group {a} | Lookalike"),
            "ad_id": (90000 + ad).astype(str),
            "ad_name": pd.Series(ad).map(lambda a: f"Ad {a}"),
            "clicks": clicks,
            "impressions": imp,
            "spend": spend,
            "conversions": conv,
            "conversions_value": (conv * rng.uniform(20, 80, n)).round(2),
            "currency": "USD",
            "platform": "google_ads",
        }
    )


def write_files(rows: int, folder: Path) -> list[tuple[Path, str]]:
    from mktdash.ingest import sources

    files = []
    per = rows // len(MIX)
    for i, (name, opts) in enumerate(MIX):
        df = make_rows(per, seed=i)
        path = folder / f"{name}_{i}.csv"
        sources.get(name).write(df, path)
        files.append((path, opts))
    return files


def bench_duckdb(files: list[tuple[Path, str]], db: Path) -> tuple[float, int]:
    con = duckdb.connect(str(db))
    t0 = time.perf_counter()
    n = 0
    for i, (path, opts) in enumerate(files):
        extra = f", {opts}" if opts else ""
        con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv('{path}'{extra})")
        n += con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]  # type: ignore[index]
    con.execute("CHECKPOINT")
    secs = time.perf_counter() - t0
    con.close()
    return secs, n


def bench_ours(files: list[tuple[Path, str]], home: Path) -> tuple[float, int]:
    os.environ["MKTDASH_HOME"] = str(home)
    from mktdash import params  # noqa: F401  (imports outside the timing, as DuckDB's)
    from mktdash.ingest import engine as ingest  # noqa: F401  (imports outside the timing, as DuckDB's)
    from mktdash.ingest import quality  # noqa: F401  (imports outside the timing, as DuckDB's)
    from mktdash.warehouse.backend import Warehouse

    try:
        settings = params.resolve()
    except params.ParamsError as e:  # a half-edited params file must not stop the benchmark
        print(f"(params: {e}; using defaults)")
        settings = params.Settings()
    wh = Warehouse.open(home / "data" / "warehouse.duckdb")
    wh.ensure_tables()
    t0 = time.perf_counter()
    rep = ingest.ingest_paths(wh, [p for p, _ in files], settings, progress=False)
    wh.checkpoint()
    secs = time.perf_counter() - t0
    bad = rep.by_status("quarantined")
    if bad:
        raise SystemExit(f"bench files were quarantined: {bad[0].error}")
    wh.close()
    return secs, rep.rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="120k rows instead of 1.2M")
    ap.add_argument("--rows", type=int, default=0, help="rows to write (default 1,200,000; quick 120,000)")
    ap.add_argument("--repeat", type=int, default=2, help="interleaved runs of each; the best counts")
    ap.add_argument(
        "--utf16-rows", type=int, default=0, help="rows of the UTF-16 file (default 300k; quick 60k)"
    )
    args = ap.parse_args(argv)
    rows = args.rows or (120_000 if args.quick else 1_200_000)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t = time.perf_counter()
        files = write_files(rows, tmp / "exports")
        size = sum(p.stat().st_size for p, _ in files) / 1e6
        print(
            f"wrote {rows:,} rows in {len(files)} export files ({size:.0f} MB) in {time.perf_counter() - t:.1f} s"
        )
        duck_runs, ours_runs = [], []
        for r in range(
            args.repeat
        ):  # interleaved, fresh databases each time; best of N (the machine is shared)
            duck_runs.append(bench_duckdb(files, tmp / f"duck{r}.duckdb"))
            ours_runs.append(bench_ours(files, tmp / f"home{r}"))
            print(f"  run {r + 1}: duckdb {duck_runs[-1][0]:.2f} s, mktdash {ours_runs[-1][0]:.2f} s")
        duck_s, duck_n = min(duck_runs)
        ours_s, ours_n = min(ours_runs)
        print(f"duckdb read_csv : {duck_n:>10,} rows in {duck_s:6.2f} s = {duck_n / duck_s:>12,.0f} rows/s")
        print(f"mktdash ingest  : {ours_n:>10,} rows in {ours_s:6.2f} s = {ours_n / ours_s:>12,.0f} rows/s")
        ratio = (ours_n / ours_s) / (duck_n / duck_s)
        print(f"ratio (ours / duckdb rows/s, best of {args.repeat}): {ratio:.2f}  (target >= 0.5)")
        utf16_rows = args.utf16_rows or (60_000 if args.quick else 300_000)
        bench_utf16(utf16_rows, tmp / "utf16", args.repeat)


def bench_utf16(rows: int, folder: Path, repeat: int) -> None:
    """Ingest vs DuckDB read_csv on one Google Ads "Excel .csv" file (UTF-16LE BOM, tabs, Day segment)."""
    from mktdash.ingest import sources

    path = folder / "exports" / "google_ads_excel_utf16.csv"
    sources.get("google_ads_ui").write(make_rows(rows, seed=7), path, excel=True)
    files = [(path, "encoding='utf-16', delim='\t', skip=2, ignore_errors=true")]
    print(f"UTF-16 tab-separated: {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB")
    duck_runs, ours_runs = [], []
    for r in range(repeat):
        duck_runs.append(bench_duckdb(files, folder / f"duck{r}.duckdb"))
        ours_runs.append(bench_ours(files, folder / f"home{r}"))
        print(f"  run {r + 1}: duckdb {duck_runs[-1][0]:.2f} s, mktdash {ours_runs[-1][0]:.2f} s")
    (duck_s, duck_n), (ours_s, ours_n) = min(duck_runs), min(ours_runs)
    print(f"duckdb read_csv : {duck_n:>10,} rows in {duck_s:6.2f} s = {duck_n / duck_s:>12,.0f} rows/s")
    print(f"mktdash ingest  : {ours_n:>10,} rows in {ours_s:6.2f} s = {ours_n / ours_s:>12,.0f} rows/s")
    ratio = (ours_n / ours_s) / (duck_n / duck_s)
    print(
        f"ratio UTF-16 tab-separated (ours / duckdb rows/s, best of {repeat}): {ratio:.2f}  (target >= 0.5)"
    )


if __name__ == "__main__":
    main()
