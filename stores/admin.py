"""The console's writes: each change and its audit record in one ``engine.atomic()`` block.

Screens never call a store's write methods directly; they call ``Admin``. That is what
makes "every write the console makes is recorded" true, and what keeps the multi-row
operations (a hard delete with its counted blast radius, a key rotation with overlap)
all-or-nothing: a dropped connection or a cancelled worker rolls the block back.

Who is recorded: the OS user, the SSH client address when the console runs under SSH,
the database role the console connects as (PostgreSQL) and the backend.
"""
from __future__ import annotations

import getpass
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from stores.audit import audit_entry
from stores.errors import NotFound, ReadOnly, Unchanged, ValidationFailed
from stores.keys import HashForm, full_key, hash_form, hash_secret, key_prefix, new_key_id, new_secret
from stores.owners import app_owner, is_app_owner
from stores.models import App, AppKey, Branch, Record, Tenant, User, UserApp, check_text
from stores.open import Stores
from stores.secrets import MASKED_FIELDS, safe_fields
from stores.tables import APP_KEYS, APPS, BRANCHES, TENANTS, USER_APPS, USERS, TableSpec

ENTITY_NAMES: dict[type[Record], str] = {Tenant: "tenant", App: "app", Branch: "branch", User: "user",
                                         UserApp: "grant", AppKey: "key"}

SERVER_SCOPE = "(server)"
"""The audit's tenant for what concerns the server, not one tenant (the Monitor's reveals)."""
STATUS_CHOICES: dict[type[Record], tuple[str, ...]] = {
    Tenant: ("active", "suspended", "deleted"),
    App: ("active", "disabled"),
    Branch: ("active", "disabled"),
    User: ("active", "suspended", "deleted"),
}
"""What ``set_status`` accepts per entity (``deleted`` is the soft delete)."""

REVEALABLE: frozenset[str] = MASKED_FIELDS


@dataclass(frozen=True)
class Actor:
    """Who is at the keyboard, as far as the process can tell."""

    os_user: str
    ssh_client: str | None = None

    @classmethod
    def current(cls) -> Actor:
        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry in a container: still record something
            user = os.environ.get("USER") or f"uid {os.getuid()}"
        ssh = os.environ.get("SSH_CLIENT") or os.environ.get("SSH_CONNECTION") or ""
        return cls(os_user=user, ssh_client=ssh.split()[0] if ssh.split() else None)


@dataclass
class BlastRadius:
    """How many rows a hard delete takes with it, per table (the row itself included)."""

    counts: dict[str, int]
    note: str = ""
    """What stays although one might expect it to go (a user's keys: no foreign key)."""

    LABELS = {"tenants": ("tenant", "tenants"), "apps": ("app", "apps"), "branches": ("branch", "branches"),
              "users": ("user", "users"), "user_apps": ("grant", "grants"), "app_keys": ("key", "keys")}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        out = []
        for table, count in self.counts.items():
            one, many = self.LABELS.get(table, (table, table))
            out.append(f"{count:,} {one if count == 1 else many}")
        return out


@dataclass
class NewKey:
    """A generated key: ``full_key`` is the only copy of the secret. Show it once, then ``forget()``."""

    key: AppKey
    full_key: str = field(repr=False)

    def forget(self) -> None:
        self.full_key = ""


@dataclass
class KeyReport:
    within_days: int
    expiring: list[AppKey]
    expired_not_revoked: list[AppKey]
    never_used: list[AppKey]
    unverifiable: list[AppKey] = field(default_factory=list)
    """Live keys lokstra-auth can never verify (a hash not in its encoding): re-issue them."""


CHANGED = "(changed)"
"""What the audit says of a masked field whose secret part alone changed (a new DSN password)."""


def _changed(before: Record, after: Record) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ (the audit's before/after of an update), compared on the
    real values and recorded safe: a field whose secret alone changed (a DSN's password, a
    secret inside JSON) is "(changed)"."""
    safe_before, safe_after = safe_fields(before), safe_fields(after)
    names = [n for n in safe_after if n != "updated_at" and getattr(before, n) != getattr(after, n)]
    old = {n: safe_before[n] for n in names}
    new = {n: safe_after[n] for n in names}
    for name in names:
        if old[name] == new[name]:
            old[name], new[name] = CHANGED, CHANGED
    return old, new


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}


def rotated_expiry(key: AppKey, now: datetime) -> datetime | None:
    """When the key that replaces ``key`` expires unless the operator says otherwise: when
    ``key`` does (upstream's RotateKey: ``time.Until(old.ExpiresAt)`` from now is the same
    moment), never if it never does. A key already expired gets its lifetime again from now
    (upstream would give it no expiry at all: a rotation must not lift a key's limit);
    without a lifetime to repeat the operator must choose (``ValidationFailed``)."""
    if key.expires_at is None or key.expires_at > now:
        return key.expires_at
    if key.created_at is None or key.expires_at <= key.created_at:
        raise ValidationFailed("API key", {"expires_at": f"the key expired on {key.expires_at:%Y-%m-%d %H:%M}; "
                                           "choose when the new one expires"})
    return now + (key.expires_at - key.created_at)


class Admin:
    """Audited writes over one ``Stores``; cheap to build (screens make one per action)."""

    def __init__(self, stores: Stores, actor: Actor | None = None) -> None:
        self.stores = stores
        self.actor = actor or Actor.current()

    # -- plumbing ---------------------------------------------------------------------------
    def _db_role(self) -> str | None:
        engine = getattr(self.stores.engine, "current", self.stores.engine)
        target = getattr(engine, "target", None)
        return getattr(target, "user", None)

    async def _audit(self, row: Record, action: str, *, before: dict[str, Any] | None = None,
                     after: dict[str, Any] | None = None, note: str | None = None) -> None:
        tenant_id = row.id if isinstance(row, Tenant) else row.tenant_id  # type: ignore[attr-defined]
        await self.stores.audit.record(audit_entry(
            tenant_id=tenant_id, entity=ENTITY_NAMES[type(row)], entity_key=row.key_text(), action=action,
            os_user=self.actor.os_user, ssh_client=self.actor.ssh_client, db_role=self._db_role(),
            backend=self.stores.backend, before=_jsonable(before) if before is not None else None,
            after=_jsonable(after) if after is not None else None, note=note))

    async def _locked(self, row: Record) -> Record:
        """The current row, locked until the block ends: what the audit calls "before" is
        what the change replaced, and a row deleted meanwhile is NotFound, not a false record."""
        current = await self.stores.engine.fetch(_spec(row), row.key(), lock=True)
        if current is None:
            raise NotFound(_spec(row).entity, row.key_text())
        return current

    def _store_for(self, row: Record) -> Any:
        stores = self.stores
        table = {Tenant: stores.tenants, App: stores.apps, Branch: stores.branches, User: stores.users}.get(type(row))
        if table is None:
            raise ValidationFailed("row", {"row": f"{type(row).__name__} is not edited with a form"})
        return table

    # -- rows -------------------------------------------------------------------------------
    async def create(self, row: Record) -> Record:
        store = self._store_for(row)
        async with self.stores.engine.atomic():
            created = await store.create(row)
            await self._audit(created, "create", after=safe_fields(created))
        return created

    async def update(self, row: Record, *, expected_updated_at: datetime | None) -> Record:
        """Replace the row unless it changed since ``expected_updated_at`` (``Conflict``
        carries the current row); the audit holds the changed fields only."""
        store = self._store_for(row)
        async with self.stores.engine.atomic():
            current = await self._locked(row)
            updated = await store.update(row, expected_updated_at=expected_updated_at)
            before, after = _changed(current, updated)
            await self._audit(updated, "update", before=before, after=after)
        return updated

    async def set_status(self, row: Record, status: str) -> Record:
        allowed = STATUS_CHOICES.get(type(row))
        if allowed is None:
            raise ValidationFailed(_spec(row).entity, {"status": "has no status to change here"})
        if status not in allowed:
            raise ValidationFailed(_spec(row).entity, {"status": f"must be one of {', '.join(allowed)}"})
        store = self._store_for(row)
        async with self.stores.engine.atomic():
            current = await self._locked(row)
            before = {"status": current.status, "deleted_at": getattr(current, "deleted_at", None)}
            changed = await store.set_status(*row.key(), status)
            after = {"status": changed.status, "deleted_at": getattr(changed, "deleted_at", None)}
            if after == before:
                raise Unchanged(_spec(row).entity, row.key_text(), status)  # the block rolls back: no audit row
            await self._audit(changed, "status", before=before, after=after)
        return changed

    # -- grants -----------------------------------------------------------------------------
    async def grant(self, tenant_id: str, app_id: str, user_id: str) -> UserApp:
        async with self.stores.engine.atomic():
            before = await self.stores.engine.fetch(USER_APPS, (tenant_id, app_id, user_id), lock=True)
            grant = await self.stores.user_apps.grant_access(tenant_id, app_id, user_id)
            await self._audit(grant, "grant", before=safe_fields(before) if before else None, after=safe_fields(grant))
        return grant

    async def revoke(self, tenant_id: str, app_id: str, user_id: str) -> UserApp:
        async with self.stores.engine.atomic():
            before = await self.stores.engine.fetch(USER_APPS, (tenant_id, app_id, user_id), lock=True)
            grant = await self.stores.user_apps.revoke_access(tenant_id, app_id, user_id)
            await self._audit(grant, "revoke", before=safe_fields(before) if before else None, after=safe_fields(grant))
        return grant

    # -- hard delete --------------------------------------------------------------------------
    async def blast_radius(self, row: Record) -> BlastRadius:
        """Rows a hard delete of ``row`` takes with it, counted (not estimated)."""
        stores = self.stores
        if isinstance(row, Tenant):
            apps = await stores.apps.list(row.id)
            counts = {"tenants": 1, "apps": len(apps),
                      "branches": sum([await stores.branches.count(row.id, a.id) for a in apps]),
                      "users": await stores.users.count(row.id),
                      "user_apps": sum([await stores.user_apps.count_app_users(row.id, a.id) for a in apps]),
                      "app_keys": await stores.app_keys.count(row.id)}
            return BlastRadius(counts)
        if isinstance(row, App):
            return BlastRadius({"apps": 1, "branches": await stores.branches.count(row.tenant_id, row.id),
                                "user_apps": await stores.user_apps.count_app_users(row.tenant_id, row.id),
                                "app_keys": await stores.app_keys.count(row.tenant_id, row.id)})
        if isinstance(row, Branch):
            return BlastRadius({"branches": 1})
        if isinstance(row, User):
            grants = await stores.user_apps.list_user_apps(row.tenant_id, row.id)
            owned = await stores.app_keys.count(row.tenant_id, filter={"user_id": row.id})
            note = f"{owned:,} keys owned by the user stay (keys have no foreign key to users)" if owned else ""
            return BlastRadius({"users": 1, "user_apps": len(grants)}, note)
        if isinstance(row, AppKey):
            return BlastRadius({"app_keys": 1})
        raise ValidationFailed("row", {"row": f"{type(row).__name__} cannot be hard-deleted"})

    async def delete(self, row: Record, *, typed_id: str) -> BlastRadius:
        """Hard delete with cascade, only when ``typed_id`` is the row's id. The blast radius
        is counted again inside the transaction and recorded in the audit."""
        row_id = row.id if not isinstance(row, UserApp) else row.user_id  # type: ignore[attr-defined]
        if typed_id != row_id:
            raise ValidationFailed(_spec(row).entity, {"typed_id": f"type {row_id!r} exactly to delete it"})
        async with self.stores.engine.atomic():
            current = await self._locked(row)
            radius = await self.blast_radius(current)
            if not await self.stores.engine.remove(_spec(row), row.key()):
                raise NotFound(_spec(row).entity, row.key_text())
            note = "cascade: " + ", ".join(radius.lines()) + (f"; {radius.note}" if radius.note else "")
            await self._audit(current, "delete", before=safe_fields(current), note=note)
        return radius

    # -- keys -------------------------------------------------------------------------------
    async def generate_key(self, *, tenant_id: str, app_id: str, key_type: str, environment: str, name: str,
                           scopes: list[str] | None = None, expires_at: datetime | None = None,
                           user_id: str | None = None, metadata: dict[str, Any] | None = None) -> NewKey:
        async with self.stores.engine.atomic():
            new = await self._new_key(tenant_id=tenant_id, app_id=app_id, key_type=key_type, environment=environment,
                                      name=name, scopes=scopes, expires_at=expires_at, user_id=user_id,
                                      metadata=metadata)
            await self._audit(new.key, "key.generate", after=safe_fields(new.key))
        return new

    async def _new_key(self, *, tenant_id: str, app_id: str, key_type: str, environment: str, name: str,
                       scopes: list[str] | None, expires_at: datetime | None, user_id: str | None,
                       metadata: dict[str, Any] | None) -> NewKey:
        clock = self.stores.engine.clock
        if expires_at is not None:
            expires_at = clock.naive(expires_at)  # the data's wall clock (stores/clock.py)
            if expires_at <= clock.now():
                raise ValidationFailed("API key", {"expires_at": "must be in the future"})
        secret = new_secret()
        key_id = new_key_id()
        prefix = key_prefix(key_type, environment)
        owner = user_id if user_id is not None else app_owner(app_id)
        if metadata is None:  # upstream's authenticator dereferences metadata: never leave it NULL
            metadata = {"key_owner_type": "app" if is_app_owner(owner) else "user"}
        try:
            key = AppKey(id=str(uuid.uuid4()), tenant_id=tenant_id, app_id=app_id, key_id=key_id, prefix=prefix,
                         secret_hash=hash_secret(secret), key_type=key_type, environment=environment, user_id=owner,
                         name=name, scopes=scopes, metadata=metadata, expires_at=expires_at)
        except Exception as exc:  # pydantic ValidationError: per-field messages
            from pydantic import ValidationError

            from stores.query import validation_failed

            if isinstance(exc, ValidationError):
                raise validation_failed("API key", exc) from None
            raise
        stored = await self.stores.app_keys.store(key)
        return NewKey(stored, full_key(prefix, key_id, secret))

    async def revoke_key(self, key: AppKey, reason: str) -> AppKey:
        reason = reason.strip()
        if not reason:
            raise ValidationFailed("API key", {"reason": "say why the key is revoked (it goes into the audit)"})
        try:
            check_text(reason)
        except ValueError as exc:
            raise ValidationFailed("API key", {"reason": str(exc)}) from None
        async with self.stores.engine.atomic():
            current = await self._locked(key)
            metadata = {**(current.metadata or {}), "revoked_reason": reason}
            await self.stores.engine.patch(APP_KEYS, (key.id,), {"metadata": metadata})
            revoked = await self.stores.app_keys.revoke(key.id)
            await self._audit(revoked, "key.revoke", before={"revoked": current.revoked},
                              after={"revoked": revoked.revoked, "revoked_at": revoked.revoked_at}, note=reason)
        return revoked

    async def rotate_key(self, key: AppKey, grace: timedelta,
                         expires_at: datetime | None | Literal["keep"] = "keep") -> NewKey:
        """A new key like ``key`` (type, environment, name, scopes, owner), valid at once, and
        ``key`` expiring after ``grace`` (or when it already would, if sooner): one transaction.
        The new key expires at ``expires_at`` (None: never); by default as ``rotated_expiry``
        says (the old key's expiry policy)."""
        if grace < timedelta(0):
            raise ValidationFailed("API key", {"grace": "must not be negative"})
        if grace > timedelta(days=3650):
            raise ValidationFailed("API key", {"grace": "must be at most ten years"})
        async with self.stores.engine.atomic():
            current = await self._locked(key)
            if current.revoked:
                raise ValidationFailed("API key", {"key": "is revoked; generate a new key instead of rotating"})
            clock = self.stores.engine.clock
            now = clock.now()
            old_expiry = now + grace
            if current.expires_at is not None and current.expires_at < old_expiry:
                old_expiry = current.expires_at
            new_expiry = rotated_expiry(current, now) if expires_at == "keep" else expires_at
            new = await self._new_key(tenant_id=current.tenant_id, app_id=current.app_id, key_type=current.key_type,
                                      environment=current.environment, name=current.name, scopes=current.scopes,
                                      expires_at=new_expiry, user_id=current.user_id,
                                      metadata={**(current.metadata or {}), "rotated_from": current.key_id,
                                                "rotated_at": now.isoformat(timespec="seconds")})
            await self.stores.engine.patch(APP_KEYS, (current.id,), {"expires_at": old_expiry})
            await self._audit(new.key, "key.rotate", before={"key_id": current.key_id, "expires_at": current.expires_at},
                              after={"key_id": new.key.key_id, "expires_at": new.key.expires_at,
                                     "old_expires_at": old_expiry},
                              note=f"old key {current.key_id} expires {old_expiry:%Y-%m-%d %H:%M} ({clock.zone})")
        return new

    async def key_report(self, tenant_id: str, app_id: str | None = None, within_days: int = 30) -> KeyReport:
        """Keys expiring within ``within_days``, expired but not revoked, never used."""
        if not 0 <= within_days <= 3650:
            raise ValidationFailed("key report", {"within_days": "must be from 0 to 3650"})
        keys = (await self.stores.app_keys.list_by_app(tenant_id, app_id) if app_id is not None
                else await self.stores.app_keys.list_by_tenant(tenant_id))
        now = self.stores.engine.clock.now()
        horizon = now + timedelta(days=within_days)
        live = [k for k in keys if not k.revoked]
        return KeyReport(
            within_days=within_days,
            expiring=sorted((k for k in live if k.expires_at is not None and now <= k.expires_at < horizon),
                            key=lambda k: k.expires_at),  # type: ignore[arg-type,return-value]
            expired_not_revoked=[k for k in live if k.expires_at is not None and k.expires_at < now],
            never_used=[k for k in live if k.last_used is None],
            unverifiable=[k for k in live if hash_form(k.secret_hash) is not HashForm.UPSTREAM],
        )

    # -- reveal -----------------------------------------------------------------------------
    async def audit_reveal(self, entity: str, key: str, what: str) -> None:
        """Record that the operator was shown what the screens mask outside any row (the
        Monitor's query literals): which thing, never the values. A reveal is a read, but an
        audited one: where the record cannot be written (read-only mode, a role without
        INSERT on the audit log) this raises and the caller keeps the text masked."""
        if getattr(self.stores.engine, "read_only", False) or self._read_only_settings():
            raise ReadOnly("revealing is audited, and a read-only session cannot write the audit record")
        async with self.stores.engine.atomic():
            await self.stores.audit.record(audit_entry(
                tenant_id=SERVER_SCOPE, entity=entity, entity_key=key, action="reveal",
                os_user=self.actor.os_user, ssh_client=self.actor.ssh_client, db_role=self._db_role(),
                backend=self.stores.backend, note=f"revealed {what}"))

    def _read_only_settings(self) -> bool:
        engine = getattr(self.stores.engine, "current", self.stores.engine)
        settings = getattr(engine, "settings", None)
        target = getattr(engine, "target", None)
        return bool(getattr(settings, "read_only", False) or getattr(target, "read_only", False))

    async def reveal(self, row: Record, field_name: str) -> str:
        """The clear value of a masked field, read fresh and audited as a reveal (who, when,
        which field; never the value)."""
        if field_name not in REVEALABLE or field_name not in type(row).model_fields:
            raise ValidationFailed(_spec(row).entity, {field_name: "is not a field that can be revealed"})
        current = await self.stores.engine.fetch(_spec(row), row.key())
        if current is None:
            raise NotFound(_spec(row).entity, row.key_text())
        await self._audit(current, "reveal", note=f"revealed {field_name}")
        return str(getattr(current, field_name))


def _spec(row: Record) -> TableSpec:
    return {Tenant: TENANTS, App: APPS, Branch: BRANCHES, User: USERS, UserApp: USER_APPS, AppKey: APP_KEYS}[type(row)]
