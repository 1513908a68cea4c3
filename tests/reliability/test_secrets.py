"""Guarantee 6: the flows that touch secrets leave none behind.

With distinctive secrets (the connection password, a tenant DSN password, the secrets of a
generated and a rotated key), run the flows at 80x24 on both backends and capture every
screen along the way, the log file, the audit trail and exported files: none of them holds
a secret, except the two moments an operator asked for one (an ``x`` reveal, a key shown
once), which are not captured.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.edit import GenerateKey, RotateKey
from console.logs import register_settings_secrets, setup_logging, teardown_logging
from console.widgets.detail import DetailPane
from stores import Settings, open_stores
from stores.admin import Admin, Actor
from stores.export import export_rows
from stores.models import AppKey, Tenant
from tests.support.databases import pg_settings, truncate_all
from tests.edit.test_keys import confirm_stored_and_close, shown_key
from tests.reliability.conftest import with_password
from tests.support import factories as f
from tests.support.tui import screen_text, until
from tests.tui.test_connection_screen import fill_dsn, run_test_key

SIZE = (80, 24)
CONNECTION_PASSWORD = "Conn-Pw-Zq7731"
DSN_PASSWORD = "Dsn-Pw-Zq4419"
DSN = f"postgres://acme_app:{DSN_PASSWORD}@db.internal:5432/acme"
CLIENT_SECRET = "Oauth-Cs-Zq5527"
CONFIG = {"oauth2_config": {"providers": [{"name": "google", "client_id": "cid", "client_secret": CLIENT_SECRET}]}}
"""A tenant's OAuth client secret inside ``config`` (issue 17): masked by its key's name."""


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "console.log"
    setup_logging(debug=True, path=path)
    try:
        yield path
    finally:
        teardown_logging()


@pytest.fixture(params=["memory", "postgres"])
async def backend(request: pytest.FixtureRequest) -> tuple[Settings, str | None]:
    """The settings and, on PostgreSQL, the DSN with the connection password in it."""
    if request.param == "memory":
        return Settings(use_postgres=False, demo_data=False), None
    dsn = with_password(request.getfixturevalue("migrated_db"), CONNECTION_PASSWORD)
    chosen = pg_settings(dsn)
    stores = await open_stores(chosen)
    try:
        await truncate_all(stores)
    finally:
        await stores.close()
    return chosen, dsn


class Captures:
    """Every screen seen (the screenshot's text and the notifications)."""

    def __init__(self, app: LokstraConsole) -> None:
        self.app = app
        self.screens: list[str] = []

    def snap(self) -> None:
        notes = " ".join(str(n.message) for n in self.app._notifications)
        self.screens.append(screen_text(self.app) + "\n" + notes + "\n" + self.app.export_screenshot())


def leaks(secret: str, **places: str) -> list[str]:
    return [name for name, text in places.items() if secret in text]


async def test_no_secret_on_any_screen_log_audit_or_export(backend: tuple[Settings, str | None], log_file: Path,
                                                           tmp_path: Path) -> None:
    settings, dsn = backend
    register_settings_secrets(settings)
    app = LokstraConsole(settings, config=ConsoleConfig())
    key_secrets: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        captures = Captures(app)
        await until(pilot, lambda: app.stores is not None, "the stores opening")
        admin = Admin(app.stores, Actor("ops"))
        await admin.create(f.tenant("acme", db_dsn=DSN, config=CONFIG))
        await admin.create(f.app("acme", "web"))
        await admin.create(f.user("acme", "u1"))
        logging.getLogger("lokstra.test").info("tenant created with %s, config %r", DSN, CONFIG)  # a careless log line

        # Browse: the tenant list and its detail pane, a reveal, then the reveal gone.
        await pilot.press("r")
        await until(pilot, lambda: "acme" in screen_text(app), "the tenant list")
        captures.snap()
        await pilot.press("i")
        await until(pilot, lambda: "acme_app:****@db.internal" in screen_text(app), "the masked DSN")
        captures.snap()
        pane = app.screen.query_one(DetailPane)  # the config is below the fold at 80x24: scroll to it
        for _ in range(80):
            if '"client_secret": "****"' in screen_text(app):
                break
            pane.scroll_relative(y=1, animate=False)
            await pilot.pause()
        assert '"client_secret": "****"' in screen_text(app), screen_text(app)
        captures.snap()
        await pilot.press("x")
        await until(pilot, lambda: DSN_PASSWORD in screen_text(app), "the reveal the operator asked for")
        await pilot.press("escape")
        await until(pilot, lambda: DSN_PASSWORD not in screen_text(app), "the reveal to end")
        captures.snap()

        # Connection: a test with the password typed into the form.
        if dsn is not None:
            await pilot.press("1")
            await until(pilot, lambda: bool(app.screen.query("#host")), "the connection form")
            screen = app.screen
            fill_dsn(screen, dsn)
            assert screen.query_one("#password", Input).value == CONNECTION_PASSWORD
            await run_test_key(pilot, screen)
            captures.snap()
            await pilot.press("escape", "3")
            await until(pilot, lambda: "acme" in screen_text(app), "back on Browse")

        # Keys: generate one, then rotate it; each is shown once, then gone.
        app.push_screen(GenerateKey("acme", "web"))
        await pilot.pause()
        await pilot.press(*"ci", "ctrl+s")
        _, secret = await shown_key(pilot, app)
        key_secrets.append(secret)
        await confirm_stored_and_close(pilot, app)
        captures.snap()
        generated: AppKey = (await app.stores.app_keys.list_by_app("acme", "web"))[0]
        app.push_screen(RotateKey(generated))
        await pilot.pause()
        await pilot.press("ctrl+s")
        _, rotated_secret = await shown_key(pilot, app)
        key_secrets.append(rotated_secret)
        await confirm_stored_and_close(pilot, app)
        await pilot.pause(0.2)
        captures.snap()

        # Exports of the tenant list and the keys, as the browser streams them.
        tenants_csv, keys_json = tmp_path / "tenants.csv", tmp_path / "keys.json"
        await export_rows(lambda after, limit: app.stores.tenants.page(after=after, limit=limit), tenants_csv,
                          row_type=Tenant)
        await export_rows(lambda after, limit: app.stores.app_keys.page("acme", after=after, limit=limit), keys_json,
                          row_type=AppKey)
        audit = "\n".join(e.model_dump_json() for e in (await app.stores.audit.page(limit=1000)).rows)
        hashes = [k.secret_hash for k in await app.stores.app_keys.list_by_tenant("acme")]

    log_text = log_file.read_text()
    exported = tenants_csv.read_text() + keys_json.read_text()
    screens = "\n".join(captures.screens)
    assert len(captures.screens) >= 5 and "acme_app:****@db.internal" in exported
    assert json.loads(keys_json.read_text()) and len(key_secrets) == 2
    assert '""client_secret"": ""****""' in exported, "the CSV holds the config, masked"
    secrets = [DSN_PASSWORD, CLIENT_SECRET, *key_secrets] + ([CONNECTION_PASSWORD] if settings.use_postgres else [])
    for secret in secrets:
        assert not leaks(secret, screens=screens, log=log_text, audit=audit, exports=exported), secret
    for secret_hash in hashes:  # the hash is not a secret upstream shows either
        assert not leaks(secret_hash, screens=screens, audit=audit, exports=exported, log=log_text)
    assert "tenant created with postgres://acme_app:****@db.internal" in log_text
