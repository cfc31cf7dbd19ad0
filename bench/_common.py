"""Shared bits for the benchmarks: a temp MKTDASH_HOME, a wall clock, and peak RSS of a process tree."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil


@contextlib.contextmanager
def temp_home(prefix: str = "mktdash-bench-") -> Iterator[Path]:
    """Point MKTDASH_HOME at a fresh temp dir for the duration (restored afterwards)."""
    old = os.environ.get("MKTDASH_HOME")
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        os.environ["MKTDASH_HOME"] = d
        try:
            yield Path(d)
        finally:
            if old is None:
                os.environ.pop("MKTDASH_HOME", None)
            else:
                os.environ["MKTDASH_HOME"] = old


class PeakRSS:
    """Samples the RSS of this process plus all its children (kernels) every 0.1 s; ``.peak`` in bytes."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN201
    """(result, seconds, peak_rss_bytes) of one call."""
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        secs = time.perf_counter() - t0
    return out, secs, rss.peak


def gib(b: float) -> str:
    return f"{b / 2**30:.2f} GiB"
