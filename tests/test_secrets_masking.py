"""stores.secrets.mask_text: every password libpq (or a URL parser) would read is masked.

Over-masking within one line is acceptable; showing any part of a password is not."""
from __future__ import annotations

import json

import pytest

from stores.postgres.diagnose import scrub
from stores.secrets import MASK, UNAMBIGUOUS_LENGTH, hidden_field, mask_json, mask_text, names_secret, unmask_json



@pytest.mark.parametrize(("dsn", "masked"), [
    # URL user info
    ("postgres://app:s3cr3t@db/x", "postgres://app:****@db/x"),
    ("postgresql://app:Url-Pw-Hx81@db:5432/auth failed", "postgresql://app:****@db:5432/auth failed"),
    ("tenant created with postgres://acme_app:pw@db.internal", "tenant created with postgres://acme_app:****@db.internal"),
    ("postgres://app@db/x", "postgres://app@db/x"),
    ("postgres://app:@db/x", "postgres://app:@db/x"),
    ("postgres://u:pa/ss@h/d", "postgres://u:****@h/d"),
    ("postgres://u:p@ss@h/d", "postgres://u:****@h/d"),
    ("postgres://u:pw@/d?host=/run/pg", "postgres://u:****@/d?host=/run/pg"),
    # URL query parameters
    ("postgres://db/x?user=a&password=qp-1&sslmode=require", "postgres://db/x?user=a&password=****&sslmode=require"),
    ("postgres://db/x?sslpassword=k1", "postgres://db/x?sslpassword=****"),
    # key=value
    ("host=db port=5432 password=Kv-Pw-Qm52 dbname=auth", "host=db port=5432 password=**** dbname=auth"),
    ("host=db password = 'a b\\'c' dbname=x", "host=db password = **** dbname=x"),
    ("host=db PASSWORD=x sslpassword=y", "host=db PASSWORD=**** sslpassword=****"),
    ("host=db dbname=x", "host=db dbname=x"),
    ("no dsn here: user@example.com, a=b", "no dsn here: user@example.com, a=b"),
])
def test_known_forms_are_masked(dsn: str, masked: str) -> None:
    assert mask_text(dsn) == masked


@pytest.mark.parametrize(("dsn", "secret"), [
    ("host=db password=ab'cdSECRET dbname=x", "cdSECRET"),        # a quote inside an unquoted value
    ("host=db password=ab\\ cdSECRET dbname=x", "cdSECRET"),      # a backslash-escaped space
    ("host=db password='ab cdSECRET", "cdSECRET"),                # an unterminated quoted value
    ("host=db password='ab\ncdSECRET' dbname=x", "cdSECRET"),     # a quoted value over two lines
    ("postgres://u:pa ssSECRET@h/d", "ssSECRET"),                 # a space in the URL password
    ("connect to postgres://u:a b cSECRET@db.internal:5432/auth failed", "cSECRET"),
    ("postgres://h/d?password=ab cdSECRET", "cdSECRET"),          # libpq reads a query value up to &
])
def test_no_part_of_an_odd_password_is_shown(dsn: str, secret: str) -> None:
    shown = mask_text(dsn)
    assert secret not in shown and "****" in shown, shown


def test_a_url_password_is_masked_up_to_the_last_at_on_its_line_only() -> None:
    text = "copy from postgres://u:pa ss@h1/d\nnext line mail@example.com"
    assert mask_text(text) == "copy from postgres://u:****@h1/d\nnext line mail@example.com"


def test_scrub_masks_the_odd_forms_too() -> None:
    text = scrub("refused: host=db password=ab\\ cdSECRET and postgres://u:x ySECRET@h/d", [])
    assert "SECRET" not in text


# ----- issue 18 item 3: every DSN form the drivers accept ---------------------------------------------

@pytest.mark.parametrize(("dsn", "secret"), [
    # go-sql-driver/mysql: [user[:password]@][net[(addr)]]/dbname[?params]; the password runs from the
    # first ':' to the last '@' before the last '/' (dsn.go ParseDSN), raw: '@', ':', '/', spaces included
    ("app:Go-Pw-Zz91@tcp(db.internal:3306)/acme?parseTime=true", "Go-Pw-Zz91"),
    ("app:Go@Pw:Zz/92@tcp(db.internal:3306)/acme", "Zz/92"),
    ("dial app:a bZz93@unix(/run/mysqld/mysqld.sock)/acme failed", "bZz93"),
    ("app:Zz94@/acme", "Zz94"),
    ("dsn='app:Zz95 x@tcp(h)/d'", "Zz95"),
    # a percent-encoded key in a URL query: url.ParseQuery (pgx) and libpq decode keys too
    ("postgres://db/acme?pass%77ord=Zz96&sslmode=require", "Zz96"),
    ("postgres://db/acme?user=a&%70assword=Zz97", "Zz97"),
    ("postgres://db/acme?sslpass%77ord=Zz98", "Zz98"),
    # a newline in the password
    ("host=db password='ab\nZz99' dbname=x", "Zz99"),                   # quoted key=value
    ("host=db password=ab\\\nZz9A dbname=x", "Zz9A"),                   # a backslash-escaped newline
    ("postgres://u:ab\nZz9B@db/x", "Zz9B"),                             # raw in URL user info (libpq, asyncpg)
    ("app:ab\nZz9C@tcp(db)/x", "Zz9C"),                                 # raw in the Go MySQL form
    # pgx keyword/value: spaces around '=', the value after them (pgconn/config.go parseDSNSettings)
    ("host=db password =\n Zz9D dbname=x", "Zz9D"),
    ("DB_PASSWORD=Zz9E", "Zz9E"),
    ("export PGPASSWORD=\"a Zz9F\"", "Zz9F"),
])
def test_every_dsn_form_is_masked(dsn: str, secret: str) -> None:
    shown = mask_text(dsn)
    assert secret not in shown and MASK in shown, shown


def test_the_go_mysql_form_keeps_what_is_not_secret() -> None:
    assert mask_text("app:pw@tcp(db.internal:3306)/acme?parseTime=true") == \
        "app:****@tcp(db.internal:3306)/acme?parseTime=true"
    assert mask_text("postgres://u:pw@/d?host=/run/pg") == "postgres://u:****@/d?host=/run/pg"
    assert mask_text("see https://example.com:8443/docs and note: a@/b") == \
        "see https://example.com:8443/docs and note:****@/b"  # over-masking prose that looks like the form is fine
    assert mask_text("error: connect failed\nat line 3") == "error: connect failed\nat line 3"
    shown = "console started: target postgres@127.0.0.1:5432/lokstra, worker: lost postgresql://app:****@db/auth"
    assert mask_text(shown) == shown, "the console's own user@host:port/db and a masked URL stay as they are"


# ----- issue 16 item 4: a known secret is masked where it stands as a value, not inside words --------

@pytest.mark.parametrize(("text", "secret"), [
    ("Password authentication failed for user \"app\"", "the"),
    ("The user or password is wrong: check DB_USER / DB_PASSWORD", "wrong"),
    ("Connection refused: the server is not running", "on"),
    ("password authentication failed", "ass"),
])
def test_a_short_secret_inside_words_is_left_alone(text: str, secret: str) -> None:
    assert scrub(text, [secret]) == text


@pytest.mark.parametrize(("text", "shown"), [
    ("postgres://app:the@db/x", "postgres://app:****@db/x"),
    ("host=db password=the dbname=x", "host=db password=**** dbname=x"),
    ("DB_PASSWORD = the", "DB_PASSWORD = ****"),
    ("refused for 'the'", "refused for '****'"),
    ('input_value="the", input_type=str', 'input_value="****", input_type=str'),
    ("the", "****"),
    ("typed the", "typed ****"),
    ("app:the@tcp(db)/x", "app:****@tcp(db)/x"),
    ("user=app,pw=the;", "user=app,pw=****;"),
])
def test_a_short_secret_standing_as_a_value_is_masked(text: str, shown: str) -> None:
    assert scrub(text, ["the"]) == shown


def test_a_long_secret_is_masked_anywhere() -> None:
    assert scrub("xxHunter2-Long-Pwyy", ["Hunter2-Long-Pw"]) == "xx****yy"
    assert UNAMBIGUOUS_LENGTH == 8


# ----- issue 17: secrets inside JSON, by key name -----------------------------------------------------

@pytest.mark.parametrize("name", [
    "password", "PASSWORD", "db_password", "PGPASSWORD", "client_secret", "clientSecret", "token_secret",
    "TokenSecret", "token", "access_token", "refresh-token", "api_key", "apiKey", "X-Api-Key", "private_key",
    "privateKey", "credentials", "Credential", "authorization", "secret", "jwt_secret", "pwd", "pass",
    "secret_hash", "password_hash", "passphrase", "encryption_key", "aws_secret_access_key", "pass%77ord",
    "password2",
])
def test_names_that_name_a_secret(name: str) -> None:
    assert names_secret(name)


def test_a_column_named_as_a_secret_is_hidden_but_the_dsn_is_masked() -> None:
    assert hidden_field("secret_hash") and hidden_field("password_hash")  # upstream's current users table
    assert not hidden_field("db_dsn") and not hidden_field("name")


@pytest.mark.parametrize("name", [
    "password_policy", "min_password_length", "passwordless_config", "enable_passwordless", "token_url",
    "secret_length", "apikey_config", "hash_algo", "key_id", "key_type", "client_id", "session_timeout",
    "bypass", "name", "require_mfa", "max_tokens", "token_ttl", "",
])
def test_names_that_do_not(name: str) -> None:
    assert not names_secret(name)


CONFIG = {
    "oauth2_config": {"providers": [
        {"name": "google", "client_id": "cid-1", "client_secret": "Cs-Zq-7711", "Scopes": ["email"]},
        {"name": "github", "ClientSecret": "Cs-Zq-7712", "enabled": True},
    ], "token_url": "https://oauth2.example.com/token"},
    "token_secret": "Ts-Zq-7713",
    "credentials": {"user": "svc", "pin": 4242, "nested": [{"x": "Cr-Zq-7714"}]},
    "password_policy": {"min_length": 8, "require_special": True},
    "api_key": None, "password": "",
    "database_url": "postgres://u:Du-Zq-7715@db/x",
}


def test_json_secrets_are_masked_by_key_name_in_nested_objects_and_lists() -> None:
    masked = mask_json(CONFIG)
    text = json.dumps(masked)
    for secret in ("Cs-Zq-7711", "Cs-Zq-7712", "Ts-Zq-7713", "4242", "Cr-Zq-7714", "Du-Zq-7715", '"svc"'):
        assert secret not in text, secret
    providers = masked["oauth2_config"]["providers"]
    assert providers[0] == {"name": "google", "client_id": "cid-1", "client_secret": MASK, "Scopes": ["email"]}
    assert providers[1]["ClientSecret"] == MASK and providers[1]["enabled"] is True
    assert masked["oauth2_config"]["token_url"] == "https://oauth2.example.com/token"
    assert masked["credentials"] == {"user": MASK, "pin": MASK, "nested": [{"x": MASK}]}
    assert masked["password_policy"] == {"min_length": 8, "require_special": True}
    assert masked["api_key"] is None and masked["password"] == "", "nothing to hide in an absent value"
    assert masked["database_url"] == "postgres://u:****@db/x"
    assert CONFIG["token_secret"] == "Ts-Zq-7713", "the stored value is not touched"


def test_an_edited_json_keeps_the_secrets_left_masked() -> None:
    edited = mask_json(CONFIG)
    edited["oauth2_config"]["providers"][0]["client_id"] = "cid-2"          # a real change
    edited["oauth2_config"]["providers"][1]["ClientSecret"] = "New-Secret"  # a new secret
    restored = unmask_json(edited, CONFIG)
    assert restored["oauth2_config"]["providers"][0] == {**CONFIG["oauth2_config"]["providers"][0], "client_id": "cid-2"}
    assert restored["oauth2_config"]["providers"][1]["ClientSecret"] == "New-Secret"
    assert restored["token_secret"] == "Ts-Zq-7713" and restored["credentials"] == CONFIG["credentials"]
    assert restored["database_url"] == "postgres://u:Du-Zq-7715@db/x"
    assert unmask_json({"token_secret": MASK}, {}) == {"token_secret": MASK}, "nothing stored: kept as typed"


def test_json_secrets_are_masked_in_text() -> None:
    text = '{"client_secret": "Cs-Zq-7716", \'token\': \'Tk-Zq-7717\', "pin": 4243, "name": "web"} api_key=Ak-Zq-7718'
    shown = mask_text(text)
    assert not any(s in shown for s in ("Cs-Zq-7716", "Tk-Zq-7717", "4243", "Ak-Zq-7718")), shown
    assert '"name": "web"' in shown


@pytest.mark.parametrize("password", ["the", "wrong"])
def test_the_auth_failure_reads_in_full_with_a_short_password(password: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 16 item 4: with DB_PASSWORD=the the reason read "Password au****ntication failed",
    with DB_PASSWORD=wrong the fix read "The user or password is ****"."""
    import asyncpg

    from console.commands.common import Output

    out = Output(as_json=False)
    out.secrets = [password]
    out.fail(asyncpg.InvalidPasswordError('password authentication failed for user "app"'))
    printed = capsys.readouterr().err
    assert "error: Password authentication failed" in printed
    assert "The user or password is wrong: check DB_USER / DB_PASSWORD" in printed
