"""What in the stores lokstra-auth itself cannot read or use (both backends).

Two things written by other programs, or by older consoles, break the service that shares
the database:

- NULL in a column upstream's Go code reads into a plain ``string`` / map (the columns the
  models mark ``UpstreamNotNull``): pgx refuses to scan it and the whole ``List`` of that
  table fails. ``''`` (``{}`` for JSON, ``app:<app_id>`` for a key owner) means the same to
  upstream as "none": ``fix_sql`` says the statement that writes it.
- API keys whose ``secret_hash`` is not upstream's encoding (``stores.keys.hash_form``): the
  hex digests older consoles wrote, or the padded hashes of upstream's first API-key module.
  lokstra-auth can never verify those keys and their secrets cannot be recovered: each must
  be re-issued (rotated, then the old one revoked).
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stores.keys import HASH_FORM_PROBLEMS, HashForm, hash_form, public_id
from stores.models import AppKey, upstream_not_null
from stores.query import IsNull
from stores.tables import ALL_TABLES, APP_KEYS, TableSpec

if TYPE_CHECKING:
    from stores.open import Stores

KEYS_PAGE = 1000
KEYS_LISTED = 50
"""How many unverifiable keys a report names (the count is always complete)."""


@dataclass(frozen=True)
class NullColumn:
    table: str
    column: str
    rows: int
    written: Any
    """What the console writes there instead (what upstream reads as "none")."""

    def describe(self) -> str:
        return f"{self.table}.{self.column}: {self.rows:,} row{'s' if self.rows != 1 else ''} NULL"

    def fix_sql(self, schema: str) -> str:
        """The statement an operator (the tables' owner) runs to write what upstream reads."""
        if self.table == APP_KEYS.name and self.column == "user_id":
            value = "'app:' || app_id"
        elif isinstance(self.written, dict):
            value = "'{}'::jsonb"
            return (f"UPDATE {schema}.{self.table} SET {self.column} = {value} "
                    f"WHERE {self.column} IS NULL OR {self.column} = 'null'::jsonb")
        else:
            value = "''"
        return f"UPDATE {schema}.{self.table} SET {self.column} = {value} WHERE {self.column} IS NULL"


@dataclass(frozen=True)
class UnverifiableKey:
    tenant_id: str
    app_id: str
    id: str
    public_id: str
    name: str
    owner: str | None
    revoked: bool
    problem: str

    def describe(self) -> str:
        return f"{self.tenant_id}/{self.app_id} {self.public_id} {self.name!r} ({self.problem})"


@dataclass
class CompatReport:
    nulls: list[NullColumn] = field(default_factory=list)
    keys: list[UnverifiableKey] = field(default_factory=list)
    """The first ``KEYS_LISTED`` unverifiable keys."""
    unverifiable_keys: int = 0
    live_unverifiable_keys: int = 0
    keys_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.nulls and not self.unverifiable_keys


def null_columns() -> list[tuple[TableSpec, str, Any]]:
    """Every (table, column, what the console writes) that upstream cannot read as NULL."""
    return [(spec, column, written) for spec in ALL_TABLES for column, written in upstream_not_null(spec.model).items()]


async def null_counts(stores: Stores) -> list[NullColumn]:
    found = []
    for spec, column, written in null_columns():
        rows = await stores.engine.count(spec, (), (IsNull(column, json=column in spec.json_columns),))
        if rows:
            found.append(NullColumn(spec.name, column, rows, written))
    return found


async def _all_keys(stores: Stores) -> AsyncIterator[AppKey]:
    tenants_after: str | None = None
    while True:
        tenants = await stores.tenants.page(after=tenants_after, limit=KEYS_PAGE)
        for tenant in tenants.rows:
            keys_after: str | None = None
            while True:
                keys = await stores.app_keys.page(tenant.id, after=keys_after, limit=KEYS_PAGE)
                for key in keys.rows:
                    yield key
                if keys.next_cursor is None:
                    break
                keys_after = keys.next_cursor
        if tenants.next_cursor is None:
            return
        tenants_after = tenants.next_cursor


def unverifiable(key: AppKey) -> UnverifiableKey | None:
    form = hash_form(key.secret_hash or "")
    if form is HashForm.UPSTREAM:
        return None
    return UnverifiableKey(key.tenant_id, key.app_id, key.id, public_id(key.prefix, key.key_id), key.name,
                           key.user_id, key.revoked, HASH_FORM_PROBLEMS[form])


async def compat_report(stores: Stores) -> CompatReport:
    """Reads only: counts and one keyset walk over the keys."""
    report = CompatReport(nulls=await null_counts(stores))
    async for key in _all_keys(stores):
        report.keys_checked += 1
        bad = unverifiable(key)
        if bad is None:
            continue
        report.unverifiable_keys += 1
        report.live_unverifiable_keys += not key.revoked
        if len(report.keys) < KEYS_LISTED:
            report.keys.append(bad)
    return report


@dataclass(frozen=True)
class Problem:
    """One thing lokstra-auth cannot read or use, in words, with its fix."""

    kind: str
    """"nulls" or "keys"."""
    what: str
    fix: str
    serious: bool = True
    listed: list[str] = field(default_factory=list)


def problems(report: CompatReport, schema: str) -> list[Problem]:
    """The report as an operator reads it (``check`` and the Monitor's capability list)."""
    found: list[Problem] = []
    if report.nulls:
        found.append(Problem(
            "nulls", "NULL where lokstra-auth's Go code needs a value (its List of the table fails): "
            + "; ".join(n.describe() for n in report.nulls),
            "As the tables' owner: " + "; ".join(n.fix_sql(schema) for n in report.nulls)))
    if report.unverifiable_keys:
        named = ", ".join(key.describe() for key in report.keys[:5])
        more = f" and {report.unverifiable_keys - 5:,} more" if report.unverifiable_keys > 5 else ""
        found.append(Problem(
            "keys", f"{report.unverifiable_keys:,} of {report.keys_checked:,} API keys ({report.live_unverifiable_keys:,} not "
            f"revoked) can never be verified by lokstra-auth: {named}{more}",
            "Their secrets cannot be recovered: re-issue each (Browse, the key, R to rotate, hand out the new key, "
            "then X to revoke the old one)",
            serious=report.live_unverifiable_keys > 0, listed=[key.describe() for key in report.keys]))
    return found
