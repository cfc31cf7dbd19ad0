"""The dashboard kernels of ``mktdash serve``: owned by a login, bounded, ended when their page goes.

Imported when the server starts (it needs jupyter_server); see :mod:`mktdash.dashboards.serve` and docs/dashboards.md.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Float, Integer

from mktdash.dashboards.serve import CURRENT, Admission, Unavailable


class BoundedKernelManager(AsyncMappingKernelManager):  # type: ignore[misc]
    """Kernels with an owner (the login whose page uses them), bounded overall and per login.

    A page's kernel ends ``disconnect_grace`` seconds after its last websocket closed (reload, closed
    tab, lost beacon) unless the page reconnects; at a limit such orphaned kernels are ended first.
    """

    max_kernels = Integer(8, config=True, help="Most kernels running at once (viewers + preheated).")
    max_kernels_per_login = Integer(3, config=True, help="Most kernels one login's pages hold at once.")
    disconnect_grace = Float(10.0, config=True, help="Seconds a kernel outlives its page's last socket.")
    connect_timeout = Float(30.0, config=True, help="Idle seconds a page's kernel may wait for its socket.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owners: dict[str, str] = {}
        self.sockets: dict[str, int] = {}
        self.orphans: dict[str, asyncio.TimerHandle] = {}
        self.admissions: set[Admission] = set()

    def live(self) -> list[str]:
        return list(self.list_kernel_ids())

    def kernels_of(self, login: str) -> list[str]:
        return [k for k in self.live() if self.owners.get(k) == login]

    def _idle(self, kernel_id: str) -> float:
        last = getattr(self._kernels.get(kernel_id), "last_activity", None)
        return (datetime.datetime.now(datetime.UTC) - last).total_seconds() if last else 0.0

    def _never_connected(self) -> list[str]:
        pooled = self._pooled()
        return [k for k in self.live() if k not in self.sockets and k not in pooled and k not in self.orphans]

    def retry_after(self, login: str | None = None) -> int:
        """Seconds until the first kernel (of ``login``) is freed: idle cull, page gone, never connected,
        a page still opening (5 s up to the cull time)."""
        cull = float(self.cull_idle_timeout or 600)
        mine = set(self.kernels_of(login) if login is not None else self.live()) - self._pooled()
        waits = [cull - self._idle(k) + self.cull_interval for k in mine]
        waits += [self.connect_timeout - self._idle(k) + 5 for k in self._never_connected() if k in mine]
        waits += [self.disconnect_grace + 1 for k in self.orphans if k in mine]
        waits += [self.connect_timeout + 5 for a in self.admissions if login in (None, a.login)]
        return int(max(5, min([cull, *waits])))

    async def sweep(self) -> None:
        """End kernels whose page never connected (a plain GET, a reload before the page was up) once they
        are idle (not while a cell runs: a long first render, or a preheated kernel still rendering)."""
        for k in self._never_connected():
            busy = getattr(self._kernels.get(k), "execution_state", "") in ("busy", "starting")
            if not busy and self._idle(k) > self.connect_timeout:
                self.log.info("mktdash: ending kernel %s, no page connected to it", k)
                await self.shutdown_kernel(k)

    def start_sweeping(self, every: float = 5.0) -> None:
        from tornado.ioloop import PeriodicCallback

        self._sweeper = PeriodicCallback(self.sweep, every * 1000)
        self._sweeper.start()

    async def reap_orphans(self) -> int:
        """End every kernel whose page has gone (in its grace period); return how many."""
        await self.sweep()
        gone = [k for k in list(self.orphans) if k in self.live()]
        for k in gone:
            self.orphans.pop(k).cancel()
            await self.shutdown_kernel(k)
        return len(gone)

    def _held(self, login: str | None = None) -> int:
        """Kernels plus admitted pages still waiting for theirs (all logins, or one)."""
        waiting = [a for a in self.admissions if a.pending and (login is None or a.login == login)]
        return len(self.kernels_of(login) if login is not None else self.live()) + len(waiting)

    async def admit(self, login: str) -> Admission:
        """Let one page of ``login`` in, or raise :class:`Unavailable` (per-login or overall limit)."""
        if self._held(login) >= self.max_kernels_per_login or self._held() >= self.max_kernels:
            await self.reap_orphans()
        if self._held(login) >= self.max_kernels_per_login:
            raise Unavailable(
                f"You have {self.max_kernels_per_login} dashboard pages open or opening, the most one "
                "login may have at once: close one of them.",
                self.retry_after(login),
            )
        if self._held() >= self.max_kernels and not self._pooled():
            raise Unavailable("Every dashboard kernel is in use by other viewers.", self.retry_after())
        adm = Admission(login)
        self.admissions.add(adm)
        return adm

    def done(self, adm: Admission) -> None:
        adm.pending = False
        self.admissions.discard(adm)

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        if len(self.live()) >= self.max_kernels:
            await self.reap_orphans()
        if len(self.live()) >= self.max_kernels:
            self.log.warning("mktdash: kernel limit %s reached, refusing a new viewer", self.max_kernels)
            raise web.HTTPError(503, "Too many dashboard viewers right now; try again in a few minutes.")
        preheat = (kwargs.get("env") or {}).get("VOILA_PREHEAT") == "True"
        kid = str(await super().start_kernel(*args, **kwargs))
        adm = None if preheat else CURRENT.get()
        if adm is not None and adm.pending:
            self.owners[kid] = adm.login
            self.done(adm)
        return kid

    def claim(self, kernel_id: str, login: str) -> bool:
        """A page's socket connects: its login owns the kernel (pooled kernels are claimed here)."""
        owner = self.owners.setdefault(kernel_id, login)
        if owner != login:
            return False
        self.sockets[kernel_id] = self.sockets.get(kernel_id, 0) + 1
        handle = self.orphans.pop(kernel_id, None)
        if handle:
            handle.cancel()
        return True

    def release(self, kernel_id: str) -> None:
        """A page's socket closed: end the kernel after the grace period unless another socket opens."""
        n = self.sockets.get(kernel_id, 1) - 1
        self.sockets[kernel_id] = n
        if n > 0 or kernel_id not in self.live():
            return
        loop = asyncio.get_event_loop()
        self.orphans[kernel_id] = loop.call_later(
            self.disconnect_grace, lambda: asyncio.ensure_future(self._end_orphan(kernel_id))
        )

    async def _end_orphan(self, kernel_id: str) -> None:
        self.orphans.pop(kernel_id, None)
        if self.sockets.get(kernel_id, 0) <= 0 and kernel_id in self.live():
            self.log.info("mktdash: ending kernel %s, its page has gone", kernel_id)
            await self.shutdown_kernel(kernel_id)

    async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        handle = self.orphans.pop(kernel_id, None)
        if handle:
            handle.cancel()
        try:
            await super().shutdown_kernel(kernel_id, *args, **kwargs)
        finally:
            self.owners.pop(kernel_id, None)
            self.sockets.pop(kernel_id, None)

    def _pooled(self) -> set[str]:
        """Kernels waiting pre-rendered in Voilà's preheat pool (no viewer yet)."""
        out: set[str] = set()
        for pool in getattr(self, "_pools", {}).values():
            for task in pool:
                if task.done() and not task.cancelled() and task.exception() is None:
                    out.add(task.result().get("kernel_id"))
        return out

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        if kernel_id in self._pooled():  # culling a pooled kernel would leave the pool empty
            return
        await super().cull_kernel_if_idle(kernel_id)
