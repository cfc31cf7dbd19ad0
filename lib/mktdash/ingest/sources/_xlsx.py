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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mktdash.ingest.sources.base import SourceError

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls (and other Office 97 files)
HEAD_ROWS = 200  # rows converted for sniffing


def is_xlsx(data: bytes, name: str = "") -> bool:
    """True for an Office Open XML workbook (a zip file; ``.xlsx``/``.xlsm`` or no telling suffix)."""
    return data[:4] == ZIP_MAGIC and not name.lower().endswith((".zip", ".gz", ".parquet", ".docx", ".pptx"))


def refuse_xls(data: bytes, path: Path) -> None:
    """An Excel 97-2003 workbook is not read: say so, and how to get a file that is."""
    if data[:8] == OLE_MAGIC:
        raise SourceError(
            "an Excel 97-2003 workbook (.xls), which mktdash does not read",
            file=path,
            line=1,
            hint="Download the report as .xlsx or CSV, or open it and save it as .xlsx",
        )


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


def _sheet(wb: Any, path: Path, sheet: str | None) -> Any:
    if sheet is not None and sheet not in wb.sheetnames:
        raise SourceError(
            f"no worksheet {sheet!r} (the workbook has {', '.join(wb.sheetnames)})",
            file=path,
            hint="Fix the sheet name in the mapping",
        )
    return wb[sheet] if sheet is not None else wb.worksheets[0]


def _open(path: Path) -> Any:
    import openpyxl  # imported here: only workbooks need it
    from openpyxl.utils.exceptions import InvalidFileException

    try:  # a file object: openpyxl judges a path by its suffix, and downloads get renamed (.csv)
        return openpyxl.load_workbook(io.BytesIO(Path(path).read_bytes()), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, OSError, KeyError, ValueError) as e:
        raise SourceError(
            f"not a readable Excel workbook ({type(e).__name__})",
            file=path,
            hint="Download the report again, or export it as CSV",
        ) from None


def _stream(path: Path, sheet: str | None, limit: int | None) -> Iterator[list[str]]:
    """The rows of the sheet as cell texts, one at a time (read-only mode: bounded memory)."""
    wb = _open(path)
    try:
        for i, row in enumerate(_sheet(wb, path, sheet).iter_rows(values_only=True)):
            if limit is not None and i >= limit:
                break
            yield [cell_text(v) for v in row]
    finally:
        wb.close()


def to_csv_text(path: Path | str, *, sheet: str | None = None, limit: int | None = None) -> str:
    """The worksheet as CSV text (``limit`` rows at most: sniffing needs only the head).

    One streaming pass. The table runs from the first to the last row with two or more filled cells and keeps
    its width; rows before it (title, date range) and after it (footers) keep their filled cells only. Narrow
    rows met inside the table wait in a small buffer until a wide row (still the table) or the end (footer)
    says which they are: only the output text is held, never the sheet's cells."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    started, width = False, 0
    pending: list[list[str]] = []  # narrow rows after the table started: table or footer, not known yet
    for r in _stream(Path(path), sheet, limit):
        wide = sum(1 for c in r if c) >= 2
        if not started and not wide:
            w.writerow([c for c in r if c])
            continue
        if not wide:
            pending.append(r)
            continue
        started = True
        width = max(width, len(r))
        for row in [*pending, r]:
            w.writerow(row + [""] * (width - len(row)))
        pending.clear()
    while pending and not any(pending[-1]):
        pending.pop()
    for row in pending:
        w.writerow([c for c in row if c])
    return buf.getvalue()
