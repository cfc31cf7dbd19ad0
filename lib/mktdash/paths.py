"""The one paths module: where the project (params, notebooks) and its data and outputs live.

``MKTDASH_HOME`` moves data/ and outputs/ (tests and benchmarks point it at a temp dir); the project
root is where ``params/base.yaml`` and ``notebooks/`` are, found from the package or the working dir.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout holding ``params/base.yaml`` and ``notebooks/``."""
    env = os.environ.get("MKTDASH_PROJECT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "params" / "base.yaml").exists():
        return here
    for d in [Path.cwd(), *Path.cwd().parents]:
        if (d / "params" / "base.yaml").exists():
            return d
    return Path.cwd()


def home() -> Path:
    """Where ``data/`` and ``outputs/`` live: ``$MKTDASH_HOME`` or the project root."""
    env = os.environ.get("MKTDASH_HOME")
    return Path(env).resolve() if env else project_root()


def params_dir() -> Path:
    return project_root() / "params"


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def data_dir() -> Path:
    return home() / "data"


def inbox_dir() -> Path:
    return data_dir() / "inbox"


def raw_dir() -> Path:
    return data_dir() / "raw"


def demo_dir() -> Path:
    return data_dir() / "demo"


def cache_dir() -> Path:
    return data_dir() / "cache"


def warehouse_path() -> Path:
    return data_dir() / "warehouse.duckdb"


def outputs_dir() -> Path:
    return home() / "outputs"


def runs_dir() -> Path:
    return outputs_dir() / "runs"


def scratch_dir() -> Path:
    """Run folder for interactive use (JupyterLab, no runner): overwritten freely, never archived."""
    return outputs_dir() / "scratch"


def secrets_dir() -> Path:
    return home() / ".secrets"
