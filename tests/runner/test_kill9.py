"""kill -9 at >= 20 moments of `mktdash ingest` and `mktdash run`: the warehouse stays consistent (checked with
SQL of its own, then against an uninterrupted load), and after the next command no run is left "running", no
crashed run's snapshot is published and the dashboards point at an ok run. Each kill is a real SIGKILL of
the command's process (its kernels, orphaned, end on their own: that is timed too). Prints the kill points
and outcomes (``pytest -s``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from run_world import INGEST, READ, World, make_world

from mktdash import demo

pytestmark = pytest.mark.slow
SOURCES = ("fx", "hubspot", "google_ads")  # a duplicate, a quarantined file, CRM, FX: ~35 files
RUN = {"concurrent": [["r1", "r2"]], "lock_wait_seconds": 30}


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("kill9")
    demo.generate(d / "full", d / "truth.json", seed=3, scale=0.1)
    keep = d / "inbox"
    for src in SOURCES:
        shutil.copytree(d / "full" / src, keep / src)
    tiktok = sorted((d / "full" / "tiktok").iterdir())[-3:]  # the quarantined re-run among them
    (keep / "tiktok").mkdir()
    for f in tiktok:
        shutil.copy(f, keep / "tiktok" / f.name)
    return keep


def _world(base: Path, name: str, inbox: Path) -> World:
    w = make_world(base / name)
    shutil.copytree(inbox, w.home / "data" / "inbox")
    w.notebooks(RUN, i=INGEST, r1=READ, r2=READ, z=READ)
    return w


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    t0 = time.monotonic()
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException:  # an orphaned kernel still holds it (it ends within ~1 s)
            assert time.monotonic() - t0 < 20, "the warehouse stayed locked after the kill"
            time.sleep(0.2)


def problems(home: Path) -> list[str]:
    """What is inconsistent in the warehouse: rows without a ledger row, more rows than the ledger says,
    rows of a file the ledger calls duplicate or quarantined, quarantine rows of a file not quarantined."""
    path = home / "data" / "warehouse.duckdb"
    if not path.exists():
        return []
    out = []
    with _connect(path) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        with_id = {r[0] for r in con.execute("SELECT table_name FROM duckdb_columns() WHERE column_name = "
                                             "'ingest_id' AND table_name <> 'ingest_ledger'").fetchall()}  # fmt: skip
        if "ingest_ledger" not in tables:
            return [f"{t}: rows without a ledger" for t in with_id if con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]]  # type: ignore[index]  # fmt: skip
        for t in sorted(with_id - {"quarantine"}):
            orphans = con.execute(f"SELECT count(*) FROM {t} WHERE ingest_id NOT IN (SELECT ingest_id FROM ingest_ledger)").fetchone()[0]  # type: ignore[index]  # fmt: skip
            if orphans:
                out.append(f"{t}: {orphans} rows without a ledger row")
        # a duplicate's ledger row names the ingest it duplicates: per ingest and table, the rows the loaded
        # (or replacing) file brought are the most there can be; none if no file of that id loaded
        allowed = con.execute(
            "SELECT ingest_id, table_name, sum(CASE WHEN status IN ('loaded', 'replaced') THEN rows ELSE 0 END) "
            "FROM ingest_ledger GROUP BY ALL"
        ).fetchall()
        for ingest_id, table, most in allowed:
            if table not in tables:
                continue
            n = con.execute(f"SELECT count(*) FROM {table} WHERE ingest_id = ?", [ingest_id]).fetchone()[0]  # type: ignore[index]
            if n > most:
                out.append(f"{table}: {n} rows of file {ingest_id} (ledger: at most {most})")
        if "quarantine" in tables:
            stray = con.execute("SELECT count(*) FROM quarantine WHERE ingest_id NOT IN (SELECT ingest_id FROM "
                                "ingest_ledger WHERE status = 'quarantined')").fetchone()[0]  # type: ignore[index]  # fmt: skip
            if stray:
                out.append(f"quarantine: {stray} rows of files not quarantined")
    return out


def fingerprint(home: Path) -> dict[str, Any]:
    """Rows per table and each file's status: what an uninterrupted load leaves."""
    with _connect(home / "data" / "warehouse.duckdb") as con:
        tables = sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall())
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]
        ledger = sorted(con.execute("SELECT file_name, status FROM ingest_ledger").fetchall())
    return {"rows": rows, "ledger": ledger}


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            os.kill(p, 0)
            alive.add(p)
        except ProcessLookupError:
            continue
    return alive


def _kill_when(
    w: World, args: tuple[str, ...], ready: Callable[[], bool], delay: float = 0.0
) -> dict[str, Any]:
    """Start ``mktdash ARGS``; SIGKILL it ``delay`` seconds after ``ready()`` first holds. How it went (killed,
    or it had finished first), and how long its kernels lived on after it."""
    proc = w.start(*args)
    kids: set[int] = set()
    t0, fired = time.monotonic(), None
    while proc.poll() is None and (fired is None or time.monotonic() - fired < delay):
        kids |= _children(proc.pid)
        if fired is None and ready():
            fired = time.monotonic()
        time.sleep(0.02)
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert "Traceback" not in err, err
    t1 = time.monotonic()
    while _alive(kids) and time.monotonic() - t1 < 20:
        time.sleep(0.1)
    assert not _alive(kids), "kernels outlived the killed runner"
    return {"at": round(t1 - t0, 2), "finished": finished, "rc": proc.returncode, "kernels": len(kids),
            "orphans_s": round(time.monotonic() - t1, 1)}  # fmt: skip


def _new_run(w: World, known: set[str]) -> dict[str, Any] | None:
    """The manifest of the run started after ``known`` runs, if it has one yet."""
    new = {k: m for k, m in w.manifests().items() if k not in known}
    return new[max(new)] if new else None


def _phase(w: World, known: set[str]) -> str:
    """How far the killed run got: no folder, n notebooks recorded, its snapshot, its end."""
    if (m := _new_run(w, known)) is None:
        return "no run folder"
    snap = any((w.outputs / "published").glob(f"{m['run_id']}.duckdb"))
    return f"{m['status']}, {len(m['notebooks'])} notebooks recorded" + (", snapshot taken" if snap else "")


def _run_milestones(w: World, known: set[str]) -> list[tuple[str, Callable[[], bool], float, bool]]:
    """Moments of a run to kill it at: (name, condition, seconds after it first holds, whether the run starts
    over an archive with an ok, published run and a loaded warehouse, or from an empty home)."""

    def new() -> dict[str, Any]:
        return _new_run(w, known) or {"run_id": "-", "notebooks": [], "status": "-"}

    def nb(name: str) -> Callable[[], bool]:
        return lambda: any(w.outputs.glob(f"runs/*/{new()['run_id']}/notebooks/{name}.ipynb"))

    def recorded(n: int) -> Callable[[], bool]:
        return lambda: len(new()["notebooks"]) >= n

    def archived(n: int) -> Callable[[], bool]:  # files the ingest notebook archived in data/raw/
        return lambda: sum(1 for p in (w.home / "data" / "raw").rglob("*") if p.is_file()) >= n

    snapshot = lambda: any(w.outputs.glob(f"published/{new()['run_id']}.duckdb"))  # noqa: E731
    return [
        ("interpreter starting", lambda: True, 0.05, False),
        ("lock taken", lambda: (w.outputs / ".run-owner.json").exists(), 0.0, True),
        ("run folder made", lambda: _new_run(w, known) is not None, 0.0, False),
        ("ingest notebook started", nb("i"), 0.0, True),
        ("ingest loading, 2 files archived", archived(2), 0.0, False),
        ("ingest loading, 12 files archived", archived(12), 0.0, False),
        ("ingest loading, 25 files archived", archived(25), 0.0, False),
        ("ingest recorded, week settled", recorded(1), 0.0, True),
        ("10/20 stage running", nb("r1"), 0.1, False),
        ("10/20 stage recorded", recorded(3), 0.0, True),
        ("snapshot taken, last notebook running", snapshot, 0.0, False),
        ("last notebook recorded", recorded(4), 0.0, True),
        ("published", lambda: (w.pointer() or {}).get("run_id") == new()["run_id"], 0.0, False),
    ]  # fmt: skip


def _archive_ok(w: World) -> None:
    listing = w.mktdash("runs")
    assert listing.returncode == 0 and "Traceback" not in listing.stderr, listing.stderr
    assert " running " not in listing.stdout, listing.stdout
    statuses = {m["run_id"]: m["status"] for m in w.manifests().values()}
    assert set(statuses.values()) <= {"ok", "crashed", "failed"}, statuses
    if statuses:
        assert 'class="running"' not in (w.outputs / "index.html").read_text()
    for run_id, status in statuses.items():
        if status != "ok":
            assert not list((w.outputs / "published").glob(f"{run_id}.duckdb*")), run_id
    if pointer := w.pointer():
        assert statuses[pointer["run_id"]] == "ok", pointer


def test_kill_9_during_ingest(inbox: Path, tmp_path: Path) -> None:
    ref = _world(tmp_path, "ref", inbox)
    t0 = time.monotonic()
    assert ref.mktdash("ingest", "--quiet").returncode in (0, 1)
    seconds, want = time.monotonic() - t0, fingerprint(ref.home)
    assert want["rows"]["ad_daily"] > 1000 and {"quarantined", "duplicate"} <= {s for _, s in want["ledger"]}
    assert problems(ref.home) == []  # the checks hold on an uninterrupted load
    outcomes = []
    raw_total = sum(1 for p in (ref.home / "data" / "raw").rglob("*") if p.is_file())
    for i, k in enumerate((0, 1, 3, 6, 10, 15, 20, 25, 30, raw_total)):
        w = _world(tmp_path, f"ingest{i}", inbox)
        raw = w.home / "data" / "raw"
        # kill once k files were archived in data/raw/ (loaded or quarantined): between files, mid-file
        outcome = _kill_when(w, ("ingest", "--quiet"), lambda: sum(1 for p in raw.rglob("*") if p.is_file()) >= k,  # noqa: B023
                             0.05 if k == 0 else 0.0)  # fmt: skip
        outcome.update(raw_files=k, problems=problems(w.home))
        assert outcome["problems"] == [], outcome
        again = w.mktdash("ingest", "--quiet")
        assert again.returncode in (0, 1) and "Traceback" not in again.stderr, again.stderr
        assert fingerprint(w.home) == want
        outcomes.append(outcome)
        shutil.rmtree(w.home)
    print(f"\ningest: {seconds:.1f} s uninterrupted; kills:\n" + "\n".join(json.dumps(o) for o in outcomes))
    assert sum(not o["finished"] for o in outcomes) >= 9


def test_kill_9_during_run(inbox: Path, tmp_path: Path) -> None:
    ref = _world(tmp_path, "ref", inbox)
    t0 = time.monotonic()
    first = ref.mktdash("run")
    seconds, want = time.monotonic() - t0, fingerprint(ref.home)
    assert first.returncode == 3, first.stderr  # the planted bad file: ok, with a quarantined file
    outcomes = []
    for i, (*_, after_ok) in enumerate(_run_milestones(ref, set())):
        w = _world(tmp_path, f"run{i}", inbox)
        if after_ok:
            shutil.rmtree(w.home)
            shutil.copytree(ref.home, w.home, symlinks=True)
        known, before = set(w.manifests()), w.pointer()
        name, ready, delay, _ = _run_milestones(w, known)[i]
        outcome = _kill_when(w, ("run",), ready, delay)
        outcome.update(moment=name, after_ok=after_ok, phase=_phase(w, known), problems=problems(w.home))
        assert outcome["problems"] == [], outcome
        _archive_ok(w)
        if after_ok and w.pointer() != before:  # the pointer moved only to a run that ended ok
            assert w.manifests()[w.pointer()["run_id"]]["status"] == "ok"
        nxt = w.mktdash("run") if i % 3 == 0 else w.mktdash("ingest", "--quiet")
        assert nxt.returncode in (0, 1, 3) and "Traceback" not in nxt.stderr, nxt.stderr
        if i % 3 == 0:
            assert nxt.returncode in (0, 3), nxt.stderr
        assert fingerprint(w.home) == want
        _archive_ok(w)
        outcomes.append(outcome)
        shutil.rmtree(w.home)
    print(f"\nrun: {seconds:.1f} s uninterrupted; kills:\n" + "\n".join(json.dumps(o) for o in outcomes))
    assert sum(not o["finished"] for o in outcomes) >= 10
