from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from yuqing.cli import main
from yuqing.config import ConfigError, load


def test_defaults_need_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load(env={})
    assert config.store.url == "sqlite:///var/yuqing.db"
    assert config.timezone == "Asia/Shanghai"


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "y.toml"
    path.write_text('[store]\nurl = "sqlite:///data/y.db"\n[api]\nport = 9000\n')
    config = load(path, env={"YUQING_API_PORT": "9100", "YUQING_STORE": "http://127.0.0.1:9200"})
    assert config.api.port == 9100
    assert config.store.url == "http://127.0.0.1:9200"


def test_unknown_key_names_the_allowed_ones(tmp_path: Path) -> None:
    path = tmp_path / "y.toml"
    path.write_text('[store]\nulr = "x"\n')
    with pytest.raises(ConfigError) as info:
        load(path, env={})
    assert "store.ulr: unknown key (expected one of: url, prefix" in str(info.value)


def test_every_bad_value_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "y.toml"
    path.write_text('timezone = "Mars/Base"\n[api]\nport = 0\n[store]\nurl = "mysql://x"\n')
    with pytest.raises(ConfigError) as info:
        load(path, env={})
    message = str(info.value)
    assert "3 problem(s)" in message
    assert "timezone" in message and "Mars/Base" in message
    assert "api.port" in message and "store.url" in message


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "y.toml"
    path.write_text('[store]\nurl = "unterminated\n')
    with pytest.raises(ConfigError, match=r"line 2"):
        load(path, env={})


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load(tmp_path / "absent.toml", env={})


def test_config_check_hides_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_API_SECRET_KEY", "s3cret-value")
    result = CliRunner().invoke(main, ["config", "check"])
    assert result.exit_code == 0
    assert "s3cret-value" not in result.output and '"***"' in result.output


def test_config_check_fails_on_bad_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "yuqing.toml").write_text("[api]\nport = 'x'\n")
    result = CliRunner().invoke(main, ["config", "check"])
    assert result.exit_code == 2
    assert "api.port" in result.output
