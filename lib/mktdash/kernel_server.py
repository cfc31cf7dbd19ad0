"""The weekly run's kernel fork server (started by :class:`mktdash.kernels.KernelPool`, one per run).

``python -m mktdash.kernel_server NOTEBOOKS_DIR`` runs the import cells of the notebooks in that folder once
(for the weekly ones pandas, Ibis, DuckDB, matplotlib, SciPy, ipykernel, ...: 3-5 s of CPU), and forks
each kernel from there: a child that becomes ``python -m ipykernel_launcher ARGV`` in the requested folder
and environment, ready in ~30 ms. A request names its notebook, whose imports are loaded first; while no
request waits, the server loads the next notebook's. The child keeps every module, ours included; set-up
that needs the kernel's IPython (charts registering its figure formatter) is the module's IPython extension
hook, loaded as ``--ext`` when the child becomes the kernel.

Written here because the standard library's fork server re-imports the caller's ``__main__`` module in
every child (a test runner, a notebook, a script without a main guard); this one runs only ipykernel there.

Protocol, one JSON line each way: ``{"notebook": path, "argv": [...], "env": {...}, "cwd": "..."}`` on
stdin, ``{"pid": N}`` on stdout. End of stdin (the runner finished or died) kills the kernels still running
and ends the server.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

_children: set[int] = set()


def _load(notebook: str) -> None:
    from mktdash import kernels

    with contextlib.suppress(Exception):  # a broken import cell reports itself in its own kernel
        exec(kernels.import_cells(Path(notebook)), {})  # noqa: S102 - the notebooks' own import cells


def _reap(*_: Any) -> None:
    with contextlib.suppress(ChildProcessError):
        while (pid := os.waitpid(-1, os.WNOHANG)[0]) != 0:
            _children.discard(pid)


def _kernel(request: dict[str, Any]) -> NoReturn:
    """In the forked child: become the kernel."""
    gc.enable()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()  # its own process group, like jupyter_client's kernels
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)  # stdout is the server's reply pipe
    os.environ.clear()
    os.environ.update(request["env"])
    if cwd := request.get("cwd"):
        os.chdir(cwd)
        sys.path.insert(0, cwd)  # as `python -m` puts the working folder first
    from ipykernel import kernelapp

    # our modules' kernel set-up (charts' figure formatter) runs as IPython extensions once the kernel exists
    hooks = [f"--ext={name}" for name, module in list(sys.modules.items())
             if name.split(".")[0] == "mktdash" and hasattr(module, "load_ipython_extension")]  # fmt: skip
    kernelapp.launch_new_instance(argv=[*request["argv"], *hooks])
    sys.exit(0)  # through main() without its clean-up: Python's own exit, atexit handlers included


def _requests(todo: list[str]) -> Any:
    """Request lines from stdin; while none is waiting, load the imports of the next notebook in ``todo``."""
    buffer = b""
    while True:
        while b"\n" not in buffer:
            if todo and not select.select([0], [], [], 0)[0]:
                _load(todo.pop(0))
                continue
            chunk = os.read(0, 1 << 16)
            if not chunk:
                return
            buffer += chunk
        line, buffer = buffer.split(b"\n", 1)
        yield json.loads(line)


def main() -> None:
    # as the gc docs advise for fork without exec: no collections here, everything loaded frozen before each
    # fork, collections again in the child; its collections then skip the stack's ~1M objects (~0.5 s a kernel)
    # and never write to (and so copy) the pages they share with the server
    gc.disable()
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as ipykernel sets it
    import ipykernel.ipkernel  # noqa: F401 - the kernel class and its debugger (debugpy scans sys.modules
    import ipykernel.kernelapp  # noqa: F401 - on import: cheap now, ~0.5 s after the notebooks' imports)

    todo = [str(p) for p in sorted(Path(sys.argv[1]).glob("*.ipynb"))]
    signal.signal(signal.SIGCHLD, _reap)
    for request in _requests(todo):
        if request.get("notebook") in todo:
            todo.remove(request["notebook"])
            _load(request["notebook"])
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            _kernel(request)
        _children.add(pid)
        os.write(1, (json.dumps({"pid": pid}) + "\n").encode())
    for pid in list(_children):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    os._exit(0)  # nothing to flush or close; tearing the stack's modules down would take a second


if __name__ == "__main__":
    main()
