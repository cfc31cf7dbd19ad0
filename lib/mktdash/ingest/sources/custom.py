"""Files of layouts mktdash does not know, mapped to a canonical table without code by a ``mappings`` block in
params (:class:`mktdash.params.MappingParams`; user guide in docs/mapping.md)::

    mappings:
      partner_leads:
        files: ["partner_leads*.csv", "partner_leads*.xlsx"]
        table: crm_contacts
        columns: {Lead ID: contact_id, Created: created_date, Source: original_source, E-mail: email_hash}
        values: {crm: partner_portal}
        date_format: "%d/%m/%Y"

A mapping is tried before the built-in formats: a file whose name matches one of its ``files`` patterns is
read with it (:func:`match`; the ledger's source is ``custom:<name>``). CSV (any of ``, ; TAB |``, UTF-8 or
UTF-16 with BOM) and Excel (first sheet or ``sheet``) are read; lines above ``header_row`` are skipped; rows
whose first cell matches ``total_rows`` (``Total``, ``Grand total``) are not loaded: the first one's mapped
numbers are the file's totals, which the engine checks the loaded sums against; fully blank rows are skipped.

Each mapped column is parsed by its canonical type: dates with ``date_format``, numbers with ``decimal``
(``1.234,56`` with ``decimal: ","``), true/false, text. Columns not mapped are ignored. PII is hashed on
read as in the CRM readers: a column mapped to ``email_hash``, ``name_hash``, ``phone_hash`` (or
``deal_name``) holds the raw value in the file and the salted hash in the warehouse.

Defaults so that the engine can load and replace: ``ad_daily`` rows get ``platform`` = the mapping name (unless
mapped or in ``values``) and ``source_relation`` = ``custom:<name>``; CRM rows get ``crm`` = the mapping name,
and deals without ``is_closed``/``is_won`` get them from ``stage`` (``Closed Won`` ...). A re-export replaces
what the earlier one loaded: over its date range for dated tables, per the table's key (:data:`REPLACE_KEYS`).
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from mktdash.ingest import pii
from mktdash.ingest.sources import _tabular as T
from mktdash.ingest.sources import _xlsx
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError
from mktdash.warehouse.schema import BOOL, DATE, DATE_COLUMNS, FLOAT, INT, TABLES, TS

NAME = "custom"
# rows an export of the same key replaces (over its date range when the table is dated)
REPLACE_KEYS: dict[str, tuple[str, ...]] = {
    "ad_daily": ("platform", "account_id"),
    "web_daily": ("property_id",),
    "crm_deals": ("crm",),
    "crm_contacts": ("crm",),
    "product_usage": ("feature",),
    "customer_health": ("customer_id",),
    "fx_rates": ("currency",),
    "budget_plan": ("channel",),
    "spend_limits": ("channel",),
    "kpi_targets": ("metric",),
    "approvals": ("proposal_id",),
}
# canonical columns holding raw PII in the file, hashed on read (column -> pii kind)
HASHED: dict[str, Literal["email", "name", "phone"]] = {
    "email_hash": "email",
    "name_hash": "name",
    "phone_hash": "phone",
    "deal_name": "name",
}
TIMESTAMPS = frozenset({"touch_ts", "approved_at"})
# columns a table cannot do without
REQUIRED = {"crm_deals": ("deal_id",), "crm_contacts": ("contact_id",), "ad_daily": ("campaign_name",)}


class Mapped:
    """The format of one mapping: ``NAME`` ``custom:<name>``, ``TABLE`` its table; ``read`` as a format module."""

    def __init__(self, name: str, mapping: Any) -> None:
        self.name = name
        self.mapping = mapping
        self.NAME = f"{NAME}:{name}"
        self.TABLE = str(mapping.table)
        self.__doc__ = f"{self.TABLE} rows mapped by params mappings.{name}"

    def sniff(self, head: str, file_name: str) -> bool:
        name = file_name.lower()
        return any(fnmatch.fnmatch(name, pat.lower()) for pat in self.mapping.files)

    def read(self, path: Path, ctx: ReadContext) -> Parsed:
        return read_mapped(Path(path), self, ctx)

    def write(self, df: pd.DataFrame, path: Path, **opts: Any) -> None:
        write_mapped(df, Path(path), self.mapping)

    def explain(self) -> list[str]:
        """How the file maps, one line each (for ``mktdash ingest --explain``)."""
        m = self.mapping
        out = [f"mapped by params mappings.{self.name} to {m.table} (files: {', '.join(m.files)})"]
        out += [f"  {header!r} -> {col}" for header, col in m.columns.items()]
        out += [f"  {col} = {value!r} on every row" for col, value in m.values.items()]
        out.append(f"  dates {m.date_format}, decimal {m.decimal!r}, header on line {m.header_row}")
        if m.currency or m.currency_column:
            out.append(f"  currency {m.currency or 'from column ' + repr(m.currency_column)}")
        return out


def match(path: Path | str, mappings: Mapping[str, Any] | None) -> Mapped | None:
    """The first mapping (in params order) whose ``files`` patterns match the file name, else None."""
    for name, m in (mappings or {}).items():
        fmt = Mapped(name, m)
        if fmt.sniff("", Path(path).name):
            return fmt
    return None


# ---- read -------------------------------------------------------------------------------------------------
def _text(path: Path, m: Any) -> str:
    _xlsx.refuse_xls(path.read_bytes()[:8], path)
    if m.sheet and _xlsx.is_xlsx(path.read_bytes()[:4], path.name):
        return _xlsx.to_csv_text(path, sheet=m.sheet)
    return T.read_text(path)


def _frame(path: Path, fmt: Mapped) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data rows and the totals rows (first cell matching ``total_rows``) of the file."""
    m = fmt.mapping
    lines = _text(path, m).splitlines()
    if len(lines) < m.header_row or not lines[m.header_row - 1].strip():
        raise SourceError(
            f"no header on line {m.header_row}",
            file=path,
            line=m.header_row,
            hint=f"Set mappings.{fmt.name}.header_row to the line holding the column names",
        )
    sep = "," if _xlsx.is_xlsx(path.read_bytes()[:4], path.name) else m.delimiter
    df = T.read_block("\n".join(lines[m.header_row - 1 :]), file=path, first_line=m.header_row, sep=sep)
    data_cols = [c for c in df.columns if c != "_line"]
    missing = [h for h in [*m.columns, *([m.currency_column] if m.currency_column else [])] if h not in df]
    if missing:
        close = difflib.get_close_matches(missing[0], data_cols, n=1)
        raise SourceError(
            f"column {missing[0]!r} of mappings.{fmt.name} is not in the header"
            + (f"; did you mean {close[0]!r}?" if close else f" (found: {', '.join(data_cols[:15])})"),
            file=path,
            line=m.header_row,
            column=missing[0],
            hint=f"Fix mappings.{fmt.name}.columns in params, or export the file with that column",
        )
    for header in m.columns:
        T.pick(df, header)  # refuses a mapped header that the file repeats with other values
    total = pd.Series(False, index=df.index)
    if data_cols and len(df):
        total = df[data_cols[0]].astype("string").str.match(m.total_rows).fillna(False)
    is_total = total.to_numpy(dtype=bool)
    return df[~is_total].reset_index(drop=True), df[is_total].reset_index(drop=True)


def _totals(tot: pd.DataFrame, m: Any, table: str, path: Path) -> dict[str, float]:
    """The first totals row's mapped numeric columns (the engine checks the loaded sums against them)."""
    if tot.empty:
        return {}
    out = {"_line": float(tot["_line"].iloc[0])}
    for header, col in m.columns.items():
        if TABLES[table][col] in (INT, FLOAT) and col not in ("lead_score", "health_score"):
            v = T.to_number(_numbers(tot.head(1), header, m.decimal), header, file=path)
            if v.notna().any():
                out[col] = float(v.iloc[0])
    return out


def point_decimals(s: pd.Series) -> pd.Series:
    """Numbers written with a decimal comma (``1.234,56``, ``1 234,56``, ``1'234,56``) as ``1234.56``."""
    s = s.astype("string").str.replace(r"[.\s'\u00a0\u202f]", "", regex=True)
    return s.str.replace(",", ".", regex=False)


def _numbers(df: pd.DataFrame, header: str, decimal: str) -> pd.DataFrame:
    """A copy whose ``header`` column is written with a ``.`` decimal point (``1.234,56`` -> ``1234.56``)."""
    return df.assign(**{header: point_decimals(df[header])}) if decimal == "," else df


def _column(df: pd.DataFrame, header: str, col: str, dtype: str, m: Any, path: Path) -> pd.Series:
    if dtype in (DATE, TS):  # the same dtype: the time of day is kept for timestamp columns only
        return T.to_date(df, header, file=path, formats=(m.date_format,), day=col not in TIMESTAMPS)
    if dtype in (INT, FLOAT):
        num = T.to_number(_numbers(df, header, m.decimal), header, file=path, integer=dtype == INT)
        return num.round().astype("Int64") if dtype == INT else num
    if dtype == BOOL:
        return T.to_bool(df, header, file=path)
    return T.clean_text(df, header, file=path)


def _defaults(out: dict[str, Any], fmt: Mapped, n: int, salt: str) -> None:
    """Hash PII, then fill what the table needs and the file may not say (see the module doc)."""
    table = fmt.TABLE
    for col, kind in HASHED.items():
        if col in out and col in TABLES[table]:
            out[col] = pii.hash_series(pd.Series(out[col], dtype="string"), salt, kind)
    if table == "ad_daily":
        out.setdefault("platform", fmt.name)
        out["source_relation"] = fmt.NAME
    if table in ("crm_deals", "crm_contacts"):
        out.setdefault("crm", fmt.name)
    if table == "crm_deals" and "stage" in out:
        from mktdash.ingest.sources.hubspot_deals import stage_flags

        closed, won = stage_flags(pd.Series(out["stage"], dtype="string"))
        out.setdefault("is_closed", closed)
        out.setdefault("is_won", won)
    for k, v in list(out.items()):
        if not isinstance(v, pd.Series):
            out[k] = pd.Series([v] * n, dtype="object")


def read_mapped(path: Path, fmt: Mapped, ctx: ReadContext) -> Parsed:
    m, table = fmt.mapping, fmt.TABLE
    df, tot = _frame(path, fmt)
    dtypes = TABLES[table]
    out: dict[str, Any] = {col: value for col, value in m.values.items()}
    for header, col in m.columns.items():
        out[col] = _column(df, header, col, dtypes[col], m, path)
    if m.currency:
        out["currency"] = m.currency.upper()
    elif m.currency_column:
        out["currency"] = T.clean_text(df, m.currency_column, file=path).str.upper()
    _require(out, fmt, path)
    _defaults(out, fmt, len(df), ctx.pii_salt or pii.salt())
    frame = T.finish({k: v.reset_index(drop=True) for k, v in out.items()}, table, df["_line"])
    date_col = _period_column(table)
    keys = REPLACE_KEYS.get(table, ())
    return Parsed(
        table=table,
        frame=frame,
        source=fmt.NAME,
        period=T.period_of(frame[date_col]) if date_col else None,
        totals=_totals(tot, m, table, path),
        replace_key={k: None for k in keys},
        warnings=[f"read with params mappings.{fmt.name}"],
    )


def _period_column(table: str) -> str | None:
    return DATE_COLUMNS.get(table)


def _require(out: Mapping[str, Any], fmt: Mapped, path: Path) -> None:
    need = [*REQUIRED.get(fmt.TABLE, ()), *([_period_column(fmt.TABLE)] if _period_column(fmt.TABLE) else [])]
    missing = [c for c in need if c not in out]
    if missing:
        raise SourceError(
            f"mappings.{fmt.name} gives no {missing[0]!r}, which {fmt.TABLE} rows need",
            file=path,
            hint=f"Map a file column to {missing[0]} in mappings.{fmt.name}.columns (or set it in values)",
        )


# ---- write (tests, examples) ------------------------------------------------------------------------------
def write_mapped(df: pd.DataFrame, path: Path, m: Any) -> None:
    """Canonical rows written in the mapped layout (CSV): headers, date format, decimal, delimiter.
    Hashed columns are written as given (raw values, which the reader hashes)."""
    out = pd.DataFrame(index=df.index)
    for header, col in m.columns.items():
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[header] = T.fmt_date(s, m.date_format)
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            text = T.fmt_num(s)
            out[header] = text.str.replace(".", ",", regex=False) if m.decimal == "," else text
        else:
            out[header] = T.text_or_empty(s)
    if m.currency_column:
        out[m.currency_column] = T.text_or_empty(df["currency"])
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, sep=m.delimiter, lineterminator="\n")
