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
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mktdash import ingest, params
from mktdash.warehouse import Warehouse

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
