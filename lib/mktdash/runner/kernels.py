"""Kernels started ahead of the notebook that will use them (the weekly run's preheating).

A weekly run spends ~1 s starting each kernel and 1.5-3.5 s in each notebook's imports (pandas, matplotlib,
Ibis, ...) before any work. :class:`Preheated` starts a notebook's kernel on a background thread while the
previous notebook still runs and executes, silently, the notebook's own import cells (the code cells above
its ``parameters`` cell that hold nothing but ``import`` statements, docs/contracts.md, Notebooks). papermill then
executes the whole notebook in that kernel, import cells included (cheap, the modules are loaded), so the
executed notebook is exactly what it would be in a fresh kernel. The same idea as Voilà's preheated kernels.

Every kernel is a plain ``python -m ipykernel_launcher`` process started by jupyter_client's own
``AsyncKernelManager`` (public API only). Kernels listen on IPC sockets in a private folder (not on TCP
ports of localhost). A kernel that cannot start, or whose import cells fail while it warms up, raises
:class:`WarmUpError` from :meth:`Preheated.manager`: the notebook fails with that message in the run's
record, never silently.
"""

from __future__ import annotations

import ast
import asyncio
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat


class WarmUpError(RuntimeError):
    """A preheated kernel did not start, or its notebook's import cells failed in it."""


def import_cells(notebook: Path) -> str:
    """The source of the code cells above the ``parameters`` cell that contain only import statements."""
    nb = nbformat.read(notebook, as_version=4)
    code = []
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            break
        if cell.cell_type != "code":
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:
            continue
        if body and all(isinstance(node, ast.Import | ast.ImportFrom) for node in body):
            code.append(cell.source)
    return "\n".join(code)


async def _warm_up(km: Any, code: str, timeout: float) -> None:
    """Wait for the kernel and run ``code`` in it; raise :class:`WarmUpError` if either fails."""
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=timeout)
        if not code:
            return
        msg_id = kc.execute(code, silent=True, store_history=False)
        while True:  # the execute_reply says the imports are done (ok or not)
            reply = await kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content.get("status") != "ok":
            raise WarmUpError(f"its import cells failed: {content.get('ename')}: {content.get('evalue')}")
    finally:
        kc.stop_channels()


async def _start(kernel_name: str, notebook: Path, code: str, sockets: str, timeout: float) -> Any:
    from jupyter_client.manager import AsyncKernelManager

    # IPC sockets in a private (0700) folder instead of TCP ports on localhost: no other local user can
    # reach the kernel, and ipykernel's "running over TCP without encryption" warning is gone
    km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=str(Path(sockets) / "kernel"))
    await km.start_kernel(cwd=str(notebook.parent))
    try:
        await _warm_up(km, code, timeout)
    except BaseException:
        await km.shutdown_kernel(now=True)
        raise
    return km


class Preheated:
    """``Preheated(notebook, kernel_name)`` starts the kernel now, on a background thread; ``.manager()`` waits
    for it and hands the ``AsyncKernelManager`` to papermill (``km=``); ``shutdown()`` stops it after the run."""

    _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mktdash-kernel")
    _stopper = ThreadPoolExecutor(
        max_workers=2, thread_name_prefix="mktdash-kernel-stop"
    )  # never behind a start

    def __init__(self, notebook: Path, kernel_name: str, *, timeout: float = 120.0) -> None:
        self.notebook = notebook
        self._sockets = tempfile.mkdtemp(prefix="mktdash-kernel-")
        code = import_cells(notebook)
        self._future: Future[Any] = self._pool.submit(
            asyncio.run, _start(kernel_name, notebook, code, self._sockets, timeout)
        )

    def manager(self) -> Any:
        """The started kernel's manager; :class:`WarmUpError` naming the notebook if it did not warm up."""
        try:
            return self._future.result()
        except WarmUpError as e:
            raise WarmUpError(f"kernel for {self.notebook.name}: {e}") from e
        except Exception as e:  # no kernel: a timeout, a missing kernelspec, a kernel that died at start
            raise WarmUpError(
                f"kernel for {self.notebook.name} did not start: {type(e).__name__}: {e}"
            ) from e

    def shutdown(self) -> Future[None]:
        """Stop the kernel on a thread of its own (the caller may hold papermill's loop) and return at once."""
        return self._stopper.submit(self._stop)

    def _stop(self) -> None:
        try:
            if self._future.exception() is None:  # a kernel that never started was shut down by _start
                km = self._future.result()
                if km.has_kernel:  # papermill shut it down already when the notebook ended
                    asyncio.run(km.shutdown_kernel(now=True))
        finally:
            shutil.rmtree(self._sockets, ignore_errors=True)


class KernelPool:
    """The run's kernels by notebook name: ``preheat`` starts them ahead, ``take`` hands one over (starting it
    now if it was not preheated), ``release`` stops it without waiting; leaving the ``with`` block stops
    whatever is left and waits until every kernel is gone."""

    def __init__(self, notebooks_dir: Path, kernel_name: str) -> None:
        self.notebooks_dir, self.kernel_name = notebooks_dir, kernel_name
        self.kernels: dict[str, Preheated] = {}
        self.stopping: list[Future[None]] = []

    def preheat(self, names: list[str]) -> None:
        for name in names:
            if name not in self.kernels:
                self.kernels[name] = Preheated(self.notebooks_dir / f"{name}.ipynb", self.kernel_name)

    def take(self, name: str) -> Any:
        self.preheat([name])
        return self.kernels[name].manager()

    def release(self, name: str) -> None:
        if kernel := self.kernels.pop(name, None):
            self.stopping.append(kernel.shutdown())

    def release_all(self) -> None:
        for name in list(self.kernels):
            self.release(name)

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_all()
        for stopped in self.stopping:
            stopped.result()
