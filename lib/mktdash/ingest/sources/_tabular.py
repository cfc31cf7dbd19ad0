"""Shared helpers of the non-ad readers (GA4, CRM, generic CSV/YAML): decoding, CSV blocks with line
numbers, vectorised number/date parsing that names the first bad line and column.

Not a format module (no ``NAME``): the registry must skip modules whose name starts with ``_``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from mktdash.ingest.sources import _csv

# one place for the line, cell and date-span helpers of both reading stacks
from mktdash.ingest.sources._csv import first_cells as first_cells
from mktdash.ingest.sources._csv import head_lines as head_lines
from mktdash.ingest.sources._csv import header_cells as header_cells
from mktdash.ingest.sources._csv import period_of as period_of
from mktdash.ingest.sources.base import SourceError
from mktdash.warehouse.schema import conform

# timestamp layouts accepted in generic CSV/YAML files (approvals, touchpoints)
TS_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d")

MISSING = {"", "--", " --", "-", "n/a", "N/A", "(not set)", "null", "NULL", "None", "nan", "NaN"}


def read_text(path: Path) -> str:
    """Decode an export as the ad readers do (:func:`mktdash.ingest.sources._csv.read_bytes`: UTF-8 with or without
    BOM, UTF-16 with or without BOM, Windows-1252, an Excel download's first sheet), else a clear error."""
    return _csv.read_bytes(Path(path)).decode("utf-8")


def read_block(text: str, *, file: Path, first_line: int = 1, sep: str = ",") -> pd.DataFrame:
    """Parse a CSV block (header + rows) as strings; adds ``_line`` = 1-based line in the file of each row.

    ``first_line`` is the file line of the block's header.
    """
    try:
        df = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            sep=sep,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise SourceError(
            "no header row found", file=file, line=first_line, hint="Export the report with its header"
        ) from None
    except pd.errors.ParserError as e:
        m = re.search(r"line (\d+)", str(e))
        line = first_line + int(m.group(1)) - 1 if m else None
        raise SourceError(
            f"malformed CSV ({e})".replace("\n", " "),
            file=file,
            line=line,
            hint="Check for a truncated download or unbalanced quotes; export the report again",
        ) from None
    df = _dedupe_columns(df, _header_of(text, sep), file=file, line=first_line)
    data_cols = list(df.columns)
    attrs = dict(df.attrs)
    df["_line"] = np.arange(first_line + 1, first_line + 1 + len(df), dtype="int64")
    # drop fully blank lines (trailing newlines)
    if data_cols:
        blank = (df[data_cols] == "").all(axis=1)
        df = df[~blank]
    df = df.reset_index(drop=True)
    df.attrs.update(attrs)
    return df


def _header_of(text: str, sep: str) -> list[str]:
    """The header cells of a CSV block as written (pandas renames repeated names ``X.1``)."""
    try:
        return [c.strip() for c in next(csv.reader(io.StringIO(text), delimiter=sep))]
    except (StopIteration, csv.Error):
        return []


def _dedupe_columns(df: pd.DataFrame, header: list[str], *, file: Path, line: int) -> pd.DataFrame:
    """Give repeated header names one column each (exports such as HubSpot's all-properties download repeat
    names): identical copies collapse into the first; copies with different values keep the first under the
    name and are recorded in ``df.attrs["ambiguous"]``, so that only a reader *using* that column refuses the
    file (:func:`pick`, :func:`require`); a column nobody reads never refuses a file."""
    if len(header) != len(df.columns):  # a header pandas could not align: keep its own names
        header = [str(c).strip() for c in df.columns]
    df.columns = pd.RangeIndex(len(header))
    keep: dict[str, int] = {}
    ambiguous: list[str] = []
    for i, name in enumerate(header):
        if name not in keep:
            keep[name] = i
        elif name not in ambiguous and not df[i].equals(df[keep[name]]):
            ambiguous.append(name)
    df = df[list(keep.values())]
    df.columns = list(keep)
    df.attrs.update(file=str(file), header_line=line, ambiguous=ambiguous)
    return df


def _refuse_ambiguous(df: pd.DataFrame, name: str) -> None:
    if name in df.attrs.get("ambiguous", ()):
        raise SourceError(
            f"column {name!r} appears more than once with different values",
            file=df.attrs.get("file"),
            line=df.attrs.get("header_line"),
            column=name,
            hint="Remove the repeated column from the export view, or export again",
        )


def require(df: pd.DataFrame, columns: Iterable[str], *, file: Path, line: int | None, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SourceError(
            f"missing column {missing[0]!r} in the {what} header"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            file=file,
            line=line,
            column=missing[0],
            hint=f"Export the {what} with the standard columns (found: {', '.join(map(str, df.columns[:12]))})",
        )
    for c in columns:
        _refuse_ambiguous(df, c)


def pick(df: pd.DataFrame, *names: str) -> str | None:
    """The first of ``names`` that is a column of ``df`` (exports rename columns between versions); a name
    repeated in the header with different values is refused (:func:`_dedupe_columns`)."""
    for n in names:
        if n in df.columns:
            _refuse_ambiguous(df, n)
            return n
    return None


def _fail(
    bad: pd.Series, values: pd.Series, df: pd.DataFrame, column: str, file: Path, what: str, hint: str
) -> None:
    idx = np.flatnonzero(bad.fillna(False).to_numpy(dtype=bool))
    if len(idx):
        i = idx[0]
        more = f" ({len(idx) - 1} more rows like it)" if len(idx) > 1 else ""
        raw = str(values.iloc[i])[:60]
        raise SourceError(
            f"{what} {raw!r}{more}", file=file, line=int(df["_line"].iloc[i]), column=column, hint=hint
        )


def clean_text(df: pd.DataFrame, column: str | None, *, file: Path) -> pd.Series:
    """A text column as ``string`` with missing markers as NA.

    Formula-like cells (``=HYPERLINK(...)``) are kept here: the engine neutralises them for every table with
    one rule (a leading quote + a ledger warning, :func:`mktdash.ingest.engine.neutralise_formulas`)."""
    if column is None:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    s = df[column].astype("string").str.strip()
    return s.mask(s.isin(MISSING))


def to_number(
    df: pd.DataFrame, column: str | None, *, file: Path, integer: bool = False, max_abs: float = 1e13
) -> pd.Series:
    """Vectorised number parsing of a string column: thousands separators, currency symbols/codes,
    ``%``, `` --`` (missing). Garbage raises :class:`SourceError` naming line and column."""
    if column is None:
        return pd.Series(np.nan, index=df.index, dtype="float64")
    raw = df[column].astype("string").str.strip()
    missing = (raw.isin(MISSING) | raw.isna()).to_numpy(dtype=bool)
    # fast path: plain numbers parse in C; only the rest is cleaned (regexes kept RE2-compatible for Arrow)
    try:  # plain numbers: one Arrow cast (C), ~10x faster than to_numeric on Python strings
        arr = pa.array(raw.mask(missing), type=pa.string(), from_pandas=True)
        num = pd.Series(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), index=df.index)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        num = pd.to_numeric(raw.mask(missing).astype(object), errors="coerce").astype("float64")
    need = num.isna().to_numpy() & ~missing
    neg = pd.Series(False, index=df.index)
    if need.any():
        sub = raw[need].str.replace(r"[,\s$€£¥%]", "", regex=True).str.replace(r"^[A-Z]{3}", "", regex=True)
        paren = sub.str.match(r"^\(.*\)$").fillna(False)  # accounting negatives (1,234.00)
        fixed = pd.to_numeric(sub.str.strip("()").astype(object), errors="coerce").astype("float64")
        num[need] = fixed.to_numpy()
        neg[need] = paren.to_numpy(dtype=bool)
    bad = (num.isna() & ~missing) | (num.abs() > max_abs)
    what, hint = "not a number (or absurdly large)", "Fix or remove the value and export again"
    _fail(bad, raw, df, column, file, what, hint)
    num = num.where(~neg, -num).astype("float64")
    if integer:
        frac = (num % 1).fillna(0) != 0
        _fail(frac, raw, df, column, file, "expected a whole number, got", "Counts must be whole numbers")
    return num


def to_date(
    df: pd.DataFrame,
    column: str | None,
    *,
    file: Path,
    formats: Sequence[str] = ("%Y-%m-%d",),
    required: bool = False,
    day: bool = True,
) -> pd.Series:
    """Vectorised date parsing trying ``formats`` in turn; ``day`` keeps only the calendar day."""
    if column is None:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[s]")
    raw = df[column].astype("string").str.strip()
    missing = raw.isin(MISSING) | raw.isna()
    out = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = out.isna() & ~missing
        if not todo.any():
            break
        out = out.where(~todo, pd.to_datetime(raw.where(todo), format=fmt, errors="coerce"))
    bad = out.isna() & ~missing
    what, hint = f"not a date (expected {formats[0]})", "Export dates in the tool's default format"
    _fail(bad, raw, df, column, file, what, hint)
    if required:
        _fail(missing, raw, df, column, file, "missing date", "Every row needs this date; export again")
    if day:
        out = out.dt.normalize()
    return out.astype("datetime64[s]")


def to_bool(df: pd.DataFrame, column: str | None, *, file: Path) -> pd.Series:
    if column is None:
        return pd.Series(pd.NA, index=df.index, dtype="boolean")
    raw = df[column].astype("string").str.strip().str.lower()
    true = raw.isin(["true", "1", "yes", "y", "t"])
    false = raw.isin(["false", "0", "no", "n", "f"])
    missing = raw.isin({m.lower() for m in MISSING}) | raw.isna()
    _fail(~(true | false | missing), raw, df, column, file, "not a true/false value", "Use true/false")
    out = pd.Series(pd.NA, index=df.index, dtype="boolean")
    out[true.to_numpy(dtype=bool)] = True
    out[false.to_numpy(dtype=bool)] = False
    return out


def finish(out: dict[str, Any] | pd.DataFrame, table: str, lines: pd.Series) -> pd.DataFrame:
    """Conform to the canonical table and append ``_line``."""
    frame = out if isinstance(out, pd.DataFrame) else pd.DataFrame(out)
    res = conform(frame.reset_index(drop=True), table)
    res["_line"] = lines.to_numpy(dtype="int64")
    return res


def fmt_num(s: pd.Series, decimals: int | None = None) -> pd.Series:
    """Numbers as plain text (no exponent); NA as empty."""
    if decimals is None:
        out = s.map(lambda v: "" if pd.isna(v) else repr(float(v)) if float(v) % 1 else str(int(v)))
    else:
        out = s.map(lambda v: "" if pd.isna(v) else f"{float(v):.{decimals}f}")
    return out.astype(object)


def fmt_date(s: pd.Series, fmt: str = "%Y-%m-%d") -> pd.Series:
    d = pd.to_datetime(s)
    return d.dt.strftime(fmt).fillna("").astype(object)


def text_or_empty(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna("").astype(object)


# ---- generic CSV / YAML tables (budget plan, limits, approvals, targets, usage, health, touchpoints) ---------
def sniff_generic(
    head: str, file_name: str, table: str, required: Sequence[str], aliases: dict[str, str]
) -> bool:
    """CSV whose header holds ``required`` (after aliasing) or YAML with a top-level ``<table>:`` key."""
    name = file_name.lower()
    if name.endswith((".yaml", ".yml")):
        return re.search(rf"(?m)^{table}\s*:", head) is not None
    cells = {aliases.get(c.lower(), c.lower()) for c in first_cells(head, 5)}
    return bool(cells) and set(required) <= cells


def read_generic(path: Path, table: str, aliases: dict[str, str]) -> pd.DataFrame:
    """Rows of a generic CSV or YAML (``<table>: [ {col: value}, ... ]``) as strings with ``_line``;
    column names lower-cased and aliased to canonical ones."""
    text = read_text(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        df = _yaml_rows(text, path, table)
    else:
        df = read_block(text, file=path, first_line=1)
    df.columns = [c if c == "_line" else aliases.get(str(c).lower(), str(c).lower()) for c in df.columns]
    return df


def _yaml_rows(text: str, path: Path, table: str) -> pd.DataFrame:
    try:
        node = yaml.compose(text)
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise SourceError(
            f"invalid YAML ({getattr(e, 'problem', e)})",
            file=path,
            line=mark.line + 1 if mark else None,
            hint="Fix the YAML syntax (indentation, colons)",
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get(table), list):
        raise SourceError(
            f"expected a top-level key {table!r} holding a list of rows",
            file=path,
            line=1,
            hint="See params/targets.yaml for the layout",
        )
    # line of each list item from the YAML node tree
    lines: list[int] = []
    assert node is not None
    for k, v in node.value:  # type: ignore[attr-defined]
        if k.value == table:
            lines = [item.start_mark.line + 1 for item in v.value]
    rows = doc[table]
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise SourceError(
                "each row must be a mapping of column: value",
                file=path,
                line=lines[i] if i < len(lines) else None,
            )
    df = pd.DataFrame([{str(k): ("" if v is None else str(v)) for k, v in r.items()} for r in rows]).astype(
        object
    )
    if df.empty:
        df = pd.DataFrame(columns=[])
    df["_line"] = np.array(lines[: len(df)], dtype="int64")
    return df


def write_generic(
    df: pd.DataFrame, path: Path, table: str, columns: dict[str, str], formats: dict[str, Any]
) -> None:
    """Write canonical rows as CSV (``columns`` canonical -> header) or YAML (``<table>:`` list) by suffix."""
    out = pd.DataFrame(index=df.index)
    for canon, header in columns.items():
        s = df[canon] if canon in df.columns else pd.Series(pd.NA, index=df.index)
        f = formats.get(canon)
        out[header] = f(s) if f else text_or_empty(s)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".yaml", ".yml"):
        rows = [{k: v for k, v in r.items() if v != ""} for r in out.to_dict("records")]
        path.write_text(yaml.safe_dump({table: rows}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        out.to_csv(path, index=False, lineterminator="\n")
