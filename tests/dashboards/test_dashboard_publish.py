"""Published snapshots for the dashboards: consistent copy, read-only, atomic pointer, never blocked by a writer."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import world  # noqa: E402

from mktdash.dashboards import (
    executive,  # noqa: E402
    publish,  # noqa: E402
)


@pytest.fixture
def small_world(tmp_path, monkeypatch):
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    info = world.build(tmp_path, minimal=True, n_weeks=4, runs=2)
    return info


def q(path, sql, args=()):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, list(args)).fetchall()
    finally:
        con.close()


def test_publish_writes_readonly_snapshot_and_pointer(small_world):
    snap, wh = small_world["snapshot"], small_world["warehouse"]
    pointer = json.loads((publish.published_dir() / "latest.json").read_text())
    assert pointer["run_id"] == small_world["run_dirs"][-1].name
    assert pointer["week"] == small_world["weeks"][-1]
    assert not snap.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    latest = publish.latest()
    assert latest is not None and latest.snapshot == snap and latest.run_dir == small_world["run_dirs"][-1]
    assert q(snap, "SELECT count(*) FROM ad_daily") == q(wh, "SELECT count(*) FROM ad_daily")
    # the precomputed aggregate equals a raw group-by of ad_daily
    raw = dict(q(wh, "SELECT strftime(date_day, '%G-W%V'), sum(spend_reporting) FROM ad_daily GROUP BY 1"))
    agg = dict(q(snap, "SELECT week, sum(spend) FROM dash_ad_weekly GROUP BY 1"))
    assert agg.keys() == raw.keys()
    for k in raw:
        assert agg[k] == pytest.approx(raw[k], rel=1e-12)


def test_pointer_moves_and_old_snapshots_pruned(small_world):
    first = small_world["snapshot"]
    second = publish.publish(small_world["run_dirs"][0], small_world["warehouse"], keep=1)
    assert publish.latest().snapshot == second and second != first
    assert not first.exists()  # keep=1
    assert sorted(p.name for p in publish.published_dir().glob("*.duckdb")) == [second.name]
    assert not list(publish.published_dir().glob(".*"))  # no temp files left behind


WRITER = textwrap.dedent("""
    import duckdb, sys
    con = duckdb.connect(sys.argv[1])
    con.execute("INSERT INTO ad_daily SELECT * FROM ad_daily LIMIT 7")
    print("holding", flush=True)
    sys.stdin.readline()
""")


def test_writer_holding_the_warehouse_blocks_nothing(small_world):
    wh, snap = small_world["warehouse"], small_world["snapshot"]
    before = q(wh, "SELECT count(*) FROM ad_daily")[0][0]
    w = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(wh)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert w.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.IOException):  # the live warehouse is locked by the writer...
            duckdb.connect(str(wh), read_only=True)
        data = executive.DashboardData()  # ...but the dashboard reads the snapshot
        v = data.view(data.default_week())
        assert v.tiles["spend"]["value"] == pytest.approx(
            q(
                snap,
                "SELECT sum(spend_reporting) FROM ad_daily WHERE strftime(date_day, '%G-W%V') = ?",
                [small_world["weeks"][-1]],
            )[0][0],
            rel=1e-12,
        )
        # notebooks that open Warehouse.from_settings (20_budget) get the snapshot through $MKTDASH_PARAMS
        import os

        from mktdash import params
        from mktdash.dashboards import serve
        from mktdash.warehouse.backend import Warehouse

        os.environ["MKTDASH_PARAMS"] = serve.kernel_params_env()
        try:
            s = params.resolve()
        finally:
            del os.environ["MKTDASH_PARAMS"]
        assert Path(s.warehouse.path) == snap.resolve()
        with Warehouse.from_settings(s, read_only=True) as served:
            assert served.count("ad_daily") == before
        new = publish.publish(small_world["run_dirs"][-2], wh)  # and a publish during the write still works
        assert q(new, "SELECT count(*) FROM ad_daily")[0][0] == before + 7  # committed rows included
    finally:
        w.stdin.write("\n")
        w.stdin.flush()
        w.wait(timeout=30)
