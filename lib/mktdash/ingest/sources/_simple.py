"""A declarative reader for the simple business files (CSV or YAML): budget plan, spend limits, approvals, KPI
targets, product usage, customer health, touchpoints.

Each such format module states its columns once in a :class:`Spec` (canonical name, kind, required, default,
header written) and takes ``sniff``, ``read`` and ``write`` from it; its quirks (an extra sniff test, a
different period) stay in the module. Not a format module (no ``NAME``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.ingest.sources import _tabular as T
from mktdash.ingest.sources.base import Parsed, ReadContext

MONTH_FORMATS = ("%Y-%m", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S")
TS_WRITE = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True)
class Col:
    """One column: ``kind`` is text | lower | number | count | date | ts | month | bool.

    ``required``: the header must hold it (and a date/ts/month value every row); ``default`` fills missing
    values; ``header``: the name written (default ``name``)."""

    name: str
    kind: str = "text"
    required: bool = False
    default: Any = None
    header: str | None = None


def _bool_text(s: pd.Series) -> pd.Series:
    return s.map(lambda v: "" if pd.isna(v) else str(bool(v)).lower()).astype(object)


def _parse(df: pd.DataFrame, col: Col, path: Path) -> pd.Series:
    name = T.pick(df, col.name)
    kind = col.kind
    if kind in ("text", "lower"):
        s = T.clean_text(df, name, file=path)
        return s.str.lower() if kind == "lower" else s
    if kind in ("number", "count"):
        num = T.to_number(df, name, file=path, integer=kind == "count")
        return num.fillna(0).astype("int64") if kind == "count" else num
    if kind == "bool":
        return T.to_bool(df, name, file=path)
    formats = {"date": ("%Y-%m-%d",), "ts": T.TS_FORMATS, "month": MONTH_FORMATS}[kind]
    d = T.to_date(df, name, file=path, formats=formats, required=col.required, day=kind != "ts")
    return d.dt.to_period("M").dt.start_time if kind == "month" else d


_WRITERS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "number": T.fmt_num,
    "count": T.fmt_num,
    "date": T.fmt_date,
    "ts": lambda s: T.fmt_date(s, TS_WRITE),
    "month": lambda s: T.fmt_date(s, "%Y-%m"),
    "bool": _bool_text,
}


@dataclass(frozen=True)
class Spec:
    """A simple table file: its canonical ``table``, the ``what`` errors call it, header ``aliases``
    (lower-case name -> canonical), ``columns``, the ``replace_key`` of a load and the column whose
    dates are the load's ``period`` (None: a snapshot with no period)."""

    table: str
    what: str
    columns: tuple[Col, ...]
    aliases: dict[str, str] = field(default_factory=dict)
    replace_key: dict[str, Any] = field(default_factory=dict)
    period_column: str | None = None

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def sniff(self, head: str, file_name: str) -> bool:
        return T.sniff_generic(head, file_name, self.table, self.required, self.aliases)

    def read(self, path: Path, ctx: ReadContext) -> Parsed:
        path = Path(path)
        df = T.read_generic(path, self.table, self.aliases)
        T.require(df, self.required, file=path, line=1, what=self.what)
        out: dict[str, Any] = {}
        for col in self.columns:
            s = _parse(df, col, path)
            out[col.name] = s if col.default is None else s.fillna(col.default)
        frame = T.finish(out, self.table, df["_line"])
        return Parsed(
            table=self.table,
            frame=frame,
            source=self.table,
            period=self._period(frame),
            replace_key=dict(self.replace_key),
        )

    def _period(self, frame: pd.DataFrame) -> tuple[dt.date, dt.date] | None:
        if self.period_column is None:
            return None
        period = T.period_of(frame[self.period_column])
        kinds = {c.name: c.kind for c in self.columns}
        if period is None or kinds[self.period_column] != "month":
            return period
        last = (pd.Timestamp(period[1]) + pd.offsets.MonthEnd(0)).date()
        return (period[0], last)

    def write(self, df: pd.DataFrame, path: Path, **opts: Any) -> None:
        """CSV or YAML by the suffix of ``path``."""
        T.write_generic(
            df,
            path,
            self.table,
            {c.name: c.header or c.name for c in self.columns},
            {c.name: _WRITERS[c.kind] for c in self.columns if c.kind in _WRITERS},
        )
