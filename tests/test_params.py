"""Params: merge order, validation, one-line errors naming file and key, exit code 2 and nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest

from mktdash import cli
from mktdash.params import ParamsError, Settings, load, resolve


def _yaml(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_defaults_come_from_base_yaml() -> None:
    s = resolve()
    assert isinstance(s, Settings)
    assert s.reporting_currency == "USD" and s.channels.by_platform["meta"] == "social"
    assert s.run.notebooks == ["00_ingest", "10_kpis", "20_budget", "30_exec_summary"]


def test_later_files_win_and_merge_deeply(tmp_path: Path) -> None:
    a = _yaml(tmp_path, "a.yaml", "alerts:\n  alpha: 0.05\nmmm:\n  draws: 10\n")
    b = _yaml(tmp_path, "b.yaml", "alerts:\n  alpha: 0.02\n")
    s = resolve([a, b])
    assert s.alerts.alpha == 0.02  # b wins
    assert s.mmm.draws == 10  # a's other keys survive
    assert s.alerts.history_weeks == resolve().alerts.history_weeks  # base's siblings survive


def test_unknown_key_names_file_key_and_suggestion(tmp_path: Path) -> None:
    bad = _yaml(tmp_path, "bad.yaml", "budget:\n  pacing_tolerence: 0.2\n")
    with pytest.raises(ParamsError) as e:
        resolve([bad])
    msg = str(e.value)
    assert "\n" not in msg
    assert str(bad) in msg and "budget.pacing_tolerence" in msg and "budget.pacing_tolerance" in msg


def test_wrong_type_and_wrong_schema_version(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"typo\.yaml: mmm\.draws"):
        resolve([_yaml(tmp_path, "typo.yaml", "mmm:\n  draws: lots\n")])
    with pytest.raises(ParamsError, match=r"v9\.yaml: schema_version 9"):
        resolve([_yaml(tmp_path, "v9.yaml", "schema_version: 9\n")])
    with pytest.raises(ParamsError, match=r"broken\.yaml: line 2"):
        resolve([_yaml(tmp_path, "broken.yaml", "a: 1\n b: [\n")])
    with pytest.raises(ParamsError, match="not found"):
        resolve([tmp_path / "missing.yaml"])


def test_injected_params_round_trip() -> None:
    s = resolve()
    assert load(s.model_dump(mode="json")) == s
    with pytest.raises(ParamsError, match="injected params: unknown key 'nope'"):
        load({"nope": 1})


def test_cli_bad_params_exit_2_and_nothing_runs(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = _yaml(tmp_path, "bad.yaml", "alerts:\n  alfa: 0.1\n")
    assert cli.main(["run", "--params", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "alerts.alfa" in err and "alerts.alpha" in err
    assert not (home / "outputs").exists() and not (home / "data").exists()


def test_mktdash_params_env_reaches_every_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _yaml(tmp_path, "env.yaml", "mmm:\n  draws: 11\n")
    monkeypatch.setenv("MKTDASH_PARAMS", str(f))
    assert resolve().mmm.draws == 11 and load({}).mmm.draws == 11
    monkeypatch.setenv("MKTDASH_PARAMS", str(tmp_path / "typo.yaml"))
    with pytest.raises(ParamsError, match="typo.yaml: file not found"):
        resolve()


def test_base_yaml_documents_every_key() -> None:
    """params/base.yaml is the reference: every field of every section appears in it."""
    import yaml
    from pydantic import BaseModel

    from mktdash.paths import params_dir

    base = yaml.safe_load((params_dir() / "base.yaml").read_text())

    def walk(model: type[BaseModel], data: dict, prefix: str) -> list[str]:
        missing = []
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            if name not in data:
                missing.append(key)
            elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                missing += walk(field.annotation, data[name], key + ".")
        return missing

    assert walk(Settings, base, "") == []


def test_broken_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    bad = _yaml(tmp_path, "bad.yaml", "alerts:\n  alpha: 0.05\nmmm: [1, 2\nrun: {}\n")
    with pytest.raises(ParamsError, match=r"bad\.yaml: line 4 is not valid YAML"):
        resolve([bad])
