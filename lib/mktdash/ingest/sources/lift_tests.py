"""Lift tests (CSV or YAML) -> ``lift_tests``: experiments that measured a channel's incremental revenue.

CSV (header names case-insensitive)::

    channel,start_date,end_date,spend_change,incremental,incremental_se,metric,source
    search,2026-09-07,2026-10-04,-40000,-61000,9000,revenue,geo holdout Q3

YAML (e.g. ``params/lift_tests.yaml``)::

    lift_tests:
      - {channel: search, start_date: 2026-09-07, end_date: 2026-10-04, spend_change: -40000,
         incremental: -61000, incremental_se: 9000, metric: revenue, source: geo holdout Q3}

Units: ``spend_change`` is the change in the channel's spend **over the whole test** (reporting currency,
negative for a holdout or a cut); ``incremental`` the measured change of the target caused by the test
(revenue in the reporting currency, or conversions), including the carry-over after it when the design has a
cool-down window (the model compares it with a sustained change: leaving the carry-over out understates it) and ``incremental_se`` its standard error (same unit, > 0);
``start_date`` / ``end_date`` the first and last day of the test. ``metric`` is ``revenue`` (default) or
``conversions``. The MMM uses the tests as PyMC-Marketing's lift-test likelihood (docs/budget.md). The file is
a snapshot per channel: loading it replaces every earlier test of the channels it lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.ingest.sources import _tabular as T
from mktdash.ingest.sources.base import Parsed, ReadContext

NAME = "lift_tests"
TABLE = "lift_tests"
SNAPSHOT = True  # the file is a snapshot: it replaces earlier rows of its channels
PARAMS_FILES = ("lift_tests*.yaml", "lift_tests*.csv")  # read from params/ by ingest_inbox
ALIASES = {
    "start": "start_date",
    "end": "end_date",
    "delta_spend": "spend_change",
    "lift": "incremental",
    "incremental_revenue": "incremental",
    "se": "incremental_se",
    "standard_error": "incremental_se",
}
REQUIRED = ("channel", "start_date", "end_date", "spend_change", "incremental", "incremental_se")
COLUMNS = (*REQUIRED, "metric", "source")


def sniff(head: str, file_name: str) -> bool:
    return T.sniff_generic(head, file_name, TABLE, REQUIRED, ALIASES)


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = T.read_generic(path, TABLE, ALIASES)
    T.require(df, REQUIRED, file=path, line=1, what="lift tests file")
    out: dict[str, Any] = {
        "channel": T.clean_text(df, "channel", file=path).str.lower(),
        "start_date": T.to_date(df, "start_date", file=path, required=True),
        "end_date": T.to_date(df, "end_date", file=path, required=True),
        "spend_change": T.to_number(df, "spend_change", file=path),
        "incremental": T.to_number(df, "incremental", file=path),
        "incremental_se": T.to_number(df, "incremental_se", file=path),
        "metric": T.clean_text(df, T.pick(df, "metric"), file=path).str.lower().fillna("revenue"),
        "source": T.clean_text(df, T.pick(df, "source"), file=path),
    }
    _check(df, out, path)
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(table=TABLE, frame=frame, source=NAME, period=None, replace_key={"channel": None})


def _check(df: pd.DataFrame, out: dict[str, Any], path: Path) -> None:
    """Rows the model cannot use: named by line and column, with what to do."""
    checks = (
        ("channel", out["channel"].isna(), "missing channel", "Name the channel the test ran on"),
        ("end_date", out["end_date"] < out["start_date"], "ends before it starts:", "Swap start and end"),
        ("spend_change", out["spend_change"].isna() | (out["spend_change"] == 0), "no spend change:",
         "A lift test needs the change in spend over the test (negative for a holdout)"),
        ("incremental", out["incremental"].isna(), "missing measured lift:", "Give the measured change"),
        ("incremental_se", ~(out["incremental_se"] > 0), "standard error not > 0:",
         "Give the test's standard error (same unit as incremental); a test without one cannot be weighed"),
        ("metric", ~out["metric"].isin(["revenue", "conversions"]), "metric not revenue/conversions:",
         "Use revenue or conversions"),
    )  # fmt: skip
    for column, bad, what, hint in checks:
        T._fail(bad, df[column] if column in df.columns else out[column], df, column, path, what, hint)


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """CSV or YAML by the suffix of ``path``."""
    T.write_generic(
        df,
        path,
        TABLE,
        {c: c for c in COLUMNS},
        {
            "start_date": T.fmt_date,
            "end_date": T.fmt_date,
            "spend_change": T.fmt_num,
            "incremental": T.fmt_num,
            "incremental_se": T.fmt_num,
        },
    )
