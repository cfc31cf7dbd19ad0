"""Write the tables a notebook shows to the run folder: ``exports/<name>.csv`` and one Excel workbook.

Generic: any notebook collects its views in a dict ``{name: DataFrame}`` and calls :func:`write_views`.
Sheet names are made Excel-safe (<= 31 characters, no ``[]:*?/\\``, unique); text cells that Excel would
execute as formulas (starting with ``= + - @``) are prefixed with an apostrophe in the workbook only.

>>> safe_sheet_name("Campaign drill-down: W46 / all [top]")
'Campaign drill-down W46 all top'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import pandas as pd

from mktdash import paths

_BAD = re.compile(r"[\[\]:*?/\\]")


def export_dir(run_dir: str | Path | None) -> Path:
    """``<run_dir>/exports`` (created); ``outputs/scratch/exports`` when ``run_dir`` is empty."""
    base = Path(run_dir) if run_dir else paths.scratch_dir()
    out = base / "exports"
    out.mkdir(parents=True, exist_ok=True)
    return out


def safe_sheet_name(name: str, taken: set[str] | None = None) -> str:
    s = re.sub(r"\s+", " ", _BAD.sub(" ", name)).strip()[:31] or "sheet"
    taken = taken if taken is not None else set()
    base, i = s, 2
    while s.lower() in {t.lower() for t in taken}:
        suffix = f" ({i})"
        s, i = base[: 31 - len(suffix)] + suffix, i + 1
    return s


def _excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if isinstance(col.dtype, pd.StringDtype):  # text columns (str or missing): one vectorised test
            risky = col.str[:1].isin(list("=+-@")).fillna(False).to_numpy(bool)
            if risky.any():
                out[c] = col.where(~risky, "'" + col)
        elif col.dtype == object:
            out[c] = col.map(lambda v: "'" + v if isinstance(v, str) and v[:1] in "=+-@" else v)
        elif isinstance(col.dtype, pd.DatetimeTZDtype):
            out[c] = col.dt.tz_localize(None)
    return out


def excel_writer(target: str | Path | IO[bytes]) -> pd.ExcelWriter:
    """pandas' writer on XlsxWriter (twice as fast as openpyxl here), storing every text cell as text: no
    formula, no hyperlink made out of a campaign name."""
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    return pd.ExcelWriter(target, engine="xlsxwriter", engine_kwargs={"options": options})


def slug(name: str) -> str:
    """A file-name-safe lower-case name: ``"Alerts: ranked"`` -> ``"alerts_ranked"``."""
    return re.sub(r"[^a-z0-9_.-]+", "_", name.lower()).strip("_.") or "view"


def write_csv(df: pd.DataFrame, name: str, run_dir: str | Path | None) -> Path:
    """``exports/<slug(name)>.csv`` (no index)."""
    p = export_dir(run_dir) / f"{slug(name)}.csv"
    df.to_csv(p, index=False)
    return p


def write_views(views: Mapping[str, pd.DataFrame], run_dir: str | Path | None, *,
                workbook: str = "views.xlsx", csv: bool = True) -> dict[str, Path]:
    """Write every view as CSV (``csv=True``) and all of them into one workbook, a sheet per view.

    Returns ``{name: csv path, ..., "_workbook": xlsx path}``.
    """
    out: dict[str, Path] = {}
    d = export_dir(run_dir)
    if csv:
        for name, df in views.items():
            out[name] = write_csv(df, name, run_dir)
    xlsx = d / workbook
    taken: set[str] = set()
    with excel_writer(xlsx) as xw:
        for name, df in views.items():
            sheet = safe_sheet_name(name, taken)
            taken.add(sheet)
            _excel_safe(df).to_excel(xw, sheet_name=sheet, index=False)
        if not views:
            pd.DataFrame().to_excel(xw, sheet_name="empty", index=False)
    out["_workbook"] = xlsx
    return out
