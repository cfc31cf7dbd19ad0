"""FX rates -> ``fx_rates`` (``rate_to_reporting``: 1 unit of ``currency`` = rate units of the reporting currency).

Two layouts, both detected:

1. Simple long CSV, the rate column naming its quote currency::

       date,currency,rate_to_usd
       2025-01-06,EUR,1.0412

   If the quote currency is not the reporting currency, the file must also hold the reporting currency's
   rate (cross rates are computed per day).
2. The ECB reference-rate history ``eurofxref-hist.csv`` (https://www.ecb.europa.eu/stats/eurofxref/)::

       Date,USD,JPY,BGN,...,GBP,...,
       2025-01-06,1.0412,163.17,N/A,...,0.8315,...,

   wide, units of each currency per 1 EUR, ``N/A`` for days a currency was not quoted, a trailing comma.
   Converted to rates into the reporting currency (EUR itself included).

The file covers first..last date (``period``): a newer download replaces the overlapping days of each
currency it holds (``replace_key`` on ``currency``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mktdash.ingest.sources import _tabular as T
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError

NAME = "fx_rates"
TABLE = "fx_rates"
_CCY = re.compile(r"^[A-Z]{3}$")
_RATE = re.compile(r"^rate_to_([a-z]{3})$", re.I)


def _is_ecb(cells: list[str]) -> bool:
    return bool(cells) and cells[0] == "Date" and sum(bool(_CCY.match(c)) for c in cells[1:]) >= 2


def sniff(head: str, file_name: str) -> bool:
    cells = T.first_cells(head)
    low = [c.lower() for c in cells]
    return _is_ecb(cells) or ("currency" in low and any(_RATE.match(c) for c in cells))


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = T.read_block(T.read_text(path), file=path)
    rep = ctx.reporting_currency.upper()
    cells = [c for c in df.columns if c != "_line"]
    frame = _read_ecb(df, path, rep) if _is_ecb(cells) else _read_long(df, path, rep)
    return Parsed(
        table=TABLE,
        frame=frame,
        source=NAME,
        period=T.period_of(frame["date_day"]),
        replace_key={"currency": None},
    )


def _read_long(df: pd.DataFrame, path: Path, rep: str) -> pd.DataFrame:
    date_col = T.pick(df, "date", "Date", "date_day")
    rate_col = next((c for c in df.columns if _RATE.match(str(c))), None)
    T.require(
        df,
        [date_col or "date", "currency", rate_col or "rate_to_usd"],
        file=path,
        line=1,
        what="FX rates file",
    )
    assert rate_col is not None
    quote = _RATE.match(rate_col).group(1).upper()  # type: ignore[union-attr]
    d = pd.DataFrame(
        {
            "date_day": T.to_date(df, date_col, file=path, required=True),
            "currency": T.clean_text(df, "currency", file=path).str.upper(),
            "rate": T.to_number(df, rate_col, file=path),
            "_line": df["_line"],
        }
    )
    if quote != rep:  # cross through the reporting currency's own rows (rep -> quote)
        rep_rows = d[d["currency"] == rep].drop_duplicates("date_day").set_index("date_day")
        if rep_rows.empty:
            raise SourceError(
                f"rates are quoted in {quote} but the reporting currency {rep} has no rows to cross with",
                file=path,
                column=rate_col,
                hint=f"Add {rep} rows or export rates to {rep}",
            )
        quote_rows = pd.DataFrame(
            {
                "date_day": rep_rows.index,
                "currency": quote,
                "rate": 1.0,
                "_line": rep_rows["_line"].to_numpy(),
            }
        )
        d = pd.concat([d[d["currency"] != rep], quote_rows], ignore_index=True)
        per = d["date_day"].map(rep_rows["rate"])
        d = d.assign(rate=d["rate"] / per)[per.notna()]
    return T.finish(
        {"date_day": d["date_day"], "currency": d["currency"], "rate_to_reporting": d["rate"]},
        TABLE,
        d["_line"],
    )


def _read_ecb(df: pd.DataFrame, path: Path, rep: str) -> pd.DataFrame:
    ccys = [c for c in df.columns if _CCY.match(str(c))]
    day = T.to_date(df, "Date", file=path, required=True)
    per_eur = pd.DataFrame({c: T.to_number(df, c, file=path) for c in ccys})
    per_eur["EUR"] = 1.0
    if rep not in per_eur:
        raise SourceError(
            f"the ECB file has no {rep} column", file=path, line=1, hint="Use the full eurofxref-hist.csv"
        )
    to_rep = per_eur[rep].to_numpy()[:, None] / per_eur.to_numpy()  # 1 c = (rep per EUR) / (c per EUR) rep
    wide = pd.DataFrame(to_rep, columns=per_eur.columns)
    wide["date_day"] = day.to_numpy()
    wide["_line"] = df["_line"].to_numpy()
    long = wide.melt(id_vars=["date_day", "_line"], var_name="currency", value_name="rate_to_reporting")
    long = long[(long["currency"] != rep) & np.isfinite(long["rate_to_reporting"])]
    long = long.sort_values(["date_day", "currency"], kind="stable")
    return T.finish(long.drop(columns="_line"), TABLE, long["_line"])


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write rates. ``layout="simple"`` (default): ``date,currency,rate_to_<reporting_currency>``;
    ``layout="ecb"``: the eurofxref-hist wide layout (needs EUR rows in ``df``)."""
    rep = opts.get("reporting_currency", "USD").upper()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    d = df.sort_values(["date_day", "currency"], kind="stable").reset_index(drop=True)
    if opts.get("layout", "simple") != "ecb":
        out = pd.DataFrame(
            {
                "date": T.fmt_date(d["date_day"]),
                "currency": T.text_or_empty(d["currency"]),
                f"rate_to_{rep.lower()}": d["rate_to_reporting"].map(
                    lambda v: "" if pd.isna(v) else f"{v:.6g}"
                ),
            }
        )
        out.to_csv(path, index=False, lineterminator="\n")
        return
    wide = d.pivot_table(index="date_day", columns="currency", values="rate_to_reporting", aggfunc="first")
    if "EUR" not in wide:
        raise ValueError("the ECB layout needs EUR rates in the frame")
    per_eur = wide.rdiv(wide["EUR"], axis=0).drop(columns="EUR")  # c per EUR = (rep per EUR) / (rep per c)
    per_eur[rep] = wide["EUR"]
    per_eur = per_eur.sort_index(ascending=False)
    out = per_eur.map(lambda v: "N/A" if pd.isna(v) else f"{v:.10g}")
    out.index = out.index.strftime("%Y-%m-%d")
    out.index.name = "Date"
    out[""] = ""  # ECB's trailing comma
    out.to_csv(path, lineterminator="\n")
