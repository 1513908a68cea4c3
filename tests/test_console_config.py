"""The console's settings file: profiles, keymap, 0600, passwords only when chosen."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from console.config import CONFIG_ENV, ConsoleConfig, Profile


@pytest.fixture(autouse=True)
def config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "conf" / "config.toml"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    return path


def test_saved_file_is_private_and_has_no_password_by_default(config_file: Path) -> None:
    config = ConsoleConfig(profiles={"prod": Profile(host="db.internal", environment="production",
                                                     password=SecretStr("s3cr3t-pw"))},
                           active_profile="prod", keymap={"app.quit": "ctrl+x"})
    config.save()
    assert (os.stat(config_file).st_mode & 0o777) == 0o600
    assert "s3cr3t-pw" not in config_file.read_text()
    loaded = ConsoleConfig()
    assert loaded.profile().host == "db.internal" and loaded.profile().environment == "production"
    assert loaded.profile().password is None
    assert loaded.keymap == {"app.quit": "ctrl+x"}


def test_password_is_kept_only_for_profiles_the_operator_chose(config_file: Path) -> None:
    config = ConsoleConfig(profiles={"a": Profile(password=SecretStr("pw-a")), "b": Profile(password=SecretStr("pw-b"))})
    config.save(keep_passwords=frozenset({"a"}))
    text = config_file.read_text()
    assert "pw-a" in text and "pw-b" not in text
    assert ConsoleConfig().profiles["a"].password.get_secret_value() == "pw-a"


def test_profile_names_with_quotes_and_unicode_survive(config_file: Path) -> None:
    ConsoleConfig(profiles={'prod "eu" ünï': Profile(database='we"ird\\db')}).save()
    assert ConsoleConfig().profiles['prod "eu" ünï'].database == 'we"ird\\db'


def test_profile_becomes_store_settings() -> None:
    profile = Profile(host="h", port=6543, user="u", database="d", sslmode="require", read_only=True,
                      password=SecretStr("saved"), statement_cache_size=0)
    settings = profile.store_settings(password=SecretStr("typed"))
    target = settings.connection()
    assert settings.use_postgres and settings.read_only
    assert (target.host, target.port, target.user, target.database, target.sslmode) == ("h", 6543, "u", "d", "require")
    assert target.password.get_secret_value() == "typed"
    assert target.connect_kwargs()["statement_cache_size"] == 0


def test_bad_file_content_is_a_clear_error(config_file: Path) -> None:
    config_file.parent.mkdir(parents=True)
    config_file.write_text('[profiles.x]\nport = "not a port"\n')
    with pytest.raises(ValidationError, match="port"):
        ConsoleConfig()


@pytest.mark.parametrize(("name", "value", "field"), [("DB_PORT", "abc", "DB_PORT"),
                                                        ("DATABASE_URL", "mysql://u:pw-in-url@h/db", "DATABASE_URL")])
def test_the_console_refuses_bad_settings_with_a_message_not_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str, field: str) -> None:
    from console.cli import main

    monkeypatch.setenv(name, value)
    assert main([]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err and value not in err


def test_a_bad_settings_file_is_refused_with_its_field(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from console.cli import main

    config_file.parent.mkdir(parents=True)
    config_file.write_text('[profiles.x]\nport = "not a port"\n')
    assert main([]) == 2
    assert "profiles.x.port" in capsys.readouterr().err


def test_files_go_to_the_state_directory_unless_report_dir_says_otherwise(
        config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 item 19: exports, snapshots and drill reports no longer land in the current
    directory: the default folder is under XDG_STATE_HOME, created 0700 (tightened when wider);
    ``report_dir`` in the settings file moves it, and survives a save."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = ConsoleConfig()
    assert config.report_dir is None
    folder = config.files_directory()
    assert folder == tmp_path / "state" / "lokstra-console" / "files"
    assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o755)
    assert config.files_directory().stat().st_mode & 0o777 == 0o700, "the console's own folder is tightened"

    chosen = tmp_path / "reports" / "nested"
    ConsoleConfig(report_dir=chosen).save()
    loaded = ConsoleConfig()
    assert loaded.report_dir == chosen and loaded.files_directory() == chosen
    assert chosen.stat().st_mode & 0o777 == 0o700
    monkeypatch.setenv("LOKSTRA_CONSOLE_REPORT_DIR", str(tmp_path / "from-env"))
    assert ConsoleConfig().files_directory() == tmp_path / "from-env"

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert ConsoleConfig(report_dir=blocked / "x").files_directory_or_here() == Path.cwd()
