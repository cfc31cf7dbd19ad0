"""sha256 of files, remembered by (path, size, mtime) so that unchanged files are not read again.

The weekly run hashes every inbox file twice (the manifest's inputs, then ingest's "seen before?"); an inbox
of 1M rows is ~250 MB. Like git's index, a file whose size and mtime (ns) are unchanged keeps its hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mktdash import paths


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class HashCache:
    """``with HashCache() as hashes: hashes.sha256(path)``; saved atomically on exit, forgetting files that no
    longer exist. The cache lives in ``data/cache/file_hashes.json``."""

    def __init__(self, file: Path | None = None) -> None:
        self.file = file or paths.cache_dir() / "file_hashes.json"
        try:
            self.known: dict[str, list[Any]] = json.loads(self.file.read_text())
        except (OSError, ValueError):
            self.known = {}

    def sha256(self, path: Path, compute: Callable[[Path], str] = sha256_file) -> str:
        """The cached hash of ``path``, else ``compute(path)`` (default :func:`sha256_file`), remembered."""
        key, st = str(path.resolve()), path.stat()
        hit = self.known.get(key)
        if not (hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns):
            hit = self.known[key] = [st.st_size, st.st_mtime_ns, compute(path)]
        return str(hit[2])

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        live = {k: v for k, v in self.known.items() if os.path.exists(k)}
        with contextlib.suppress(OSError):
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_name(f"{self.file.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(live))
            tmp.replace(self.file)
