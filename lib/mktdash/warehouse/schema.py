"""Canonical warehouse tables: names and columns are the contract between ingest, analysis and dashboards.

Every reader in ``mktdash.ingest.sources`` returns frames with exactly these columns (``ingest_id`` is added by the
ingest engine); every analysis module reads only these. Dtypes are pandas dtypes as loaded into DuckDB.
Money columns come in pairs: the original currency (``spend``) and the reporting currency (``spend_reporting``).
"""

from __future__ import annotations

import pandas as pd

STR = "string"
INT = "Int64"  # nullable: campaign-level exports have no counts for some columns
FLOAT = "float64"
DATE = "datetime64[s]"  # calendar day, no time zone
TS = "datetime64[s]"
BOOL = "boolean"

TABLES: dict[str, dict[str, str]] = {
    # Fivetran ad_reporting grain (one row per ad per day; ad_group_*/ad_* null for campaign-level exports)
    "ad_daily": {
        "date_day": DATE,
        "platform": STR,  # google_ads, meta, linkedin, microsoft_ads, tiktok, ... (lower snake case)
        "source_relation": STR,  # where the row came from: format name, e.g. google_ads_ui
        "account_id": STR,
        "account_name": STR,
        "campaign_id": STR,
        "campaign_name": STR,
        "ad_group_id": STR,
        "ad_group_name": STR,
        "ad_id": STR,
        "ad_name": STR,
        "clicks": INT,
        "impressions": INT,
        "spend": FLOAT,  # original currency
        "conversions": FLOAT,
        "conversions_value": FLOAT,  # original currency
        "channel": STR,  # search, social, display, video, ... mapped by params.channels
        "audience": STR,
        "creative": STR,
        "currency": STR,  # ISO 4217 of spend / conversions_value
        "spend_reporting": FLOAT,
        "conversions_value_reporting": FLOAT,
        "ingest_id": STR,
    },
    # GA4: one row per day x session default channel group (x source/medium when exported)
    "web_daily": {
        "date_day": DATE,
        "property_id": STR,
        "channel_group": STR,  # GA4 default channel group: Paid Search, Organic Search, Direct, ...
        "source_medium": STR,
        "sessions": INT,
        "engaged_sessions": INT,
        "users": INT,
        "key_events": FLOAT,  # "Key events" (newer GA4) or "Conversions" (older)
        "revenue": FLOAT,  # total revenue, reporting currency
        "ingest_id": STR,
    },
    "crm_deals": {
        "deal_id": STR,
        "crm": STR,  # hubspot | salesforce
        "deal_name": STR,
        "stage": STR,
        "is_closed": BOOL,
        "is_won": BOOL,
        "amount": FLOAT,
        "currency": STR,
        "amount_reporting": FLOAT,
        "created_date": DATE,
        "close_date": DATE,
        "pipeline": STR,
        "lead_source": STR,  # original source / lead source as the CRM says it
        "channel": STR,  # mapped from lead_source by params.channels.crm_sources
        "campaign_name": STR,
        "contact_id": STR,
        "customer_id": STR,  # set on won deals: joins product_usage / customer_health
        "ingest_id": STR,
    },
    # PII (email, names, phone) is hashed on ingest; raw values never reach the warehouse
    "crm_contacts": {
        "contact_id": STR,
        "crm": STR,
        "email_hash": STR,
        "name_hash": STR,
        "phone_hash": STR,
        "created_date": DATE,
        "lifecycle_stage": STR,
        "lead_status": STR,
        "lead_score": FLOAT,
        "original_source": STR,
        "channel": STR,
        "original_campaign": STR,
        "ingest_id": STR,
    },
    # one row per touch; a journey ends in a conversion when converted is true on its rows
    "touchpoints": {
        "journey_id": STR,
        "touch_ts": TS,
        "channel": STR,
        "campaign_name": STR,
        "converted": BOOL,
        "conversion_value": FLOAT,  # reporting currency, same on every row of the journey
        "ingest_id": STR,
    },
    "product_usage": {
        "date_day": DATE,
        "customer_id": STR,
        "feature": STR,
        "events": INT,
        "active_users": INT,
        "ingest_id": STR,
    },
    "customer_health": {
        "snapshot_date": DATE,
        "customer_id": STR,
        "acquisition_channel": STR,
        "plan": STR,
        "mrr": FLOAT,  # reporting currency
        "health_score": FLOAT,  # 0..100
        "churned": BOOL,
        "ingest_id": STR,
    },
    "budget_plan": {
        "month": DATE,  # first day of the month
        "channel": STR,
        "campaign_name": STR,  # null = whole channel
        "planned_spend": FLOAT,  # reporting currency
        "ingest_id": STR,
    },
    "spend_limits": {
        "channel": STR,
        "campaign_name": STR,  # null = whole channel
        "period": STR,  # week | month
        "limit_amount": FLOAT,  # reporting currency
        "ingest_id": STR,
    },
    "lift_tests": {
        "channel": STR,
        "start_date": DATE,  # first day of the test
        "end_date": DATE,  # last day of the test
        "spend_change": FLOAT,  # change of the channel's spend over the whole test, reporting currency
        "incremental": FLOAT,  # measured change of the target over the test (revenue or conversions)
        "incremental_se": FLOAT,  # its standard error, same unit
        "metric": STR,  # revenue | conversions
        "source": STR,  # who ran it / how (free text)
        "ingest_id": STR,
    },
    "approvals": {
        "proposal_id": STR,
        "approved_by": STR,
        "approved_at": TS,
        "decision": STR,  # approved | rejected
        "note": STR,
        "ingest_id": STR,
    },
    "kpi_targets": {
        "metric": STR,  # a metric name of mktdash.analytics.kpis
        "level": STR,  # total | channel | platform | campaign
        "entity": STR,  # "all" for total
        "period": STR,  # week | month | quarter
        "target": FLOAT,
        "ingest_id": STR,
    },
    "fx_rates": {
        "date_day": DATE,
        "currency": STR,
        "rate_to_reporting": FLOAT,  # 1 unit of currency = rate units of the reporting currency
        "ingest_id": STR,
    },
    # bookkeeping written by mktdash.ingest.engine
    "ingest_ledger": {
        "ingest_id": STR,
        "file_name": STR,
        "raw_path": STR,  # archived original under data/raw/
        "sha256": STR,
        "source": STR,  # format name
        "table_name": STR,
        "rows": INT,
        "period_start": DATE,
        "period_end": DATE,
        "status": STR,  # loaded | duplicate | replaced | quarantined
        "replaces": STR,  # ingest_ids this file superseded (comma separated)
        "reconciled": BOOL,  # totals rows in the file matched the loaded sums (null: file has none)
        "message": STR,
        "loaded_at": TS,
    },
    "quarantine": {
        "ingest_id": STR,
        "file_name": STR,
        "raw_path": STR,
        "sha256": STR,
        "source": STR,
        "line": INT,
        "column_name": STR,
        "error": STR,
        "hint": STR,
        "quarantined_at": TS,
    },
}

# Ad-platform totals over a range that is neither a day nor an ISO week (a report downloaded without the Day
# segment, e.g. "Last 28 days"): kept for that exact period to reconcile daily data, never spread over days,
# not counted in the weekly KPIs or the MMM (see docs/formats.md)
TABLES["ad_period"] = {
    "period_start": DATE,
    "period_end": DATE,
    **{c: t for c, t in TABLES["ad_daily"].items() if c != "date_day"},
}


IBIS_TYPES = {STR: "string", INT: "int64", FLOAT: "float64", BOOL: "boolean"}


def ibis_schema(table: str) -> dict[str, str]:
    """The warehouse column types of ``table`` (``date`` columns are SQL DATE, not timestamps)."""
    out = {}
    for c, t in TABLES[table].items():
        if t.startswith("datetime64"):
            out[c] = "timestamp" if c.endswith(("_ts", "_at")) else "date"
        else:
            out[c] = IBIS_TYPES[t]
    return out


SQL_TYPES = {"string": "VARCHAR", "int64": "BIGINT", "float64": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE",
             "timestamp": "TIMESTAMP"}  # fmt: skip


def create_sql(table: str) -> str:
    """DuckDB's ``CREATE TABLE IF NOT EXISTS`` of ``table``: the columns and types Ibis would create."""
    cols = ", ".join(f'"{c}" {SQL_TYPES[t]}' for c, t in ibis_schema(table).items())
    return f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})'


def empty_frame(table: str) -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes of ``table``."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in TABLES[table].items()})


def conform(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``df`` with exactly the canonical columns of ``table`` (missing ones null), in order, cast.

    >>> conform(pd.DataFrame({"metric": ["ctr"], "target": [0.02]}), "kpi_targets").columns.tolist()
    ['metric', 'level', 'entity', 'period', 'target', 'ingest_id']
    """
    cols = TABLES[table]
    out = pd.DataFrame(index=df.index)
    for c, t in cols.items():
        s = df[c] if c in df.columns else pd.Series(pd.NA, index=df.index)
        if t.startswith("datetime64"):
            s = pd.to_datetime(s).astype(t)
        elif t == FLOAT:
            s = pd.to_numeric(s).astype(t)
        else:
            s = s.astype(t)
        out[c] = s
    return out.reset_index(drop=True)


# identity of a row: duplicates of these within a file (and in the warehouse) are errors
KEYS: dict[str, list[str]] = {
    "ad_daily": [
        "date_day", "platform", "account_id", "campaign_id", "campaign_name",
        "ad_group_id", "ad_group_name", "ad_id", "ad_name", "audience", "creative",
    ],
    "ad_period": [
        "period_start", "period_end", "platform", "account_id", "campaign_id", "campaign_name",
        "ad_group_id", "ad_group_name", "ad_id", "ad_name", "audience", "creative",
    ],
    "web_daily": ["date_day", "property_id", "channel_group", "source_medium"],
    "crm_deals": ["crm", "deal_id"],
    "crm_contacts": ["crm", "contact_id"],
    "touchpoints": ["journey_id", "touch_ts", "channel", "campaign_name"],
    "product_usage": ["date_day", "customer_id", "feature"],
    "customer_health": ["snapshot_date", "customer_id"],
    "budget_plan": ["month", "channel", "campaign_name"],
    "spend_limits": ["channel", "campaign_name", "period"],
    "lift_tests": ["channel", "start_date", "end_date", "source"],
    "approvals": ["proposal_id", "approved_at"],
    "kpi_targets": ["metric", "level", "entity", "period"],
    "fx_rates": ["date_day", "currency"],
}  # fmt: skip

# the date column a Parsed.period refers to, per table (tables absent here replace by key only: snapshots)
DATE_COLUMNS: dict[str, str] = {
    "ad_daily": "date_day",
    "ad_period": "period_start",
    "web_daily": "date_day",
    "product_usage": "date_day",
    "fx_rates": "date_day",
    "customer_health": "snapshot_date",
    "budget_plan": "month",
    "touchpoints": "touch_ts",
}
