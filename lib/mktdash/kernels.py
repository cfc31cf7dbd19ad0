"""Kernels started ahead of the notebook that will use them (the weekly run's preheating).

A weekly run spends ~1 s starting each kernel and 1.5-3.5 s in each notebook's imports (pandas, matplotlib,
Ibis, ...) before any work. :class:`Preheated` starts a notebook's kernel on a background thread while the
previous notebook still runs and executes, silently, the notebook's own import cells (the code cells above
its ``parameters`` cell that hold nothing but ``import`` statements, GUIDE §3). papermill then executes the
whole notebook in that kernel, import cells included (cheap, the modules are loaded), so the executed
notebook is exactly what it would be in a fresh kernel. The same idea as Voilà's preheated kernels.

Kernels listen on IPC sockets in a private folder (not on TCP ports of localhost). Warm-up failures are
ignored on purpose: the notebook's own import cell raises the same error, in the record, where the reader
looks for it.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat


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


async def _start(kernel_name: str, cwd: Path, code: str, sockets: str, timeout: float) -> Any:
    from jupyter_client.manager import AsyncKernelManager

    # IPC sockets in a private (0700) folder instead of TCP ports on localhost: no other local user can
    # reach the kernel, and ipykernel's "running over TCP without encryption" warning is gone
    km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=str(Path(sockets) / "kernel"))
    await km.start_kernel(cwd=str(cwd))
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=timeout)
        if code:
            msg_id = kc.execute(code, silent=True, store_history=False)
            while True:  # the execute_reply says the imports are done (ok or not)
                reply = await kc.get_shell_msg(timeout=timeout)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
    except Exception:  # see the module docstring: the notebook's own import cell reports it
        pass
    finally:
        kc.stop_channels()
    return km


class Preheated:
    """``Preheated(notebook, kernel_name)`` starts the kernel now; ``.manager()`` waits for it and hands the
    ``AsyncKernelManager`` to papermill (``km=``); ``shutdown()`` stops it after the run."""

    _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mktdash-kernel")
    _stopper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mktdash-kernel-stop")  # never queued behind a start

    def __init__(self, notebook: Path, kernel_name: str, *, timeout: float = 120.0) -> None:
        self._sockets = tempfile.mkdtemp(prefix="mktdash-kernel-")
        code = import_cells(notebook)
        self._future: Future[Any] = self._pool.submit(
            asyncio.run, _start(kernel_name, notebook.parent, code, self._sockets, timeout)
        )

    def manager(self) -> Any:
        return self._future.result()

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):  # on a thread of its own: the caller may hold papermill's loop
            km = self._future.result()
            self._stopper.submit(asyncio.run, km.shutdown_kernel(now=True)).result()
        shutil.rmtree(self._sockets, ignore_errors=True)


class KernelPool:
    """The run's kernels by notebook name: ``preheat`` starts them ahead, ``take`` hands one over (starting it
    now if it was not preheated), ``release`` stops it; leaving the ``with`` block stops whatever is left."""

    def __init__(self, notebooks_dir: Path, kernel_name: str) -> None:
        self.notebooks_dir, self.kernel_name = notebooks_dir, kernel_name
        self.kernels: dict[str, Preheated] = {}

    def preheat(self, names: list[str]) -> None:
        for name in names:
            if name not in self.kernels:
                self.kernels[name] = Preheated(self.notebooks_dir / f"{name}.ipynb", self.kernel_name)

    def take(self, name: str) -> Any:
        self.preheat([name])
        return self.kernels[name].manager()

    def release(self, name: str) -> None:
        if kernel := self.kernels.pop(name, None):
            kernel.shutdown()

    def release_all(self) -> None:
        for name in list(self.kernels):
            self.release(name)

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_all()
