"""PII hashing: deterministic under a salt, different salt -> different hash, salt from env or a 0600 secret
file, and planted raw PII never reaches frames or the warehouse file bytes."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest

from mktdash import paths
from mktdash.ingest import pii
from mktdash.ingest.sources import hubspot_contacts, hubspot_deals, salesforce
from mktdash.ingest.sources.base import ReadContext
from mktdash.warehouse.backend import Warehouse
from mktdash.warehouse.schema import conform

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


# ---- no personal data in any message about a bad CRM file (issue 21) ------------------------------------------
PERSON = ["Quentin", "Vasquez-Ophelia", "quentin.vo@planted-mail.example", "7946 0321", "79460321"]
CONTACT_HEADER = (FIX / "hubspot_contacts_export.csv").read_text().splitlines()[0]
ROW = "777,Quentin,Vasquez-Ophelia,quentin.vo@planted-mail.example,+44 20 7946 0321,{date},Lead,New,{score},{src},,,Ann Owner"


FORMULA = '=HYPERLINK("http://x.example/FORMULA-CANARY-42")'  # kept as data (neutralised), never in messages


def _row(date: str = "2025-10-02 09:00", score: str = "12", src: str = "Paid Search") -> str:
    return ROW.format(date=date, score=score, src=src)


BAD_CRM_FILES: dict[str, bytes] = {
    "missing_header.csv": (_row() + "\n" + _row().replace("777", "778") + "\n").encode(),
    "bad_date.csv": f"{CONTACT_HEADER}\n{_row(date='Quentin Vasquez-Ophelia')}\n".encode(),
    "bad_number.csv": f"{CONTACT_HEADER}\n{_row(score='quentin.vo@planted-mail.example')}\n".encode(),
    "wrong_delimiter.csv": f"{CONTACT_HEADER}\n{_row()}\n".replace(",", ";").encode(),
    "truncated.csv": f'{CONTACT_HEADER}\n{_row()}\n779,"Quentin,Vasquez-Ophelia,quentin.vo@planted-ma'.encode(),
    "duplicate_ids.csv": f"{CONTACT_HEADER}\n{_row()}\n{_row(score='13')}\n".encode(),
    "duplicate_column.csv": f"{CONTACT_HEADER},Email\n{_row()},quentin.vo@planted-mail.example\n".encode(),
    # not UTF-8 and not Windows-1252 either (0x81 is undefined there; Windows-1252 text loads)
    "latin1.csv": f"{CONTACT_HEADER}\n{_row()}\n".replace("Quentin", "Qu\x81ntin Quentin").encode("latin-1"),
    "formula.csv": f"{CONTACT_HEADER}\n{_row(src=FORMULA)}\n".encode(),  # loads; its warning quotes no cell
    "extra_cells.csv": f"{CONTACT_HEADER}\n{_row()},Quentin,Vasquez-Ophelia\n".encode(),
    "deals_missing_header.csv": b"9009,Acme - Quentin Vasquez-Ophelia renewal,Closed Won,12000,USD,"
    b"2025-11-03 14:02,2025-10-01 09:15,Sales Pipeline,Jo Seller,Paid Search,google,Brand,777,7001\n",
    "deals_bad_amount.csv": (FIX / "hubspot_deals_export.csv").read_text().splitlines()[0].encode()
    + b"\n9010,Renewal,Closed Won,Quentin Vasquez-Ophelia,USD,2025-11-03 14:02,2025-10-01 09:15,Sales Pipeline,"
    b"Jo Seller,Paid Search,google,Brand,777,7001\n",
    "salesforce_bad_date.csv": (FIX / "salesforce_opportunities.csv").read_text().splitlines()[0].encode()
    + b'\n"Jo Seller","Acme","Quentin Vasquez-Ophelia opp","Closed Won","USD 1.00","quentin.vo@planted-mail.example",'
    b'"9/15/2025","Web","","New Business","0065g00000AbCdEAA9","0015g00000XyZAA9"\n',
}


def test_bad_crm_files_never_put_personal_data_in_any_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every kind of bad CRM file, with a person planted in the offending cells, through `mktdash ingest` and
    `mktdash run`'s ingest notebook: the person is in no warehouse table, no file the run writes (notebook,
    HTML, exports, manifest, published snapshot), no ledger or quarantine message and nothing printed. The
    originals are kept byte for byte in data/raw (and linked from data/quarantine): that is their job."""
    import hashlib

    from mktdash import cli

    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MKTDASH_PII_SALT", "pii-test")
    inbox = paths.inbox_dir()
    inbox.mkdir(parents=True)
    for name, data in BAD_CRM_FILES.items():
        (inbox / name).write_bytes(data)
        low = data.decode("latin-1").lower()
        assert any(p.lower() in low for p in PERSON), name  # the person is really planted
    (inbox / "tiktok.csv").write_bytes((FIX / "tiktok_ads_daily.csv").read_bytes())  # ad data for the run
    assert cli.main(["ingest", "--quiet"]) == 1  # files were quarantined
    first = capsys.readouterr()
    assert "quarantined" in first.out and "what to do:" in first.out
    rc = cli.main(["run", "--only", "00_ingest", "--no-demo", "--quiet"])
    second = capsys.readouterr()
    assert rc == 3 and "refused (" in second.out, (
        second
    )  # ok with files quarantined (docs/cli.md); refusals printed
    printed = first.out + first.err + second.out + second.err
    originals = {hashlib.sha256(d).hexdigest() for d in BAD_CRM_FILES.values()}
    texts = {"terminal": printed}
    with Warehouse.open(read_only=True) as wh:
        for t in wh.tables():
            texts[f"table {t}"] = wh.df(t).astype(str).to_csv()
        led = wh.df("ingest_ledger")
    assert {f for f in BAD_CRM_FILES} <= set(led["file_name"])  # every file has its ledger row
    for p in paths.home().rglob("*"):
        if not p.is_file() or p.is_symlink() or paths.inbox_dir() in p.parents or ".secrets" in p.parts:
            continue
        data = p.read_bytes()
        if hashlib.sha256(data).hexdigest() in originals:  # an original kept as is (raw / quarantine)
            assert {"raw", "quarantine"} & set(p.parts), p
            continue
        texts[str(p.relative_to(paths.home()))] = data.decode("utf-8", errors="replace")
    run_files = [k for k in texts if k.startswith("outputs")]
    assert any(k.endswith("00_ingest.html") for k in run_files) and any(
        "quality_quarantine" in k for k in run_files
    )
    assert "quarantined" in texts["table quarantine"] or len(texts["table quarantine"]) > 200
    assert "FORMULA-CANARY-42" in texts["table crm_contacts"]  # positive control: the grep sees stored text
    assert (
        "formula-like" in texts["table ingest_ledger"]
        and "FORMULA-CANARY" not in texts["table ingest_ledger"]
    )
    leaks = {(k, s) for k, t in texts.items() for s in PERSON if s.lower() in t.lower()}
    assert not leaks, sorted(leaks)[:10]
    assert "truncated.csv" in printed and "missing_header.csv" in printed  # positive control: printed


def test_redact_keeps_names_lines_and_shapes_only() -> None:
    from mktdash.ingest import guard as g
    from mktdash.ingest.sources.base import SourceError

    assert g.redact("not a known export: first line was 'Ann,Lee,ann@x.com'") == (
        "not a known export: first line was '<3 chars>,<3 chars>,<9 chars>'"
    )
    assert g.redact("missing column 'Record ID' (found: Email, Quentin Q)") == (
        "missing column 'Record ID' (found: Email, <9 chars>)"
    )
    assert g.redact("bad value ann.lee@mail.example.org here") == "bad value <email> here"
    assert g.redact("call +1 (555) 010-4477 now") == "call <digits> now"
    assert g.redact("the file's total says spend = 1,234.50 (after 2026-01-01)") == (
        "the file's total says spend = 1,234.50 (after 2026-01-01)"
    )
    assert g.redact('not a date "Harriet O\'Hara"') == 'not a date "<14 chars>"'
    e = g.redact_error(SourceError("duplicate column 'Quentin'", file="x.csv", line=1, column="Quentin",
                                   hint="Remove 'Quentin' and export again"))  # fmt: skip
    assert (e.message, e.column, e.hint, e.line) == (
        "duplicate column '<7 chars>'",
        "<7 chars>",
        "Remove '<7 chars>' and export again",
        1,
    )
    assert g.redact_error(SourceError("x", column="Email")).column == "Email"
    assert g.may_hold_pii(None) and g.may_hold_pii("crm_contacts") and not g.may_hold_pii("ad_daily")


def test_messages_stored_before_redaction_are_redacted_when_shown(tmp_path: Path) -> None:
    """A quarantine row written by an older version (quoting a CRM line) is shown and exported redacted; an
    ad file's row keeps its quoted value (campaign names are not personal data)."""
    from mktdash import params
    from mktdash.ingest import scorecard
    from mktdash.warehouse.schema import TABLES

    wh = Warehouse.memory()
    wh.ensure_tables()
    old = pd.DataFrame(
        {
            "file_name": ["contacts.csv", "tiktok.csv"],
            "source": ["hubspot_contacts", "tiktok"],
            "line": [2, 3],
            "column_name": ["Create Date", "Cost"],
            "error": ["not a date 'Quentin Vasquez-Ophelia'", "not a number: 'Spark - Summer'"],
            "hint": ["Fix the row of quentin.vo@planted-mail.example", "Fix the cell"],
            "quarantined_at": pd.Timestamp("2026-01-01"),
        }
    )
    wh.append("quarantine", conform(old, "quarantine"))
    assert set(old.columns) <= set(TABLES["quarantine"])
    q = scorecard.scorecard(wh, params.resolve()).quarantine
    assert q["error"].tolist() == ["not a date '<23 chars>'", "not a number: 'Spark - Summer'"]
    assert q["hint"].tolist() == ["Fix the row of <email>", "Fix the cell"]
