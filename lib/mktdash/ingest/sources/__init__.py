"""Export-format registry and detection.

Every format module (see :mod:`mktdash.ingest.sources.base`) is listed in :data:`MODULE_NAMES`, in sniffing order
(more specific layouts first). :func:`detect` decodes the head of a file (BOM and UTF-16 aware; Parquet files
are presented by their column names as ``PAR1:col,col,...``) and returns the first module whose ``sniff`` says
yes. To add a format: write ``mktdash/ingest/sources/<name>.py`` with ``NAME, TABLE, sniff, read, write`` and add its
name here.

>>> get("meta").TABLE
'ad_daily'
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from mktdash.ingest.sources import _xlsx, custom
from mktdash.ingest.sources._csv import decode_head
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError

__all__ = ["FORMATS", "MODULE_NAMES", "Parsed", "ReadContext", "SourceError", "detect", "get", "names"]

# sniffing order: specific layouts before generic ones
MODULE_NAMES: list[str] = [
    # ad platforms (part A)
    "google_ads_ui",
    "google_ads_editor",
    "microsoft_ads",
    "linkedin",
    "meta",
    "fivetran",
    "tiktok",
    # analytics, CRM, business files (part B)
    "ga4",
    "hubspot_deals",
    "hubspot_contacts",
    "salesforce",
    "salesforce_leads",
    "product_usage",
    "customer_health",
    "touchpoints",
    "fx_rates",
    "budget_plan",
    "spend_limits",
    "lift_tests",
    "approvals",
    "kpi_targets",
]


def _load() -> list[ModuleType]:
    return [importlib.import_module(f"mktdash.ingest.sources.{name}") for name in MODULE_NAMES]


FORMATS: list[ModuleType] = _load()
HEAD_BYTES = 64 * 1024


def names() -> list[str]:
    return [m.NAME for m in FORMATS]


def get(name: str) -> ModuleType:
    """The format module called ``name`` (``--source NAME``)."""
    for m in FORMATS:
        if name == m.NAME:
            return m
    raise SourceError(f"unknown source {name!r}", hint=f"Known: {', '.join(names())}")


def head_text(path: Path) -> str:
    """The decoded head of a file as the sniffers see it."""
    with open(path, "rb") as f:
        data = f.read(HEAD_BYTES)
    if data[:4] == b"PAR1":
        try:
            import pyarrow.parquet as pq

            return "PAR1:" + ",".join(pq.read_schema(path).names)
        except Exception:  # unreadable parquet: nothing matches, detect() says so
            return "PAR1:"
    _xlsx.refuse_xls(data, path)
    if _xlsx.is_xlsx(data, path.name):  # a workbook: its first sheet as the CSV download would read
        return _xlsx.to_csv_text(path, limit=_xlsx.HEAD_ROWS)
    return decode_head(data)


def detect(path: Path | str, mappings: Mapping[str, Any] | None = None) -> ModuleType:
    """The format module that recognises ``path``; :class:`SourceError` when none does.

    ``mappings`` (params ``mappings``, :mod:`mktdash.ingest.sources.custom`) come first: a file whose name matches a
    mapping's patterns is read with that mapping (the user said so), whatever the built-in sniffers think."""
    path = Path(path)
    mapped = custom.match(path, mappings)
    if mapped is not None:
        return cast(ModuleType, mapped)  # a format object with the module interface
    head = head_text(path)
    for m in FORMATS:
        try:
            if m.sniff(head, path.name):
                return m
        except Exception:  # a sniffer must never break detection of the others
            continue
    if not head.strip("\ufeff \t\r\n\x00") and path.stat().st_size <= HEAD_BYTES:  # as the readers say it
        raise SourceError("the file is empty", file=path, line=1, hint="Download the export again")
    first = head.lstrip("\ufeff").splitlines()[0][:100]
    raise SourceError(
        f"not a known export: first line was {first!r}",
        file=path,
        line=1,
        hint=f"Pass --source NAME (known: {', '.join(names())}), or map its columns in params mappings "
        "(docs/mapping.md)",
    )
