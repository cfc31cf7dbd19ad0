"""What a notebook knows about the run it is part of: settings, report week, run folder, display mode.

Every weekly notebook starts with ``ctx = RunContext.create(week=week, params=params, run_dir=run_dir,
mode=mode)`` right after its parameters cell, so the four papermill parameters mean the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mktdash import params as params_mod
from mktdash import paths
from mktdash.params import Settings

MODES = ("static", "live")


def detect_mode(mode: str = "auto") -> str:
    """``static`` under papermill/nbclient, ``live`` under Voilà (it sets ``VOILA_*`` in the kernel env)."""
    if mode in MODES:
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be static, live or auto, not {mode!r}")
    return "live" if any(k.startswith("VOILA_") for k in os.environ) else "static"


@dataclass
class RunContext:
    settings: Settings
    requested_week: str
    run_dir: Path
    mode: str
    scratch: bool

    @classmethod
    def create(
        cls,
        *,
        week: str = "latest",
        params: Mapping[str, Any] | None = None,
        run_dir: str = "",
        mode: str = "auto",
    ) -> RunContext:
        settings = params_mod.load(params)
        scratch = not run_dir
        folder = Path(run_dir) if run_dir else paths.scratch_dir()
        (folder / "exports").mkdir(parents=True, exist_ok=True)
        ctx = cls(settings, week, folder, detect_mode(mode), scratch)
        _for_readers(ctx)
        return ctx

    @property
    def exports_dir(self) -> Path:
        return self.run_dir / "exports"

    @property
    def run_id(self) -> str:
        return "scratch" if self.scratch else self.run_dir.name

    @property
    def live(self) -> bool:
        return self.mode == "live"

    def week(self, today: dt.date | None = None) -> str:
        """The report week: as requested, or the latest complete week of the data for ``latest``."""
        from mktdash.runner.pipeline import resolve_week

        return resolve_week(self.requested_week, today)

    def export_tables(self, tables: Mapping[str, pd.DataFrame], prefix: str = "") -> list[Path]:
        """Write each table as ``exports/<prefix>_<name>.csv``; returns the paths (shown in the notebook)."""
        from mktdash.reporting import exports

        return [
            exports.write_csv(df, f"{prefix}_{name}" if prefix else name, self.run_dir)
            for name, df in tables.items()
        ]

    def glue(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Record headline figures in the notebook (read back into the manifest by the runner)."""
        clean = {k: v.item() if hasattr(v, "item") else v for k, v in values.items()}
        for k, v in clean.items():
            glue(k, v)
        return clean


def _for_readers(ctx: RunContext) -> None:
    """Tables shown in the reporting currency with partial weeks marked; a weekly run's warnings to its log."""
    from mktdash.reporting import numbers, tables  # noqa: F401  (importing tables formats every DataFrame shown)
    from mktdash.runner import runlog
    from mktdash.runner.pipeline import data_last_day

    try:
        last = data_last_day()
    except Exception:  # noqa: BLE001 - the warehouse busy or not there yet: no week is marked partial
        last = None
    numbers.configure(currency=ctx.settings.reporting_currency, last_day=last, home=paths.home())
    if not ctx.scratch and not ctx.live:
        runlog.to_run_log(ctx.run_dir)


def glue(name: str, value: Any) -> None:
    """Record ``value`` under ``name`` as a scrapbook scrap (``scrapbook.read_notebook(nb).scraps[name]``).

    Writes scrapbook's glue payload itself: importing scrapbook in a kernel costs ~1.5 s (it imports
    papermill). Strings use scrapbook's ``text`` encoder, everything else its ``json`` one; a DataFrame is
    recorded as a list of row records, numpy scalars as Python numbers.
    """
    from IPython.display import display

    if isinstance(value, pd.DataFrame):
        value = json.loads(value.to_json(orient="records", date_format="iso"))
    elif hasattr(value, "item"):
        value = value.item()
    encoder = "text" if isinstance(value, str) else "json"
    payload = {"name": name, "data": value, "encoder": encoder, "version": 1}
    display(
        {f"application/scrapbook.scrap.{encoder}+json": payload},
        metadata={"scrapbook": {"name": name, "data": True, "display": False}},
        raw=True,
    )
