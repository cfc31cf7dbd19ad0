"""A run's notebooks keep their warnings out of the record: a kernel's stderr (Python warnings, library
log records such as ArviZ's or PyMC's) goes to the run folder's ``run.log`` instead of the notebook.

Called by :meth:`mktdash.runner.context.RunContext.create` in a weekly run (static mode, a real run folder); a
notebook run by hand (scratch) or a live dashboard keeps showing warnings to its user.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import IO, Any

LOG_NAME = "run.log"


class _LogStream:
    """A text stream that appends to the run log, line-buffered (kernels of one run share the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def write(self, text: str) -> int:
        if text:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8", buffering=1)
            self._file.write(text)
        return len(text)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"


def to_run_log(run_dir: Path) -> Path:
    """From now on, this process's stderr and the log handlers that wrote to it append to ``run_dir/run.log``
    (returned). Handlers made later (a library imported afterwards) bind to the new stderr themselves."""
    path = run_dir / LOG_NAME
    old = sys.stderr
    stream = _LogStream(path)
    sys.stderr = stream  # type: ignore[assignment]
    loggers: list[Any] = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for h in getattr(logger, "handlers", []):
            if type(h) is logging.StreamHandler and h.stream in (old, sys.__stderr__):
                h.setStream(stream)  # type: ignore[arg-type]
    logging.captureWarnings(True)  # warnings as log records: through the handlers above, once per place
    return path
