"""Benchmark of the data-quality checks and the non-ad readers (part B of issue 3).

Prints, for N ``ad_daily`` rows (1M; ``--quick``: 200k):

- ``quality.validate`` (pandera schema + duplicate keys) against a baseline measured in the same run: the
  same hard checks written as bare numpy/pandas comparisons (what the checks cost without pandera);
- GA4 and HubSpot-contacts reader throughput (rows/s) against ``pandas.read_csv`` of the same file
  (the floor of any CSV reader here; the contacts reader also hashes three PII columns per row).

Run: ``.venv/bin/python bench/bench_quality.py [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")

from mktdash.ingest import quality  # noqa: E402
from mktdash.ingest.sources import ga4, hubspot_contacts  # noqa: E402
from mktdash.ingest.sources.base import ReadContext  # noqa: E402
from mktdash.warehouse.schema import conform  # noqa: E402


def ad_rows(n: int) -> pd.DataFrame:
    r = np.arange(n)
    df = conform(
        pd.DataFrame(
            {
                "date_day": pd.Timestamp("2024-01-01") + pd.to_timedelta(r % 700, unit="D"),
                "platform": np.where((r // 700) % 2, "meta", "google_ads"),
                "account_id": "a1",
                "campaign_id": (r // 700).astype(str),
                "campaign_name": "Campaign " + (r // 700).astype(str),
                "ad_group_name": "AG",
                "clicks": r % 50,
                "impressions": 1000 + r % 50,
                "spend": 1.0,
                "conversions": 0.0,
                "conversions_value": 0.0,
                "currency": "USD",
                "channel": "search",
            }
        ),
        "ad_daily",
    )
    df["_line"] = r + 2
    return df


def baseline_checks(df: pd.DataFrame, today: dt.date) -> bool:
    """The same hard checks as bare pandas: nulls, negatives, clicks<=impressions, future, duplicates."""
    ok = df[["date_day", "platform", "clicks", "impressions", "spend"]].notna().all().all()
    for c in ("clicks", "impressions", "spend", "conversions", "conversions_value"):
        ok &= not (df[c] < 0).any()
    ok &= not (df["clicks"] > df["impressions"]).any()
    strict = df["platform"].isin(["google_ads", "microsoft_ads"])
    ok &= not ((df["conversions"] > df["clicks"]) & strict).any()
    ok &= not (df["date_day"] >= pd.Timestamp(today + dt.timedelta(days=1))).any()
    keys = [k for k in quality.KEYS["ad_daily"] if df[k].notna().any()]
    ok &= not df.duplicated(keys).any()
    return bool(ok)


def best_of(fn, k: int = 2) -> float:  # noqa: ANN001
    out = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200k rows instead of 1M")
    n = 200_000 if ap.parse_args().quick else 1_000_000
    today = dt.date(2026, 1, 1)
    df = ad_rows(n)
    assert baseline_checks(df, today)
    t_base = best_of(lambda: baseline_checks(df, today))
    t_val = best_of(lambda: quality.validate(df, "ad_daily", file="bench.csv", today=today))
    print(f"validate ad_daily: {n:,} rows in {t_val:.2f} s ({n / t_val:,.0f} rows/s); bare-pandas baseline "
          f"{t_base:.2f} s; ratio validate/baseline = {t_val / t_base:.2f}")  # fmt: skip

    m = n // 5
    with tempfile.TemporaryDirectory() as d:
        days = pd.date_range("2020-01-01", periods=m // 8)
        web = conform(
            pd.DataFrame(
                {
                    "date_day": np.repeat(days, 8),
                    "property_id": "1",
                    "channel_group": np.tile([f"Group {i}" for i in range(8)], len(days)),
                    "sessions": 100,
                    "engaged_sessions": 50,
                    "users": 80,
                    "key_events": 1.5,
                    "revenue": 12.25,
                }
            ),
            "web_daily",
        )
        p = Path(d) / "ga4.csv"
        ga4.write(web, p)
        ctx = ReadContext(pii_salt="bench")
        t_read = best_of(lambda: ga4.read(p, ctx))
        t_csv = best_of(lambda: pd.read_csv(p, comment="#", dtype=str))
        print(f"ga4 reader: {len(web):,} rows in {t_read:.2f} s ({len(web) / t_read:,.0f} rows/s); "
              f"pandas.read_csv {t_csv:.2f} s; ratio read_csv/reader = {t_csv / t_read:.2f}")  # fmt: skip

        r = np.arange(m).astype(str)
        people = pd.DataFrame(
            {
                "contact_id": r,
                "email": "person" + r + "@example.com",
                "first_name": "First" + r,
                "last_name": "Last",
                "phone": "+1 555 " + r,
                "created_date": pd.Timestamp("2025-01-01"),
                "lifecycle_stage": "Lead",
                "lead_status": "New",
                "lead_score": 10.0,
                "original_source": "Paid Search",
                "original_campaign": "Brand",
            }
        )
        p = Path(d) / "contacts.csv"
        hubspot_contacts.write(people, p)
        t_read = best_of(lambda: hubspot_contacts.read(p, ctx))
        t_csv = best_of(lambda: pd.read_csv(p, dtype=str))
        print(f"hubspot_contacts reader (3 HMACs per row): {m:,} rows in {t_read:.2f} s ({m / t_read:,.0f} rows/s); "
              f"pandas.read_csv {t_csv:.2f} s; ratio read_csv/reader = {t_csv / t_read:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
