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
from pathlib import Path
from typing import Any

import duckdb
import pytest
from run_world import INGEST, READ, World, make_world

from mktdash import demo

pytestmark = pytest.mark.slow
SOURCES = ("fx", "hubspot", "google_ads")  # a duplicate, a quarantined file, CRM, FX: ~35 files
RUN = {"concurrent": [["r1", "r2"]], "lock_wait_seconds": 30}
FRACTIONS = (0.02, 0.08, 0.15, 0.25, 0.35, 0.45, 0.55, 0.7, 0.85, 1.0)


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


def _kill_at(w: World, args: tuple[str, ...], at: float) -> dict[str, Any]:
    """Start ``mktdash ARGS``, SIGKILL it ``at`` seconds later; how it went, and how long its kernels lived on."""
    proc = w.start(*args)
    kids: set[int] = set()
    t0 = time.monotonic()
    while time.monotonic() - t0 < at and proc.poll() is None:
        kids |= _children(proc.pid)
        time.sleep(0.05)
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert "Traceback" not in err, err
    t1 = time.monotonic()
    while _alive(kids) and time.monotonic() - t1 < 20:
        time.sleep(0.1)
    assert not _alive(kids), "kernels outlived the killed runner"
    return {
        "at": round(at, 2),
        "finished": finished,
        "kernels": len(kids),
        "orphans_s": round(time.monotonic() - t1, 1),
    }


def _phase(w: World) -> str:
    """How far the killed run got: nothing, its folder, n notebooks, its snapshot, done."""
    ms = list(w.manifests().values())
    if not ms:
        return "no run folder"
    m = max(ms, key=lambda m: m["run_id"])
    snap = any((w.outputs / "published").glob(f"{m['run_id']}.duckdb"))
    return f"{m['status']}, {len(m['notebooks'])} notebooks" + (", snapshot" if snap else "")


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
    for i, f in enumerate(FRACTIONS):
        w = _world(tmp_path, f"ingest{i}", inbox)
        outcome = _kill_at(w, ("ingest", "--quiet"), f * seconds)
        outcome["problems"] = problems(w.home)
        assert outcome["problems"] == [], outcome
        again = w.mktdash("ingest", "--quiet")
        assert again.returncode in (0, 1) and "Traceback" not in again.stderr, again.stderr
        assert fingerprint(w.home) == want
        outcomes.append(outcome)
        shutil.rmtree(w.home)
    print(f"\ningest: {seconds:.1f} s uninterrupted; kills: {json.dumps(outcomes)}")
    assert sum(not o["finished"] for o in outcomes) >= 9


def test_kill_9_during_run(inbox: Path, tmp_path: Path) -> None:
    ref = _world(tmp_path, "ref", inbox)
    t0 = time.monotonic()
    first = ref.mktdash("run")
    seconds, want = time.monotonic() - t0, fingerprint(ref.home)
    assert first.returncode == 3, first.stderr  # the planted bad file: ok, with a quarantined file
    outcomes = []
    for i, f in enumerate((0.01, *FRACTIONS)):
        after_ok = i % 2 == 1  # every other kill hits a run over an archive with an ok, published run
        w = _world(tmp_path, f"run{i}", inbox)
        if after_ok:
            shutil.rmtree(w.home)
            shutil.copytree(ref.home, w.home, symlinks=True)
        before = w.pointer()
        outcome = _kill_at(w, ("run",), f * seconds)
        outcome.update(after_ok=after_ok, phase=_phase(w), problems=problems(w.home))
        assert outcome["problems"] == [], outcome
        _archive_ok(w)
        if after_ok and w.pointer() != before:  # the pointer moved only to a run that ended ok
            assert outcome["finished"] or w.manifests()[w.pointer()["run_id"]]["status"] == "ok"
        nxt = w.mktdash("run") if i % 3 == 0 else w.mktdash("ingest", "--quiet")
        assert nxt.returncode in (0, 1, 3) and "Traceback" not in nxt.stderr, nxt.stderr
        if i % 3 == 0:
            assert nxt.returncode in (0, 3), nxt.stderr
        assert fingerprint(w.home) == want
        _archive_ok(w)
        outcomes.append(outcome)
        shutil.rmtree(w.home)
    print(f"\nrun: {seconds:.1f} s uninterrupted; kills: {json.dumps(outcomes)}")
    assert sum(not o["finished"] for o in outcomes) >= 9
