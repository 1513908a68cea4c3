"""Settings: the seed's names, DATABASE_URL, PG* fall-backs, .env, and secrets kept secret."""
from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from stores.settings import Settings
from tests.support.environment import isolate_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_settings(monkeypatch, tmp_path)


def test_defaults_are_memory_with_demo_data() -> None:
    settings = Settings()
    assert settings.backend == "memory" and settings.demo_data
    target = settings.connection()
    assert (target.host, target.port, target.sslmode) == ("localhost", 5432, "prefer")


def test_seed_names_win_over_url_which_wins_over_pg_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USE_POSTGRES", "true")
    monkeypatch.setenv("DATABASE_URL", "postgresql://urluser:urlpw@urlhost:6000/urldb?sslmode=require")
    monkeypatch.setenv("DB_HOST", "seedhost")
    monkeypatch.setenv("PGHOST", "pghost")
    monkeypatch.setenv("PGPORT", "7000")
    monkeypatch.setenv("PGDATABASE", "pgdb")
    settings = Settings()
    target = settings.connection()
    assert settings.backend == "postgres"
    assert (target.host, target.port, target.user, target.database, target.sslmode) == (
        "seedhost", 6000, "urluser", "urldb", "require")
    assert target.password is not None and target.password.get_secret_value() == "urlpw"


def test_pg_variables_are_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOST", "pghost")
    monkeypatch.setenv("PGUSER", "pguser")
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    target = Settings().connection()
    assert (target.host, target.user, target.database, target.sslmode) == ("pghost", "pguser", "pguser", "verify-full")
    assert target.password is None  # asyncpg then reads ~/.pgpass itself
    assert "password" not in target.connect_kwargs()


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DB_HOST=fromdotenv\nDB_PASSWORD=dotenv-secret\nUSE_POSTGRES=1\n")
    settings = Settings()
    assert settings.use_postgres and settings.connection().host == "fromdotenv"


def test_password_never_in_repr_or_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", "hunter2-very-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:url-secret-pw@h/db")
    settings = Settings()
    target = settings.connection()
    for text in (repr(settings), str(settings), repr(target), target.display(), str(settings.model_dump())):
        assert "hunter2-very-secret" not in text and "url-secret-pw" not in text
    assert target.connect_kwargs()["password"] == "hunter2-very-secret"
    assert target.secrets() == ["hunter2-very-secret"]


@pytest.mark.parametrize(("name", "value"), [
    ("DB_SSL_MODE", "sometimes"), ("DB_PORT", "not-a-port"), ("DATABASE_URL", "mysql://u@h/db"),
    ("DATABASE_URL", "postgres://u@h/db?sslmode=maybe"),
])
def test_bad_values_are_clear_errors(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert name.lower() in str(err.value).lower() or "DATABASE_URL" in str(err.value)


def test_pool_max_below_min_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least pool_min_size"):
        Settings(pool_min_size=5, pool_max_size=2)


def test_read_only_reaches_the_session() -> None:
    assert Settings(read_only=True).connection().connect_kwargs()["server_settings"]["default_transaction_read_only"] == "on"
