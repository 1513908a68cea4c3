"""Stored values that try to be markup or terminal escapes (issue 13 items 1 and 4).

Every value starts with ``MARK``, a character nothing else on the screens uses, so that a
test can tell whether a value reached a markup parser (tests/tui/test_text_is_text.py spies
on the parsers) and find it on a screen. Ids may hold brackets but no control characters
(``stores.models.check_identifier``); names, usernames, JSON and DSNs may hold both.
"""
from __future__ import annotations

from dataclasses import dataclass

from stores import Stores
from stores.admin import Actor, Admin
from stores.controls import visible
from tests.support import factories as f

MARK = "⟦"
BRACKETS = "[bold]b[/bold] [/APP] [link=https://e.test]l[/link] [@click=app.quit]q[/]"
ESCAPES = "\x1b[2J\x1b]52;c;UFdORUQ=\x07\x1b]0;pwned\x07\x9b6n"
"""Clear the screen, set the clipboard (OSC 52), set the window title (OSC 0), an 8-bit CSI
asking for the cursor position: each would act on the operator's terminal."""


@dataclass(frozen=True)
class Hostile:
    tenant_id: str = f"{MARK}t[/APP]"
    tenant_name: str = f"{MARK}T {BRACKETS} %s {{0}}"
    domain: str = f"{MARK}[red]d.test"
    dsn: str = f"postgres://u:Hostile-Pw-77@h/{MARK}[/db]"
    db_schema: str = f"{MARK}[s]"
    metadata_key: str = f"{MARK}[/k]"
    metadata_value: str = f"{MARK}[@click=app.quit]v{ESCAPES}"
    app_id: str = f"{MARK}a[b]"
    app_name: str = f"{MARK}A{ESCAPES}[/x]"
    user_id: str = f"{MARK}u[/u]"
    username: str = f"{MARK}U{ESCAPES}[bold]"
    email: str = f"[b]{MARK}@x.io"
    full_name: str = f"{MARK}F %s {{0}} [link=x]y[/link] \u202eRTL 😀"
    branch_id: str = f"{MARK}hq"
    branch_code: str = f"{MARK}c[/c]"
    branch_name: str = f"{MARK}B{ESCAPES}[/B]"
    key_name: str = f"{MARK}K[@click=app.quit]{ESCAPES}"

    @property
    def dsn_password(self) -> str:
        return "Hostile-Pw-77"


HOSTILE = Hostile()


async def seed_hostile(stores: Stores) -> None:
    """One of each entity with hostile values, written as the console writes (audited, so the
    audit tab shows them too): a tenant, an app, a branch, a user granted the app, a key."""
    h = HOSTILE
    admin = Admin(stores, Actor("ops[/x]"))
    await admin.create(f.tenant(h.tenant_id, name=h.tenant_name, domain=h.domain, db_dsn=h.dsn,
                                db_schema=h.db_schema, metadata={h.metadata_key: h.metadata_value}))
    await admin.create(f.app(h.tenant_id, h.app_id, name=h.app_name, metadata={h.metadata_key: h.metadata_value}))
    await admin.create(f.branch(h.tenant_id, h.app_id, h.branch_id, code=h.branch_code, name=h.branch_name))
    await admin.create(f.user(h.tenant_id, h.user_id, username=h.username, email=h.email, full_name=h.full_name,
                              metadata={h.metadata_key: h.metadata_value}))
    await admin.grant(h.tenant_id, h.app_id, h.user_id)
    await admin.generate_key(tenant_id=h.tenant_id, app_id=h.app_id, key_type="secret", environment="live",
                             name=h.key_name, user_id=h.user_id)


def shown(value: str) -> str:
    """How a value reads on a screen: itself, control characters as pictures (ESC as ␛)."""
    return visible(value)
