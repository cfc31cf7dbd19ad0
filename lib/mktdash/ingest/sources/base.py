"""What every export format module provides, and the error it raises on bad input.

A format module (``mktdash.ingest.sources.google_ads_ui``, ``...meta``, ...) defines:

- ``NAME``: the format name (``google_ads_ui``), used by ``--source`` and in the ledger.
- ``TABLE``: the canonical table it fills (see :mod:`mktdash.warehouse.schema`).
- ``sniff(head: str, file_name: str) -> bool``: True when the first few KB of decoded text look like this format.
- ``read(path: Path, ctx: ReadContext) -> Parsed``: parse the whole file or raise :class:`SourceError`.
- ``write(df: pd.DataFrame, path: Path, **opts) -> None``: write canonical rows in the tool's own layout
  (the demo world and the round-trip tests use it).

Readers never touch the warehouse: the ingest engine (:mod:`mktdash.ingest.engine`) archives, validates,
converts currency, maps channels and loads atomically.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd


class SourceError(ValueError):
    """A file that cannot be trusted: says which file, line and column, what is wrong and what to do."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        hint: str = "",
    ) -> None:
        self.message = message
        self.file = str(file) if file else None
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ", ".join(
            p
            for p in (
                Path(self.file).name if self.file else "",
                f"line {self.line}" if self.line else "",
                f"column {self.column!r}" if self.column else "",
            )
            if p
        )
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}. {self.hint}" if self.hint else text


@dataclass
class ReadContext:
    """What a reader may need beyond the file: the reporting currency and the PII salt."""

    reporting_currency: str = "USD"
    pii_salt: str = ""
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class Parsed:
    """A parsed export: canonical rows plus what the file says about itself."""

    table: str
    frame: pd.DataFrame  # canonical columns of ``table`` (ingest_id may be missing)
    source: str  # format name
    period: tuple[dt.date, dt.date] | None = None  # the date range the export covers (for replacements)
    # totals rows found in the file, e.g. {"clicks": 123, "spend": 45.6}; the engine reconciles loaded sums
    totals: dict[str, float] = field(default_factory=dict)
    replace_key: dict[str, Any] = field(
        default_factory=dict
    )  # e.g. {"platform": "meta", "account_id": "act_1"}
    warnings: list[str] = field(default_factory=list)
    # a report with no rows for its period (Meta's "No data available.", an empty Google Ads report) is a
    # valid empty load (ledger ``loaded``, 0 rows, a note), not an error
    empty_ok: bool = False
    grain: str = "day"  # day | week | period: what one row of an ad report covers


class FormatModule(Protocol):
    NAME: str
    TABLE: str

    def sniff(self, head: str, file_name: str) -> bool: ...

    def read(self, path: Path, ctx: ReadContext) -> Parsed: ...

    def write(self, df: pd.DataFrame, path: Path, **opts: Any) -> None: ...
