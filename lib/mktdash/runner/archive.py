"""The audit archive: immutable run folders, their manifests, and ``outputs/index.html``.

Layout: ``outputs/runs/<iso-week>/<run-id>/{notebooks/, html/, exports/, manifest.json, summary.json}``. A run
folder is created once (``exist_ok=False``) and never rewritten by a later run; a re-run is a new run id.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from mktdash import paths
from mktdash.ingest.filehash import HashCache

MANIFEST = "manifest.json"
PACKAGES = (
    "mktdash", "pandas", "numpy", "duckdb", "ibis-framework", "sqlglot", "papermill", "nbclient", "nbconvert",
    "scrapbook", "pandera", "pymc", "pymc-marketing", "voila", "ipywidgets", "matplotlib", "pydantic",
)  # fmt: skip


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id: ``20261123T101500Z-3fa9``."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def input_hashes(*roots: Path) -> dict[str, str]:
    """sha256 of every file below ``roots`` (inbox, params), keyed by path relative to the home/project."""
    out: dict[str, str] = {}
    with HashCache() as hashes:
        for root in roots:
            if not root.exists():
                continue
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if _regular(p))
            for f in files:
                if not f.name.startswith("."):
                    out[_rel(f)] = hashes.sha256(f)
    return out


def _regular(p: Path) -> bool:
    """A regular file, not a link: ingest refuses links unread (mktdash.ingest.guard), so the manifest does
    not read (hash) what they point to either."""
    return p.is_file() and not p.is_symlink()


def _rel(p: Path) -> str:
    for base in (paths.home(), paths.project_root()):
        try:
            return str(p.resolve().relative_to(base))
        except ValueError:
            continue
    return str(p)


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_commit() -> dict[str, Any]:
    """The project's git commit and whether the tree had uncommitted changes (None outside git)."""
    root = paths.project_root()
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        return {"commit": sha, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


@dataclass(frozen=True)
class RunRef:
    """A run folder in the archive, as listed by ``mktdash runs`` and the index page."""

    week: str
    run_id: str
    path: Path
    summary: dict[str, Any]  # see summary(); the whole manifest is path / MANIFEST

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "unknown"))


SUMMARY = "summary.json"
_SUMMARY_KEYS = ("run_id", "week", "status", "started_at", "finished_at", "duration_seconds", "error")


def summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """What listings show of a run: status, times, error and its notebooks' names, statuses and seconds."""
    out = {k: manifest.get(k) for k in _SUMMARY_KEYS}
    notebooks = manifest.get("notebooks", [])
    out["notebooks"] = [{k: nb.get(k) for k in ("name", "status", "seconds")} for nb in notebooks]
    return out


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest, then its :func:`summary` (``summary.json``), each atomically (temp file + rename)
    so a crash never leaves half a JSON."""
    for name, data in ((MANIFEST, manifest), (SUMMARY, summary(manifest))):
        _write_atomic(run_dir / name, json.dumps(data, indent=2, default=str, sort_keys=False))
    return run_dir / MANIFEST


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    """A run's whole manifest, or None when it is missing or unreadable."""
    with contextlib.suppress(OSError, ValueError):
        return dict(json.loads((run_dir / MANIFEST).read_text(encoding="utf-8")))
    return None


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """A run's summary: ``summary.json`` (~1 kB; the manifest, with every input's hash, is ~50 kB at scale),
    or the manifest's when the summary is missing (an older run) or older than it (a crash in between)."""
    with contextlib.suppress(OSError, ValueError):
        man, summ = run_dir / MANIFEST, run_dir / SUMMARY
        if summ.exists() and summ.stat().st_mtime_ns >= man.stat().st_mtime_ns:
            return json.loads(summ.read_text(encoding="utf-8"))
        return summary(json.loads(man.read_text(encoding="utf-8")))
    return None


def list_runs(root: Path | None = None) -> list[RunRef]:
    """Every archived run, newest first."""
    root = root or paths.runs_dir()
    refs = []
    for m in root.glob("*/*/" + MANIFEST):
        if m.parent.is_symlink():  # a link an older version left at a moved run's first week
            continue
        data = read_summary(m.parent) or {"status": "unreadable"}
        refs.append(RunRef(m.parent.parent.name, m.parent.name, m.parent, data))
    return sorted(refs, key=lambda r: r.run_id, reverse=True)


def write_index(root: Path | None = None) -> Path:
    """Rewrite ``outputs/index.html``: every run with status, timings and links (``runs_index.html.j2``,
    autoescaped)."""
    from mktdash.reporting import templating

    root = root or paths.runs_dir()
    page = templating.render("runs_index.html.j2", runs=[_index_row(root, r) for r in list_runs(root)])
    dest = root.parent / "index.html"
    dest.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(dest, page)
    return dest


def _index_row(root: Path, r: RunRef) -> dict[str, Any]:
    m = r.summary
    folder = f"runs/{r.week}/{r.run_id}"
    names = [str(nb.get("name", "")) for nb in m.get("notebooks", [])]
    links = [
        (n, f"{folder}/html/{n}.html")
        for n in names
        if (root.parent / folder / "html" / f"{n}.html").exists()
    ]
    return {"week": r.week, "run_id": r.run_id, "status": r.status, "started_at": str(m.get("started_at", "")),
            "seconds": float(m.get("duration_seconds") or 0), "links": [*links, ("manifest", f"{folder}/{MANIFEST}")],
            "error": str(m.get("error") or "")}  # fmt: skip


def _write_atomic(dest: Path, text: str) -> None:
    """Write a temp file beside ``dest``, then rename it over ``dest``: a full disk leaves the old file whole."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
