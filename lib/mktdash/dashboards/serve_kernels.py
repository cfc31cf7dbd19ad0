"""The dashboard kernels of ``mktdash serve``: owned by a login, bounded, ended when their page goes.

Imported when the server starts (it needs jupyter_server); see :mod:`mktdash.dashboards.serve` and docs/dashboards.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Float, Integer, TraitError

from mktdash.dashboards.admission import CURRENT, Admission, Unavailable


class BoundedKernelManager(AsyncMappingKernelManager):  # type: ignore[misc]
    """Kernels with an owner (the login whose page uses them), bounded overall and per login.

    A page's kernel ends ``disconnect_grace`` seconds after its last websocket closed (reload, closed
    tab, lost beacon) unless the page reconnects; at a limit such orphaned kernels are ended first.

    Counted toward the limits: kernels running or starting (not those being ended), pages admitted and
    still waiting for theirs. Kernels of gone pages are killed at once (a dashboard kernel holds nothing
    to save), so their memory is back before the next page is admitted. A kernel handed to a page (from
    the preheated pool or started for it) gets ``connect_timeout`` seconds for the page to connect, counted
    from the hand-over, not from its last activity (a pre-rendered kernel may have idled in the pool).
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
        self.ending: set[str] = set()  # kernels being shut down (no longer counted)
        self.handed: dict[str, float] = {}  # kernel -> time.monotonic() it was handed to a page

    def live(self) -> list[str]:
        """Kernels running or starting, except those being ended."""
        ids = dict.fromkeys([*self.list_kernel_ids(), *getattr(self, "_pending_kernels", {})])
        return [k for k in ids if k not in self.ending]

    def kernels_of(self, login: str) -> list[str]:
        return [k for k in self.live() if self.owners.get(k) == login]

    def _idle(self, kernel_id: str) -> float:
        """Seconds since the kernel's last activity, or since it was handed to a page if that is later
        (0 while it starts: jupyter_server sets ``last_activity`` only after the kernel is listed)."""
        try:
            last = getattr(self._kernels.get(kernel_id), "last_activity", None)
        except TraitError:  # listed but not yet stamped: it is starting
            return 0.0
        idle = (datetime.datetime.now(datetime.UTC) - last).total_seconds() if last else 0.0
        handed = self.handed.get(kernel_id)
        return idle if handed is None else min(idle, time.monotonic() - handed)

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
        are idle (not while a cell runs: a long first render, or a preheated kernel still rendering);
        replace preheated kernels that failed to start."""
        self._prune_pools()
        for k in self._never_connected():
            busy = getattr(self._kernels.get(k), "execution_state", "") in ("busy", "starting")
            if not busy and self._idle(k) > self.connect_timeout:
                await self.end(k, "no page connected to it")

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
        await asyncio.gather(*(self.end(k, "its page has gone (a new page needs the room)") for k in gone))
        return len(gone)

    def _held(self, login: str | None = None) -> int:
        """Kernels plus admitted pages still waiting for theirs (all logins, or one)."""
        waiting = [a for a in self.admissions if a.pending and (login is None or a.login == login)]
        return len(self.kernels_of(login) if login is not None else self.live()) + len(waiting)

    async def _settle(self, full: Any, wait: float) -> None:
        """While ``full()``: end the orphans, then wait (at most ``wait`` s) for kernels being ended or a
        slot to free; a closed page's kernel is killed at once, so this takes a moment, not a grace period."""
        deadline = time.monotonic() + wait
        while full():
            await self.reap_orphans()
            if not full() or time.monotonic() >= deadline:
                return
            await asyncio.sleep(0.2)  # kernels being killed (their process is being reaped)

    async def admit(self, login: str) -> Admission:
        """Let one page of ``login`` in, or raise :class:`Unavailable` (per-login or overall limit)."""

        def full() -> bool:
            mine = self._held(login) >= self.max_kernels_per_login
            return mine or (self._held() >= self.max_kernels and not self._pool_tasks())

        # wait only for kernels already on their way out (a closed page of this viewer's, say)
        await self._settle(full, 0.0)
        if full() and self.ending:
            await self._settle(lambda: full() and bool(self.ending), 10.0)
        if self._held(login) >= self.max_kernels_per_login:
            raise Unavailable(
                f"You have {self.max_kernels_per_login} dashboard pages open or opening, the most one "
                "login may have at once: close one of them.",
                self.retry_after(login),
            )
        if self._held() >= self.max_kernels and not self._pool_tasks():
            raise Unavailable("Every dashboard kernel is in use by other viewers.", self.retry_after())
        adm = Admission(login)
        self.admissions.add(adm)
        return adm

    def done(self, adm: Admission) -> None:
        adm.pending = False
        self.admissions.discard(adm)

    def _hand(self, kernel_id: str, adm: Admission | None) -> None:
        """``kernel_id`` now serves the page of ``adm``: its owner, and its time to connect from now. Its
        activity is stamped now too, so that jupyter_server's idle culler does not end a pre-rendered kernel
        that waited in the pool longer than ``cull_idle_seconds`` just as its page starts to load."""
        self.handed[kernel_id] = time.monotonic()
        with contextlib.suppress(KeyError, TraitError):
            self._kernels[kernel_id].last_activity = datetime.datetime.now(datetime.UTC)
        if adm is not None:
            self.owners.setdefault(kernel_id, adm.login)
            self.done(adm)

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        """A kernel within ``max_kernels``: at the limit, orphans are ended and the start waits (up to
        ``connect_timeout``) for a slot, then HTTP 503 (a pool refill that fails is replaced later)."""
        await self._settle(lambda: len(self.live()) >= self.max_kernels, self.connect_timeout)
        if len(self.live()) >= self.max_kernels:
            self.log.warning("mktdash: kernel limit %s reached, refusing a new kernel", self.max_kernels)
            raise web.HTTPError(503, "Too many dashboard viewers right now; try again in a few minutes.")
        preheat = (kwargs.get("env") or {}).get("VOILA_PREHEAT") == "True"
        kid = str(await super().start_kernel(*args, **kwargs))
        adm = None if preheat else CURRENT.get()
        if adm is not None and adm.pending:
            self._hand(kid, adm)
        return kid

    def wrap_pool(self) -> None:
        """Wrap Voilà's preheat pool (methods of the subclass Voilà makes of this class): a kernel taken
        from the pool is handed to the page's login, and failed pool entries are replaced, never served."""
        take, size = getattr(self, "get_rendered_notebook", None), getattr(self, "get_pool_size", None)
        if take is None or size is None:  # preheating is off
            return

        async def get_rendered_notebook(notebook_name: str, *args: Any, **kwargs: Any) -> Any:
            adm = CURRENT.get()
            if adm is not None:
                adm.pending = False  # the pooled kernel is counted already: the page adds none
            try:
                out = await take(notebook_name, *args, **kwargs)
            except Exception as e:  # the entry failed while the page waited for it: retry, never a 500
                self.log.warning("mktdash: a preheated kernel of %s failed (%s)", notebook_name, e)
                raise web.HTTPError(503, "The dashboard kernel failed to start; try again.") from None
            self._hand(out[2], adm)
            return out

        def get_pool_size(notebook_name: str) -> int:
            self._prune_pool(notebook_name)
            return int(size(notebook_name))

        self.get_rendered_notebook = get_rendered_notebook
        self.get_pool_size = get_pool_size

    def _prune_pools(self) -> None:
        for nb in list(getattr(self, "_pools", {})):
            self._prune_pool(nb)

    def _prune_pool(self, notebook_name: str) -> None:
        """Drop pool entries whose kernel failed to start (e.g. at the limit) and start replacements."""
        pool = getattr(self, "_pools", {}).get(notebook_name, [])
        failed = [t for t in pool if t.done() and (t.cancelled() or t.exception() is not None)]
        for t in failed:
            pool.remove(t)
            self.log.warning("mktdash: a preheated kernel of %s failed to start (%s); replacing it",
                             notebook_name, "cancelled" if t.cancelled() else t.exception())  # fmt: skip
        fill = getattr(self, "fill_if_needed", None)  # Voilà's preheating subclass
        if failed and fill is not None:
            fill(notebook_name=notebook_name)

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
        if self.sockets.get(kernel_id, 0) <= 0:
            await self.end(kernel_id, "its page has gone")

    async def end(self, kernel_id: str, why: str) -> None:
        """Kill a page's kernel now (nothing in it to save); once only, however many paths ask."""
        if kernel_id in self.ending or kernel_id not in self.live():
            return
        self._prune_pools()  # Voilà's shutdown reads every pool entry's result: a failed one would raise
        self.log.info("mktdash: ending kernel %s, %s", kernel_id, why)
        await self.shutdown_kernel(kernel_id, now=True)

    async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        if kernel_id in self.ending:  # already on its way out (the beacon and the socket's close race)
            return
        self.ending.add(kernel_id)
        handle = self.orphans.pop(kernel_id, None)
        if handle:
            handle.cancel()
        try:
            await super().shutdown_kernel(kernel_id, *args, **kwargs)
        finally:
            self.owners.pop(kernel_id, None)
            self.sockets.pop(kernel_id, None)
            self.handed.pop(kernel_id, None)
            self.ending.discard(kernel_id)

    def _pool_tasks(self) -> int:
        """Entries of the preheat pools a page can take (ready or starting; failed ones excluded)."""
        return sum(
            not (t.done() and (t.cancelled() or t.exception() is not None))
            for pool in getattr(self, "_pools", {}).values()
            for t in pool
        )

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
