"""Who owns an API key: a user of the tenant, or the app itself.

Upstream's key service writes ``user_id = "app:<app_id>"`` for a key that belongs to the
app rather than to a person (core/application/app_key_service.go L73 upstream, with
``metadata.key_owner_type = "app"``). That value is not a user id: it must be accepted as
it is (rotations keep it), and never looked up among the users. It is also what the
console writes for a key without a user owner, since the older upstream layouts read
``user_id`` into a Go ``string``, which cannot hold NULL.
"""
from __future__ import annotations

APP_OWNER_PREFIX = "app:"


def app_owner(app_id: str) -> str:
    return f"{APP_OWNER_PREFIX}{app_id}"


def is_app_owner(user_id: str | None) -> bool:
    return user_id is not None and user_id.startswith(APP_OWNER_PREFIX)
