"""PII hashing: deterministic under a salt, different salt -> different hash, salt from env or a 0600 secret
file, and planted raw PII never reaches frames or the warehouse file bytes."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest

from mktdash import paths, pii
from mktdash.schema import conform
from mktdash.sources import hubspot_contacts, hubspot_deals, salesforce
from mktdash.sources.base import ReadContext
from mktdash.warehouse import Warehouse

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
# strings planted in the CRM fixtures (names, emails, phone digits) that must never be stored
PLANTED = [
    "Harriet", "Planted", "harriet.planted", "Harriet.Planted@Example.COM", "010-4477",
    "Zylberstein", "bob.z@example.org", "Marta", "Jo Seller", "Ann Owner",
]  # fmt: skip


def test_hash_is_deterministic_and_salted() -> None:
    a = pii.hash_value("ann@example.com", "s1", "email")
    assert a == pii.hash_value("ann@example.com", "s1", "email")
    assert a != pii.hash_value("ann@example.com", "s2", "email")
    assert len(a) == 64 and int(a, 16) >= 0


def test_normalisation() -> None:
    assert pii.hash_value(" Ann@Example.COM ", "s", "email") == pii.hash_value(
        "ann@example.com", "s", "email"
    )
    assert pii.hash_value("+1 (555) 010-4477", "s", "phone") == pii.hash_value("15550104477", "s", "phone")
    assert pii.hash_value("Ann  LEE", "s", "name") == pii.hash_value("ann lee", "s", "name")
    assert pii.hash_value("", "s", "email") is None and pii.hash_value(None, "s") is None
    # the kind is part of the message: the same text as email and as name hashes differently
    assert pii.hash_value("x", "s", "email") != pii.hash_value("x", "s", "name")


def test_hash_series_matches_scalar() -> None:
    s = pd.Series(["a@b.c", None, "A@B.C"])
    h = pii.hash_series(s, "salt", "email")
    assert h[0] == h[2] == pii.hash_value("a@b.c", "salt", "email") and pd.isna(h[1])


def test_salt_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    monkeypatch.setenv("MKTDASH_PII_SALT", "from-env")
    assert pii.salt() == "from-env"
    assert not (tmp_path / ".secrets").exists()

    class S:  # settings naming another variable
        class ingest:  # noqa: N801
            pii_salt_env = "OTHER_SALT"

    monkeypatch.setenv("OTHER_SALT", "other")
    assert pii.salt(S()) == "other"


def test_salt_file_created_private_and_stable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    monkeypatch.delenv("MKTDASH_PII_SALT", raising=False)
    s1 = pii.salt()
    f = paths.secrets_dir() / "pii_salt"
    assert f.exists() and stat.S_IMODE(f.stat().st_mode) == 0o600
    assert len(s1) == 64 and pii.salt() == s1  # read back, not regenerated
    gitignore = (Path(__file__).resolve().parents[2] / ".gitignore").read_text()
    assert ".secrets/" in gitignore.splitlines()


def test_planted_pii_never_reaches_frames_or_warehouse(tmp_path: Path) -> None:
    ctx = ReadContext(pii_salt="x" * 32)
    parsed = [
        hubspot_contacts.read(FIX / "hubspot_contacts_export.csv", ctx),
        hubspot_deals.read(FIX / "hubspot_deals_export.csv", ctx),
        salesforce.read(FIX / "salesforce_opportunities.csv", ctx),
    ]
    raw = "".join((FIX / n).read_text() for n in ("hubspot_contacts_export.csv", "hubspot_deals_export.csv",
                                                  "salesforce_opportunities.csv"))  # fmt: skip
    assert all(p.lower() in raw.lower() for p in PLANTED)  # the fixtures really contain them
    for p in parsed:
        text = p.frame.astype(str).to_csv()
        assert not [s for s in PLANTED if s.lower() in text.lower()], p.source
    db = tmp_path / "wh.duckdb"
    with Warehouse.open(db) as wh:
        wh.ensure_tables()
        for p in parsed:
            wh.append(p.table, conform(p.frame, p.table))
        assert wh.count("crm_contacts") == 3 and wh.count("crm_deals") == 6
        dump = pd.concat([wh.df("crm_contacts").astype(str), wh.df("crm_deals").astype(str)]).to_csv()
        wh.checkpoint()
    data = db.read_bytes()
    for s in [*PLANTED, "15550104477", "5550104477"]:  # + the normalised phone digits
        assert s.encode() not in data and s.lower().encode() not in data
        assert s.lower() not in dump.lower()
    assert "Brand - Exact" in dump and b"Brand - Exact" in data  # positive control: the grep sees stored text
