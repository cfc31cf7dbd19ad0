"""Google Ads-shaped canonical ``ad_daily`` rows for the ingest and rollup tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

TODAY = dt.date(2026, 1, 1)


def rows(n: int = 20, start: str = "2025-07-01", days: int = 10, spend: float = 10.0) -> pd.DataFrame:
    d = pd.Timestamp(start) + pd.to_timedelta(np.arange(n) % days, "D")
    return pd.DataFrame(
        {
            "date_day": d,
            "platform": "google_ads",
            "account_id": "111-222-3333",
            "account_name": "Acme",
            "campaign_id": "1",
            "campaign_name": "Brand",
            "ad_group_id": (np.arange(n) // days).astype(str),
            "ad_group_name": [f"AG {i // days}" for i in range(n)],
            "clicks": 10,
            "impressions": 100,
            "spend": spend,
            "conversions": 1.0,
            "conversions_value": 5.0,
            "currency": "USD",
        }
    )
