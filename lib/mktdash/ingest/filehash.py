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
        known = self.cached(path)
        return known if known is not None else self.remember(path, path.stat(), compute(path))

    def remember(self, path: Path, st: os.stat_result, sha: str) -> str:
        """Record ``sha`` as the hash of ``path`` when it had the size and mtime of ``st`` (taken before it
        was read: a file changed meanwhile does not match next time); return it."""
        self.known[str(path.resolve())] = [st.st_size, st.st_mtime_ns, sha]
        return sha

    def cached(self, path: Path) -> str | None:
        """The hash of ``path`` if it is known and the file unchanged, else None (nothing is read)."""
        try:
            key, st = str(path.resolve()), path.stat()
        except OSError:
            return None
        hit = self.known.get(key)
        return str(hit[2]) if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns else None

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        live = {k: v for k, v in self.known.items() if os.path.exists(k)}
        with contextlib.suppress(OSError):
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_name(f"{self.file.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(live))
            tmp.replace(self.file)
