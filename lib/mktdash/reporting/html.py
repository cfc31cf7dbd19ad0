"""Executed notebook -> self-contained HTML that opens offline.

nbconvert embeds images but links MathJax, require.js and widget managers from CDNs; an archived report
must open offline and must not run third-party code, so every external ``<script src>`` and
``<link href>`` is dropped after export. Code cells can be hidden (``exclude_input``) for the executive
and budget reports. Outputs are already escaped by their producers (pandas, :mod:`mktdash.reporting.charts`);
nbconvert's own sanitizer is not relied on.
"""

from __future__ import annotations

import ast
import functools
import pprint
import re
import threading
import warnings
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters.strings import clean_html

from mktdash import paths

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
    refs = re.findall(
        r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"' >]+)", html, re.I
    )
    return refs


_IMG_WITHOUT_ALT = re.compile(
    r"<img\b(?![^>]*?\balt=)", re.IGNORECASE
)  # lazy: stops at alt, not after the data
_FOCUSABLE = re.compile(r'<div class="(jp-Cell-inputWrapper|[^"]*\bjp-OutputArea-output\b[^"]*)"')


class _Highlighted(str):
    """Pygments' HTML of a code cell: every character of the source escaped by its formatter."""


def _clean_unless_highlighted(element: Any) -> Any:
    """The lab template runs bleach over the highlighted HTML of every code cell (~0.5 s of a report with
    code shown) to escape what Pygments already escaped; anything else is cleaned as nbconvert does."""
    return element if isinstance(element, _Highlighted) else clean_html(element)


class ReportExporter(HTMLExporter):
    """nbconvert's lab HTML exporter without its BeautifulSoup pass over the finished page (~1 s of a weekly
    run's CPU per report) nor a second escaping of highlighted code; the same accessibility touches (alt
    text on images that have none, input and output areas focusable) are made with two regexes on the lab
    template's own markup.

    >>> _FOCUSABLE.sub(r'<div tabindex="0" class="\\1"', '<div class="jp-RenderedText jp-OutputArea-output">')
    '<div tabindex="0" class="jp-RenderedText jp-OutputArea-output">'
    """

    def from_notebook_node(  # type: ignore[override]  # as nbconvert's HTMLExporter: html, not a node
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

        lang = nb.metadata.get("language_info", {})  # as HTMLExporter.from_notebook_node sets them up
        highlight = Highlight2HTML(pygments_lexer=lang.get("pygments_lexer", lang.get("name")), parent=self)
        self.register_filter("highlight_code", lambda *a, **k: _Highlighted(highlight(*a, **k)))
        self.register_filter("clean_html", _clean_unless_highlighted)
        resources = self._init_resources(resources)
        self.register_filter(
            "filter_data_type",
            WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
        )
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        html = _IMG_WITHOUT_ALT.sub('<img alt="No description has been provided for this image"', html)
        return _FOCUSABLE.sub(r'<div tabindex="0" class="\1"', html), resources


_lock = threading.Lock()


@functools.cache
def _exporter(hide_code: bool) -> ReportExporter:
    """One exporter per flavour for the process: its templates compile once (~0.3 s per report otherwise)."""
    exporter = ReportExporter(template_name="lab")
    exporter.optimistic_validation = True  # validate the notebook once, not after each preprocessor
    exporter.exclude_input = hide_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def warm_up() -> None:
    """Compile both flavours' templates now (on an idle thread, say), so the first real export is quick."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), nbformat.v4.new_code_cell("x")])
    for hide_code in (False, True):
        with _lock:
            _exporter(hide_code).from_notebook_node(nb, resources={"metadata": {"name": "warm-up"}})


def readable_parameters(source: str, width: int = 100, home: Path | None = None) -> str:
    """papermill's injected parameters cell laid out for reading: each ``name = <literal>`` line longer than
    ``width`` pretty-printed over several lines (the resolved params dict is one long line otherwise), paths
    under ``home`` shown relative to it.

    >>> print(readable_parameters("week = 'W'\\nparams = {'a': 1, 'b': {'c': 2}}", width=12))
    week = 'W'
    params = {'a': 1,
              'b': {'c': 2}}
    """
    if home is not None:
        source = source.replace(f'"{home}/', '"').replace(f"'{home}/", "'")
    out = []
    for line in source.splitlines():
        name, sep, value = line.partition(" = ")
        if sep and len(line) > width and name.isidentifier():
            try:
                literal = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                out.append(line)
                continue
            body = pprint.pformat(literal, width=width - len(name) - 3, sort_dicts=False)
            out.append(f"{name} = " + body.replace("\n", "\n" + " " * (len(name) + 3)))
        else:
            out.append(line)
    return "\n".join(out)


def export(notebook: Path, dest: Path, *, hide_code: bool = False, title: str | None = None) -> Path:
    """Write ``notebook`` as offline HTML to ``dest``; code hidden when ``hide_code``; the injected parameters
    laid out over lines (:func:`readable_parameters`)."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = readable_parameters(cell.source, home=paths.home())
    resources = {"metadata": {"name": title or notebook.stem}}
    with _lock, warnings.catch_warnings():  # scrapbook's glue outputs have no HTML form; that is expected
        warnings.filterwarnings(
            "ignore", message=".*scrapbook.*not able to be represented", category=UserWarning
        )
        body, _ = _exporter(hide_code).from_notebook_node(nb, resources=resources)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(offline(body), encoding="utf-8")
    return dest
