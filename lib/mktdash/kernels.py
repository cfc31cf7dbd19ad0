"""Kernels started ahead of the notebook that will use them (the weekly run's preheating).

A weekly run spends ~1 s starting each kernel and 1.5-3.5 s in each notebook's imports (pandas, matplotlib,
Ibis, ...) before any work. :class:`Preheated` starts a notebook's kernel on a background thread while the
previous notebook still runs and executes, silently, the notebook's own import cells (the code cells above
its ``parameters`` cell that hold nothing but ``import`` statements, docs/contracts.md, Notebooks). papermill then executes the
whole notebook in that kernel, import cells included (cheap, the modules are loaded), so the executed
notebook is exactly what it would be in a fresh kernel. The same idea as Voilà's preheated kernels.

With ``run.fork_kernels`` the kernels are forked from a server that runs the notebooks' import cells once
(:mod:`mktdash.kernel_server`, started with the run): a kernel is ready in ~30 ms once its notebook's imports
are loaded there, instead of 1-4 s of interpreter start and imports, and those imports cost their CPU once
per run, not once per notebook.

Kernels listen on IPC sockets in a private folder (not on TCP ports of localhost). Warm-up failures are
ignored on purpose: the notebook's own import cell raises the same error, in the record, where the reader
looks for it.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.provisioning import LocalProvisioner


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


BACKGROUND_NICENESS = 19  # the lowest priority: the kernel runs on what the others leave


def run_in_background(km: Any) -> None:
    """Lower the CPU priority of ``km``'s kernel to :data:`BACKGROUND_NICENESS`: every thread of it (DuckDB's
    workers included: Linux nice values are per thread) and, where the kernel has one, its autogroup (with
    Linux's autogroup scheduling every session, so every kernel, gets a fair share whatever its threads' nice
    values, unless the group's own nice value says otherwise). A no-op where that cannot be done."""
    pid = getattr(getattr(km, "provisioner", None), "pid", None)
    if not pid or sys.platform != "linux":
        return
    with contextlib.suppress(OSError):  # the kernel is already gone, or /proc is not there
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):  # a thread that just ended
                os.setpriority(os.PRIO_PROCESS, int(tid), BACKGROUND_NICENESS)
    with contextlib.suppress(OSError):  # no autogroup scheduling in this kernel, or not our session
        if os.getsid(pid) == pid:  # the kernel leads its session, hence its autogroup: not shared with us
            Path(f"/proc/{pid}/autogroup").write_text(str(BACKGROUND_NICENESS))


class KernelServer:
    """A :mod:`mktdash.kernel_server` process loading the import cells of the notebooks in ``notebooks_dir``:
    ``fork(notebook, argv, env, cwd)`` returns the pid of a new kernel for ``notebook``."""

    def __init__(self, notebooks_dir: Path) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mktdash.kernel_server", str(notebooks_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True,  # Ctrl-C is the runner's to handle
        )  # fmt: skip
        self._lock = threading.Lock()

    def fork(self, notebook: Path, argv: list[str], env: dict[str, str], cwd: str | None) -> int:
        assert self._process.stdin and self._process.stdout
        request = {"notebook": str(notebook), "argv": argv, "env": env, "cwd": cwd}
        with self._lock:  # waits for the server to load the notebook's imports
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            reply = self._process.stdout.readline()
        if not reply:
            raise RuntimeError(
                f"the kernel fork server exited (code {self._process.wait()}); see its error above"
            )
        return int(json.loads(reply)["pid"])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._process.stdin.close()  # type: ignore[union-attr]
        self._process.wait()
        self._process.stdout.close()  # type: ignore[union-attr]


class _ForkedProcess:
    """The part of ``subprocess.Popen`` that :class:`LocalProvisioner` uses, for a kernel the server forked
    (the server reaps it: it is gone, not a zombie, once it exited)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:  # None while it runs; 0 once gone (its exit code is the server's to know)
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return 0
        return None

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.poll()

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkedProvisioner(LocalProvisioner):  # type: ignore[misc]
    """jupyter_client's local provisioner, launching this interpreter's ``-m ipykernel_launcher`` kernels as
    forks of a :class:`KernelServer` (anything else as a plain process)."""

    server: KernelServer | None = None
    notebook: Path | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        at = next((i for i in range(len(cmd) - 1) if cmd[i : i + 2] == ["-m", "ipykernel_launcher"]), None)
        same_python = os.path.realpath(cmd[0]) == os.path.realpath(sys.executable)
        if not (self.server and self.notebook and at is not None and same_python):
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs["cwd"]) if kwargs.get("cwd") else None
        # the parent's pid, which jupyter_client's launcher passes as JPY_PARENT_PID (read by ipykernel on import)
        argv = [*cmd[at + 2 :], f"--IPKernelApp.parent_handle={os.getpid()}"]
        try:
            pid = self.server.fork(self.notebook, argv, dict(kwargs.get("env") or os.environ), cwd)
        except (
            RuntimeError,
            OSError,
        ) as e:  # the server is gone: the run goes on with a plain kernel, and says why
            self.log.warning("%s: starting the kernel as a new process", e)
            return await super().launch_kernel(cmd, **kwargs)
        self.process = _ForkedProcess(pid)  # type: ignore[assignment]  # the Popen methods it uses
        self.pid = self.pgid = pid  # its own group once it ran setsid; a plain kill before that
        self.cwd = cwd
        return self.connection_info


async def _start(
    kernel_name: str, notebook: Path, code: str, sockets: str, timeout: float, server: KernelServer | None
) -> Any:
    from jupyter_client.manager import AsyncKernelManager

    # IPC sockets in a private (0700) folder instead of TCP ports on localhost: no other local user can
    # reach the kernel, and ipykernel's "running over TCP without encryption" warning is gone
    km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=str(Path(sockets) / "kernel"))
    if server:
        km.kernel_id = str(uuid.uuid4())
        km.provisioner = ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
        km.provisioner.server, km.provisioner.notebook = server, notebook
    await km.start_kernel(cwd=str(notebook.parent))
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
    """``Preheated(notebook, kernel_name)`` starts the kernel now (forked by ``server`` if given);
    ``.manager()`` waits for it and hands the ``AsyncKernelManager`` to papermill (``km=``);
    ``shutdown()`` stops it after the run."""

    _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mktdash-kernel")
    _stopper = ThreadPoolExecutor(
        max_workers=2, thread_name_prefix="mktdash-kernel-stop"
    )  # never queued behind a start

    def __init__(
        self, notebook: Path, kernel_name: str, *, server: KernelServer | None = None, timeout: float = 120.0
    ) -> None:
        self._sockets = tempfile.mkdtemp(prefix="mktdash-kernel-")
        code = import_cells(notebook)
        self._future: Future[Any] = self._pool.submit(
            asyncio.run, _start(kernel_name, notebook, code, self._sockets, timeout, server)
        )

    def manager(self) -> Any:
        return self._future.result()

    def shutdown(self) -> Future[None]:
        """Stop the kernel on a thread of its own (the caller may hold papermill's loop) and return at once: the
        kill is immediate, what follows is jupyter_client polling for the process to be gone (0.1 s a kernel,
        which would sit between one stage's end and the next one's start) and removing its sockets."""
        return self._stopper.submit(self._stop)

    def _stop(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run(self._future.result().shutdown_kernel(now=True))
        shutil.rmtree(self._sockets, ignore_errors=True)


class KernelPool:
    """The run's kernels by notebook name: ``preheat`` starts them ahead, ``take`` hands one over (starting it
    now if it was not preheated), ``release`` stops it without waiting; leaving the ``with`` block stops
    whatever is left and waits until every kernel is gone. With ``fork`` (on Linux), a :class:`KernelServer`
    starts with the pool and forks them."""

    def __init__(self, notebooks_dir: Path, kernel_name: str, *, fork: bool = False) -> None:
        self.notebooks_dir, self.kernel_name = notebooks_dir, kernel_name
        self.kernels: dict[str, Preheated] = {}
        self.stopping: list[Future[None]] = []
        # fork() after imports is safe on Linux; macOS' system frameworks may not survive it
        self.server = KernelServer(notebooks_dir) if fork and sys.platform == "linux" else None

    def preheat(self, names: list[str]) -> None:
        for name in names:
            if name not in self.kernels:
                notebook = self.notebooks_dir / f"{name}.ipynb"
                self.kernels[name] = Preheated(notebook, self.kernel_name, server=self.server)

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
        if self.server:
            self.server.close()
