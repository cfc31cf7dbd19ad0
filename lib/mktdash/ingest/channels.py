"""Channel mapping and currency conversion of ad rows.

Channel (params ``channels``): the first ``by_campaign_name`` regex matching the campaign name, else the
campaign type (Google/Microsoft ``Campaign type``) through ``by_campaign_type``, else ``by_platform``, else
``default``. Rules run on the distinct (campaign, type, platform) combinations, not per row.

Currency: money columns are converted to the reporting currency with the day's rate from ``fx_rates``
(``rate_to_reporting``: 1 unit = rate units of the reporting currency); the original values and currency stay.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mktdash.ingest.sources.base import SourceError


def map_channels(df: pd.DataFrame, params: Any, campaign_type: pd.Series | None = None) -> pd.Series:
    """The channel of each row of ``df`` (``campaign_name``, ``platform``) by ``params`` (ChannelParams).

    >>> from mktdash.params import ChannelParams
    >>> p = ChannelParams(by_platform={"meta": "social"}, by_campaign_name=[{"pattern": "(?i)video", "channel": "video"}])
    >>> map_channels(pd.DataFrame({"campaign_name": ["Brand", "Video Q3"], "platform": ["meta", "meta"]}), p).tolist()
    ['social', 'video']
    """
    rules = [(re.compile(r["pattern"]), r["channel"]) for r in params.by_campaign_name]
    n = len(df)

    def arrow(s: pd.Series | None) -> pa.Array:
        if s is None:
            return pa.nulls(n, pa.string())
        return pa.array(s.astype("string"), type=pa.string(), from_pandas=True)

    parts = [pc.fill_null(arrow(s), "") for s in (df["campaign_name"], campaign_type, df["platform"])]
    keys = pc.binary_join_element_wise(*parts, "\x1f")
    uniq = pc.unique(keys)

    def one(key: str) -> str:
        c, t, p = key.split("\x1f")
        for rx, ch in rules:
            if rx.search(c):
                return str(ch)
        if t and t in params.by_campaign_type:
            return str(params.by_campaign_type[t])
        return str(params.by_platform.get(p, params.default))

    mapped = pa.array([one(k) for k in uniq.to_pylist()], pa.string())
    out = pc.take(mapped, pc.index_in(keys, value_set=uniq))
    return pd.Series(pd.arrays.ArrowStringArray(out), index=df.index)  # the Arrow strings, not copied


def _letters(label: str) -> str:
    return re.sub(r"[^0-9a-z]", "", label.casefold())


def crm_source_rules(params: Any) -> Callable[[str], str | None]:
    """A function giving the channel of one CRM source label by ``params.crm_sources``, or None when no rule
    matches: exact match first, then case-insensitive (``paid search`` -> the ``Paid Search`` rule), then on
    letters and digits only (``PAID_SEARCH``, ``Paid-Search`` -> the ``Paid Search`` rule). The first rule wins
    among keys equal up to case or punctuation."""
    exact = {str(k): str(v) for k, v in params.crm_sources.items()}
    folded: dict[str, str] = {}
    letters: dict[str, str] = {}
    for k, v in exact.items():
        folded.setdefault(k.strip().casefold(), v)
        letters.setdefault(_letters(k), v)

    def rule(label: str) -> str | None:
        hit = exact.get(label, exact.get(label.strip(), folded.get(label.strip().casefold())))
        return hit if hit is not None else letters.get(_letters(label)) if _letters(label) else None

    return rule


def map_crm_sources(sources_: pd.Series, params: Any) -> pd.Series:
    """Channel of CRM rows from their lead source / original source by ``params.crm_sources``
    (:func:`crm_source_rules`); anything unmapped, blank or missing -> ``params.default``. Runs on the distinct
    values, not per row.

    >>> from mktdash.params import ChannelParams
    >>> p = ChannelParams(crm_sources={"Paid Search": "search", "PAID_SEARCH": "paid_search"}, default="other")
    >>> map_crm_sources(pd.Series(["Paid Search", "paid search", "PAID_SEARCH", "Paid-Search", "Fax", None]), p).tolist()
    ['search', 'search', 'paid_search', 'search', 'other', 'other']
    """
    rule = crm_source_rules(params)
    s = sources_.astype("string")
    m = {u: rule(u) or str(params.default) for u in s.dropna().unique().tolist()}
    return s.map(m).fillna(str(params.default)).astype("string")


# CRM tables and the column holding the source label their channel comes from
CRM_SOURCE_COLUMNS = {"crm_deals": "lead_source", "crm_contacts": "original_source"}


def unmapped_crm_sources(wh: Any, settings: Any) -> pd.DataFrame:
    """CRM source labels no ``channels.crm_sources`` rule maps (their rows went to ``channels.default``), with
    their row counts, most rows first; blank sources are counted as ``(blank)``. For the data-quality
    scorecard: add a line per label to ``channels.crm_sources`` in params to map them."""
    cols = ["table", "crm", "source_label", "rows", "channel_now"]
    params = settings.channels if settings is not None else _default_channels()
    rule = crm_source_rules(params)
    out = []
    for table, col in CRM_SOURCE_COLUMNS.items():
        if table not in set(wh.tables()):
            continue
        got = wh.sql(f'SELECT crm, "{col}" AS label, COUNT(*) AS n FROM "{table}" GROUP BY 1, 2')
        for crm, label, n in got.itertuples(index=False):
            blank = label is None or (isinstance(label, float) and np.isnan(label)) or not str(label).strip()
            if blank or rule(str(label)) is None:
                out.append([table, crm, "(blank)" if blank else str(label), int(n), str(params.default)])
    df = pd.DataFrame(out, columns=cols)
    return df.sort_values(["rows", "table", "source_label"], ascending=[False, True, True], ignore_index=True)


def _default_channels() -> Any:
    from mktdash.params import resolve

    return resolve().channels


def from_names(names: pd.Series, pattern: str) -> pd.Series:
    """Audience/creative from ad group/ad names: the ``(?P<x>...)`` group of ``pattern``, else the whole name."""
    names = names.astype("string")
    if not pattern:
        return names
    uniq = pd.Series(names.dropna().unique(), dtype="string")
    got = uniq.str.extract(pattern, expand=True)
    vals = got.iloc[:, 0] if got.shape[1] else uniq
    m = dict(zip(uniq.tolist(), vals.fillna(uniq).tolist(), strict=True))
    return names.map(m).astype("string")


def convert_currency(
    df: pd.DataFrame,
    rates: pd.DataFrame,
    reporting_currency: str,
    *,
    file: str | None = None,
    money: dict[str, str] | None = None,
    date_col: str = "date_day",
    nearest: bool = False,
) -> pd.DataFrame:
    """Fill the ``*_reporting`` money columns with the day's rate; SourceError naming currency and date if missing.

    ``rates``: ``date_day, currency, rate_to_reporting``. ``money`` maps original -> reporting column
    (default: spend -> spend_reporting, conversions_value -> conversions_value_reporting). ``date_col``: the
    day whose rate applies; ``nearest=True`` (CRM amounts, whose close dates may lie in the future) takes the
    closest day with a rate instead of requiring that day's rate.
    """
    money = money or {"spend": "spend_reporting", "conversions_value": "conversions_value_reporting"}
    cur = df["currency"].astype("string").str.upper().fillna(reporting_currency)
    foreign = (cur != reporting_currency).to_numpy()
    rate = np.ones(len(df))
    if foreign.any():
        need = pd.DataFrame(
            {"date_day": df[date_col].to_numpy()[foreign], "currency": cur.to_numpy()[foreign]}
        )
        r = rates[["date_day", "currency", "rate_to_reporting"]].copy()
        r["date_day"] = r["date_day"].astype("datetime64[s]")
        r["currency"] = r["currency"].astype("string").str.upper()
        r = r.drop_duplicates(["date_day", "currency"], keep="last")
        need["date_day"] = need["date_day"].astype("datetime64[s]")
        need["currency"] = need["currency"].astype("string")
        if nearest:
            need["_i"] = np.arange(len(need))
            need["_d"] = need["date_day"].fillna(r["date_day"].max() if len(r) else pd.Timestamp(0))
            r2 = r.rename(columns={"date_day": "_d"}).sort_values("_d")
            m = pd.merge_asof(need.sort_values("_d"), r2, on="_d", by="currency", direction="nearest")
            got = m.sort_values("_i")["rate_to_reporting"].to_numpy(dtype="float64")
        else:
            got = need.merge(r, on=["date_day", "currency"], how="left")["rate_to_reporting"].to_numpy(
                dtype="float64"
            )
        if np.isnan(got).any():
            i = int(np.flatnonzero(np.isnan(got))[0])
            missing = need[np.isnan(got)]
            n_missing = len(missing.drop_duplicates())
            line = int(df["_line"].to_numpy()[foreign][i]) if "_line" in df else None
            raise SourceError(
                f"no FX rate for {need['currency'].iloc[i]} on {pd.Timestamp(need['date_day'].iloc[i]).date()} "
                f"({n_missing} currency-days missing) to convert to {reporting_currency}",
                file=file,
                line=line,
                column="currency",
                hint="Add fx_rates for those days to the inbox (FX files load before ad files) and ingest again",
            )
        rate[foreign] = got
    out = df.copy()
    out["currency"] = cur
    for src, dst in money.items():
        out[dst] = out[src].astype("float64") * rate
    return out
