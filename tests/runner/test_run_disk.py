"""A full or read-only outputs/ ends the run as failed with one clear line and exit 1; the previous runs and
the published snapshot stay as they were. A real tmpfs where this machine allows mounting one (root), and an
ENOSPC injected at the write layer everywhere."""

from __future__ import annotations

import errno
import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from run_world import READ, World, make_world, with_sample_data

from mktdash import cli
from mktdash.reporting import html as htmlexport

LINE = r"^mktdash run: (cannot write|run \S+ failed: )"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = with_sample_data(make_world(tmp_path))
    monkeypatch.setenv("MKTDASH_HOME", str(w.home))
    monkeypatch.setenv("MKTDASH_PROJECT", str(w.project))
    with duckdb.connect(str(w.home / "data" / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT range AS x FROM range(1000)")
    w.notebooks({}, r=READ)
    return w


def _state(root: Path) -> dict[str, str]:
    """Every file under ``root`` and its sha256 (links and folders aside)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".run")
    }


def _kept(before: dict[str, str], after: dict[str, str]) -> bool:
    """Every file of ``before`` is still there, unchanged; the index may list one run more."""
    return all(after.get(k) == v for k, v in before.items() if k != "index.html") and "index.html" in after


@pytest.fixture
def tmpfs_outputs(world: World) -> Iterator[Path]:
    out = world.outputs
    out.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(out)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"no tmpfs here ({mounted.stderr.decode().strip()}): the injected ENOSPC test covers it")
    try:
        yield out
    finally:
        subprocess.run(["umount", "-l", str(out)], check=True)


def _one_clear_line(res: subprocess.CompletedProcess[str]) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stdout, res.stderr + res.stdout
    return lines[0]


def test_a_read_only_outputs_fails_the_run_in_one_line_and_keeps_everything(
    world: World, tmpfs_outputs: Path
) -> None:
    assert world.mktdash("run", "--week", "2025-W46").returncode == 0
    before = _state(tmpfs_outputs)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs_outputs)], check=True)
    res = world.mktdash("run", "--week", "2025-W46")
    assert res.returncode == 1
    line = _one_clear_line(res)
    assert line.startswith("mktdash run: cannot write ") and line.endswith(
        ": Read-only file system (make it writable, then run again)"
    ), line
    listing = world.mktdash("runs")  # still lists the archive
    assert listing.returncode == 0 and " ok " in listing.stdout and "running" not in listing.stdout
    subprocess.run(["mount", "-o", "remount,rw", str(tmpfs_outputs)], check=True)
    assert _state(tmpfs_outputs) == before


def _fill(mount: Path, leave: int) -> None:
    """Fill the tmpfs, then free ``leave`` bytes."""
    filler = mount / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
    with filler.open("r+b") as f:
        f.truncate(max(filler.stat().st_size - leave, 0))


@pytest.mark.parametrize("leave", [0.0, 0.05, 0.2, 0.4, 0.6, 0.8])
def test_a_full_disk_fails_the_run_in_one_line_and_keeps_the_previous_runs(
    world: World, tmpfs_outputs: Path, leave: float
) -> None:
    """The disk fills up at points from before the run folder to its snapshot: ``leave`` is the share of
    what a run writes that is left free."""
    assert world.mktdash("run", "--week", "2025-W46").returncode == 0
    pointer = world.pointer()
    before = _state(tmpfs_outputs)
    footprint = sum(p.stat().st_size for p in tmpfs_outputs.rglob("*") if p.is_file())
    _fill(tmpfs_outputs, int(leave * footprint))
    res = world.mktdash("run", "--week", "2025-W46")
    assert res.returncode == 1, res.stdout + res.stderr
    line = _one_clear_line(res)
    assert "No space left on device" in line, line
    (tmpfs_outputs / "filler").unlink()
    after = _state(tmpfs_outputs)
    assert _kept(before, after), "a file of the previous run or the published snapshot changed"
    assert world.pointer() == pointer
    statuses = sorted((m["run_id"], m["status"]) for m in world.manifests().values())
    assert statuses[0][1] == "ok" and [s for _, s in statuses[1:]] in ([], ["failed"]), statuses
    listing = world.mktdash("runs")
    assert "running" not in listing.stdout and "crashed" not in listing.stdout + listing.stderr
    assert world.mktdash("run", "--week", "2025-W46").returncode == 0  # space again: the next run works


def test_an_enospc_at_the_write_layer_fails_the_run_in_one_line(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--quiet", "--no-demo", "--params", str(world.home / "tiny.yaml"), "--week", "2025-W46"]
    assert cli.main(args) == 0
    before, pointer = _state(world.outputs), world.pointer()
    capsys.readouterr()

    def full(nb: Path, dest: Path, **kw: object) -> None:
        dest.write_bytes(b"<html>")  # a partial page ...
        raise OSError(errno.ENOSPC, "No space left on device", str(dest))  # ... then the disk is full

    monkeypatch.setattr(htmlexport, "export", full)
    assert cli.main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    (new,) = set(world.manifests()) - {k.split("/")[2] for k in before if k.startswith("runs/")}
    page = world.outputs / "runs" / "2025-W46" / new / "html" / "r.html"
    assert err == [f"mktdash run: run {new} failed: No space left on device ({page})"]
    m = world.manifests()[new]
    assert m["status"] == "failed" and "published" not in m
    assert not list((world.outputs / "runs").glob(f"*/{new}/html/*.html"))  # the partial page was removed
    assert _kept(before, _state(world.outputs))
    assert world.pointer() == pointer
    assert not list((world.outputs / "published").glob(f"{new}*"))
