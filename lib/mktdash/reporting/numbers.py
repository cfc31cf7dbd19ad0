"""How mktdash writes a number for people: money in the reporting currency ($65,586), percentages (93.5 %),
ratios (2.24×), counts with separators. One definition, used by tables, templates, charts and sentences."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


@dataclass
class Context:
    """What formatting needs to know about the run: the reporting currency and the last day with data (a
    week whose Sunday is after it is partial)."""

    currency: str = "USD"
    last_day: dt.date | None = None
    home: str = ""


CONTEXT = Context()


def configure(
    *, currency: str | None = None, last_day: dt.date | None = None, home: Path | None = None
) -> Context:
    """Set the run's currency, last data day and home folder (paths under it are shown relative to it) for
    every table shown in this process."""
    if home is not None:
        CONTEXT.home = str(home)
    if currency:
        CONTEXT.currency = currency
    if last_day is not None:
        CONTEXT.last_day = last_day
    return CONTEXT


def money(v: float, currency: str | None = None) -> str:
    """$65,586 · $98.83 · -$1,204 · 1,204 SEK (a currency without a symbol after the amount).

    >>> money(65586.173606), money(98.834, "EUR"), money(-1204, "SEK")
    ('$65,586', '€98.83', '-1,204 SEK')
    """
    cur = currency or CONTEXT.currency
    digits = 0 if abs(v) >= 100 else 2
    body = f"{abs(v):,.{digits}f}"
    sign = "-" if v < 0 and float(body.replace(",", "")) != 0 else ""
    sym = SYMBOLS.get(cur)
    return f"{sign}{sym}{body}" if sym else f"{sign}{body} {cur}"


def percent(v: float) -> str:
    """A fraction as a percentage with one decimal: 0.935 -> '93.5 %'."""
    return f"{100 * v:,.1f} %"


def ratio(v: float) -> str:
    """2.2412 -> '2.24×'."""
    return f"{v:,.2f}×"


def count(v: float) -> str:
    """12345 -> '12,345'; a fractional count (attributed conversions) keeps one decimal."""
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def number(v: float) -> str:
    """Readable plain numbers: 82,123 · 3.45 · 0.12 · 4.6e-07 (never more than two decimals)."""
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 0.01 or v == 0:
        return f"{v:,.2f}"
    return f"{v:.1e}"
