"""The reference pages that must not drift from the code: ``docs/tables.md`` and ``docs/params.md``.

Both are generated: the warehouse tables from :mod:`mktdash.warehouse.schema` (columns, types and the comments beside
them), the params from the pydantic models of :mod:`mktdash.params` (keys, types, defaults) and the comment of
each key in ``params/base.yaml``. ``python -m mktdash.docgen`` rewrites them; a test checks they are current.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mktdash import params, paths
from mktdash.warehouse import schema

_TYPE_NAMES = {schema.STR: "text", schema.INT: "integer", schema.FLOAT: "number", schema.BOOL: "boolean"}
_COLUMN = re.compile(r'^\s*"(\w+)": (\w+),\s*(?:#\s*(.*))?$')
_TABLE = re.compile(r'^\s*"(\w+)": \{')
_YAML_KEY = re.compile(r"^(\s*)([\w-]+):(.*?)(?:\s#\s*(.*))?$")


def _column_comments() -> dict[tuple[str, str], str]:
    """``(table, column) -> comment`` read from the source of :data:`schema.TABLES`."""
    out: dict[tuple[str, str], str] = {}
    table = ""
    for line in inspect.getsource(schema).splitlines():
        if m := _TABLE.match(line):
            table = m.group(1)
        elif (m := _COLUMN.match(line)) and m.group(3):
            out[(table, m.group(1))] = m.group(3).strip()
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _type_name(dtype: str, column: str) -> str:
    if dtype.startswith("datetime64"):
        return "timestamp" if column.endswith(("_ts", "_at")) else "date"
    return _TYPE_NAMES.get(dtype, dtype)


def tables_md() -> str:
    """Markdown of every canonical table: column, type, meaning."""
    notes = _column_comments()
    out = [
        "# Warehouse tables",
        "",
        "Generated from `lib/mktdash/warehouse/schema.py` by `python -m mktdash.docgen`; do not edit by hand.",
        "Money comes in pairs: the original currency and `*_reporting` (the reporting currency).",
    ]
    for table, columns in schema.TABLES.items():
        keys = ", ".join(f"`{k}`" for k in schema.KEYS.get(table, [])) or "none"
        out += ["", f"## `{table}`", "", f"Row identity: {keys}.", "", "| column | type | meaning |"]
        out.append("|---|---|---|")
        for col, dtype in columns.items():
            out.append(f"| `{col}` | {_type_name(dtype, col)} | {_cell(notes.get((table, col), ''))} |")
    return "\n".join(out) + "\n"


def _yaml_comments(text: str) -> dict[str, str]:
    """``dotted.key -> comment`` of a YAML file whose keys carry their comment on the same line."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in text.splitlines():
        m = _YAML_KEY.match(line)
        if not m or line.lstrip().startswith(("#", "-")):
            continue
        indent = len(m.group(1))
        stack = [(i, k) for i, k in stack if i < indent]
        stack.append((indent, m.group(2)))
        if m.group(4):
            out[".".join(k for _, k in stack)] = m.group(4).strip()
    return out


def _default(field: Any) -> str:
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return ""
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return f"`{text}`" if len(text) <= 60 else f"`{text[:57]}...`"


def _annotation(field: Any) -> str:
    text = str(field.annotation).replace("typing.", "")
    return re.sub(r"<class '(\w+)'>", r"\1", text)


def params_md() -> str:
    """Markdown of every params key: type, default and its comment in ``params/base.yaml``."""
    comments = _yaml_comments((paths.params_dir() / "base.yaml").read_text(encoding="utf-8"))
    out = [
        "# Params reference",
        "",
        "Generated from the pydantic models in `lib/mktdash/params.py` and the comments in `params/base.yaml`",
        "by `python -m mktdash.docgen`; do not edit by hand. Files merge in this order (later wins):",
        "`params/base.yaml` → `params/local/*.yaml` → files in `$MKTDASH_PARAMS` → `--params FILE`.",
        "Unknown keys are errors, with a did-you-mean.",
    ]
    top = [(k, f) for k, f in params.Settings.model_fields.items() if not _is_section(f)]
    out += ["", "## Top level", "", "| key | type | default | meaning |", "|---|---|---|---|"]
    out += [
        f"| `{k}` | {_cell(_annotation(f))} | {_cell(_default(f))} | {_cell(comments.get(k, ''))} |"
        for k, f in top
    ]
    for name, field in params.Settings.model_fields.items():
        section = field.annotation
        if not (isinstance(section, type) and issubclass(section, BaseModel)):
            continue
        out += ["", f"## `{name}`", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for key, sub in section.model_fields.items():
            meaning = comments.get(f"{name}.{key}", "")
            out.append(f"| `{key}` | {_cell(_annotation(sub))} | {_cell(_default(sub))} | {_cell(meaning)} |")
    return "\n".join(out) + "\n"


def _is_section(field: Any) -> bool:
    return isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)


PAGES = {"tables.md": tables_md, "params.md": params_md}


def main(docs: Path | None = None) -> int:
    docs = docs or paths.project_root() / "docs"
    for name, render in PAGES.items():
        (docs / name).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
