"""Executed notebook -> self-contained HTML that opens offline.

nbconvert embeds images but links MathJax, require.js and widget managers from CDNs; an archived report
must open offline and must not run third-party code, so every external ``<script src>`` and
``<link href>`` is dropped after export. Code cells can be hidden (``exclude_input``) for the executive
and budget reports. Outputs are already escaped by their producers (pandas, :mod:`mktdash.charts`);
nbconvert's own sanitizer is not relied on.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

_EXTERNAL_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.IGNORECASE | re.DOTALL
)
_EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.IGNORECASE)
# MathJax config block that would fetch fonts/extensions at load
_MATHJAX_CONFIG = re.compile(
    r"<script[^>]*>\s*(?:window\.)?MathJax\s*=.*?</script>|<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->",
    re.IGNORECASE | re.DOTALL,
)


def offline(html: str) -> str:
    """Remove every external script and stylesheet reference.

    >>> offline('<script src="https://cdn.x/require.js"></script><p>ok</p>')
    '<p>ok</p>'
    """
    html = _MATHJAX_CONFIG.sub("", html)
    html = _EXTERNAL_SCRIPT.sub("", html)
    return _EXTERNAL_LINK.sub("", html)


def external_refs(html: str) -> list[str]:
    """External ``src``/``href`` targets that a browser would fetch on load (tests assert it is empty)."""
    refs = re.findall(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"' >]+)", html, re.I)
    return refs


def export(notebook: Path, dest: Path, *, hide_code: bool = False, title: str | None = None) -> Path:
    """Write ``notebook`` as offline HTML to ``dest``; code hidden when ``hide_code``."""
    nb = nbformat.read(notebook, as_version=4)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = hide_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    resources = {"metadata": {"name": title or notebook.stem}}
    with warnings.catch_warnings():  # scrapbook's glue outputs have no HTML form; that is expected
        warnings.filterwarnings("ignore", message=".*scrapbook.*not able to be represented", category=UserWarning)
        body, _ = exporter.from_notebook_node(nb, resources=resources)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(offline(body), encoding="utf-8")
    return dest
