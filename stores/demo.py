"""Deterministic demo data: the memory backend's default content, and the benchmarks' data.

``DemoSpec()`` is the small default (3 tenants, apps of every type, branches, a few hundred
users, grants, keys with real SHA3-256 hashes of secrets nobody keeps). ``DemoSpec(users=N)``
scales the users of the first tenant; ``copy_to_postgres`` writes any size straight to
PostgreSQL with COPY. The same spec always gives the same rows (fixed seed, fixed clock).
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from stores.keys import hash_secret, key_prefix
from stores.layouts import require_supported
from stores.memory.engine import MemoryEngine
from stores.models import APP_TYPES, BRANCH_TYPES
from stores.owners import app_owner
from stores.tables import ALL_TABLES, APP_KEYS, APPS, BRANCHES, DEFAULT_DATA_SCHEMA, TENANTS, USER_APPS, USERS

EPOCH = datetime(2026, 1, 5, 9, 0, 0)

TENANT_PLAN = (
    ("acme-corp", "Acme Corporation", "acme.example.com"),
    ("globex", "Globex Ltd", "globex.example.org"),
    ("initech", "Initech", ""),
)
FIRST = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
         "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoë", "Åsa", "Łukasz", "Émile")
LAST = ("smith", "jones", "müller", "garcia", "tanaka", "okafor", "nguyen", "rossi", "kowalski", "silva")


@dataclass(frozen=True)
class DemoSpec:
    users: int = 400
    """Users of the first tenant; the others get a tenth each (at least 20)."""
    seed: int = 20260105


Row = tuple[Any, ...]


def _rows(spec: DemoSpec) -> dict[str, Iterator[Row]]:
    """Rows per table as tuples in column order (``TableSpec.columns``)."""
    rng = random.Random(spec.seed)
    tenants: list[Row] = []
    apps: list[Row] = []
    branches: list[Row] = []
    keys: list[Row] = []
    user_counts: list[tuple[str, int]] = []
    app_ids: dict[str, list[str]] = {}
    for t_index, (tenant_id, name, domain) in enumerate(TENANT_PLAN):
        created = EPOCH + timedelta(days=t_index)
        status = "suspended" if tenant_id == "initech" else "active"
        dsn = f"postgres://{tenant_id}_app:demo-{tenant_id}-pw@db.internal:5432/{tenant_id.replace('-', '_')}"
        settings = {"max_users": 100000 if t_index == 0 else 5000, "max_apps": 20,
                    "allowed_auth_methods": ["password", "otp"], "require_mfa": t_index == 0,
                    "session_timeout": 3600, "password_policy": {"min_length": 12, "require_symbols": True}}
        tenants.append((tenant_id, name, domain, dsn, tenant_id.replace("-", "_"), status, {"tier": "demo"},
                        settings, {"region": ("eu", "us", "ap")[t_index]}, created, created, None))
        app_ids[tenant_id] = []
        for a_index, app_type in enumerate(APP_TYPES if t_index == 0 else APP_TYPES[:3]):
            app_id = f"{app_type}-app"
            app_ids[tenant_id].append(app_id)
            app_created = created + timedelta(hours=a_index + 1)
            apps.append((app_id, tenant_id, f"{name.split()[0]} {app_type.title()}", app_type,
                         "disabled" if a_index == 4 else "active", {"callback": f"https://{tenant_id}.example/{app_type}"},
                         None, app_created, app_created))
            for b_index in range(2 if app_type != "service" else 0):
                branch_type = BRANCH_TYPES[(a_index + b_index) % len(BRANCH_TYPES)]
                branches.append((f"br-{a_index}{b_index}", tenant_id, app_id, f"{app_type[:3].upper()}-{b_index + 1:03d}",
                                 f"{branch_type.title()} {b_index + 1}", branch_type,
                                 "disabled" if (a_index + b_index) % 5 == 4 else "active",
                                 {"city": ("Jakarta", "Berlin", "Austin", "Osaka")[b_index % 4], "line1": f"{b_index + 1} Main St"},
                                 {"phone": f"+62-21-555-{a_index}{b_index:02d}"}, None, None, app_created, app_created))
            for k_index in range(3):
                environment = "live" if k_index != 1 else "test"
                key_created = app_created + timedelta(days=k_index)
                secret_hash = hash_secret(f"demo-secret-{spec.seed}-{tenant_id}-{app_id}-{k_index}")
                revoked = k_index == 2
                key_type = "secret" if k_index != 1 else "public"
                keys.append((f"key-{tenant_id}-{app_id}-{k_index}", tenant_id, app_id, f"kid{t_index}{a_index}{k_index}{rng.randrange(16**6):06x}",
                             key_prefix(key_type, environment), secret_hash, key_type, environment, app_owner(app_id),
                             f"{app_type} key {k_index + 1}", ["read", "write"] if k_index == 0 else ["read"],
                             {"key_owner_type": "app"},
                             key_created, key_created + timedelta(days=365) if k_index == 0 else None,
                             key_created + timedelta(days=3) if k_index == 0 else None, revoked,
                             key_created + timedelta(days=30) if revoked else None))
        user_counts.append((tenant_id, spec.users if t_index == 0 else max(20, spec.users // 10)))
    return {
        TENANTS.name: iter(tenants),
        APPS.name: iter(apps),
        BRANCHES.name: iter(branches),
        USERS.name: _users(user_counts, rng),
        USER_APPS.name: _grants(user_counts, app_ids),
        APP_KEYS.name: iter(keys),
    }


_user_id = "u{:08d}".format
"""A demo user's id from its index (a bound method: called once per user and per grant)."""


def _users(user_counts: list[tuple[str, int]], rng: random.Random) -> Iterator[Row]:
    statuses = ("active",) * 17 + ("suspended", "suspended", "deleted")
    pick = rng.randrange
    names = [(first, last, f"{first.lower()}.{last}", f"{first.title()} {last.title()}") for last in LAST for first in FIRST]
    step, ten_days = timedelta(seconds=37), timedelta(days=10)
    for tenant_id, count in user_counts:
        domain = f"@{tenant_id}.example.com"
        created = EPOCH
        for index in range(count):  # one row per step; the values are those of the plain formulas
            first, last, mail, full = names[index % len(names)]
            status = statuses[pick(20)]
            yield (_user_id(index), tenant_id, f"{first}.{last}{index}", f"{mail}{index}{domain}", full, status,
                   {"dept": ("ops", "sales", "eng")[index % 3]} if index % 4 == 0 else None,
                   created, created, created + ten_days if status == "deleted" else None)
            created += step


def _grants(user_counts: list[tuple[str, int]], app_ids: dict[str, list[str]]) -> Iterator[Row]:
    step, minute, second, twenty_days = timedelta(seconds=37), timedelta(seconds=60), timedelta(seconds=1), timedelta(days=20)
    for tenant_id, count in user_counts:
        first, second_app = app_ids[tenant_id][:2]
        base = EPOCH + minute
        for index in range(count):
            user_id = _user_id(index)
            if index % 11:
                yield (tenant_id, first, user_id, "active", base, None)
            else:
                yield (tenant_id, first, user_id, "revoked", base, base + twenty_days)
            if index % 3:
                yield (tenant_id, second_app, user_id, "active", base + second, None)
            base += step


def demo_rows(spec: DemoSpec = DemoSpec()) -> dict[str, Iterator[Row]]:
    return _rows(spec)


def load_into_memory(engine: MemoryEngine, spec: DemoSpec = DemoSpec()) -> dict[str, int]:
    """Fill a memory engine (constraints checked) and return the rows per table."""
    counts: dict[str, int] = {}
    rows = _rows(spec)
    for table in ALL_TABLES:
        counts[table.name] = engine.load_rows(table, rows[table.name])
    return counts


async def copy_to_postgres(conn: Any, spec: DemoSpec, progress: Callable[[str, int], None] | None = None,
                           schema: str = DEFAULT_DATA_SCHEMA) -> dict[str, int]:
    """COPY the demo rows into lokstra's empty, migrated tables in ``schema``, in one transaction.

    ``conn`` is an asyncpg connection with the jsonb codec set (``stores.postgres.engine.init_connection``).
    """
    counts: dict[str, int] = {}
    rows = _rows(spec)
    async with conn.transaction():
        for table in ALL_TABLES:
            batch: list[Row] = []
            total = 0
            for row in rows[table.name]:
                batch.append(row)
                if len(batch) >= 50_000:
                    await conn.copy_records_to_table(table.name, records=batch, columns=list(table.columns), schema_name=schema)
                    total += len(batch)
                    batch.clear()
                    if progress:
                        progress(table.name, total)
            if batch:
                await conn.copy_records_to_table(table.name, records=batch, columns=list(table.columns), schema_name=schema)
                total += len(batch)
            counts[table.name] = total
            if progress:
                progress(table.name, total)
    return counts


LOCK_TIMEOUT = "10s"
"""How long to wait for other sessions' locks on the six tables before giving up."""



def table_list(schema: str) -> str:
    return ", ".join(spec.relation(schema) for spec in ALL_TABLES)


class NotEmpty(Exception):
    """The target tables already hold rows (and ``replace`` was not asked for)."""

    def __init__(self, tables: list[str]) -> None:
        self.tables = tables
        super().__init__(f"lokstra's tables already hold rows in {', '.join(tables)}")


async def occupied_tables(conn: Any, schema: str = DEFAULT_DATA_SCHEMA) -> list[str]:
    """lokstra's tables (in ``schema``) that hold at least one row."""
    found = []
    for spec in ALL_TABLES:
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {spec.relation(schema)})"):
            found.append(spec.name)
    return found


async def write_demo(conn: Any, spec: DemoSpec, *, replace: bool = False,
                     progress: Callable[[str, int], None] | None = None,
                     schema: str = DEFAULT_DATA_SCHEMA) -> dict[str, int]:
    """COPY ``spec``'s rows into lokstra's migrated tables in ``schema`` of ``conn`` (which has the
    jsonb codec of ``init_connection``) in one transaction, then ANALYZE them.

    Raises ``NotEmpty`` when a table has rows and not ``replace``; with ``replace`` the six
    tables are truncated in the same transaction, so a failure leaves the old rows in place.
    The tables are locked against writers first, so nobody adds rows between the check and the copy.
    """
    from stores.postgres import facts  # here, not at the top: the memory demo's start-up never needs asyncpg

    require_supported(await facts.layout(conn, schema), "writing demo data")
    tables = table_list(schema)
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        if replace:
            await conn.execute(f"TRUNCATE {tables}")
        else:
            await conn.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
            occupied = await occupied_tables(conn, schema)
            if occupied:
                raise NotEmpty(occupied)
        counts = await copy_to_postgres(conn, spec, progress, schema)  # a savepoint inside our transaction
    await conn.execute(f"ANALYZE {tables}")
    return counts
