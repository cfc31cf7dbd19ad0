"""Write a simulated world into an inbox as the tools' own export files, and its truth as JSON.

Each table goes through the writer of its export-format module (``mktdash.ingest.sources.get(name).write``), split
the way people download reports: monthly or quarterly files per ad account, monthly GA4 downloads, one
snapshot per CRM, quarterly product usage. With ``plant=True`` the inbox also gets what ingest must catch:
data gaps (rows left out), small files with bad rows (to be quarantined whole), a corrected re-export that
must replace an earlier file's period, and an exact duplicate under another name; all recorded in the truth.

File modification times are set to the morning after each file's period (as if exported then), so
processing in time order loads an original before its re-export.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mktdash.demo.catalogue import ACCOUNTS
from mktdash.demo.world import World, simulate

# format -> (inbox folder, period of one file: "M" month | "Q" quarter, file name pattern)
AD_FILES: dict[str, tuple[str, str, str]] = {
    "google_ads_ui": ("google_ads", "M", "{account_name} - Ad report - {start:%Y-%m}.csv"),
    "google_ads_editor": ("google_ads_editor", "Q", "editor_{account_id}_{start:%Y}-Q{quarter}.csv"),
    "fivetran": ("fivetran", "Q", "ad_reporting__ad_report_{start:%Y}q{quarter}.parquet"),
    "microsoft_ads": ("microsoft_ads", "M", "Campaign_Performance_{start:%Y%m}.csv"),
    "meta": ("meta", "M", "Acme-Outdoor-Ads-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv"),
    "linkedin": ("linkedin", "Q", "campaign_performance_report_{start:%Y%m%d}_{end:%Y%m%d}.csv"),
    "tiktok": ("tiktok", "M", "TikTok_Ads_Manager_{start:%Y%m}.csv"),
}
WRITE_OPTS: dict[str, dict[str, Any]] = {
    "google_ads_ui": {"level": "ad", "day": True},
    "meta": {"summary": True},
}
# planted gaps: (format, weeks before the latest complete week, weekday of the first missing day, days)
GAPS: tuple[tuple[str, int, int, int], ...] = (("linkedin", 9, 2, 3), ("microsoft_ads", 30, 5, 2))
REEXPORT = ("meta", 5)  # (format, months before the current month) of the corrected re-export
REEXPORT_CHANGES = {
    "conversions": 0.85,
    "late_spend": 0.70,
    "late_days": 3,
}  # the first export was incomplete
DUPLICATE = ("google_ads_ui", 3)  # (format, months before the current month) copied under another name
FALLBACK_NOTE = "written as canonical CSV: the format module was not available"


def generate(
    inbox: Path | str,
    truth_path: Path | str,
    seed: int = 7,
    scale: float = 1.0,
    end: dt.date | str | None = None,
    plant: bool = True,
    hostile_names: bool = False,
    weeks: int = 106,
    confound: float = 0.0,
    lift_test: bool = False,
) -> World:
    """Simulate a world and write it as export files into ``inbox``, its truth to ``truth_path``.

    Parameters
    ----------
    inbox : path
        Folder that receives one subfolder per source (``google_ads/``, ``meta/``, ``ga4/``, ...).
    truth_path : path
        Where ``truth.json`` goes (docs/contracts.md layout plus ``files``, ``gaps``, ``bad_rows``, ``reexports``,
        ``duplicates``).
    seed, scale, end, plant, hostile_names, weeks, confound, lift_test
        As :func:`mktdash.demo.world.simulate` (``lift_test``: also ``plans/lift_tests.csv``).

    Returns
    -------
    World
        The simulated world, ``truth`` completed with what was written.
    """
    world = simulate(
        seed=seed,
        scale=scale,
        end=end,
        weeks=weeks,
        plant=plant,
        hostile_names=hostile_names,
        confound=confound,
        lift_test=lift_test,
    )
    writer = _Writer(Path(inbox), world)
    gaps = _gap_ranges(world) if plant else []
    writer.ad_files(gaps)
    writer.other_files()
    if plant:
        writer.bad_files()
        writer.reexport()
        writer.duplicate()
    t = world.truth
    t["gaps"] = [
        {
            "source": g["source"],
            "platform": g["platform"],
            "account_id": g["account_id"],
            "start": g["start"].isoformat(),
            "end": g["end"].isoformat(),
            "days": g["days"],
        }
        for g in gaps
    ]
    t["bad_rows"], t["reexports"], t["duplicates"] = writer.bad_rows, writer.reexports, writer.duplicates
    t["files"] = writer.files
    t["fallbacks"] = writer.fallbacks
    truth_path = Path(truth_path)
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.write_text(json.dumps(t, indent=1, default=_json_default) + "\n", encoding="utf-8")
    return world


def _json_default(o: Any) -> Any:
    if isinstance(o, dt.date | pd.Timestamp):
        return o.isoformat()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o))


def _gap_ranges(world: World) -> list[dict[str, Any]]:
    """The planted missing-day ranges, one per GAPS entry (first account of that format)."""
    out = []
    last_monday = pd.Timestamp(world.axis.mondays[world.axis.n_complete - 1])
    for fmt, weeks_back, weekday, days in GAPS:
        acct = next(a for a in ACCOUNTS.values() if a[1] == fmt)
        start = (last_monday - pd.Timedelta(weeks=weeks_back) + pd.Timedelta(days=weekday)).date()
        out.append(
            {
                "source": fmt,
                "platform": acct[0],
                "account_id": acct[2],
                "start": start,
                "end": start + dt.timedelta(days=days - 1),
                "days": days,
            }
        )
    return out


def _periods(first: pd.Timestamp, last: pd.Timestamp, freq: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Calendar months or quarters covering [first, last], clipped to it."""
    starts = pd.period_range(first, last, freq=freq)
    return [(max(p.start_time.normalize(), first), min(p.end_time.normalize(), last)) for p in starts]


class _Writer:
    """Writes files and keeps the records that go into the truth."""

    def __init__(self, inbox: Path, world: World) -> None:
        self.inbox, self.world = inbox, world
        self.files: list[dict[str, Any]] = []
        self.bad_rows: list[dict[str, Any]] = []
        self.reexports: list[dict[str, Any]] = []
        self.duplicates: list[dict[str, Any]] = []
        self.fallbacks: list[str] = []
        camp = world.catalogue.campaigns
        self.campaign_type = dict(zip(camp["campaign_id"], camp["campaign_type"], strict=True))
        self._by_file: dict[str, pd.DataFrame] = {}

    # ---- plumbing ------------------------------------------------------------------------------------------
    def _module(self, fmt: str) -> Any:
        try:
            from mktdash.ingest import sources

            return sources.get(fmt)
        except Exception:  # the format module is missing: canonical CSV instead (said in the truth)
            return None

    def write(
        self, fmt: str, table: str, df: pd.DataFrame, rel: str, stamp: dt.date | None = None, **opts: Any
    ) -> Path:
        """Write ``df`` with format ``fmt`` to ``inbox/rel`` and record the file."""
        path = self.inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        mod = self._module(fmt)
        if mod is None:
            path = path.with_suffix(".csv")
            df.to_csv(path, index=False)
            self.fallbacks.append(f"{fmt}: {FALLBACK_NOTE}")
        else:
            mod.write(df, path, **opts)
        dates = _dates_of(df)
        self.files.append(
            {
                "file": path.relative_to(self.inbox).as_posix(),
                "format": fmt,
                "table": table,
                "rows": len(df),
                "start": dates[0],
                "end": dates[1],
            }
        )
        self._by_file[path.relative_to(self.inbox).as_posix()] = df
        _touch(path, stamp or (dt.date.fromisoformat(dates[1]) if dates[1] else self.world.axis.end))
        return path

    # ---- ad platforms --------------------------------------------------------------------------------------
    def _ad_rows(self) -> pd.DataFrame:
        ad = self.world.tables["ad_daily"]
        ad = ad.assign(_campaign_type=ad["campaign_id"].map(self.campaign_type).astype("string"))
        return ad

    def ad_files(self, gaps: list[dict[str, Any]]) -> None:
        ad = self._ad_rows()
        first, last = ad["date_day"].min(), ad["date_day"].max()
        for _key, (platform, fmt, account_id, _name, _cur) in ACCOUNTS.items():
            acct = ad[(ad["platform"] == platform) & (ad["account_id"] == account_id)]
            for g in gaps:
                if g["account_id"] == account_id:
                    day = acct["date_day"].dt.date
                    acct = acct[(day < g["start"]) | (day > g["end"])]
            folder, freq, pattern = AD_FILES[fmt]
            for start, stop in _periods(first, last, freq):
                rows = acct[(acct["date_day"] >= start) & (acct["date_day"] <= stop)]
                if rows.empty:
                    continue
                name = pattern.format(
                    account_name=_name, account_id=account_id, start=start, end=stop, quarter=start.quarter
                )
                self.write(
                    fmt,
                    "ad_daily",
                    rows.drop(columns="_campaign_type") if fmt == "fivetran" else rows,
                    f"{folder}/{name}",
                    **WRITE_OPTS.get(fmt, {}),
                )

    # ---- everything else -----------------------------------------------------------------------------------
    def other_files(self) -> None:
        w, t = self.world, self.world.tables
        end = w.axis.end
        web = t["web_daily"]
        months = _periods(web["date_day"].min(), web["date_day"].max(), "M")
        for i, (start, stop) in enumerate(months):
            rows = web[(web["date_day"] >= start) & (web["date_day"] <= stop)]
            opts: dict[str, Any] = {"property_name": "Acme Outdoor Web", "account": "Acme Outdoor"}
            if i < 3:
                opts["legacy"] = True  # the oldest downloads still say "Conversions"
            if i == len(months) - 1:
                opts["summary_section"] = True
            self.write(
                "ga4",
                "web_daily",
                rows,
                f"ga4/GA4_Traffic_acquisition_{start:%Y%m%d}-{stop:%Y%m%d}.csv",
                **opts,
            )
        deals = t["crm_deals"]
        contacts = t["crm_contacts"].merge(w.contacts_pii, on="contact_id", how="left")
        self.write(
            "hubspot_deals",
            "crm_deals",
            deals[deals["crm"] == "hubspot"],
            f"hubspot/hubspot-crm-exports-all-deals-{end:%Y-%m-%d}.csv",
        )
        self.write(
            "hubspot_contacts",
            "crm_contacts",
            contacts,
            f"hubspot/hubspot-crm-exports-all-contacts-{end:%Y-%m-%d}.csv",
        )
        self.write(
            "salesforce",
            "crm_deals",
            deals[deals["crm"] == "salesforce"],
            f"salesforce/Opportunities_EMEA_{end:%Y%m%d}.csv",
        )
        usage = t["product_usage"]
        for start, stop in _periods(usage["date_day"].min(), usage["date_day"].max(), "Q"):
            rows = usage[(usage["date_day"] >= start) & (usage["date_day"] <= stop)]
            self.write(
                "product_usage",
                "product_usage",
                rows,
                f"product/product_usage_{start:%Y}q{start.quarter}.csv",
            )
        self.write(
            "customer_health",
            "customer_health",
            t["customer_health"],
            f"product/customer_health_{end:%Y%m%d}.csv",
        )
        tp = t["touchpoints"]
        self.write(
            "touchpoints",
            "touchpoints",
            tp,
            f"touchpoints/journeys_{tp['touch_ts'].min():%Y%m%d}_{tp['touch_ts'].max():%Y%m%d}.csv",
        )
        self.write("fx_rates", "fx_rates", t["fx_rates"], f"fx/fx_rates_{end:%Y%m%d}.csv")
        self.write("budget_plan", "budget_plan", t["budget_plan"], "plans/budget_plan.csv")
        self.write("spend_limits", "spend_limits", t["spend_limits"], "plans/spend_limits.yaml")
        self.write("approvals", "approvals", t["approvals"], "plans/approvals.csv")
        self.write("kpi_targets", "kpi_targets", t["kpi_targets"], "plans/kpi_targets.yaml")
        if "lift_tests" in t:  # a world with a planted holdout (lift_test=True)
            self.write("lift_tests", "lift_tests", t["lift_tests"], "plans/lift_tests.csv")

    # ---- planted file problems -----------------------------------------------------------------------------
    def bad_files(self) -> None:
        """Small extra exports, each with one row that must get the whole file quarantined."""
        ad = self._ad_rows()
        last = ad["date_day"].max()
        specs: list[tuple[str, str, Callable[[pd.DataFrame], pd.DataFrame], str, str, str, str]] = [
            (
                "meta",
                "meta/Acme-Outdoor-Ads-late-adjustments-{d:%Y-%m-%d}.csv",
                lambda r: r.assign(spend=r["spend"].where(r.index != r.index[1], -45.17)),
                "-45.17",
                "-45.17",
                "spend",
                "negative spend",
            ),
            (
                "google_ads_ui",
                "google_ads/Acme Outdoor US - Ad report - fix {d:%Y-%m-%d}.csv",
                lambda r: r.assign(
                    clicks=r["clicks"].where(r.index != r.index[2], 98765),
                    impressions=r["impressions"].where(r.index != r.index[2], 4321),
                ),
                "98,765",
                "98,765",
                "clicks",
                "clicks greater than impressions",
            ),
            (
                "tiktok",
                "tiktok/TikTok_Ads_Manager_{d:%Y%m%d}_rerun.csv",
                lambda r: r.assign(spend=r["spend"].where(r.index != r.index[1], 424242.42)),
                "424242.42",
                '"12,3x4"',
                "spend",
                "garbage number 12,3x4",
            ),
        ]
        for fmt, pattern, corrupt, sentinel, replacement, column, problem in specs:
            acct = next(a for a in ACCOUNTS.values() if a[1] == fmt)
            day0 = last - pd.Timedelta(days=40)
            rows = ad[
                (ad["account_id"] == acct[2])
                & (ad["date_day"] >= day0)
                & (ad["date_day"] < day0 + pd.Timedelta(days=2))
            ].head(8)
            rows = corrupt(rows)
            rel = pattern.format(d=day0)
            path = self.write(
                fmt, "ad_daily", rows, rel, stamp=self.world.axis.end, **WRITE_OPTS.get(fmt, {})
            )
            line, header = _plant_text(path, sentinel, replacement)
            self.files[-1]["bad"] = True
            self.bad_rows.append(
                {
                    "file": rel,
                    "source": fmt,
                    "line": line,
                    "column": header,
                    "canonical_column": column,
                    "problem": problem,
                    "value": replacement.strip('"'),
                    "rows_in_file": len(rows),
                }
            )

    def reexport(self) -> None:
        """The first download of an older month was incomplete; the later corrected one must replace it."""
        fmt, months_back = REEXPORT
        target = (pd.Timestamp(self.world.axis.end).to_period("M") - months_back).start_time
        rec = next(f for f in self.files if f["format"] == fmt and f["start"] == target.date().isoformat())
        final = self.inbox / rec["file"]
        corrected = final.with_name(final.stem + "_v2" + final.suffix)
        os.replace(final, corrected)
        final_df = self._by_file[rec["file"]]
        df = final_df.copy()
        late = df["date_day"] > df["date_day"].max() - pd.Timedelta(days=REEXPORT_CHANGES["late_days"])
        df["spend"] = np.round(df["spend"].where(~late, df["spend"] * REEXPORT_CHANGES["late_spend"]), 2)
        df["conversions"] = np.floor(df["conversions"] * REEXPORT_CHANGES["conversions"])
        df["conversions_value"] = np.round(df["conversions_value"] * REEXPORT_CHANGES["conversions"], 2)
        self._module(fmt).write(df, final, **WRITE_OPTS.get(fmt, {}))
        end_day = dt.date.fromisoformat(rec["end"])
        _touch(final, end_day)
        _touch(corrected, end_day + dt.timedelta(days=20))
        first_rel, corrected_rel = (
            final.relative_to(self.inbox).as_posix(),
            corrected.relative_to(self.inbox).as_posix(),
        )
        rec["file"] = corrected_rel
        self.files.append({**rec, "file": first_rel, "superseded_by": corrected_rel})
        self.reexports.append(
            {
                "file": corrected_rel,
                "replaces": first_rel,
                "source": fmt,
                "account_id": str(df["account_id"].iloc[0]),
                "start": rec["start"],
                "end": rec["end"],
                "difference": "the first export missed late conversions (x0.85) and the last 3 days' spend (x0.7)",
                "spend_first": round(float(df["spend"].sum()), 2),
                "spend_corrected": round(float(final_df["spend"].sum()), 2),
            }
        )

    def duplicate(self) -> None:
        """An exact copy of an earlier file under the name a second download gets."""
        fmt, months_back = DUPLICATE
        target = (pd.Timestamp(self.world.axis.end).to_period("M") - months_back).start_time
        rec = next(
            f
            for f in self.files
            if f["format"] == fmt and f["start"] == target.date().isoformat() and not f.get("bad")
        )
        src = self.inbox / rec["file"]
        dst = src.with_name(src.stem + " (1)" + src.suffix)
        shutil.copyfile(src, dst)
        _touch(dst, dt.date.fromisoformat(rec["end"]) + dt.timedelta(days=5))
        self.files.append(
            {**rec, "file": dst.relative_to(self.inbox).as_posix(), "duplicate_of": rec["file"]}
        )
        self.duplicates.append(
            {"file": dst.relative_to(self.inbox).as_posix(), "duplicate_of": rec["file"], "source": fmt}
        )


def _dates_of(df: pd.DataFrame) -> tuple[str | None, str | None]:
    for c in ("date_day", "snapshot_date", "month", "touch_ts", "created_date"):
        if c in df and len(df) and df[c].notna().any():
            s = pd.to_datetime(df[c])
            return s.min().date().isoformat(), s.max().date().isoformat()
    return None, None


def _touch(path: Path, day: dt.date) -> None:
    """Set the file's modification time to 06:00 UTC the day after ``day`` (never in the future)."""
    ts = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(6), tzinfo=dt.UTC).timestamp()
    ts = min(ts, dt.datetime.now(dt.UTC).timestamp())
    os.utime(path, (ts, ts))


def _plant_text(path: Path, sentinel: str, replacement: str) -> tuple[int, str]:
    """Replace the one cell holding ``sentinel`` by ``replacement``; return (1-based line, column header).

    The header is the first line with as many cells as the data line (preamble lines are shorter).
    """
    raw = path.read_bytes()
    utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
    text = raw.decode("utf-16" if utf16 else "utf-8-sig")
    lines = text.split("\n")
    sep = "\t" if "\t" in lines[0] else ","
    for i, line in enumerate(lines):
        cells = next(csv.reader([line.rstrip("\r")], delimiter=sep), [])
        hits = [j for j, c in enumerate(cells) if c.strip() == sentinel]
        if hits:
            j = hits[0]
            header = next(
                h
                for h in (next(csv.reader([lines[k].rstrip("\r")], delimiter=sep), []) for k in range(i))
                if len(h) == len(cells)
            )
            cells[j] = replacement.strip('"')
            buf = io.StringIO()
            csv.writer(buf, delimiter=sep, lineterminator="").writerow(cells)
            lines[i] = buf.getvalue() + ("\r" if line.endswith("\r") else "")
            out = "\n".join(lines)
            path.write_bytes(out.encode("utf-16") if utf16 else out.encode("utf-8"))
            return i + 1, header[j]
    raise ValueError(f"sentinel {sentinel!r} not found in {path.name}")
