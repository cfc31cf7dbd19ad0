"""A new file is hashed once: the read that hashes it also keeps its bytes in data/raw/ (no second pass)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from mktdash import params, paths
from mktdash.ingest import engine as ingest
from mktdash.ingest import filehash
from mktdash.warehouse.backend import Warehouse

REPORT = (
    'Campaign report\n"December 1, 2025 - December 2, 2025"\n'
    "Day,Campaign,Currency code,Impr.,Clicks,Cost\n"
    "2025-12-01,Brand,USD,100,10,1.00\n2025-12-02,Brand,USD,200,20,2.00\n"
    "Total: Account, --,USD,300,30,3.00\n"
)


def test_a_new_file_is_read_once_for_its_hash_and_its_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path / "home"))
    f = tmp_path / "report.csv"
    f.write_text(REPORT, encoding="utf-8")
    want = hashlib.sha256(f.read_bytes()).hexdigest()
    hashed: list[str] = []  # every pass that hashes the whole file, by the hash it found
    for owner in (ingest, filehash):
        monkeypatch.setattr(owner, "sha256_file", lambda p, *a: hashed.append("sha256_file") or "")
    real = ingest._copy_hashing
    monkeypatch.setattr(ingest, "_copy_hashing", lambda p: hashed.append("copy") or real(p))
    wh = Warehouse.memory()
    rep = ingest.ingest_paths(wh, [f], params.resolve(), progress=False, today=dt.date(2026, 1, 1))
    assert [(r.status, r.rows, r.sha256) for r in rep.files] == [("loaded", 2, want)]
    assert hashed == ["copy"]  # one pass: no separate hash before the copy, no second one in _archive
    raw = wh.df("ingest_ledger")["raw_path"].iloc[0]
    assert Path(raw).read_bytes() == f.read_bytes() and Path(raw).parent.parent == paths.raw_dir()
    assert [p.name for p in paths.raw_dir().glob(".incoming*")] == []  # no temporary copy left


def test_the_archive_keeps_what_it_copied_when_the_file_changed_since_it_was_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hash from an earlier batch (cache), then the file changes without a new size or mtime: the archive
    copies it afresh and keeps the bytes it copied, under their own hash."""
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path / "home"))
    f = tmp_path / "report.csv"
    f.write_text(REPORT, encoding="utf-8")
    old = "0" * 64
    raw, got = ingest._archive(f, old, ingest.ingest_guard.Limits())
    assert got == hashlib.sha256(f.read_bytes()).hexdigest() != old
    assert raw.read_bytes() == f.read_bytes() and raw.name.startswith(got)
