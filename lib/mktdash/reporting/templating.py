"""HTML from Jinja2 templates: one loader for every page and fragment mktdash renders.

Templates live in ``lib/mktdash/reporting/templates/*.j2`` and render with autoescape on, so every value from data
(campaign, channel and platform names, alert texts, file names) is escaped by default and a template
expression such as ``{{7*7}}`` inside a value stays literal text. HTML that another mktdash renderer has
already built and escaped (a table, a chart image, the narrative) goes in through :func:`trusted`, which
names the exception where it is made.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import markupsafe

TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.cache
def env() -> Any:
    """The one Jinja2 environment (autoescaped, strict about undefined names), made once per process."""
    import jinja2

    from mktdash.reporting import numbers

    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every value from data is escaped
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )
    e.filters.update(
        money=lambda v: numbers.money(float(v)),
        signed_money=lambda v: ("+" if float(v) >= 0 else "") + numbers.money(float(v)),
        pct=lambda v: numbers.percent(float(v)),
        pct0=lambda v: f"{100 * float(v):.0f} %",
        signed_pct=lambda v: ("+" if float(v) >= 0 else "") + numbers.percent(float(v)),
        min100=lambda v: min(max(float(v), 0.0), 100.0),
    )
    return e


def render(name: str, **context: Any) -> str:
    """Template ``name`` (a file in ``lib/mktdash/reporting/templates``) rendered with ``context``."""
    return str(env().get_template(name).render(**context))


def fragment(name: str, macro: str, *args: Any, **kwargs: Any) -> str:
    """One macro of template ``name`` (small pieces such as a download link), rendered and escaped."""
    return str(getattr(env().get_template(name).module, macro)(*args, **kwargs))


def trusted(fragment_html: str) -> markupsafe.Markup:
    """HTML built and escaped by another mktdash renderer, to insert as is (not for text from data)."""
    return markupsafe.Markup(fragment_html)
