"""What each backend needs to know about the six tables, written once.

Constraint names are the ones lokstra-auth's schema gives (see migrations/sql/001): the
PostgreSQL backend maps a violated constraint back to the rule it enforces, and the memory
backend enforces the same rules in the same order PostgreSQL checks them (primary key,
then unique constraints in declaration order, then foreign keys in declaration order), so
that both raise the same error for the same input.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from stores.models import App, AppKey, Branch, Record, Tenant, User, UserApp

DEFAULT_DATA_SCHEMA = "lokstra_auth"
"""Where lokstra-auth keeps its tables unless ``DB_AUTH_SCHEMA`` says otherwise (upstream's
pool setting ``schema: ${DB_AUTH_SCHEMA:lokstra_auth}``; its deployment example uses
``lokstra_core``)."""


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted (schema names come from settings, so always quote them)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Unique:
    constraint: str
    columns: tuple[str, ...]
    rule: str
    field: str


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` reference the parent's primary key, column for column."""

    constraint: str
    columns: tuple[str, ...]
    parent: str
    field: str


@dataclass(frozen=True)
class OrderIndex:
    """A keyset order: rows within ``scope`` ordered by ``column`` (unique in the scope)."""

    column: str
    scope: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    name: str
    entity: str
    model: type[Record]
    primary: Unique
    uniques: tuple[Unique, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    orders: tuple[OrderIndex, ...] = ()
    touch_column: str | None = "updated_at"
    created_column: str | None = "created_at"
    schema: str | None = None
    """A fixed schema (the console's own tables), or None: the configured data schema."""
    columns: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.model.model_fields))

    def schema_in(self, data_schema: str) -> str:
        """The schema the table lives in when lokstra's tables are in ``data_schema``."""
        return self.schema or data_schema

    def relation(self, data_schema: str) -> str:
        """The table's quoted, schema-qualified name when lokstra's tables are in ``data_schema``."""
        return f"{quote_ident(self.schema or data_schema)}.{quote_ident(self.name)}"

    @property
    def key_columns(self) -> tuple[str, ...]:
        return self.primary.columns

    @property
    def json_columns(self) -> frozenset[str]:
        return frozenset(name for name in ("config", "settings", "metadata", "address", "contact", "scopes")
                         if name in self.columns)

    def all_uniques(self) -> tuple[Unique, ...]:
        return (self.primary, *self.uniques)

    def constraint(self, name: str) -> Unique | ForeignKey | None:
        for item in (*self.all_uniques(), *self.foreign_keys):
            if item.constraint == name:
                return item
        return None

    def order(self, column: str, scope: tuple[str, ...]) -> OrderIndex:
        for index in self.orders:
            if index.column == column and index.scope == scope:
                return index
        raise KeyError(f"{self.name} has no order by {column} within {scope}")


TENANTS = TableSpec(
    name="tenants", entity="tenant", model=Tenant,
    primary=Unique("tenants_pkey", ("id",), "tenant id", "id"),
    uniques=(Unique("unique_tenant_name", ("name",), "tenant name", "name"),),
    orders=(OrderIndex("name", ()),),
)

APPS = TableSpec(
    name="apps", entity="app", model=App,
    primary=Unique("apps_pkey", ("tenant_id", "id"), "app id per tenant", "id"),
    uniques=(Unique("unique_app_name_per_tenant", ("tenant_id", "name"), "app name per tenant", "name"),),
    foreign_keys=(ForeignKey("apps_tenant_id_fkey", ("tenant_id",), "tenants", "tenant_id"),),
    orders=(OrderIndex("name", ("tenant_id",)),),
)

BRANCHES = TableSpec(
    name="branches", entity="branch", model=Branch,
    primary=Unique("branches_pkey", ("tenant_id", "app_id", "id"), "branch id per app", "id"),
    uniques=(Unique("unique_branch_code_per_app", ("tenant_id", "app_id", "code"), "branch code per app", "code"),),
    foreign_keys=(ForeignKey("fk_branches_app", ("tenant_id", "app_id"), "apps", "app_id"),),
    orders=(OrderIndex("code", ("tenant_id", "app_id")),),
)

USERS = TableSpec(
    name="users", entity="user", model=User,
    primary=Unique("users_pkey", ("tenant_id", "id"), "user id per tenant", "id"),
    uniques=(
        Unique("unique_username_per_tenant", ("tenant_id", "username"), "username per tenant", "username"),
        Unique("unique_email_per_tenant", ("tenant_id", "email"), "email per tenant", "email"),
    ),
    foreign_keys=(ForeignKey("users_tenant_id_fkey", ("tenant_id",), "tenants", "tenant_id"),),
    orders=(OrderIndex("username", ("tenant_id",)), OrderIndex("email", ("tenant_id",))),
)

USER_APPS = TableSpec(
    name="user_apps", entity="app access grant", model=UserApp,
    primary=Unique("user_apps_pkey", ("tenant_id", "app_id", "user_id"), "grant per user and app", "user_id"),
    foreign_keys=(
        ForeignKey("fk_user_apps_user", ("tenant_id", "user_id"), "users", "user_id"),
        ForeignKey("fk_user_apps_app", ("tenant_id", "app_id"), "apps", "app_id"),
    ),
    orders=(OrderIndex("app_id", ("tenant_id", "user_id")), OrderIndex("user_id", ("tenant_id", "app_id"))),
    touch_column=None, created_column="granted_at",
)

APP_KEYS = TableSpec(
    name="app_keys", entity="API key", model=AppKey,
    primary=Unique("app_keys_pkey", ("id",), "key id (primary key)", "id"),
    uniques=(Unique("unique_key_id", ("key_id",), "key_id", "key_id"),),
    foreign_keys=(ForeignKey("fk_app_keys_app", ("tenant_id", "app_id"), "apps", "app_id"),),
    orders=(OrderIndex("id", ("tenant_id", "app_id")), OrderIndex("id", ("tenant_id",))),
    touch_column=None,
)

ALL_TABLES: tuple[TableSpec, ...] = (TENANTS, APPS, BRANCHES, USERS, USER_APPS, APP_KEYS)
BY_NAME: dict[str, TableSpec] = {spec.name: spec for spec in ALL_TABLES}

PARENT_LABEL = {"tenants": "tenant", "apps": "app", "users": "user"}
