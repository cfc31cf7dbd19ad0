"""One weekly run at a time: a lock with its owner's pid and a heartbeat, and the clean-up after a crash.

The lock is an exclusive ``flock`` on ``outputs/.run.lock``: the kernel holds it for the runner's process
and drops it when that process ends, however it ends (``kill -9`` included), so a lock is never left behind
and never taken from a live owner. Beside it, ``outputs/.run-owner.json`` names the owner (run id, pid,
host, start time) for the messages; the owner touches it every ``run.heartbeat_seconds`` (its heartbeat).

A run whose manifest still says ``running`` while nobody holds the lock was killed (or its machine stopped):
:func:`reap_crashed`, called by every command that reads or writes runs, marks it ``crashed`` and removes
its warehouse snapshot from ``outputs/published`` (pointing the dashboards back at the newest good run's
snapshot if it was the published one). It runs only while holding the lock, so it can never mark a live run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import threading
import time
from typing import IO, Any

from mktdash import paths
from mktdash.runner import archive

LOCK, OWNER = ".run.lock", ".run-owner.json"


class RunBusy(RuntimeError):
    """Another run holds the lock (the message names it)."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def holder() -> dict[str, Any] | None:
    """The owner of the run lock (see :func:`owner`) if a run holds it now, else None."""
    try:
        f = _open_lock()
    except OSError:  # a read-only outputs/ without a lock file: no run can be holding it
        return None
    try:
        return None if _try_flock(f) else owner()
    finally:
        f.close()


def owner() -> dict[str, Any] | None:
    """The lock owner as it described itself (plus ``heartbeat_age`` in seconds), or None."""
    path = paths.outputs_dir() / OWNER
    with contextlib.suppress(OSError, ValueError):
        info = dict(json.loads(path.read_text(encoding="utf-8")))
        info["heartbeat_age"] = round(time.time() - path.stat().st_mtime, 1)
        return info
    return None


def _owner_once_written(limit: float = 2.0) -> dict[str, Any] | None:
    """:func:`owner`, waiting up to ``limit`` seconds for it: a run that has just taken the lock writes its
    description a moment later (two runs started together), and the refused one should say who holds it."""
    deadline = time.monotonic() + limit
    while (info := owner()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return info


def busy_message(info: dict[str, Any] | None, stuck_after: float | None = None) -> str:
    """``another run (<id>, started at <time>) is in progress`` (or ``another ingest (…)``), with its pid and
    heartbeat when known, and a pointer to ``mktdash runs`` when the heartbeat is older than ``stuck_after``."""
    if not info:
        return "another run or ingest is in progress (it is starting)"
    kind = info.get("kind", "run")
    msg = f"another {kind} ({info.get('run_id')}, started at {info.get('started_at')}) is in progress"
    msg = f"{msg} (pid {info.get('pid')} on {info.get('host')}, last heartbeat {info.get('heartbeat_age')} s ago)"
    if is_stuck(info, stuck_after):
        msg += "; it looks stuck: `mktdash runs` says what to do"
    return msg


def is_stuck(info: dict[str, Any] | None, stuck_after: float | None) -> bool:
    """The holder's heartbeat is older than ``stuck_after`` seconds (its process is alive: it holds the lock)."""
    age = (info or {}).get("heartbeat_age")
    return stuck_after is not None and isinstance(age, int | float) and age > stuck_after


def stuck_advice(info: dict[str, Any], stuck_after: float) -> str:
    """What an operator does about a lock holder whose heartbeat stopped (docs/cli.md, "A stuck run")."""
    pid, host = info.get("pid"), info.get("host")
    where = "" if host == socket.gethostname() else f" (on {host}: run these there)"
    return (
        f"its heartbeat is {info.get('heartbeat_age')} s old (more than run.stuck_after_seconds = "
        f"{stuck_after:g}): process {pid} holds the lock but looks stuck (stopped, or blocked on I/O){where}.\n"
        f"  check it:  ps -o pid,stat,etime,args -p {pid}   (STAT T = stopped: `kill -CONT {pid}` resumes it)\n"
        f"  end it:    kill {pid}   (then `kill -9 {pid}` if it is still there after 30 s); the lock is freed "
        "when the process ends and the next mktdash command marks the run crashed.\n"
        "  there is no --unlock: the lock belongs to that process, and a second run beside it could write the "
        "same warehouse."
    )


def _open_lock() -> IO[bytes]:
    paths.outputs_dir().mkdir(parents=True, exist_ok=True)
    return open(paths.outputs_dir() / LOCK, "a+b")  # noqa: SIM115 - held for the run; closed by release


def _try_flock(f: IO[bytes]) -> bool:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class RunLock:
    """``with RunLock(run_id, wait=10, heartbeat=5):`` holds the run lock, waiting at most ``wait`` seconds
    for another run to end (then :class:`RunBusy`); crashed runs are reaped once it is taken.

    ``kind``: what holds it, ``run`` or ``ingest`` (``mktdash ingest`` takes the same lock: one writer of the
    warehouse at a time); ``stuck_after``: a holder's heartbeat older than this is called stuck in the message.
    """

    def __init__(
        self,
        run_id: str,
        *,
        wait: float = 0.0,
        heartbeat: float = 5.0,
        kind: str = "run",
        stuck_after: float | None = None,
    ) -> None:
        self.run_id, self.wait, self.heartbeat, self.stuck_after = run_id, wait, heartbeat, stuck_after
        self.info: dict[str, Any] = {
            "run_id": run_id,
            "kind": kind,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        self._file: IO[bytes] | None = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> RunLock:
        f = _open_lock()
        deadline = time.monotonic() + self.wait
        while not _try_flock(f):
            if time.monotonic() >= deadline:
                f.close()
                raise RunBusy(busy_message(_owner_once_written(), self.stuck_after))
            time.sleep(min(0.2, max(self.wait, 0.01)))
        self._file = f
        self.info["started_at"] = _now()
        try:
            _write_owner(self.info)
            reap_crashed(locked=True)
        except BaseException:
            self._release()
            raise
        self._beat = threading.Thread(target=self._heartbeat, name="mktdash-heartbeat", daemon=True)
        self._beat.start()
        return self

    def _heartbeat(self) -> None:
        path = paths.outputs_dir() / OWNER
        while not self._stop.wait(self.heartbeat):
            with contextlib.suppress(OSError):  # informative only: the flock, not this file, is the lock
                os.utime(path)

    def _release(self) -> None:
        self._stop.set()
        if self._beat:
            self._beat.join()
        with contextlib.suppress(OSError):  # a read-only or full disk: the next owner rewrites it
            (paths.outputs_dir() / OWNER).unlink()
        if self._file:
            self._file.close()
            self._file = None

    def __exit__(self, *exc: object) -> None:
        self._release()


def _write_owner(info: dict[str, Any]) -> None:
    path = paths.outputs_dir() / OWNER
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(info), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def reap_crashed(*, locked: bool = False) -> list[archive.RunRef]:
    """Mark every run still ``running`` whose owner is gone as ``crashed``, remove its snapshot from
    ``outputs/published``, rewrite the index; returns the runs marked. Does nothing while a run holds the
    lock (that run reaped when it took it). ``locked``: the caller holds the lock."""
    if not paths.runs_dir().exists():
        return []
    if not locked:
        try:
            f = _open_lock()
        except OSError:  # a read-only outputs/: nothing could be marked anyway
            return []
        try:
            if not _try_flock(f):
                return []
            (paths.outputs_dir() / OWNER).unlink(missing_ok=True)  # left by an owner that was killed
            return reap_crashed(locked=True)
        finally:
            f.close()  # closing the file drops the lock
    reaped = [r for r in archive.list_runs() if r.status == "running"]
    for ref in reaped:
        _mark_crashed(ref)
        _unpublish(ref.run_id)
    if reaped:
        archive.write_index()
    return reaped


def _mark_crashed(ref: archive.RunRef) -> None:
    manifest = archive.read_manifest(ref.path) or dict(ref.summary)
    pid = (manifest.get("runner") or {}).get("pid")
    who = f"the run's process (pid {pid})" if pid else "the run's process"
    manifest.update(
        status="crashed",
        error=f"{who} ended before the run finished (killed, or the machine stopped); found at {_now()}",
        finished_at=manifest.get("finished_at"),
    )
    manifest.pop("published", None)
    (ref.path / ".reserve").unlink(missing_ok=True)  # the room the run kept for its last manifest
    archive.write_manifest(ref.path, manifest)


def _unpublish(run_id: str) -> None:
    """Remove ``run_id``'s snapshot; if the dashboards pointed at it, point them at the newest ok run's."""
    from mktdash.dashboards import publish

    current = publish.latest()
    for f in publish.published_dir().glob(f"{run_id}.duckdb*"):
        f.unlink(missing_ok=True)
    if current is None or current.run_id != run_id:
        return
    for ref in archive.list_runs():
        snap = publish.published_dir() / f"{ref.run_id}.duckdb"
        if ref.status == "ok" and snap.exists():
            publish.point(ref.path, snap, keep=len(list(publish.published_dir().glob("*.duckdb"))))
            return
    (publish.published_dir() / publish.POINTER).unlink(missing_ok=True)
    publish.write_dashboard_params(None)
