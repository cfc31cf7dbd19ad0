"""The weekly run's kernel fork server (started by :class:`mktdash.kernels.KernelPool`, one per run).

``python -m mktdash.kernel_server NOTEBOOKS_DIR`` imports the notebooks' stack once: it runs the import
cells of the notebooks in that folder (for the weekly ones pandas, Ibis, DuckDB, matplotlib, SciPy,
ipykernel, ...: 3-5 s), then drops mktdash's own modules again, so each kernel imports our code fresh and
module-level set-up that needs the kernel (charts registering its figure formatter with the kernel's
IPython) runs in the kernel, as in a fresh process. Then, for each request, it forks a child that becomes
``python -m ipykernel_launcher ARGV`` in the requested folder and environment: a kernel ready in ~30 ms.

Written here because the standard library's fork server re-imports the caller's ``__main__`` module in
every child (a test runner, a notebook, a script without a main guard); this one runs only ipykernel there.

Protocol, one JSON line each way: ``{"argv": [...], "env": {...}, "cwd": "..."}`` on stdin, ``{"pid": N}``
on stdout. End of stdin (the runner finished or died) kills the kernels still running and ends the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

_children: set[int] = set()


def _load_stack(notebooks_dir: Path) -> None:
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as ipykernel sets it
    import ipykernel.kernelapp  # noqa: F401

    from mktdash import kernels

    for notebook in sorted(notebooks_dir.glob("*.ipynb")):
        with contextlib.suppress(Exception):  # a broken import cell reports itself in its own kernel
            exec(kernels.import_cells(notebook), {})  # noqa: S102 - the notebooks' own import cells
    package = sys.modules["mktdash"]
    for name in [m for m in sys.modules if m.startswith("mktdash.") and m != __name__]:
        del sys.modules[name]
        vars(package).pop(name.removeprefix("mktdash."), None)


def _reap(*_: Any) -> None:
    with contextlib.suppress(ChildProcessError):
        while (pid := os.waitpid(-1, os.WNOHANG)[0]) != 0:
            _children.discard(pid)


def _kernel(request: dict[str, Any]) -> NoReturn:
    """In the forked child: become the kernel."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()  # its own process group, like jupyter_client's kernels
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stdout is the server's reply pipe
    os.environ.clear()
    os.environ.update(request["env"])
    if cwd := request.get("cwd"):
        os.chdir(cwd)
        sys.path.insert(0, cwd)  # as `python -m` puts the working folder first
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv=request["argv"])
    sys.exit(0)  # through main() without its clean-up: Python's own exit, atexit handlers included


def main() -> None:
    _load_stack(Path(sys.argv[1]))
    signal.signal(signal.SIGCHLD, _reap)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _kernel(request)
        _children.add(pid)
        sys.stdout.write(json.dumps({"pid": pid}) + "\n")
        sys.stdout.flush()
    for pid in list(_children):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    os._exit(0)  # nothing to flush or close; tearing the stack's modules down would take a second


if __name__ == "__main__":
    main()
