"""What the ingest engine checks before a reader sees a file: where it is, what it is, how big it gets.

- :func:`walk` lists a folder without following links; :func:`check_entry` refuses anything that is not a
  regular file inside the folder (symbolic links, devices, FIFOs, sockets, paths resolving elsewhere). Such
  entries are never opened: only ``lstat`` looks at them.
- :func:`prescan` streams the bytes of a regular file in 1 MiB blocks (bounded memory, whatever the file) and
  refuses it when it passes a bound of :class:`Limits` (``params.ingest.limits``): file size, decompressed
  size (gzip members, zip archives such as ``.xlsx``, Parquet pages), rows, cell length and line length.
  Parquet is judged by its footer (row count, uncompressed size, columns) before a page is read.
- :func:`redact` rewrites a message about a file that may hold personal data (CRM, product usage, unknown
  layouts) so that it keeps column names, line numbers and shapes but no cell value.

Every refusal is a :class:`~mktdash.ingest.sources.base.SourceError` naming the file, the bound, what was found and
what to do; the engine quarantines it like any bad file.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from mktdash.ingest.sources.base import SourceError

MB = 1 << 20
BLOCK = MB
# bytes that end a cell in any layout we read: comma, tab, semicolon, line feed, carriage return
_IS_CELL_END = np.zeros(256, dtype=bool)
_CELL_END_BYTES = (b",", b"\t", b";", b"\n", b"\r")
_IS_CELL_END[[c[0] for c in _CELL_END_BYTES]] = True
_NL = ord("\n")
_ZIP_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_MAX_FOOTER = 16 * MB  # a Parquet footer (schema + row-group metadata) is KBs; more is not an export


@dataclass(frozen=True)
class Limits:
    """Per-file bounds (``params.ingest.limits``); a file beyond any of them is refused, never loaded."""

    max_file_mb: float = 512.0  # size on disk
    max_decompressed_mb: float = 2048.0  # gzip/zip content, Parquet pages, estimated Arrow size of Parquet
    max_rows: int = 5_000_000  # data rows (text: lines; Parquet: footer row count)
    max_line_kb: float = 1024.0  # one line of text
    max_cell_kb: float = 256.0  # one run of bytes without a delimiter (, tab ;) or line break

    @classmethod
    def of(cls, settings: Any) -> Limits:
        found = getattr(getattr(settings, "ingest", None), "limits", None)
        if found is None:
            return cls()
        values = found.model_dump() if hasattr(found, "model_dump") else dict(found)
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


# ---- where and what ---------------------------------------------------------------------------------------
def walk(root: Path) -> Iterator[Path]:
    """Every entry under ``root`` except directories, sorted, without following symbolic links (a link to a
    folder is listed as an entry, to be refused, and never entered); hidden names (``.x``, ``~$x``) skipped."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        if e.name.startswith((".", "~$")):
            continue
        if e.is_dir(follow_symlinks=False):
            yield from walk(Path(e.path))
        else:
            yield Path(e.path)


def check_entry(path: Path, root: Path | None) -> SourceError | None:
    """None when ``path`` is a regular file (not a link) whose real path lies inside ``root`` (when given);
    else the refusal. Looks with ``lstat`` only: a refused entry is never opened."""
    try:
        st = os.lstat(path)
    except OSError as e:
        return SourceError(f"cannot look at the file ({e.strerror})", file=path, hint="Check the path")
    kind = _kind(st.st_mode)
    if kind:
        return SourceError(
            f"{kind}, not a regular file: not read",
            file=path,
            hint="Put the export itself in the inbox (copy it, do not link it)",
        )
    if root is not None:
        real, base = Path(os.path.realpath(path)), Path(os.path.realpath(root))
        if real != base and base not in real.parents:
            return SourceError(
                "the path resolves outside the inbox: not read",
                file=path,
                hint="Copy the export into the inbox folder itself",
            )
    return None


def _kind(mode: int) -> str | None:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISREG(mode):
        return None
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):  # fmt: skip
        if test(mode):
            return name
    return "a special file"


def open_regular(path: Path) -> BinaryIO:
    """Open for reading without following a link and without blocking on a FIFO; refuse what is not a
    regular file (the entry may have been swapped since :func:`check_entry`)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise SourceError(
            f"cannot open the file ({e.strerror})", file=path, hint="Put a regular file in the inbox"
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SourceError("not a regular file: not read", file=path, hint="Put a regular file in the inbox")
    return os.fdopen(fd, "rb")


# ---- how big ----------------------------------------------------------------------------------------------
def prescan(path: Path, limits: Limits) -> None:
    """Raise :class:`SourceError` when ``path`` passes a bound; streams at most what the bounds allow."""
    size = os.stat(path).st_size
    if size > limits.max_file_mb * MB:
        _refuse(path, f"the file is {size / MB:,.0f} MB, over the {limits.max_file_mb:g} MB bound",
                "max_file_mb")  # fmt: skip
    with open_regular(path) as f:
        magic = f.read(4)
        f.seek(0)
        if magic == _PARQUET_MAGIC:
            _parquet(f, size, path, limits)
        elif magic == _ZIP_MAGIC:
            _zip(f, path, limits)
        elif magic[:2] == _GZIP_MAGIC:
            _TextScan(path, limits, utf16=False).feed_all(_gunzip(f, path, limits))
        else:
            _TextScan(path, limits, utf16=magic[:2] in (b"\xff\xfe", b"\xfe\xff")).feed_all(_blocks(f))


def _refuse(path: Path, what: str, key: str, line: int | None = None) -> None:
    raise SourceError(
        f"refused before reading: {what}",
        file=path,
        line=line,
        hint=f"Export a smaller report (shorter period or fewer columns), or raise ingest.limits.{key} in params",
    )


def _blocks(f: BinaryIO) -> Iterator[bytes]:
    while block := f.read(BLOCK):
        yield block


class _TextScan:
    """Line count, longest line and longest cell of a byte stream, one block at a time (numpy, no per-byte
    Python). A cell is a run of bytes without a delimiter or line break; quotes are not interpreted, so a
    quoted cell holding commas counts as several shorter ones (the line bound still holds it)."""

    def __init__(self, path: Path, limits: Limits, *, utf16: bool) -> None:
        self.path, self.limits = path, limits
        self.width = 2 if utf16 else 1  # bytes per character of the delimiters
        self.max_line = int(limits.max_line_kb * 1024) * self.width
        self.max_cell = int(limits.max_cell_kb * 1024) * self.width
        self.pos = 0  # bytes seen before this block
        self.line_start = 0  # offset where the current line starts
        self.cell_start = 0  # offset where the current cell starts
        self.lines = 0  # line breaks seen before this block
        self.nls = np.empty(0, dtype=np.int64)  # offsets of the line breaks in the block being scanned

    def feed_all(self, blocks: Iterator[bytes]) -> None:
        for block in blocks:
            self.feed(block)

    def feed(self, block: bytes) -> None:
        arr = np.frombuffer(block, dtype=np.uint8)
        self.nls = np.flatnonzero(arr == _NL)
        edges = np.concatenate(([self.line_start - self.pos - 1], self.nls, [len(arr)]))
        if int((np.diff(edges) - 1).max()) > self.max_cell:  # a cell lies within a line: only then look
            ends = np.flatnonzero(_IS_CELL_END[arr])  # a table lookup: ~10x faster than np.isin
            if len(ends):
                self._longest(ends, self.cell_start, self.max_cell, self._cell)
        last = max(block.rfind(c) for c in _CELL_END_BYTES)  # where the open cell starts
        if last >= 0:
            self.cell_start = self.pos + last + 1
        if len(self.nls):
            self._longest(self.nls, self.line_start, self.max_line, self._line)
            self.line_start = self.pos + int(self.nls[-1]) + 1
            self.lines += len(self.nls)
            if self.lines > self.limits.max_rows + 1000:  # + room for preambles, headers and footers
                _refuse(self.path, f"more than {self.limits.max_rows:,} rows", "max_rows")
        self.pos += len(block)
        self.nls = np.empty(0, dtype=np.int64)
        self.check()

    def _longest(self, ends: np.ndarray, open_start: int, bound: int, fail: Any) -> None:
        """Refuse when a run ending at one of ``ends`` (offsets in this block) is longer than ``bound``."""
        if self.pos + int(ends[0]) - open_start > bound:
            fail(open_start, self.pos + int(ends[0]))
        if len(ends) > 1:
            gaps = np.diff(ends) - 1
            k = int(gaps.argmax())
            if gaps[k] > bound:
                fail(self.pos + int(ends[k]) + 1, self.pos + int(ends[k + 1]))

    def check(self) -> None:
        """The open cell and line (not ended yet) already past a bound?"""
        if self.pos - self.cell_start > self.max_cell:
            self._cell(self.cell_start, self.pos)
        if self.pos - self.line_start > self.max_line:
            self._line(self.line_start, self.pos)

    def _line_of(self, start: int) -> int:
        """1-based line of a byte offset at or after the start of the current block's first line."""
        return self.lines + 1 + int(np.searchsorted(self.nls, start - self.pos))

    def _cell(self, start: int, end: int) -> None:
        _refuse(self.path, f"a cell longer than {self.limits.max_cell_kb:g} KB (starting at byte {start:,})",
                "max_cell_kb", self._line_of(start))  # fmt: skip

    def _line(self, start: int, end: int) -> None:
        chars = (end - start) // self.width
        _refuse(self.path, f"a line longer than {self.limits.max_line_kb:g} KB ({chars:,}+ characters)",
                "max_line_kb", self._line_of(start))  # fmt: skip


def _gunzip(f: BinaryIO, path: Path, limits: Limits) -> Iterator[bytes]:
    """The decompressed bytes of a gzip file (all members), in blocks; refuses past the decompressed bound."""
    budget = int(limits.max_decompressed_mb * MB)
    out = 0
    d = zlib.decompressobj(wbits=31)
    pending = b""
    while True:
        if not pending:
            pending = f.read(BLOCK)
            if not pending:
                return
        try:
            chunk = d.decompress(pending, BLOCK)
        except zlib.error as e:
            raise SourceError(f"broken gzip data ({e})", file=path, hint="Download the file again") from None
        pending = d.unconsumed_tail
        if d.eof:  # another gzip member may follow
            pending, d = d.unused_data + pending, zlib.decompressobj(wbits=31)
        out += len(chunk)
        if out > budget:
            _refuse(path, f"it decompresses to more than {limits.max_decompressed_mb:g} MB",
                    "max_decompressed_mb")  # fmt: skip
        yield chunk


def _zip(f: BinaryIO, path: Path, limits: Limits) -> None:
    """Zip archives (``.xlsx`` too): the declared sizes first, then the real ones by streaming each member
    (declared sizes can lie); every member's text is scanned for the line/cell bounds."""
    budget = int(limits.max_decompressed_mb * MB)
    try:
        z = zipfile.ZipFile(f)
        members = z.infolist()
        declared = sum(m.file_size for m in members)
        if declared > budget:
            _refuse(path, f"it declares {declared / MB:,.0f} MB of content, over the "
                    f"{limits.max_decompressed_mb:g} MB bound", "max_decompressed_mb")  # fmt: skip
        total = 0
        for m in members:
            scan = _TextScan(path, limits, utf16=False)
            with z.open(m) as member:
                while block := member.read(BLOCK):
                    total += len(block)
                    if total > budget:
                        _refuse(path, f"it decompresses to more than {limits.max_decompressed_mb:g} MB",
                                "max_decompressed_mb")  # fmt: skip
                    if not m.filename.endswith((".xml", ".rels")):  # spreadsheet XML has no line structure
                        scan.feed(block)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:
        raise SourceError(f"broken zip archive ({e})", file=path, hint="Download the file again") from None


def _parquet(f: BinaryIO, size: int, path: Path, limits: Limits) -> None:
    """Judge a Parquet file by its footer: rows, uncompressed page bytes, and rows x columns x 8 bytes (the
    least Arrow needs to hold it) against the bounds, before any page is read."""
    import pyarrow.parquet as pq

    if size < 12:
        raise SourceError("truncated Parquet file", file=path, hint="Export the table again")
    f.seek(size - 8)
    tail = f.read(8)
    footer = struct.unpack("<I", tail[:4])[0]
    if tail[4:] != _PARQUET_MAGIC or footer > min(size - 12, _MAX_FOOTER):
        raise SourceError(
            "not a complete Parquet file (bad footer)", file=path, hint="Export the table again"
        )
    f.seek(0)
    try:
        meta = pq.read_metadata(f)
    except Exception as e:  # noqa: BLE001 - any footer pyarrow cannot read is a broken file
        raise SourceError(f"unreadable Parquet footer ({type(e).__name__})", file=path,
                          hint="Export the table again") from None  # fmt: skip
    rows, cols = meta.num_rows, meta.num_columns
    if rows > limits.max_rows:
        _refuse(path, f"the footer declares {rows:,} rows, over the {limits.max_rows:,} bound", "max_rows")
    pages = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    need = max(pages, rows * cols * 8)
    if need > limits.max_decompressed_mb * MB:
        _refuse(path, f"{rows:,} rows x {cols} columns expand to about {need / MB:,.0f} MB, over the "
                f"{limits.max_decompressed_mb:g} MB bound", "max_decompressed_mb")  # fmt: skip


# ---- messages without personal data -----------------------------------------------------------------------
# tables whose files may hold personal data: their messages never quote a cell
PII_TABLES = frozenset({"crm_contacts", "crm_deals", "product_usage", "customer_health", "touchpoints"})
_QUOTED = re.compile(r"""(?<!\w)'((?:[^'\\]|\\.)*)'(?!\w)|(?<!\w)"((?:[^"\\]|\\.)*)"(?!\w)""")
_LISTED = re.compile(r"((?:found|first line(?: was)?|columns?|got)\s*:\s*)([^()]*?)(?=\)|$|\. )", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"\+?\d[\d ().-]{5,}\d")  # phone-like: 7+ characters of digits and separators
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MASK = re.compile(r"<(?:\d+ chars|email|digits)>")
_SPLIT = re.compile(r"([,;\t|]\s*)")
_QUOTED_IN_CODE = re.compile(r"'([^'@]{3,60})'")


def may_hold_pii(table: str | None) -> bool:
    """Files of these tables, and files whose layout is unknown, may hold personal data."""
    return table is None or table in PII_TABLES


@functools.cache
def vocabulary() -> frozenset[str]:
    """Names a message may quote: canonical columns and every string constant of 3 to 60 characters in the
    readers (their column names, stage labels, formats); compared lower-cased and stripped. Shorter ones
    are left out: a one- or two-letter fragment of a cut-off cell must not pass as a known name."""
    from mktdash.ingest import sources
    from mktdash.warehouse.schema import TABLES

    words = {c for cols in TABLES.values() for c in cols} | set(TABLES)
    folder = Path(sources.__file__).parent
    for file in folder.glob("*.py"):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        constants = [
            n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        words |= {c for c in constants if 3 <= len(c.strip()) <= 60 and "@" not in c}
        words |= {
            q for c in constants for q in _QUOTED_IN_CODE.findall(c)
        }  # what the readers' own text quotes
    return frozenset(w.strip().lower() for w in words)


def _shape(text: str) -> str:
    """A value replaced by its shape: known names kept, the rest as ``<N chars>``; lists item by item."""
    parts = _SPLIT.split(text)
    out = []
    for p in parts:
        if (
            _SPLIT.fullmatch(p)
            or not p.strip()
            or _MASK.fullmatch(p.strip())
            or p.strip().lower() in vocabulary()
        ):
            out.append(p)
        else:
            out.append(f"<{len(p.strip())} chars>")
    return "".join(out)


def redact(text: str | None) -> str | None:
    """``text`` without cell values: quoted text and listed values that are not known names become their
    shape (``<12 chars>``), e-mail addresses and phone-like digit runs are masked wherever they stand."""
    if not text:
        return text
    out = _QUOTED.sub(lambda m: m.group(0)[0] + _shape(m.group(0)[1:-1]) + m.group(0)[0], text)
    out = _LISTED.sub(lambda m: m.group(1) + _shape(m.group(2)), out)
    out = _EMAIL.sub("<email>", out)
    return _DIGITS.sub(lambda m: m.group(0) if _DATE.fullmatch(m.group(0).strip()) else "<digits>", out)


def redact_error(e: SourceError) -> SourceError:
    """The same error with message, hint and column redacted (file and line kept)."""
    col = e.column if e.column is None or e.column.strip().lower() in vocabulary() else _shape(e.column)
    return SourceError(
        redact(e.message) or "", file=e.file, line=e.line, column=col, hint=redact(e.hint) or ""
    )


def table_of(source: Any) -> str | None:
    """The canonical table a format name fills (None for an unknown or missing name)."""
    from mktdash.ingest import sources

    try:
        return str(sources.get(str(source)).TABLE) if isinstance(source, str) and source else None
    except SourceError:
        return None


def redact_stored(frame: pd.DataFrame, columns: Sequence[str], source: str = "source") -> pd.DataFrame:
    """Stored messages (quarantine, ledger) shown again: ``columns`` redacted on the rows whose ``source`` may
    hold personal data, so that rows written before messages were redacted never show a cell either."""
    if frame.empty:
        return frame
    mask = frame[source].map(lambda s: may_hold_pii(table_of(s))).to_numpy(dtype=bool)
    if not mask.any():
        return frame
    out = frame.copy()
    for c in columns:  # value by value (a few stored rows): a column of missing values keeps its dtype
        cells = [
            redact(v) if m and isinstance(v, str) else v for v, m in zip(out[c].tolist(), mask, strict=True)
        ]
        out[c] = pd.Series(cells, index=out.index, dtype=out[c].dtype)
    return out
