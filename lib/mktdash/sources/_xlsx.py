"""Excel workbooks (``.xlsx`` downloads of Google Ads, Meta, LinkedIn, HubSpot, Salesforce) as the CSV text the
readers already parse: every format reads a workbook as well as its CSV download, title/preamble rows included.

Not a format module (no ``NAME``). The first worksheet (or ``sheet``) is streamed in openpyxl's read-only mode
(bounded memory: one row at a time, no styles) and written as comma-separated text:

- cells as the CSV download would show them: dates ``YYYY-MM-DD`` (with `` HH:MM:SS`` when a time is set),
  whole numbers without ``.0``, other numbers in full precision, booleans ``true``/``false``, empty cells empty;
- rows before the first row with two or more filled cells (report titles, date ranges) and after the last such
  row (footers) keep only their filled cells, as in the CSV download (``Campaign report`` alone on its line);
- a line break inside a cell becomes a space (the readers assume one line per row).

A workbook whose cells are all empty gives empty text (the readers say "the file is empty").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

from mktdash.sources.base import SourceError

ZIP_MAGIC = b"PK\x03\x04"
HEAD_ROWS = 200  # rows converted for sniffing


def is_xlsx(data: bytes, name: str = "") -> bool:
    """True for an Office Open XML workbook (a zip file; ``.xlsx``/``.xlsm`` or no telling suffix)."""
    return data[:4] == ZIP_MAGIC and not name.lower().endswith((".zip", ".gz", ".parquet", ".docx", ".pptx"))


def cell_text(v: Any) -> str:
    """One cell as the CSV download writes it."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time() else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _rows(path: Path, sheet: str | None, limit: int | None) -> list[list[str]]:
    import openpyxl  # imported here: only workbooks need it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        raise SourceError(
            f"not a readable Excel workbook ({type(e).__name__})",
            file=path,
            hint="Download the report again, or export it as CSV",
        ) from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise SourceError(
                f"no worksheet {sheet!r} (the workbook has {', '.join(wb.sheetnames)})",
                file=path,
                hint="Fix the sheet name in the mapping",
            )
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        out: list[list[str]] = []
        for row in ws.iter_rows(values_only=True):
            out.append([cell_text(v) for v in row])
            if limit is not None and len(out) >= limit:
                break
        return out
    finally:
        wb.close()


def _trim(rows: list[list[str]]) -> list[list[str]]:
    """Preamble and footer rows keep only their filled cells; the table keeps its width."""
    wide = [i for i, r in enumerate(rows) if sum(1 for c in r if c) >= 2]
    first, last = (wide[0], wide[-1]) if wide else (len(rows), -1)
    width = max((len(x) for x in rows[first : last + 1]), default=0)
    out = []
    for i, r in enumerate(rows):
        if first <= i <= last:
            out.append(r + [""] * (width - len(r)))
        else:
            out.append([c for c in r if c])
    while out and not any(out[-1]):
        out.pop()
    return out


def to_csv_text(path: Path | str, *, sheet: str | None = None, limit: int | None = None) -> str:
    """The worksheet as CSV text (``limit`` rows at most: sniffing needs only the head)."""
    rows = _trim(_rows(Path(path), sheet, limit))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(r)
    return buf.getvalue()
