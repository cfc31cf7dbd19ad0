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
    found = re.findall(r'data-mime-type="application/vnd\.jupyter\.stderr"|\b[A-Z]?[a-z]*Warning\b|WARNING', page)
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
