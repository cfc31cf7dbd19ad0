"""Published data for the dashboards: a read-only DuckDB snapshot per successful run plus a pointer file.

Dashboards never open the live warehouse (a weekly run may be writing it). Each successful run publishes
(:func:`publish`; the runner takes the :func:`snapshot` while its last, read-only notebook runs and calls
:func:`point` once that notebook succeeded, taking the snapshot again if the warehouse changed meanwhile):

1. copies the warehouse into ``outputs/published/<run-id>.duckdb`` while holding DuckDB's shared lock on it
   (no writer can change it mid-copy; when another process holds the write lock, the file and its WAL are
   copied aside and DuckDB's ``COPY FROM DATABASE`` reads that copy),
2. adds the dashboards' weekly rows (``dash_ad_weekly``: one row per ISO week x channel x platform x campaign,
   summed from the one weekly rollup, :func:`mktdash.warehouse.rollup.dashboard_sql`) so that a page view
   reads a few thousand rows instead of scanning ``ad_daily``,
3. marks the file read-only and atomically replaces ``outputs/published/latest.json`` (write a temp file,
   then ``os.replace``), so a dashboard sees either the old or the new snapshot, never half of one.

Old snapshots beyond ``keep`` are removed (an open read-only handle on Linux keeps working on an unlinked file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mktdash import paths
from mktdash.warehouse import files

POINTER = "latest.json"


@dataclass(frozen=True)
class Published:
    """What ``latest.json`` points at (paths resolved against ``outputs/``)."""

    run_id: str
    week: str
    run_dir: Path
    snapshot: Path
    published_at: str


def published_dir() -> Path:
    return paths.outputs_dir() / "published"


def _rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(paths.outputs_dir().resolve()))
    except ValueError:
        return str(p.resolve())


def _manifest(run_dir: Path) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    return {}


def publish(run_dir: Path | str, wh_path: Path | str | None = None, *, keep: int = 8) -> Path:
    """Publish a read-only snapshot of the warehouse for the run in ``run_dir``; return the snapshot path.

    Parameters
    ----------
    run_dir
        The run folder ``outputs/runs/<iso-week>/<run-id>`` (its ``manifest.json`` gives run id and week;
        otherwise the folder names do).
    wh_path
        The DuckDB warehouse file; default ``data/warehouse.duckdb`` under ``MKTDASH_HOME``.
    keep
        How many snapshots to keep in ``outputs/published/`` (older ones are deleted).
    """
    return point(run_dir, snapshot(run_dir, wh_path), keep=keep)


def snapshot(run_dir: Path | str, wh_path: Path | str | None = None) -> Path:
    """Steps 1 and 2 of :func:`publish`: the run's read-only ``<run-id>.duckdb``, not yet pointed at (the
    runner takes it while its last notebook runs, and points at it once that notebook succeeded)."""
    run_dir = Path(run_dir).resolve()
    src = Path(wh_path) if wh_path else paths.warehouse_path()
    if not src.exists():
        raise FileNotFoundError(f"No warehouse at {src}: nothing to publish")
    out = published_dir()
    out.mkdir(parents=True, exist_ok=True)
    run_id = str(_manifest(run_dir).get("run_id") or run_dir.name)
    dest = out / f"{run_id}.duckdb"
    tmp = out / f".{run_id}.{os.getpid()}.tmp.duckdb"
    tmp.unlink(missing_ok=True)
    try:
        files.snapshot(src, tmp)
        if dest.exists():
            dest.chmod(stat.S_IRUSR | stat.S_IWUSR)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    dest.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return dest


def point(run_dir: Path | str, dest: Path, *, keep: int = 8) -> Path:
    """Step 3 of :func:`publish`: make the snapshot ``dest`` the latest (atomically) and prune old ones."""
    run_dir = Path(run_dir).resolve()
    man = _manifest(run_dir)
    out = published_dir()
    pointer = {
        "run_id": str(man.get("run_id") or run_dir.name),
        "week": str(man.get("week") or run_dir.parent.name),
        "run_dir": _rel(run_dir),
        "snapshot": _rel(dest),
        "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    fd, name = tempfile.mkstemp(dir=out, prefix=".latest.", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(pointer, f, indent=2)
    os.replace(name, out / POINTER)
    write_dashboard_params(dest)
    _prune(out, keep=keep, current=dest)
    return dest


DASHBOARD_PARAMS = "dashboard.yaml"


def dashboard_params_file() -> Path:
    """A params file pointing ``warehouse.path`` at the latest snapshot; ``mktdash serve`` puts it on
    ``$MKTDASH_PARAMS`` for every dashboard kernel, so notebooks that open ``Warehouse.from_settings``
    (e.g. 20_budget) read the published snapshot, never the live warehouse."""
    return published_dir() / DASHBOARD_PARAMS


def write_dashboard_params(snapshot: Path | None) -> Path:
    """(Re)write :func:`dashboard_params_file` atomically; ``None`` writes a no-op file (nothing published)."""
    out = dashboard_params_file()
    out.parent.mkdir(parents=True, exist_ok=True)
    body = "# written by mktdash.dashboards.publish: served dashboards read the latest published snapshot\nschema_version: 1\n"
    if snapshot is not None:
        body += f"warehouse:\n  backend: duckdb\n  path: {json.dumps(str(Path(snapshot).resolve()))}\n"
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=".dashboard.", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(body)
    os.replace(name, out)
    return out


def _prune(out: Path, *, keep: int, current: Path) -> None:
    snaps = sorted(out.glob("*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [s for s in snaps if s != current][max(keep - 1, 0) :]:
        with contextlib.suppress(OSError):
            old.chmod(stat.S_IRUSR | stat.S_IWUSR)
            old.unlink()


def latest() -> Published | None:
    """The current published snapshot, or None when nothing was published yet."""
    p = published_dir() / POINTER
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

    def res(s: str) -> Path:
        q = Path(s)
        return q if q.is_absolute() else paths.outputs_dir() / q

    return Published(
        run_id=str(d["run_id"]),
        week=str(d["week"]),
        run_dir=res(d["run_dir"]),
        snapshot=res(d["snapshot"]),
        published_at=str(d.get("published_at", "")),
    )
