"""Shared parsing helpers of the ad-platform readers: decoding, header/footer peeling, a fast all-string CSV
parse with exact line numbers, and vectorised number/date conversion that names the first bad line and column.

Not a format module (no ``NAME``). Why hand-written around pyarrow rather than ``pd.read_csv`` options alone:
the exports have preambles and footers of varying length (``skipfooter`` forces pandas' slow python engine),
quoted thousands separators, `` --`` placeholders and percentages, and every error must name the file line.
So the preamble/footer lines are found by looking at a few lines only, the body goes to pyarrow's
multi-threaded CSV parser as strings, and conversions are pyarrow compute kernels (no per-row Python).
Assumption: a data row is one physical line (no newlines inside quoted cells), so ``_line`` is exact.

Real downloads vary: :func:`decode` takes UTF-8 (with or without BOM), UTF-16LE/BE (with BOM, or without when
the NULs give it away) and Windows-1252 to UTF-8 once; :func:`sniff_sep` finds comma, tab or semicolon;
:attr:`Body.decimal_comma` reads ``1.234,56``; a column repeated with the same values is read once; and
:func:`parsed_ad` turns a report's grain (day, ISO week, other period) into the table it loads into.
"""

from __future__ import annotations

import codecs
import contextlib
import contextvars
import csv
import datetime as dt
import difflib
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from mktdash.ingest.sources import _locale, _xlsx
from mktdash.ingest.sources.base import Parsed, SourceError
from mktdash.warehouse.schema import TABLES

NULLS = ["", "--", " --", "-- ", " -- "]
MAX_VALUE = 1e12  # anything larger in a count or money column is garbage, not data
AD_METRICS = ("clicks", "impressions", "spend", "conversions", "conversions_value")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# text cells: pandas' pyarrow strings are large_string, so the body is parsed as such (no cast on conversion)
STR = pa.large_string()
# decoded text: UTF-8 without BOM (a bytearray when transcoded block by block, not copied once more)
Utf8 = bytes | bytearray


# ---- decoding ---------------------------------------------------------------------------------------------
CHUNK = 1 << 22  # bytes read (and transcoded) at a time: memory beyond the UTF-8 result is one chunk


def read_bytes(path: Path) -> Utf8:
    """The file as UTF-8 bytes without BOM (see :func:`decode_stream`); an Excel download as its first sheet's
    CSV. The one decoding of every reader (ad exports through :class:`Layout`, the others through
    :func:`mktdash.ingest.sources._tabular.read_text`)."""
    path = Path(path)
    with open(path, "rb") as f:
        if _xlsx.is_xlsx(f.read(4), path.name):
            return decode(_xlsx.to_csv_text(path).encode("utf-8"), path)[0]
        f.seek(0)
        return decode_stream(f, path)[0]


def decode(data: bytes, file: Path | str | None = None) -> tuple[Utf8, str]:
    """``data`` as UTF-8 bytes without BOM, and the encoding it was in (see :func:`decode_stream`)."""
    return decode_stream(io.BytesIO(data), file)


def decode_stream(f: io.BufferedIOBase, file: Path | str | None = None) -> tuple[Utf8, str]:
    """The bytes of ``f`` as UTF-8 without BOM, and the encoding they were in: UTF-16LE/BE with BOM (or without,
    when the NULs give it away), UTF-8 with or without BOM, else Windows-1252 (what Excel writes on Windows);
    SourceError otherwise. One pass over the file in :data:`CHUNK` blocks: UTF-16 is transcoded block by block
    (ASCII blocks narrowed with numpy, others through an incremental codec), so that neither the UTF-16
    original nor a Python string of the whole text is ever held; UTF-8 is read once and validated by blocks."""
    head = f.read(4096)
    blank = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"
    if not head.strip(blank) and not f.read().strip(blank):  # (the rest is read only if the head is blank)
        raise SourceError("the file is empty", file=file, hint="Download the export again")
    f.seek(0)
    if head[:2] in _UTF16_BOMS:
        little = head[:2] == b"\xff\xfe"
        f.seek(2)
        return _utf16_to_utf8(f, little, 2, file), "UTF-16LE (BOM)" if little else "UTF-16BE (BOM)"
    no_bom = _utf16_without_bom(head)
    # NUL every other byte: UTF-16 text whose byte-order mark was lost (re-saved, cut, concatenated)
    if no_bom:
        with contextlib.suppress(SourceError):
            return _utf16_to_utf8(
                f, no_bom == "utf-16-le", 0, file, strict=False
            ), f"{no_bom.upper()} (no BOM)"
        f.seek(0)
    bom = head[:3] == b"\xef\xbb\xbf"
    f.seek(3 if bom else 0)
    data = f.read()
    bad = _utf8_error(data)
    if bad is None:
        return data, "UTF-8 (BOM)" if bom else "UTF-8"
    if b"\x00" not in data and not bom:
        with contextlib.suppress(UnicodeDecodeError):
            return _cp1252_to_utf8(data), "Windows-1252"
    if data[:2] == b"PK" or b"\x00" in data[:4096]:
        raise SourceError(
            "a binary file, not CSV text" + (" (an Excel workbook?)" if data[:2] == b"PK" else ""),
            file=file,
            line=1,
            hint="Download the report as CSV (or Excel .csv), not as .xlsx or .pdf",
        )
    raise SourceError(
        f"not UTF-8, UTF-16 or Windows-1252 text (byte 0x{data[bad]:02x})",
        file=file,
        line=data.count(b"\n", 0, bad) + 1,
        hint="Export as CSV (UTF-8) from the tool, or re-save the file as UTF-8",
    )


def _utf8_error(data: bytes) -> int | None:
    """Offset of the first byte that is not valid UTF-8, else None; block by block (ASCII blocks are not
    decoded, others as one block's string at a time)."""
    dec = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data), CHUNK):
        block = data[start : start + CHUNK]
        if block.isascii() and not dec.getstate()[0]:
            continue
        pending = len(dec.getstate()[0])
        try:
            dec.decode(block, final=start + CHUNK >= len(data))
        except UnicodeDecodeError as e:
            return start - pending + e.start
    return None


def _cp1252_to_utf8(data: bytes) -> bytes:
    """Windows-1252 (one byte a character, no state) to UTF-8, one block at a time."""
    out = bytearray()
    for start in range(0, len(data), CHUNK):
        out += data[start : start + CHUNK].decode("cp1252").encode("utf-8")
    return bytes(out)


def _utf16_to_utf8(
    f: io.BufferedIOBase, little: bool, offset: int, file: Path | str | None, *, strict: bool = True
) -> Utf8:
    """UTF-16 text read from ``f`` (positioned after the BOM, at byte ``offset``) as UTF-8, block by block.
    A block that is all ASCII (the usual export: names, numbers, dates) is narrowed with numpy, ~3x faster
    than Python's codec; any other block goes through an incremental codec (which names a broken byte)."""
    dec = codecs.getincrementaldecoder("utf-16-le" if little else "utf-16-be")()
    units_type = "<u2" if little else ">u2"
    out = bytearray()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    pos = offset
    while True:
        n = f.readinto(buf)
        final = not n
        block = view[:n]
        pending = dec.getstate()[0]
        if final and not strict:  # BOM-less text cut after an odd byte: that byte is dropped
            return out
        try:
            if n and n % 2 == 0 and not pending:
                units = np.frombuffer(block, dtype=units_type)
                if int(units.max()) < 0x80:
                    out += units.astype(np.uint8).data
                    pos += n
                    continue
            out += dec.decode(bytes(block), final=final).encode("utf-8")
        except UnicodeDecodeError as e:
            raise SourceError(
                f"broken UTF-16 text at byte {pos - len(pending) + e.start}",
                file=file,
                hint="Export the file again from the tool",
            ) from None
        if final:
            return out
        pos += n


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` when ``head`` looks like BOM-less UTF-16 text (NULs on one side only)."""
    if len(head) < 8 or b"\x00" not in head:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    if odd > 0.4 * half and even == 0:
        return "utf-16-le"
    if even > 0.4 * half and odd == 0:
        return "utf-16-be"
    return None


def decode_head(data: bytes) -> str:
    """Decode the first bytes of a file for sniffing (BOM aware, Windows-1252 fallback, never raises)."""
    if data[:2] in _UTF16_BOMS:
        return data[: len(data) // 2 * 2].decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if e.start >= len(data) - 3 or b"\x00" in data:  # a character cut by the head's end, or binary
            return data.decode("utf-8-sig", errors="replace")
        return data.decode("cp1252", errors="replace")


def sniff_sep(line: str) -> str:
    """The delimiter of a header line: tab, semicolon or comma, whichever splits it into most cells."""
    best, n = ",", 1
    for sep in ("\t", ";", ","):
        cells = len(split_csv_line(line, sep))
        if cells > n:
            best, n = sep, cells
    return best


SEP_NAMES = {",": "comma", "\t": "tab", ";": "semicolon"}


def header_names(
    line: str, dictionary: dict[str, dict[str, str]], *, prefixes: bool = False
) -> tuple[list[str], str, str]:
    """A header line's cells in English (by the UI languages' ``dictionary``), the UI language and the
    delimiter."""
    sep = sniff_sep(line)
    names, lang = _locale.translate(split_csv_line(line, sep), dictionary, prefixes=prefixes)
    return names, lang, sep


def split_csv_line(line: str, sep: str = ",") -> list[str]:
    try:
        return next(csv.reader([line], delimiter=sep))
    except (StopIteration, csv.Error):
        return []


def header_cells(line: str) -> list[str]:
    """Cells of one comma-separated line (quotes handled), stripped."""
    return [c.strip() for c in split_csv_line(line)]


def head_lines(head: str, n: int = 40) -> list[str]:
    """The first ``n`` lines of a sniffed head (BOM dropped)."""
    return head.lstrip("\ufeff").splitlines()[:n]


def first_line(head: str) -> str:
    """The first line of a sniffed head ('' when the head is blank)."""
    return head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""


def first_cells(head: str, n: int = 3) -> list[str]:
    """The stripped cells of the first non-blank line among the head's first ``n`` ([] when none)."""
    lines = [ln for ln in head_lines(head, n) if ln.strip()]
    return header_cells(lines[0]) if lines else []


# ---- layout ------------------------------------------------------------------------------------------------
class Layout:
    """Where the header, body and footer of an export are, by line (1-based) and byte offset."""

    def __init__(self, data: Utf8, file: Path) -> None:
        self.data = data
        self.file = file
        self._starts: list[int] = [0]  # byte offset of the start of line i+1

    def head(self, n: int = 30) -> list[str]:
        """The first ``n`` lines as text (without line ends)."""
        out: list[str] = []
        pos = 0
        for _ in range(n):
            if pos >= len(self.data):
                break
            end = self.data.find(b"\n", pos)
            end = len(self.data) if end < 0 else end
            out.append(self.data[pos:end].decode("utf-8").rstrip("\r"))
            pos = end + 1
            if len(self._starts) < len(out) + 1:
                self._starts.append(pos)
        return out

    def offset_of_line(self, line: int) -> int:
        """Byte offset where 1-based ``line`` starts (only for lines within :meth:`head`)."""
        if len(self._starts) < line:
            self.head(line)
        return self._starts[line - 1]

    def peel_footer(
        self, is_footer: Callable[[str], bool], max_lines: int = 200
    ) -> tuple[int, list[tuple[int, str]]]:
        """Strip trailing lines for which ``is_footer`` is true (blank lines always go).

        Returns the byte offset where the body ends and the footer lines as (line number, text).
        """
        data = self.data
        end = len(data)
        total_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        footer: list[tuple[int, str]] = []
        line_no = total_lines
        for _ in range(max_lines):
            if end <= 0:
                break
            stop = end - 1 if data[end - 1 : end] == b"\n" else end
            start = data.rfind(b"\n", 0, stop) + 1
            text = data[start:stop].decode("utf-8").rstrip("\r")
            if text.strip() and not is_footer(text):
                break
            if text.strip():
                footer.append((line_no, text))
            end = start
            line_no -= 1
        return end, footer[::-1]


def find_header(lines: Sequence[str], test: Callable[[str], bool], file: Path, what: str) -> int:
    """1-based number of the first line passing ``test``; SourceError naming what was expected."""
    for i, line in enumerate(lines):
        if test(line):
            return i + 1
    first = lines[0][:80] if lines else ""
    raise SourceError(
        f"no {what} header found in the first {len(lines)} lines (first line: {first!r})",
        file=file,
        line=1,
        hint="Export the report again without editing it, or pass --source NAME",
    )


# ---- body parse -------------------------------------------------------------------------------------------
# ``mktdash ingest --explain``: the bodies a reader parsed, with which column gave which canonical one
_TRACE: contextvars.ContextVar[list[Body] | None] = contextvars.ContextVar("mktdash_csv_trace", default=None)


@contextlib.contextmanager
def trace() -> Any:
    """Collect the :class:`Body` objects readers parse inside the block (their ``mapping``, ``original``)."""
    bodies: list[Body] = []
    token = _TRACE.set(bodies)
    try:
        yield bodies
    finally:
        _TRACE.reset(token)


class Body:
    """The data rows of an export as a pyarrow table of strings plus the file line of each row."""

    def __init__(self, table: pa.Table, first_line: int, file: Path) -> None:
        self.table = table
        self.file = file
        self.lines = np.arange(first_line, first_line + table.num_rows, dtype="int64")
        self.header_line = first_line - 1
        self.decimal_comma = False  # numbers written 1.234,56 (set by the reader from the file's locale)
        self.sep = ","
        self.file_columns = list(table.column_names)  # as in the file, repeats included (totals rows' cells)
        self.original: dict[str, str] = {}  # translated header -> as written in the file
        self.mapping: dict[str, str] = {}  # canonical column -> file column (when traced)
        self._made: dict[int, tuple[Any, str]] | None = None
        traced = _TRACE.get()
        if traced is not None:
            self._made = {}
            traced.append(self)

    def _from(self, arr: Any, col: str | None) -> Any:
        """Remember that ``arr`` was made from column ``col`` (only when traced)."""
        if self._made is not None and col is not None:
            self._made[id(arr)] = (arr, col)
        return arr

    def source_of(self, value: Any) -> str | None:
        made = self._made.get(id(value)) if self._made is not None else None
        return made[1] if made is not None and made[0] is value else None

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    def __len__(self) -> int:
        return self.table.num_rows

    def split(self, mask: np.ndarray) -> pa.Table:
        """Remove the rows where ``mask`` is true (e.g. summary rows); return them."""
        keep = pa.array(~mask)
        removed = self.table.filter(pa.array(mask))
        self.table = self.table.filter(keep)
        self.lines = self.lines[~mask]
        return removed

    def rename(self, names: Sequence[str]) -> None:
        """Rename the columns (e.g. translated headers); names that would repeat keep their original name."""
        out: list[str] = []
        for old, new in zip(self.table.column_names, names, strict=True):
            out.append(old if new in out or (new != old and new in self.table.column_names) else new)
        self.original.update({new: old for old, new in zip(self.table.column_names, out, strict=True)})
        self.table = self.table.rename_columns(out)

    def has(self, col: str | None) -> bool:
        return col is not None and col in self.table.column_names

    def pick(self, *aliases: str) -> str | None:
        """The first alias present as a column (exact, then case-insensitive)."""
        for a in aliases:
            if a in self.table.column_names:
                return a
        low = {c.lower().strip(): c for c in self.table.column_names}
        for a in aliases:
            if a.lower() in low:
                return low[a.lower()]
        return None

    def need(self, *aliases: str) -> str:
        col = self.pick(*aliases)
        if col is None:
            close = difflib.get_close_matches(aliases[0], self.columns, n=1)
            hint = f"Did you rename {close[0]!r}? " if close else ""
            raise SourceError(
                f"required column {aliases[0]!r} is missing (found: {', '.join(self.columns[:20])})",
                file=self.file,
                line=int(self.lines[0]) - 1 if len(self.lines) else None,
                column=aliases[0],
                hint=hint + "Add the column to the report and export it again",
            )
        return col

    def text(self, col: str | None) -> pa.ChunkedArray:
        if col is None:
            return pa.chunked_array([pa.nulls(len(self), STR)])
        arr = self.table[col]
        padded = pc.or_(pc.starts_with(arr, " "), pc.ends_with(arr, " "))
        return self._from(
            pc.utf8_trim_whitespace(arr) if pc.any(padded).as_py() else arr, col
        )  # trim if needed

    def row_error(self, i: int, message: str, column: str, hint: str) -> SourceError:
        """The error naming the ``i``-th data row's line (and ``column``) of the file."""
        return SourceError(message, file=self.file, line=int(self.lines[i]), column=column, hint=hint)

    def _bad(self, col: str, ok: np.ndarray, what: str, hint: str) -> SourceError:
        idx = int(np.flatnonzero(~ok)[0])
        value = self.table[col][idx].as_py()
        return SourceError(
            f"{what}: {value!r}", file=self.file, line=int(self.lines[idx]), column=col, hint=hint
        )

    def number(self, col: str | None, *, integer: bool = False, fill: float | None = None) -> pa.ChunkedArray:
        """Parse a numeric column: thousands separators, `` --``, ``%`` and ``< 10%`` handled."""
        n = len(self)
        if col is None:
            arr = pa.chunked_array([pa.nulls(n, pa.float64())])
        else:
            arr = self._to_float(col)
            bad = pc.or_(pc.or_(pc.is_nan(arr), pc.is_inf(arr)), pc.greater(pc.abs(arr), MAX_VALUE))
            if pc.any(bad).as_py():
                ok = ~pc.fill_null(bad, False).to_numpy(zero_copy_only=False)
                raise self._bad(
                    col,
                    ok,
                    "implausible value (too large or not finite)",
                    "Check the export; values above 1e12 are rejected",
                )
            if integer and pc.all(pc.equal(arr, pc.round(arr))).as_py() not in (True, None):
                vals = arr.to_numpy(zero_copy_only=False)
                whole = np.isnan(vals) | (vals == np.round(vals))
                raise self._bad(col, whole, "not a whole number", "Counts must be whole numbers")
        if fill is not None:
            arr = pc.fill_null(arr, fill)
        return self._from(pc.cast(arr, pa.int64()) if integer and fill is not None else arr, col)

    def _to_float(self, col: str) -> pa.ChunkedArray:
        """A column as float64: plain numbers on the fast path, else thousands separators, `` --``, ``%``,
        ``< 10%`` and (``decimal_comma``) ``1.234,56`` / ``1 234,56`` cleaned first."""
        s = self.table[col]
        if not self.decimal_comma:
            try:  # fast path: plain numbers ("199421.15")
                return pc.cast(s, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        group = "." if self.decimal_comma else ","
        if not self.decimal_comma:
            try:  # the common case, counts with thousands separators ("25,881"): a plain replace, no regex
                return pc.cast(pc.replace_substring(s, group, ""), pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        s = pc.utf8_trim_whitespace(s)
        s = pc.replace_substring_regex(s, rf"[{group}%<>\s\x{{a0}}\x{{202f}}€$£]", "")
        if self.decimal_comma:
            s = pc.replace_substring(s, ",", ".")
        s = pc.if_else(pc.equal(s, "--"), pa.scalar(None, s.type), s)
        try:
            return pc.cast(s, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            parsed = pd.to_numeric(pd.Series(s.to_numpy(zero_copy_only=False)), errors="coerce")
            ok = parsed.notna().to_numpy() | pd.isna(s.to_numpy(zero_copy_only=False))
            raise self._bad(col, ok, "not a number", "Fix the cell or export the report again") from None

    def date(self, col: str, formats: Sequence[str]) -> pa.ChunkedArray:
        """Parse a date column trying ``formats`` in order (the whole column must fit one format)."""
        s = pc.utf8_trim_whitespace(self.table[col])
        if not any(" " in f for f in formats):  # drop a time part: "2025-07-08 00:00:00", "7/8/2025 12:00 AM"
            s = pc.replace_substring_regex(s, r"[ T].*$", "")
        if s.null_count:
            ok = ~np.asarray(pc.is_null(s).to_numpy(zero_copy_only=False))
            raise self._bad(col, ok, "missing date", "Every row needs a date")
        for fmt in formats:
            try:
                self.mapping.setdefault("date_day", col)
                return pc.strptime(s, format=fmt, unit="s")
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
        written = self._written_dates(col)
        if written is not None:
            self.mapping.setdefault("date_day", col)
            return written
        vals = pd.Series(s.to_numpy(zero_copy_only=False))
        best = max(
            (pd.to_datetime(vals, format=f, errors="coerce").notna().to_numpy() for f in formats),
            key=lambda a: a.sum(),
        )
        raise self._bad(
            col, best, f"not a date in the format {formats[0]}", "Export with the tool's default date format"
        )

    def _written_dates(self, col: str, limit: int = 20_000) -> pa.ChunkedArray | None:
        """Dates written out in a UI language ("1. Dezember 2025", "Dec 1, 2025", "1 déc. 2025"), parsed once
        per distinct value; None when any value is not such a date."""
        s = pc.utf8_trim_whitespace(self.table[col])
        uniques = pc.unique(s)
        if len(uniques) > limit:
            return None
        days = []
        for text in uniques.to_pylist():
            found = _locale.find_dates(text or "")
            if len(found) != 1:
                return None
            days.append(dt.datetime.combine(found[0], dt.time()))
        return pc.take(pa.array(days, pa.timestamp("s")), pc.index_in(s, value_set=uniques))


def parse_body(
    layout: Layout, header_line: int, end: int, *, sep: str = ",", expect_rows: bool = True
) -> Body:
    """Parse from ``header_line`` (1-based) to byte ``end`` as CSV; every column a string."""
    file = layout.file
    start = layout.offset_of_line(header_line)
    if start >= end:
        raise SourceError("the header line is missing", file=file, line=header_line)
    nl = layout.data.find(b"\n", start, end)
    header_text = layout.data[start : end if nl < 0 else nl].decode("utf-8").rstrip("\r")
    names = [c.strip() for c in split_csv_line(header_text, sep)]
    if not names or not any(names):
        raise SourceError("the header line is empty", file=file, line=header_line)
    names, repeats = _unique_names(names)
    if nl < 0 or nl + 1 >= end:
        if expect_rows:
            raise SourceError(
                "the export has a header but no data rows",
                file=file,
                line=header_line,
                hint="Check the date range and filters of the report",
            )
        empty = Body(
            pa.table({c: pa.array([], STR) for c in names if c not in repeats}), header_line + 1, file
        )
        empty.sep = sep
        return empty
    buf = pa.py_buffer(layout.data).slice(nl + 1, end - nl - 1)
    try:
        table = pv.read_csv(
            pa.BufferReader(buf),
            read_options=pv.ReadOptions(column_names=names, use_threads=True, block_size=1 << 22),
            parse_options=pv.ParseOptions(delimiter=sep, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pv.ConvertOptions(
                column_types={c: STR for c in names},
                null_values=NULLS,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        line, why = _locate_bad_row(layout.data[nl + 1 : end].decode("utf-8"), len(names), sep)
        raise SourceError(
            why or f"malformed CSV ({str(e).splitlines()[0][:200]})",
            file=file,
            line=header_line + line if line else None,
            hint="Export the report again; do not edit it in a spreadsheet",
        ) from None
    body = Body(_drop_repeats(table, repeats, file, header_line), header_line + 1, file)
    body.sep, body.file_columns = sep, names
    return body


def _unique_names(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Header names made unique (``Currency code``, ``Currency code (2)``) and {renamed: original}."""
    seen: dict[str, int] = {}
    out, repeats = [], {}
    for c in names:
        seen[c] = seen.get(c, 0) + 1
        if seen[c] > 1:
            new = f"{c} ({seen[c]})"
            repeats[new] = c
            c = new
        out.append(c)
    return out, repeats


def _drop_repeats(table: pa.Table, repeats: dict[str, str], file: Path, header_line: int) -> pa.Table:
    """A column the export repeats (Google Ads ad group reports repeat ``Currency code``) is dropped when it
    holds the same values as its first occurrence; different values under one name cannot be read."""
    for new, c in repeats.items():
        if not table[new].equals(table[c]):
            raise SourceError(
                f"column {c!r} appears twice in the header with different values",
                file=file,
                line=header_line,
                column=c,
                hint="Remove one of the two columns from the report and export it again",
            )
        table = table.drop_columns([new])
    return table


def _locate_bad_row(text: str, ncols: int, sep: str) -> tuple[int | None, str]:
    """Error path only: the first row whose cell count differs from the header (1-based within body)."""
    try:
        for i, row in enumerate(csv.reader(io.StringIO(text), delimiter=sep), start=1):
            if len(row) != ncols:
                return i, f"row has {len(row)} cells, the header has {ncols}"
    except csv.Error as e:
        return None, f"malformed CSV ({e})"
    return None, ""


# ---- canonical frame --------------------------------------------------------------------------------------
_ARROW = {
    "string": STR,
    "int64": pa.int64(),
    "Int64": pa.int64(),
    "float64": pa.float64(),
    "datetime64[s]": pa.timestamp("s"),
    "boolean": pa.bool_(),
}
_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), STR: pd.StringDtype("pyarrow")}.get


def _repeat(value: Any, n: int, typ: pa.DataType) -> pa.Array:
    """A constant column without a Python list of n items."""
    return pa.array([value], typ).take(pa.array(np.zeros(n, dtype="int32")))


def ad_frame(body: Body, cols: dict[str, Any], extra: dict[str, Any] | None = None) -> pd.DataFrame:
    """Build the canonical ``ad_daily`` frame plus ``_line`` (and any ``extra`` underscore columns).

    ``cols`` maps canonical names to pyarrow arrays, scalars or None. Built as one Arrow table with the
    canonical types, so pandas gets its final dtypes in one conversion (no per-column casts).
    """
    n = len(body)
    arrays: dict[str, Any] = {}
    for name, typ in TABLES["ad_daily"].items():
        v, at = cols.get(name), _ARROW[typ]
        src = body.source_of(v)
        if src is not None:
            body.mapping[name] = src
        if v is None:
            arrays[name] = pa.nulls(n, at)
        elif isinstance(v, pa.ChunkedArray | pa.Array):
            arrays[name] = v if v.type == at else pc.cast(v, at)
        else:
            arrays[name] = _repeat(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v, n, at)
    for name, v in (extra or {}).items():
        arrays[name] = v if v is not None else pa.nulls(n, STR)
    arrays["_line"] = pa.array(body.lines)
    out = pa.table(arrays).to_pandas(types_mapper=_STRINGS)
    for name, typ in TABLES["ad_daily"].items():  # e.g. nullable Int64 counts
        if str(out[name].dtype) != str(pd.Series(dtype=typ).dtype):
            out[name] = out[name].astype(typ)
    return out


# the id and name of each level of an ad report: account_id, account_name, ..., ad_id, ad_name
AD_DIMS = tuple(
    f"{level}_{part}" for level in ("account", "campaign", "ad_group", "ad") for part in ("id", "name")
)
# the headers most ad exports use for them; a reader's ``dims`` add the rest and override these
AD_DIM_HEADERS: dict[str, tuple[str, ...]] = {
    "account_id": ("Account ID",),
    "account_name": ("Account name",),
    "campaign_id": ("Campaign ID",),
    "ad_group_id": ("Ad group ID",),
    "ad_id": ("Ad ID",),
    "ad_name": ("Ad name",),
}


def ad_columns(
    body: Body,
    names: tuple[str, str],
    dims: Mapping[str, Sequence[str]],
    metrics: Mapping[str, str | None],
    currency: Any,
    *,
    need: Sequence[str] = ("campaign_name",),
    conversions: Any = None,
) -> dict[str, Any]:
    """The canonical columns of an ad report for :func:`ad_frame`.

    ``names``: (platform, source format); ``dims``: canonical id/name column -> the report's header aliases
    where they differ from :data:`AD_DIM_HEADERS` (the first present is read as text; those in ``need``
    must be present); ``metrics``: canonical metric ->
    the report's column (counts whole, missing clicks/impressions/spend are 0); ``conversions``: an already
    computed conversions column (Meta's result indicator) instead of ``metrics["conversions"]``."""
    cols: dict[str, Any] = {"platform": names[0], "source_relation": names[1]}
    headers = {**AD_DIM_HEADERS, **dims}
    for name in AD_DIMS:
        aliases = headers.get(name, ())
        col = body.need(*aliases) if name in need else body.pick(*aliases)
        cols[name] = body.text(col)
    cols["clicks"] = body.number(metrics.get("clicks"), integer=True, fill=0)
    cols["impressions"] = body.number(metrics.get("impressions"), integer=True, fill=0)
    cols["spend"] = body.number(metrics.get("spend"), fill=0.0)
    cols["conversions"] = body.number(metrics.get("conversions")) if conversions is None else conversions
    cols["conversions_value"] = body.number(metrics.get("conversions_value"))
    cols["currency"] = currency
    return cols


def decimal_comma_of(body: Body, cols: Iterable[str | None], language: str, n: int = 500) -> bool:
    """Whether ``body``'s money columns are written with a decimal comma (see :func:`_locale.decimal_comma`)."""
    samples: list[str | None] = []
    for c in cols:
        if c is not None and body.has(c):
            samples += body.table[c].slice(0, n).to_pylist()
    return _locale.decimal_comma(samples, language)


def parsed_ad(
    df: pd.DataFrame,
    source: str,
    period: tuple[dt.date, dt.date] | None,
    grain: str,
    warnings: list[str],
    **kw: Any,
) -> Parsed:
    """The :class:`Parsed` of an ad report by its grain.

    ``day``: rows into ``ad_daily``. ``week`` (a report without Day segment over one ISO week, or with the
    Week segment): rows into ``ad_daily`` dated on the week's last day (Sunday), so they count in the weekly
    KPIs and the MMM, and the data counts as reaching the end of that week. ``period`` (any other range): rows into ``ad_period`` with the exact period, never spread over
    days. A file with no rows loads nothing for its period (the ledger says so)."""
    notes = list(warnings)
    span = f"{period[0]}..{period[1]}" if period else "its period"
    if df.empty:
        notes.append(f"the report has no rows for {span}: nothing to load")
        return Parsed("ad_daily", df, source, period, warnings=notes, empty_ok=True, grain=grain, **kw)
    if grain == "week":  # on the week's Sunday: the data then reaches the end of that week (latest week)
        d = pd.to_datetime(df["date_day"])
        df["date_day"] = (d + pd.to_timedelta(6 - d.dt.day_of_week, unit="D")).astype("datetime64[s]")
        notes.append(
            "no Day segment: loaded at week grain, each ISO week's totals on its Sunday "
            f"(first {df['date_day'].min().date()})"
        )
    if grain == "period" and period is not None:
        notes.append(
            f"no Day segment: totals of {span} kept in ad_period (not spread over days, not in weekly KPIs); "
            "download with Segment > Time > Day for daily rows"
        )
        frame = df.drop(columns="date_day")
        frame.insert(0, "period_end", pd.Timestamp(period[1]))
        frame.insert(0, "period_start", pd.Timestamp(period[0]))
        for c in ("period_start", "period_end"):
            frame[c] = frame[c].astype("datetime64[s]")
        return Parsed("ad_period", frame, source, period, warnings=notes, grain=grain, **kw)
    return Parsed("ad_daily", df, source, period or period_of(df), warnings=notes, grain=grain, **kw)


def sums(df: pd.DataFrame, metrics: Iterable[str] = AD_METRICS) -> dict[str, float]:
    return {m: float(df[m].sum()) for m in metrics if m in df}


def period_of(data: pd.DataFrame | pd.Series, col: str = "date_day") -> tuple[dt.date, dt.date] | None:
    """First..last date of a date column (``data[col]`` of a frame, or the series itself); None when empty."""
    d = (data[col] if isinstance(data, pd.DataFrame) else data).dropna()
    if d.empty:
        return None
    return (d.min().date(), d.max().date())


def check_in_period(df: pd.DataFrame, period: tuple[dt.date, dt.date] | None, file: Path, where: str) -> None:
    """Rows dated outside the period the export states in its header mean a broken or edited file."""
    if period is None or df.empty:
        return
    d = df["date_day"]
    bad = (d < pd.Timestamp(period[0])) | (d > pd.Timestamp(period[1]))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceError(
            f"row dated {d.iloc[i].date()} is outside the report period {period[0]}..{period[1]} stated in {where}",
            file=file,
            line=int(df["_line"].iloc[i]),
            column="date",
            hint="Export the report again without editing it",
        )


# ---- writing ----------------------------------------------------------------------------------------------
def fmt_thousands(s: pd.Series) -> pd.Series:
    """25881 -> "25,881" (the UI style; pandas quotes the cell because of the comma)."""
    return s.astype("int64").map("{:,}".format)


def fmt_money(s: pd.Series) -> pd.Series:
    return s.astype("float64").round(2).map("{:.2f}".format)


def write_csv(
    path: Path,
    preamble: Sequence[str],
    table: pd.DataFrame,
    footer: Sequence[Sequence[Any]] = (),
    *,
    sep: str = ",",
    encoding: str = "utf-8",
    lineterminator: str = "\n",
    quoting: Any = csv.QUOTE_MINIMAL,
    trailer: Sequence[str] = (),
) -> None:
    """Write preamble lines, a table, footer rows (CSV-quoted) and trailer lines."""
    buf = io.StringIO()
    for line in preamble:
        buf.write(line + lineterminator)
    table.to_csv(buf, index=False, sep=sep, lineterminator=lineterminator, quoting=quoting)
    w = csv.writer(buf, delimiter=sep, lineterminator=lineterminator, quoting=quoting)
    for row in footer:
        w.writerow(row)
    for line in trailer:
        buf.write(line + lineterminator)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    text = buf.getvalue()
    raw = codecs.BOM_UTF16_LE + text.encode("utf-16-le") if encoding == "utf-16" else text.encode(encoding)
    Path(path).write_bytes(raw)


def metric_cells(df: pd.DataFrame, headers: Sequence[str]) -> dict[str, pd.Series]:
    """The currency and metric columns of an ad export as written, under ``headers`` for currency, spend,
    impressions, clicks, conversions and conversion value (in that order)."""
    currency, spend, impressions, clicks, conversions, value = headers
    return {
        currency: fill(df, "currency", "USD"),
        spend: fmt_money(df["spend"]),
        impressions: df["impressions"].astype("int64"),
        clicks: df["clicks"].astype("int64"),
        conversions: df["conversions"].astype("float64").round(2),
        value: df["conversions_value"].astype("float64").round(2),
    }


def fill(df: pd.DataFrame, col: str, default: str = "") -> pd.Series:
    return df[col].astype("string").fillna(default) if col in df else pd.Series(default, index=df.index)


def one_value(df: pd.DataFrame, col: str, default: str) -> str:
    if col not in df or df[col].isna().all():
        return default
    return str(df[col].dropna().iloc[0])


def mdY(d: dt.date) -> str:
    """7/8/2025 (US M/D/YYYY without leading zeros)."""
    return f"{d.month}/{d.day}/{d.year}"


_MDY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_mdy(text: str) -> dt.date | None:
    m = _MDY.search(text)
    return dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2))) if m else None
