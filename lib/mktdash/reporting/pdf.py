"""HTML to PDF through Playwright's ``page.pdf``, driving Debian's Chromium, with no network.

The page is set from a string (``templates/print.html.j2``: its title names the document); images are inline
``data:`` URLs, the browser context is offline and every request that would leave the page is aborted.
Playwright's sync API refuses to run on a thread with a running asyncio loop (a Jupyter or Voilà kernel), so
the browser is driven from a worker thread.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

from mktdash.reporting import templating

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
]


class PdfError(RuntimeError):
    """The PDF could not be made (no Chromium, no Playwright, or the browser failed); the message says what to do."""


def page(title: str, body_html: str) -> str:
    """A whole HTML document: ``title`` (text, escaped) around ``body_html`` (HTML an mktdash renderer made)."""
    return templating.render("print.html.j2", title=title, body=templating.trusted(body_html))


def _print(document: str, chromium: str, timeout_ms: float) -> bytes:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, timeout=timeout_ms)
        try:
            context = browser.new_context(offline=True)
            tab = context.new_page()
            tab.route("**/*", lambda route: route.abort())  # nothing leaves the page (data: URLs stay inline)
            tab.set_default_timeout(timeout_ms)
            tab.set_content(document, wait_until="load")
            pdf: bytes = tab.pdf(print_background=True)
            return pdf
        finally:
            browser.close()


def html_to_pdf(title: str, body_html: str, *, chromium: str = CHROMIUM, timeout: float = 90.0) -> bytes:
    """The PDF of :func:`page` (``title``, ``body_html``) printed by ``chromium`` through Playwright."""
    if not Path(chromium).exists():
        raise PdfError(
            f"{chromium} not found: install Debian's chromium (apt-get install chromium) for PDF export"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        raise PdfError(
            "Playwright is not installed: pip install playwright (no browser download needed)"
        ) from e
    document = page(title, body_html)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mktdash-pdf")
    try:
        return pool.submit(_print, document, chromium, timeout * 1000).result(timeout=timeout + 30)
    except concurrent.futures.TimeoutError as e:
        raise PdfError(f"Chromium did not print the PDF within {timeout:.0f} s") from e
    except Exception as e:  # playwright's errors (browser crashed, page failed): one clear error
        raise PdfError(f"Chromium could not print the PDF: {_first_line(e)}") from e
    finally:
        pool.shutdown(wait=False)  # a browser stuck past its own timeouts does not hold the caller


def _first_line(e: Any) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
