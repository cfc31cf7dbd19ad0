"""One run at a time, and nothing left "running": the run lock, concurrent runs, killed runs, exit codes.
Runs are `mktdash run` commands in new processes, on tiny notebooks (tests/support/run_world.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from run_world import INGEST, READ, World, holding_run, make_world, sleeper, wait_for, with_sample_data

from mktdash.dashboards import publish
from mktdash.runner import archive
from mktdash.runner import lock as runlock

BUSY = re.compile(
    r"^mktdash run: another run \((\d{8}T\d{6}Z-[0-9a-f]{4}), started at (\S+)\) is in progress "
    r"\(pid (\d+) on \S+, last heartbeat [\d.]+ s ago\)$"
)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = with_sample_data(make_world(tmp_path))
    monkeypatch.setenv("MKTDASH_HOME", str(w.home))  # for the in-process looks at the archive
    with duckdb.connect(str(w.home / "data" / "warehouse.duckdb")) as con:  # something to publish
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    return w


def _no_traceback(*streams: str) -> None:
    for s in streams:
        assert "Traceback" not in s and "Error:" not in s.replace("mktdash", ""), s


def test_a_second_run_exits_2_naming_the_run_in_progress_which_goes_on(world: World) -> None:
    first, marks = holding_run(world)
    second = world.mktdash("run", "--week", "2025-W46")
    assert second.returncode == 2 and second.stdout == ""
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and (m := BUSY.match(lines[0])), second.stderr
    (running,) = world.manifests().values()
    assert m.group(1) == running["run_id"] and m.group(2) == running["started_at"]
    assert int(m.group(3)) == first.pid == running["runner"]["pid"]
    listing = world.mktdash("runs")  # lists the run in progress as running: its owner is alive
    assert f"in progress: run {running['run_id']}" in listing.stdout
    assert re.search(rf"{running['run_id']}\s+running", listing.stdout), listing.stdout
    (marks / "a.go").touch()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert [m["status"] for m in world.manifests().values()] == ["ok"]  # the refused run left no folder
    assert not (world.outputs / runlock.OWNER).exists()


def test_two_runs_started_together_one_runs_the_other_exits_2(world: World) -> None:
    """Three rounds of two runs started at the same moment (both read and write the warehouse): never a
    traceback, exactly one run each round, nothing left running."""
    world.notebooks({}, r=READ)
    for _ in range(3):
        procs = [world.start("run", "--week", "2025-W46") for _ in range(2)]
        results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
        codes = sorted(rc for rc, _, _ in results)
        assert codes in ([0, 2], [0, 0]), results  # [0, 0]: the first ended before the second looked
        for rc, out, err in results:
            _no_traceback(out, err)
            if rc == 2:
                assert BUSY.match(err.strip()), err
    statuses = [m["status"] for m in world.manifests().values()]
    assert set(statuses) == {"ok"} and 3 <= len(statuses) <= 6


def test_a_second_run_waits_for_the_first_within_its_bound(world: World) -> None:
    marks = world.home / "marks"
    marks.mkdir()
    world.notebooks({"lock_wait_seconds": 120}, a=sleeper(marks, "a"))
    first = world.start("run", "--week", "2025-W46")
    wait_for(marks / "a.started")
    second = world.start("run", "--week", "2025-W46")
    time.sleep(2.0)
    assert second.poll() is None  # waiting for the lock, not failing
    (marks / "a.go").touch()  # the first ends; the second takes the lock and runs (a.go is still there)
    assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0, second.communicate()
    runs = sorted(world.manifests().values(), key=lambda m: m["run_id"])
    assert [m["status"] for m in runs] == ["ok", "ok"]
    assert runs[1]["started_at"] >= runs[0]["finished_at"]


def test_a_killed_run_is_marked_crashed_by_the_next_command_and_its_snapshot_removed(world: World) -> None:
    marks = world.home / "marks"
    marks.mkdir()
    world.notebooks({}, r=READ)
    assert world.mktdash("run", "--week", "2025-W46").returncode == 0
    (good,) = world.manifests()
    # the last stage sleeps: its snapshot is taken meanwhile (outputs/published/<run>.duckdb)
    world.notebooks({}, r=READ, s=sleeper(marks, "s"))
    victim = world.start("run", "--week", "2025-W46")
    wait_for(marks / "s.started")
    (killed,) = set(world.manifests()) - {good}
    wait_for(world.outputs / "published" / f"{killed}.duckdb")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert world.manifests()[killed]["status"] == "running"  # what a killed run leaves ...
    assert (world.outputs / runlock.OWNER).exists()  # ... with its owner file
    listing = world.mktdash("runs")
    assert listing.returncode == 0 and "in progress" not in listing.stdout
    assert not (world.outputs / runlock.OWNER).exists()
    assert re.search(rf"{killed}\s+crashed", listing.stdout) and re.search(rf"{good}\s+ok", listing.stdout)
    assert (
        f"run {killed} (2025-W46) was left running by a process that is gone: marked crashed"
        in listing.stderr
    )
    m = world.manifests()[killed]
    assert m["status"] == "crashed" and f"pid {victim.pid}" in m["error"]
    index = (world.outputs / "index.html").read_text()
    assert f'<td>{killed}</td><td class="crashed">crashed</td>' in index and 'class="running"' not in index
    assert not list((world.outputs / "published").glob(f"{killed}*"))
    assert world.pointer()["run_id"] == good and (world.outputs / "published" / f"{good}.duckdb").exists()
    # the next run works, and the crashed one stays crashed
    (marks / "s.go").touch()
    assert world.mktdash("run", "--week", "2025-W46").returncode == 0
    assert sorted(m["status"] for m in world.manifests().values()) == ["crashed", "ok", "ok"]


def test_reaping_repoints_the_dashboards_when_the_crashed_run_was_published(world: World) -> None:
    """A run killed after its pointer moved, before its manifest said ok: the dashboards go back to the
    newest good run's snapshot."""
    runs = world.outputs / "runs" / "2025-W46"
    wh = world.home / "data" / "warehouse.duckdb"
    for run_id, status in (("20260101T000000Z-0001", "ok"), ("20260102T000000Z-0002", "running")):
        (runs / run_id).mkdir(parents=True)
        archive.write_manifest(runs / run_id, {"run_id": run_id, "week": "2025-W46", "status": status})
        publish.publish(runs / run_id, wh)
    assert world.pointer()["run_id"] == "20260102T000000Z-0002"
    assert [r.run_id for r in runlock.reap_crashed()] == ["20260102T000000Z-0002"]
    assert world.pointer()["run_id"] == "20260101T000000Z-0001"
    assert sorted(p.name for p in (world.outputs / "published").glob("*.duckdb")) == [
        "20260101T000000Z-0001.duckdb"
    ]
    assert "20260101T000000Z-0001.duckdb" in publish.dashboard_params_file().read_text()


def test_the_lock_holder_is_never_reaped_and_its_heartbeat_beats(world: World) -> None:
    runs = world.outputs / "runs" / "2025-W46"
    left, mine = runs / "20260103T000000Z-0003", runs / "20260104T000000Z-0004"
    for run_dir in (left, mine):
        run_dir.mkdir(parents=True)
    archive.write_manifest(left, {"run_id": left.name, "week": "2025-W46", "status": "running"})
    with runlock.RunLock(mine.name, heartbeat=0.1):
        assert (archive.read_summary(left) or {})["status"] == "crashed"  # reaped once the lock was taken
        archive.write_manifest(mine, {"run_id": mine.name, "week": "2025-W46", "status": "running"})
        owner_file = world.outputs / runlock.OWNER
        first = owner_file.stat().st_mtime_ns
        time.sleep(0.5)
        assert owner_file.stat().st_mtime_ns > first  # the heartbeat
        info = runlock.owner()
        assert (
            info and info["pid"] == os.getpid() and info["run_id"] == mine.name and info["heartbeat_age"] < 1
        )
        assert runlock.reap_crashed() == []  # the lock is held: nothing is reaped
        assert (archive.read_summary(mine) or {})["status"] == "running"
        with pytest.raises(runlock.RunBusy, match=rf"^another run \({mine.name}, started at "):
            runlock.RunLock("other", wait=0.3).__enter__()
    assert not owner_file.exists()
    # the owner left without finishing its manifest (what kill -9 leaves): the next look reaps it
    assert [r.run_id for r in runlock.reap_crashed()] == [mine.name]


def test_a_run_refused_just_as_another_takes_the_lock_names_that_run(world: World) -> None:
    """Two runs started together: the winner writes who it is a moment after taking the lock; the refused one
    waits for that and names it (before, it said only "it is starting")."""
    held = runlock._open_lock()
    try:
        assert runlock._try_flock(held)  # the winner has the lock, its description is not written yet
        info = {
            "run_id": "first",
            "kind": "run",
            "pid": 4242,
            "host": "h",
            "started_at": "2025-11-17T09:00:00",
        }
        late = threading.Timer(0.4, runlock._write_owner, [info])
        late.start()
        with pytest.raises(runlock.RunBusy, match=r"^another run \(first, started at 2025-11-17T09:00:00\)"):
            runlock.RunLock("second").__enter__()
        late.join()
    finally:
        held.close()
        (world.outputs / runlock.OWNER).unlink(missing_ok=True)


def test_exit_codes_ok_0_failed_1_quarantined_3(world: World) -> None:
    world.notebooks({}, a=("import scrapbook as sb", "sb.glue('files_quarantined_this_run', 0)"))
    ok = world.mktdash("run", "--week", "2025-W46")
    assert ok.returncode == 0 and ok.stderr == "" and ": OK" in ok.stdout
    world.notebooks({}, a=("import scrapbook as sb", "sb.glue('files_quarantined_this_run', 2)"))
    quarantined = world.mktdash("run", "--week", "2025-W46")
    assert quarantined.returncode == 3 and ": OK" in quarantined.stdout
    assert quarantined.stderr.startswith(
        "mktdash run: 2 file(s) in the inbox quarantined: the reports are written"
    )
    world.notebooks({}, a=("import json", "raise ValueError('planted')"))
    failed = world.mktdash("run", "--week", "2025-W46")
    assert failed.returncode == 1 and ": FAILED" in failed.stdout
    assert failed.stderr.strip().splitlines() == [
        f"mktdash run: run {max(world.manifests())} failed: a: ValueError: planted"
    ]
    assert world.mktdash("run", "--week", "2025-46").returncode == 2
    assert [m["status"] for _, m in sorted(world.manifests().items())] == ["ok", "ok", "failed"]
    assert world.pointer()["run_id"] == sorted(world.manifests())[1]  # the failed run published nothing


def test_a_warehouse_held_by_another_process_exits_2_with_one_line(world: World) -> None:
    """What ended two of three runs started together with a traceback (a DuckDB IOException from the week's
    resolution): another process writing the warehouse. The run waits ``lock_wait_seconds``, then says so."""
    world.notebooks({"lock_wait_seconds": 1}, r=READ)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               "con = duckdb.connect(sys.argv[1])\nprint('held', flush=True)\ntime.sleep(60)",
                               str(world.home / "data" / "warehouse.duckdb")], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout and holder.stdout.readline() == "held\n"
        res = world.mktdash("run")  # the week of "latest" is read from the warehouse
    finally:
        holder.kill()
        holder.wait()
    assert res.returncode == 2
    assert re.fullmatch(r"mktdash run: the warehouse \S+warehouse.duckdb is in use by another process \(.+\); "
                        r"run again once it has finished\n", res.stderr), res.stderr  # fmt: skip
    assert world.manifests() == {}  # no run folder, nothing left running
    assert world.mktdash("run").returncode == 0  # free again


def test_a_quarantined_file_makes_every_run_exit_3_until_it_leaves_the_inbox(world: World) -> None:
    inbox = world.home / "data" / "inbox"
    (inbox / "not_an_export.csv").write_text("colour,size\nred,3\n")
    world.notebooks({}, i=INGEST)
    for _ in range(2):  # found bad, then still there unchanged (its recorded error repeated)
        res = world.mktdash("run", "--week", "2025-W46")
        assert res.returncode == 3 and "mktdash run: 1 file(s) in the inbox quarantined" in res.stderr, (
            res.stderr
        )
    (inbox / "not_an_export.csv").rename(world.home / "moved_out.csv")
    assert world.mktdash("run", "--week", "2025-W46").returncode == 0
    assert [m["status"] for m in world.manifests().values()] == ["ok"] * 3
