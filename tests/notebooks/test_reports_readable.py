"""What a person reads from a weekly run: every chart's lines run left to right in time; no report carries a
warning, a Python path or a machine-precision float in a table cell."""

from __future__ import annotations

import base64
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
