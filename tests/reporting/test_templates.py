"""HTML from Jinja2 templates: a hostile campaign name stays text in every page mktdash renders, and the PDF
export is a real PDF printed by Chromium through Playwright without touching the network."""

from __future__ import annotations

import dataclasses
import http.server
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import budget_world as bw
import pandas as pd
import pytest
import world  # noqa: E402

from mktdash.budget import finance  # noqa: E402
from mktdash.budget.curves import ResponseCurves  # noqa: E402
from mktdash.budget.optimizer import recommend  # noqa: E402
from mktdash.budget.sections import Section  # noqa: E402
from mktdash.dashboards import executive  # noqa: E402
from mktdash.demo import world as demo  # noqa: E402
from mktdash.reporting import (
    pdf,  # noqa: E402
    templating,  # noqa: E402
)
from mktdash.warehouse.backend import Warehouse  # noqa: E402

SCRIPT = "<script>alert(1)</script>"
JINJA = "{{7*7}}"
HOSTILE = f'{SCRIPT} {JINJA} " onmouseover="x'
# what an escaping renderer writes for HOSTILE (Jinja2's markupsafe writes &#34; for a double quote)
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}} &#34; onmouseover=&#34;x"
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium for the PDF export"
)


class Tags(HTMLParser):
    """Start tags and attribute names as a browser's tokenizer sees them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.update(name for name, _ in attrs)


def assert_inert(page: str, *, times: int = 1) -> None:
    """HOSTILE shows as its literal text (escaped, the template expression not evaluated) and adds no tag or
    attribute to the page."""
    assert SCRIPT not in page and 'onmouseover="x' not in page
    same = page.replace("&quot;", "&#34;")  # html.escape writes &quot;, markupsafe (Jinja2) &#34;
    assert same.count(ESCAPED) >= times, page[:2000]
    parsed = Tags(page)
    assert "script" not in parsed.tags and "onmouseover" not in parsed.attrs


# ---- the executive summary ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> Iterator[executive.View]:
    home = tmp_path_factory.mktemp("templates")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MKTDASH_HOME", str(home))
        info = world.build(home, minimal=True, n_weeks=4, runs=2)
        v = executive.DashboardData().view(str(info["weeks"][-1]), "search")
        yield v


def hostile_view(v: executive.View) -> executive.View:
    """The view with HOSTILE as channel, campaign, platform badge, missing-data notice and alert entity."""
    campaigns = v.by_campaign.copy()
    campaigns.loc[0, "campaign_name"] = HOSTILE
    alert = {"kind": "problem", "level": "campaign", "entity": HOSTILE, "metric": "ctr", "impact": 5.0,
             "text": f"CTR of {HOSTILE} fell 40%", "week": v.week}  # fmt: skip
    return dataclasses.replace(
        v,
        channel=HOSTILE,
        campaign=HOSTILE,
        by_campaign=campaigns,
        badges=[(HOSTILE, HOSTILE, False), *v.badges],
        budget_hold=f"Most of the doubt is in {HOSTILE}",
        missing={**v.missing, "pipeline": f"No CRM deals: export {HOSTILE}"},
        alerts=[alert],
        figures={},
    )


def test_the_executive_summary_shows_a_hostile_name_as_text_everywhere(view: executive.View) -> None:
    page = executive.render(hostile_view(view))
    # h1 scope, data-channel attribute, campaigns title and table, badge text and title, notice, alert, hold
    assert_inert(page, times=7)
    assert f"<b>Keep the current allocation this week.</b> Most of the doubt is in {ESCAPED}" in page
    assert f'data-channel="{ESCAPED}"' in page
    assert f'<span class="mk-badge mk-warn" title="{ESCAPED}">! {ESCAPED}: {ESCAPED}</span>' in page
    assert f'<p class="mk-na mktdash-missing">No CRM deals: export {ESCAPED}</p>' in page


def test_the_same_view_renders_the_same_tiles_and_tables_as_before(view: executive.View) -> None:
    """The template keeps the page's structure: 14 tiles (10 KPIs, 4 cross-domain), the tiers in order."""
    page = executive.render(view)
    assert page.count('class="mk-tile"') == 14
    assert [m for m in re.findall(r"<h3>(\w+)</h3>", page)] == ["Strategic", "Tactical", "Operational"]
    spend = view.tiles["spend"]["value"]
    assert f'data-metric="spend" data-value="{float(spend)!r}"' in page
    assert f'<div class="mk-value">{executive.fmt(spend, "money", view.currency)}</div>' in page


def test_download_links_and_notes_escape_their_text() -> None:
    link = executive.data_link(b"a,b\n", f"{HOSTILE}.csv", "text/csv", HOSTILE)
    assert_inert(link, times=2)
    assert 'href="data:text/csv;base64,YSxiCg=="' in link
    assert_inert(templating.fragment("fragments.html.j2", "note", f"PDF export failed: {HOSTILE}"))
    assert_inert(templating.fragment("fragments.html.j2", "status", HOSTILE, error=True))


def test_the_print_page_escapes_its_title() -> None:
    page = pdf.page(f"Executive summary {HOSTILE}", "<p>body</p>")
    assert f"<title>Executive summary {ESCAPED}</title>" in page and "<p>body</p>" in page
    assert_inert(page)


# ---- the budget pages ---------------------------------------------------------------------------------------
def hostile_section() -> Section:
    return Section(
        title=HOSTILE,
        tables={HOSTILE: pd.DataFrame({"campaign": [HOSTILE], "spend": [1.5]})},
        notes=[HOSTILE],
        warnings=[HOSTILE],
        missing=HOSTILE,
    )


@pytest.mark.parametrize("details", [True, False])
def test_a_budget_section_shows_a_hostile_name_as_text(details: bool) -> None:
    html = finance.section_html(hostile_section(), details=details)
    # title, warning, note, table heading and cell (+ the missing notice in the static layout)
    assert_inert(html, times=5 if details else 6)
    assert html.startswith("<details" if details else f"<h3>{ESCAPED}</h3>")


def test_the_finance_page_shows_a_hostile_name_as_text(tmp_path: Path) -> None:
    path = bw.load_world(tmp_path / "wh.duckdb", bw.demo_world(60))
    rec = recommend(ResponseCurves.hill_truth(demo.TRUE_CURVES), demo.CURRENT_SPEND)
    with Warehouse.open(path, read_only=True) as wh:
        f = finance.facts(wh, bw.tiny_settings(), bw.WEEK, rec)
    assert f["moves"], "the demo recommendation moves money"
    f["moves"] = [dict(m, channel=HOSTILE) for m in f["moves"]]
    f["breaches"] = [{"who": HOSTILE, "period": "per week", "limit": 1.0, "spend": 2.0, "excess": 1.0}]
    page = finance.page_html(f)
    assert_inert(page, times=len(f["moves"]) + 1)


# ---- the PDF export -----------------------------------------------------------------------------------------
def pdf_title(data: bytes) -> str:
    """The document title in the PDF's info dictionary (literal or UTF-16 hex string)."""
    m = re.search(rb"/Title\s*(?:\(((?:[^()\\]|\\.)*)\)|<([0-9A-Fa-f]+)>)", data)
    assert m, "the PDF has no /Title"
    if m.group(1) is not None:
        return re.sub(rb"\\(.)", rb"\1", m.group(1)).decode("latin-1")
    return bytes.fromhex(m.group(2).decode()).decode("utf-16")


@needs_chromium
def test_the_pdf_export_is_a_real_pdf_titled_with_the_week(view: executive.View) -> None:
    data = executive.export_pdf(view)
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) >= 1
    assert pdf_title(data) == f"Executive summary {view.week}"


@pytest.fixture
def local_server() -> Iterator[SimpleNamespace]:
    """An HTTP server on 127.0.0.1 counting the requests it gets."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}", seen=seen)
    finally:
        server.shutdown()
        server.server_close()


@needs_chromium
def test_printing_makes_no_request(local_server: SimpleNamespace) -> None:
    body = (
        f'<h1>Offline</h1><img src="{local_server.url}/pixel.png">'
        f'<link rel="stylesheet" href="{local_server.url}/style.css">'
    )
    data = pdf.html_to_pdf("Offline", body)
    assert data.startswith(b"%PDF-") and pdf_title(data) == "Offline"
    assert local_server.seen == []


def test_a_missing_chromium_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(pdf.PdfError, match=r"not found: install Debian's chromium"):
        pdf.html_to_pdf("x", "<p>x</p>", chromium=str(tmp_path / "chromium"))
