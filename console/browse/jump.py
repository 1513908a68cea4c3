"""The ``:`` jump commands: parse what was typed, then find it through the stores.

    :tenants              :tenant acme          :users acme        :apps acme
    :keys acme            :keys acme/web        :app acme/web      :user acme/alice
    :audit                :audit acme

A tenant is found by id, then by name prefix, then by id prefix; an app by id, then name or
id prefix; a user by username, then username prefix. When nothing (or more than one thing)
matches, the error names what exists, so the next try can succeed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.browse.kinds import ROOT, Level, app_level, tenant_level, user_level
from stores.errors import NotFound

COMMANDS: dict[str, str] = {
    "tenants": "",
    "tenant": "TENANT",
    "users": "TENANT",
    "apps": "TENANT",
    "keys": "TENANT[/APP]",
    "app": "TENANT/APP",
    "user": "TENANT/USERNAME",
    "audit": "[TENANT]",
}
ALIASES = {"t": "tenant", "u": "users", "a": "apps", "k": "keys", "tenant-list": "tenants"}
SCAN_LIMIT = 1000
"""At most this many tenants (or apps of a tenant) are looked through for a prefix match."""


class JumpError(ValueError):
    """Not a jump, or nothing to jump to; the message says what would work."""


@dataclass(frozen=True)
class Jump:
    command: str
    tenant: str | None = None
    app: str | None = None
    user: str | None = None


def usage() -> str:
    return "  ".join(f":{name}{' ' + arg if arg else ''}" for name, arg in COMMANDS.items())


def parse_jump(text: str) -> Jump:
    """``:keys acme/web`` → Jump("keys", "acme", app="web"). Raises ``JumpError``."""
    words = text.strip().removeprefix(":").split()
    if not words:
        raise JumpError(f"type a command: {usage()}")
    command = ALIASES.get(words[0].lower(), words[0].lower())
    if command not in COMMANDS:
        raise JumpError(f"unknown command :{words[0]}; try {usage()}")
    arg = COMMANDS[command]
    rest = words[1:]
    if len(rest) > 1:
        raise JumpError(f":{command} takes {arg or 'nothing'}, not {' '.join(rest)!r}")
    if not arg:
        if rest:
            raise JumpError(f":{command} takes nothing")
        return Jump(command)
    if not rest:
        if arg.startswith("["):
            return Jump(command)
        raise JumpError(f":{command} needs {arg}, e.g. :{command} {_example(arg)}")
    first, slash, second = rest[0].partition("/")
    if not first or (slash and not second):
        raise JumpError(f":{command} needs {arg}, e.g. :{command} {_example(arg)}")
    needs_second = "/" in arg and not arg.endswith("]") and not arg.startswith("[")
    if needs_second and not slash:
        raise JumpError(f":{command} needs {arg}, e.g. :{command} {_example(arg)}")
    if slash and "/" not in arg:
        raise JumpError(f":{command} takes {arg}, not {rest[0]!r}")
    if command == "user":
        return Jump(command, first, user=second)
    return Jump(command, first, app=second or None)


def _example(arg: str) -> str:
    return arg.replace("TENANT", "acme").replace("APP", "web").replace("USERNAME", "alice").strip("[]")


def _listing(what: str, names: list[str], more: bool) -> str:
    if not names:
        return f"there are no {what}"
    return f"{what}: {', '.join(names)}{', …' if more else ''}"


async def find_tenant(stores: Any, text: str) -> Any:
    """The tenant ``text`` names: its id, else a unique name prefix, else a unique id prefix."""
    try:
        return await stores.tenants.get(text)
    except NotFound:
        pass
    named = await stores.tenants.page(limit=2, filter={"name_prefix": text})
    if len(named.rows) == 1:
        return named.rows[0]
    scan = await stores.tenants.page(limit=SCAN_LIMIT)
    lowered = text.lower()
    matches = [t for t in scan.rows if t.id.lower().startswith(lowered) or t.name.lower().startswith(lowered)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise JumpError(f"{text!r} matches more than one tenant: {', '.join(t.id for t in matches[:8])}")
    raise JumpError(f"no tenant {text!r}; {_listing('tenants', [t.id for t in scan.rows[:8]], len(scan.rows) > 8)}")


async def find_app(stores: Any, tenant_id: str, text: str) -> Any:
    try:
        return await stores.apps.get(tenant_id, text)
    except NotFound:
        pass
    scan = await stores.apps.page(tenant_id, limit=SCAN_LIMIT)
    lowered = text.lower()
    matches = [a for a in scan.rows if a.id.lower().startswith(lowered) or a.name.lower().startswith(lowered)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise JumpError(f"{text!r} matches more than one app of {tenant_id}: {', '.join(a.id for a in matches[:8])}")
    apps = [a.id for a in scan.rows[:8]]
    raise JumpError(f"no app {text!r} in {tenant_id}; {_listing('apps', apps, len(scan.rows) > 8)}")


async def find_user(stores: Any, tenant_id: str, text: str) -> Any:
    try:
        return await stores.users.get_by_username(tenant_id, text)
    except NotFound:
        pass
    matches = await stores.users.page(tenant_id, limit=6, filter={"username_prefix": text})
    if len(matches.rows) == 1:
        return matches.rows[0]
    if matches.rows:
        names = ", ".join(u.username for u in matches.rows[:5])
        raise JumpError(f"{text!r} matches more than one user of {tenant_id}: {names}{', …' if len(matches.rows) > 5 else ''}")
    try:
        return await stores.users.get(tenant_id, text)  # a user id works too
    except NotFound:
        pass
    some = await stores.users.page(tenant_id, limit=5)
    raise JumpError(f"no user {text!r} in {tenant_id}; "
                    f"{_listing('users start', [u.username for u in some.rows], some.next_cursor is not None)}")


Path = list[tuple[Level, str]]
"""A stack of (level, active tab) from the tenant list down."""


async def resolve_jump(stores: Any, jump: Jump) -> Path:
    """The browser stack ``jump`` leads to; ``JumpError`` says what exists when it leads nowhere."""
    if jump.command == "tenants":
        return [(ROOT, "tenants")]
    if jump.command == "audit" and jump.tenant is None:
        return [(ROOT, "all_audit")]
    assert jump.tenant is not None
    tenant = await find_tenant(stores, jump.tenant)
    tenant_at = tenant_level(tenant.id)
    root = (ROOT, "tenants")
    tab = {"tenant": "apps", "users": "users", "apps": "apps", "keys": "tenant_keys", "audit": "audit"}
    if jump.command in tab and jump.app is None:
        return [root, (tenant_at, tab[jump.command])]
    if jump.command == "user":
        assert jump.user is not None
        user = await find_user(stores, tenant.id, jump.user)
        return [root, (tenant_at, "users"), (user_level(tenant.id, user.id, user.username), "grants")]
    assert jump.app is not None
    app = await find_app(stores, tenant.id, jump.app)
    return [root, (tenant_at, "apps"), (app_level(tenant.id, app.id), "app_keys" if jump.command == "keys" else "branches")]
