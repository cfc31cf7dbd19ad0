"""What a person reads from a weekly run: every chart's lines run left to right in time; no report carries a
warning, a Python path or a machine-precision float in a table cell."""

from __future__ import annotations

import base64
import html
import re

import nbformat
import pytest

from .conftest import WeeklyRun

pytestmark = pytest.mark.slow
NOTEBOOKS = ["00_ingest", "10_kpis", "20_budget", "30_exec_summary"]
_SVG_IMG = re.compile(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)")
_LINE = re.compile(r'<g id="line2d_\d+">\s*<path d="([^"]+)"')


def _svgs(nb: nbformat.NotebookNode) -> list[str]:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if "image/svg+xml" in data:
                out.append(data["image/svg+xml"])
            for m in _SVG_IMG.finditer(data.get("text/html", "")):
                out.append(base64.b64decode(m.group(1)).decode())
    return out


def _segments(d: str) -> list[list[float]]:
    """The x coordinates of each drawn piece of an SVG path (``M x y L x y ...``; a new ``M`` starts a piece)."""
    pieces: list[list[float]] = []
    for cmd, x in re.findall(r"([ML])\s*(-?[\d.]+)\s+-?[\d.]+", d):
        if cmd == "M":
            pieces.append([])
        pieces[-1].append(float(x))
    return pieces


def test_every_line_of_every_chart_of_a_run_runs_left_to_right(weekly_run: WeeklyRun) -> None:
    """Pixel x never decreases along a line: a series plotted out of time order (or on a categorical axis built
    from another series' periods) would jump back."""
    n_lines = 0
    for name in NOTEBOOKS:
        nb = nbformat.read(weekly_run.result.run_dir / "notebooks" / f"{name}.ipynb", as_version=4)
        for i, svg in enumerate(_svgs(nb)):
            for d in _LINE.findall(svg):
                for xs in _segments(d):
                    n_lines += 1
                    back = [(a, b) for a, b in zip(xs, xs[1:], strict=False) if b < a - 0.01]
                    assert not back, f"{name} chart {i}: a line goes back in x ({back[:3]}): {xs[:12]}"
    assert n_lines > 50  # the run's charts were found and read


_CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
_NUMBER = re.compile(r"^[-+]?[$€£¥₹]?[\d,]*\.?\d+(?:e[-+]?\d+)?(?: ?%|×| [A-Z]{3})?$")
_DECIMALS = re.compile(r"\.(\d+)(?!\d|e)")


def over_precise(page: str) -> list[str]:
    """Numeric table cells with more than two decimals (money, ratios, plain numbers: 2; percent: 1)."""
    bad = []
    for raw in _CELL.findall(page):
        text = html.unescape(re.sub(r"<[^>]+>", "", raw)).strip()
        if not _NUMBER.match(text) or "e" in text:
            continue
        m = _DECIMALS.search(text)
        limit = 1 if text.endswith("%") else 2
        if m and len(m.group(1)) > limit:
            bad.append(text)
    return bad


def leaks(page: str, home: str) -> list[str]:
    """A warning, a Python path or a path on this machine in a report page."""
    found = re.findall(
        r'data-mime-type="application/vnd\.jupyter\.stderr"|\b[A-Z]?[a-z]*Warning\b|WARNING', page
    )
    found += re.findall(r"site-packages|dist-packages|/usr/lib/python[\d.]*|\w+\.py:\d+|Traceback", page)
    return found + ([home] if home in page else [])


def test_no_report_has_a_warning_a_python_path_or_a_raw_float(weekly_run: WeeklyRun) -> None:
    cells = 0
    for name in NOTEBOOKS:
        page = (weekly_run.result.run_dir / "html" / f"{name}.html").read_text(encoding="utf-8")
        assert not leaks(page, str(weekly_run.home)), f"{name}: {leaks(page, str(weekly_run.home))[:5]}"
        assert not over_precise(page), f"{name}: {over_precise(page)[:10]}"
        cells += len(_CELL.findall(page))
    assert cells > 500  # the reports' tables were read
    assert (
        "Shape validation" in (weekly_run.result.run_dir / "run.log").read_text()
    )  # ArviZ's, in the run log


def test_the_checks_catch_what_they_look_for() -> None:
    assert over_precise("<td>65586.173606</td><td class=num>$1.234</td><td>93.55 %</td>") == [
        "65586.173606",
        "$1.234",
        "93.55 %",
    ]
    assert over_precise("<td>$65,586</td><td>2.24×</td><td>93.5 %</td><td>4.5e-07</td><td>W47</td>") == []
    page = '<div data-mime-type="application/vnd.jupyter.stderr"><pre>FutureWarning: x</pre></div>'
    assert len(leaks(page + "/opt/venv/lib/site-packages/arviz/x.py:12 /home/me", "/home/me")) == 5


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_alerts_lead_with_plain_words_on_the_demo_truth(weekly_run: WeeklyRun) -> None:
    """The planted W45 conversion-rate drop of Search - Generic - Rain Jackets reads as a sentence with its size
    and money from alerts.json (formatted here by hand), its statistics in a closed details toggle."""
    import json

    planted = next(
        a
        for a in weekly_run.world.truth["anomalies"]
        if a["metric"] == "cvr" and a["direction"] == "down" and a["level"] == "campaign"
    )
    found = json.loads((weekly_run.result.run_dir / "exports" / "alerts.json").read_text())
    alert = next(
        a
        for a in found
        if (a["entity"], a["metric"], a["week"]) == (planted["entity"], "cvr", planted["week"])
    )
    k = alert["impact"] / 1000
    money = f"${k:.3g}k"
    want = (
        f"{planted['entity']} converts {abs(alert['size']) * 100:.0f} % less than usual since "
        f"{planted['week'][-3:]}: about {money} at stake this week. Check landing page and bids."
    )
    page = (weekly_run.result.run_dir / "html" / "10_kpis.html").read_text(encoding="utf-8")
    items = re.findall(
        r'<li class="mk-\w+"><p class="mk-plain">(.*?)</p><details class="mk-stats">(.*?)</details>', page
    )
    sentences = {_text(p): _text(d) for p, d in items}
    assert want in sentences, sorted(sentences)[:5]
    assert "z = " in sentences[want] and "BH q" in sentences[want]  # the statistics, behind the toggle
    assert len(items) == min(25, len(found))


def test_exec_summary_opens_with_the_week_from_the_data(weekly_run: WeeklyRun) -> None:
    """What changed and why, recomputed with SQL on the warehouse; what to decide from the run's proposals and
    the top alert of the week, which is one of the demo world's planted changes."""
    import json

    import duckdb

    from mktdash import paths

    page = (weekly_run.result.run_dir / "html" / "30_exec_summary.html").read_text(encoding="utf-8")
    block = re.search(r'<div class="mk-card mk-narrative"[^>]*>(.*?)</div>', page, re.S)
    assert block, "no narrative at the top of the executive summary"
    changed, why, decide = [_text(p) for p in re.findall(r"<p>(.*?)</p>", block.group(1), re.S)]
    with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        rows = con.execute(
            """
            SELECT coalesce(channel, 'other'), strftime(date_day, '%G-W%V') AS week, sum(conversions_value_reporting)
            FROM ad_daily WHERE strftime(date_day, '%G-W%V') IN ('2026-W46', '2026-W47') GROUP BY ALL
            """
        ).fetchall()
    rev = {(c, w): v for c, w, v in rows}
    channels = {c for c, _ in rev}
    delta = {c: rev.get((c, "2026-W47"), 0.0) - rev.get((c, "2026-W46"), 0.0) for c in channels}
    total = sum(delta.values())
    now = sum(v for (_, w), v in rev.items() if w == "2026-W47")
    assert changed.startswith(f"Revenue was ${now / 1000:.3g}k in W47, {'up' if total >= 0 else 'down'} ")
    top = max(channels, key=lambda c: delta[c] if total >= 0 else -delta[c])
    assert why.startswith(f"Most of the change came from {top} (")
    proposals = json.loads((weekly_run.result.run_dir / "exports" / "proposals.json").read_text())
    pending = [p for p in proposals if p["status"].startswith("pending")]
    assert decide.startswith(f"To decide: {len(pending)} budget move")
    from mktdash.reporting.narrative import PLATFORM_NAMES

    plants = [a for a in weekly_run.world.truth["anomalies"] if a["week"] == "2026-W47"]
    # a planted campaign change also moves its platform and channel: the alert may name either
    names = {a["entity"] for a in plants} | {
        PLATFORM_NAMES[a["platform"]] for a in plants if a.get("platform")
    }
    names |= {f"The {a['channel']} channel" for a in plants}
    top_alert = decide.split("the top alert: ", 1)[1]
    assert any(top_alert.startswith(n) or top_alert.startswith(f"Each conversion from {n}") for n in names), (
        top_alert
    )
