"""`mktdash ingest` takes the run lock: an ingest during a run, a run during an ingest, or two ingests at once
wait or exit 2 naming the holder, never a traceback, never a file loaded twice; a holder whose heartbeat
stopped is reported as stuck with its pid and what to do. Real `mktdash` processes (tests/unit/run_world.py).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
import yaml
from run_world import World, holding_run, make_world, with_sample_data

from mktdash.runner import lock as runlock

BUSY = (
    r"^mktdash {verb}: another {kind} \(({id_re}), started at (\S+)\) is in progress "
    r"\(pid (\d+) on \S+, last heartbeat [\d.]+ s ago\)"
)
RUN_ID, INGEST_ID = r"\d{8}T\d{6}Z-[0-9a-f]{4}", r"ingest-\d{8}T\d{6}Z-[0-9a-f]{4}"
SAMPLE_ROWS = 16  # data rows of tests/fixtures/external/fivetran_ad_report_sample.csv (17 lines, 1 header)
OTHER_MONTHS = [f"2025-{m:02d}" for m in range(1, 13) if m != 8]  # the sample is of 2025-08-10..12


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = with_sample_data(make_world(tmp_path))
    monkeypatch.setenv("MKTDASH_HOME", str(w.home))
    return w


def params(world: World, **run: object) -> str:
    """A params file for the ingests (``run.*`` overrides); returns its path."""
    f = world.home / "ingest.yaml"
    f.write_text(yaml.safe_dump({"run": {"heartbeat_seconds": 0.5, **run}}))
    return str(f)


def ingest(world: World, *args: str) -> subprocess.Popen[str]:
    return world.start("ingest", "--quiet", *args)


def loaded(world: World) -> tuple[int, list[tuple[str, str]]]:
    """(ad_daily rows, ledger (file, status) rows) of the home's warehouse."""
    with duckdb.connect(str(world.home / "data" / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM ad_daily").fetchone()
        ledger = con.execute("SELECT file_name, status FROM ingest_ledger ORDER BY loaded_at").fetchall()
    return int(rows[0] if rows else 0), [(str(f), str(s)) for f, s in ledger]


def no_traceback(*streams: str) -> None:
    for s in streams:
        assert "Traceback" not in s and "Error" not in s, s


def test_an_ingest_during_a_run_exits_2_naming_the_run_then_loads_after_it(world: World) -> None:
    run, marks = holding_run(world)
    refused = world.mktdash("ingest", "--quiet", "--params", params(world, lock_wait_seconds=0))
    assert refused.returncode == 2 and refused.stdout == "", refused
    (line,) = refused.stderr.strip().splitlines()
    m = re.match(BUSY.format(verb="ingest", kind="run", id_re=RUN_ID), line)
    assert m, line
    (manifest,) = world.manifests().values()
    assert m.group(1) == manifest["run_id"] and int(m.group(3)) == run.pid
    assert not (world.home / "data" / "warehouse.duckdb").exists()  # nothing was read or written
    # an ingest that may wait: it waits for the run, then loads
    waiting = ingest(world, "--params", params(world, lock_wait_seconds=120))
    time.sleep(2.0)
    assert waiting.poll() is None  # waiting for the lock, not failing
    (marks / "a.go").touch()
    assert run.wait(timeout=120) == 0
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    no_traceback(out, err)
    assert loaded(world) == (SAMPLE_ROWS, [("fivetran_ad_report_sample.csv", "loaded")])
    assert not (world.outputs / runlock.OWNER).exists()


@pytest.mark.parametrize("wait", [0, 60])
def test_two_ingests_at_once_load_the_file_once(world: World, wait: int) -> None:
    """Three rounds of two ingests started at the same moment, a new export each round: never a traceback;
    with no wait one may exit 2 naming the other; every file is loaded exactly once."""
    inbox = world.home / "data" / "inbox"
    sample = (inbox / "fivetran_ad_report_sample.csv").read_text()
    p = params(world, lock_wait_seconds=wait)
    for i in range(3):
        if i:  # another week's export: same rows shifted by i weeks (a new file with new rows)
            shifted = re.sub(r"2025-08-1(\d)", lambda d, i=i: f"2025-08-{10 + int(d[1]) + 7 * i}", sample)
            (inbox / f"week_{i}.csv").write_text(shifted)
        procs = [ingest(world, "--params", p) for _ in range(2)]
        results = [(q.wait(timeout=300), *q.communicate()) for q in procs]
        codes = sorted(rc for rc, _, _ in results)
        assert codes in ([0, 0], [0, 2] if wait == 0 else [0, 0]), results
        for rc, out, err in results:
            no_traceback(out, err)
            if rc == 2:
                assert re.match(BUSY.format(verb="ingest", kind="ingest", id_re=INGEST_ID), err), err
        rows, ledger = loaded(world)
        assert rows == SAMPLE_ROWS * (i + 1)
        assert sorted(s for _, s in ledger) == ["loaded"] * (i + 1), ledger  # one ledger row per file


def hold(world: World, p: str) -> subprocess.Popen[str]:
    """An ingest caught holding the lock, then stopped (SIGSTOP): a live holder whose heartbeat stopped."""
    inbox = world.home / "data" / "inbox"
    sample = (inbox / "fivetran_ad_report_sample.csv").read_text()
    for month in OTHER_MONTHS:  # more files (the sample's rows in other months): a longer hold to catch
        (inbox / f"more_{month}.csv").write_text(sample.replace("2025-08-1", f"{month}-1"))
    proc = ingest(world, "--params", p)
    owner_file = world.outputs / runlock.OWNER
    while proc.poll() is None:
        try:
            info = json.loads(owner_file.read_text())
        except (OSError, ValueError):
            time.sleep(0.002)  # polling for the lock holder's file
            continue
        if info.get("pid") == proc.pid:
            os.kill(proc.pid, signal.SIGSTOP)
            return proc
    pytest.fail(f"the ingest ended before it could be caught holding the lock: {proc.communicate()}")


def test_a_run_during_an_ingest_exits_2_and_a_stuck_holder_is_reported_with_what_to_do(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.notebooks({}, a=("import json", "x = 1"))
    p = params(world, lock_wait_seconds=0, stuck_after_seconds=2)
    monkeypatch.setenv("MKTDASH_PARAMS", p)  # `mktdash runs` reads run.stuck_after_seconds from here
    proc = hold(world, p)
    try:
        time.sleep(3.0)  # the heartbeat (0.5 s) stopped with the process: older than stuck_after (2 s)
        refused = world.mktdash("run", "--week", "2025-W46")
        assert refused.returncode == 2 and world.manifests() == {}
        m = re.match(BUSY.format(verb="run", kind="ingest", id_re=INGEST_ID), refused.stderr)
        assert m and int(m.group(3)) == proc.pid, refused.stderr
        assert refused.stderr.strip().endswith("it looks stuck: `mktdash runs` says what to do")
        listing = world.mktdash("runs")
        assert listing.returncode == 0
        assert re.search(
            rf"^in progress: ingest {INGEST_ID} started at \S+ \(pid {proc.pid},", listing.stdout, re.M
        )
        err = listing.stderr
        assert f"process {proc.pid} holds the lock but looks stuck" in err, err
        assert f"ps -o pid,stat,etime,args -p {proc.pid}" in err and f"kill -CONT {proc.pid}" in err
        assert f"kill {proc.pid}" in err and "no --unlock" in err
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err  # resumed, it finishes its ingest
    rows, ledger = loaded(world)
    files = 1 + len(OTHER_MONTHS)
    assert rows == SAMPLE_ROWS * files and [s for _, s in ledger] == ["loaded"] * files
    after = world.mktdash("runs")
    assert "in progress" not in after.stdout and "stuck" not in after.stderr
    assert world.mktdash("run", "--week", "2025-W46").returncode == 0  # free again
