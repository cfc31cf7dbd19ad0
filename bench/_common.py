"""Shared bits for the benchmarks: a temp MKTDASH_HOME and the peak memory of a process tree."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psutil

T = TypeVar("T")


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
    """Samples the memory of a process tree every 0.1 s, in bytes: ``root`` (a pid; this process by default) and
    all its children (the runner, its kernel server, the kernels).

    ``.peak`` is the peak of their summed RSS: pages shared between processes (the kernels are forked from one
    server and share its imports) count once per process, so this overstates the tree's memory. ``.peak_pss``
    is the peak of their summed PSS (each shared page split between its sharers): the RAM the tree really
    holds, what a container's memory limit sees. PSS costs ~2 ms a process to read, so it is read when the
    summed RSS sets a new peak and once a second, not every sample. Still, reading /proc takes CPU (and the GIL
    of the process it runs in): time runs without it."""

    def __init__(self, interval: float = 0.1, root: int | None = None) -> None:
        self.interval, self.peak, self.peak_pss = interval, 0, 0
        self.root = psutil.Process(root)  # the tree's root: this process unless another pid is given
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            tree = [self.root, *_read(self.root, lambda p: p.children(recursive=True), [])]
            total = sum(_read(p, lambda p: p.memory_info().rss, 0) for p in tree)
            if total > self.peak or n % 10 == 0:
                pss = sum(_read(p, lambda p: p.memory_full_info().pss, 0) for p in tree)
                self.peak, self.peak_pss = max(self.peak, total), max(self.peak_pss, pss)
            n += 1
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _read(process: psutil.Process, what: Callable[[psutil.Process], T], default: T) -> T:
    try:
        return what(process)
    except psutil.Error:  # a kernel that just ended
        return default


def gb(b: float) -> str:
    return f"{b / 1e9:.2f} GB"
