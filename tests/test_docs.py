"""The docs that could drift from the code are generated, and the README stays short and links what it moved."""

from __future__ import annotations

import re
from pathlib import Path

from mktdash import docgen

ROOT = Path(__file__).resolve().parents[1]


def test_generated_pages_are_current() -> None:
    for name, render in docgen.PAGES.items():
        committed = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert committed == render(), f"docs/{name} is stale: run .venv/bin/python -m mktdash.docgen"


def test_every_params_key_and_table_column_is_documented() -> None:
    from mktdash import params
    from mktdash.warehouse import schema

    page = docgen.params_md()
    for section, field in params.Settings.model_fields.items():
        assert f"`{section}`" in page
        if docgen._is_section(field):
            for key in field.annotation.model_fields:
                assert re.search(rf"^\| `{key}` \|", page, re.M), f"{section}.{key}"
    tables = docgen.tables_md()
    for table, columns in schema.TABLES.items():
        section = tables.split(f"## `{table}`")[1].split("\n## ")[0]
        assert all(f"| `{c}` |" in section for c in columns), table


def test_readme_is_short_and_its_links_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    assert "make run" in readme and "make test" in readme
    links = re.findall(r"\]\(((?:docs/)[^)#]+)\)", readme)
    assert links, "the README links the docs"
    missing = [p for p in links if not (ROOT / p).exists()]
    assert missing == []


def test_yaml_comments_follow_nesting() -> None:
    text = "a: 1  # top\nb:\n  c: 2   # inner\n  d:\n    e: x  # deep\n"
    assert docgen._yaml_comments(text) == {"a": "top", "b.c": "inner", "b.d.e": "deep"}
