"""The six lokstra-auth entities, column for column with ``domain.md``.

Validation mirrors what PostgreSQL would reject (lengths of varchar(255/100/50), NOT NULL,
NUL characters, invalid Unicode, non-finite JSON numbers) plus lokstra's vocabularies and
an email shape, so that both backends refuse the same input with the same clear message.

Rows read back from a database are built with ``model_construct`` (no validation): a
database written by lokstra-auth itself may hold values our rules would refuse, and the
console must still show them.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator

TenantStatus = Literal["active", "suspended", "deleted"]
AppType = Literal["web", "mobile", "api", "desktop", "service"]
AppStatus = Literal["active", "disabled"]
BranchType = Literal["headquarters", "regional", "store", "warehouse", "franchise", "office", "other"]
BranchStatus = Literal["active", "disabled"]
UserStatus = Literal["active", "suspended", "deleted"]
GrantStatus = Literal["active", "revoked"]
KeyType = Literal["secret", "public"]
KeyEnvironment = Literal["live", "test"]

TENANT_STATUSES: tuple[str, ...] = get_args(TenantStatus)
APP_TYPES: tuple[str, ...] = get_args(AppType)
APP_STATUSES: tuple[str, ...] = get_args(AppStatus)
BRANCH_TYPES: tuple[str, ...] = get_args(BranchType)
BRANCH_STATUSES: tuple[str, ...] = get_args(BranchStatus)
USER_STATUSES: tuple[str, ...] = get_args(UserStatus)
GRANT_STATUSES: tuple[str, ...] = get_args(GrantStatus)
KEY_TYPES: tuple[str, ...] = get_args(KeyType)
KEY_ENVIRONMENTS: tuple[str, ...] = get_args(KeyEnvironment)

EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def utcnow() -> datetime:
    """Now as a naive UTC timestamp, the form ``timestamp`` columns hold (microseconds)."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(value: datetime) -> datetime:
    """Timestamps are stored without time zone, in UTC: convert aware values, keep naive ones."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def check_text(value: str) -> str:
    """Refuse what PostgreSQL text cannot hold: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\x00); PostgreSQL cannot store them")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode (it contains a lone surrogate)") from exc
    return value


def blank(value: str) -> bool:
    """Shows as nothing: only whitespace (any Unicode space) and invisible format or control
    characters (zero-width spaces, direction marks)."""
    return all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def check_name(value: str) -> str:
    """A name-like field (tenant, app, branch name, username, key name): storable and not blank."""
    check_text(value)
    if blank(value):
        raise ValueError("must not be blank (spaces or invisible characters only)")
    return value


def check_identifier(value: str) -> str:
    check_name(value)
    if value != value.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not have leading/trailing spaces or control characters")
    return value


MAX_JSON_DEPTH = 200
"""Deeper JSON is refused: Python's own JSON parser gives up near 1,000 levels (a
``RecursionError``), and no lokstra setting nests beyond a handful."""


def check_json(value: Any) -> Any:
    """Refuse JSON that jsonb would reject: NaN/Infinity, NUL in strings, non-string keys,
    nesting past ``MAX_JSON_DEPTH``; and hold numbers as jsonb gives them back
    (``jsonb_numbers``), so both backends agree."""
    if not json_storable(value):
        _walk_json(value, "", 0)  # says what and where
    return jsonb_numbers(value)


def json_storable(value: Any, depth: int = 0) -> bool:
    """``check_json``'s rules, answered quickly and without saying why (the usual case)."""
    if isinstance(value, str):
        return "\x00" not in value and (value.isascii() or _encodable(value))
    if isinstance(value, dict):
        return depth <= MAX_JSON_DEPTH and all(
            isinstance(key, str) and json_storable(key) and json_storable(item, depth + 1) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return depth <= MAX_JSON_DEPTH and all(json_storable(item, depth + 1) for item in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (bool, int))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def jsonb_numbers(value: Any) -> Any:
    """``value`` with its floats as PostgreSQL's jsonb returns them: jsonb keeps a number as
    its decimal text, so a float Python writes with a positive exponent (1e+16, 1.5e+300)
    comes back as the integer that text means, and -0.0 as 0.0 (found by tests/reliability/
    test_fuzz.py: the memory backend kept the float, PostgreSQL returned an int)."""
    if isinstance(value, dict):
        return {key: jsonb_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonb_numbers(item) for item in value]
    if isinstance(value, float) and not isinstance(value, bool):
        if value == 0:
            return 0.0
        text = repr(value)
        if "e+" in text:
            mantissa, exponent = text.split("e+")
            whole, _, fraction = mantissa.partition(".")
            return int(whole + fraction) * 10 ** (int(exponent) - len(fraction))
    return value


def _walk_json(value: Any, path: str, depth: int) -> None:
    where = path or "the value"
    if depth > MAX_JSON_DEPTH and isinstance(value, (dict, list, tuple)):
        raise ValueError(f"JSON must not nest deeper than {MAX_JSON_DEPTH} levels (at {where[:80]}…)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"JSON object keys must be strings (got {type(key).__name__} at {where})")
            _check_json_string(key, f"key {key!r} in {where}")
            _walk_json(item, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _walk_json(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, str):
        _check_json_string(value, where)
    elif isinstance(value, bool) or value is None or isinstance(value, int):
        return
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"JSON numbers must be finite (NaN/Infinity at {where})")
    else:
        raise ValueError(f"{type(value).__name__} is not a JSON value (at {where})")


def _check_json_string(text: str, where: str) -> None:
    try:
        check_text(text)
    except ValueError as exc:
        raise ValueError(f"{where} {exc}") from None


def check_email(value: str) -> str:
    if not EMAIL_SHAPE.match(value):
        raise ValueError("must look like name@example.com")
    return value


@dataclass(frozen=True)
class UpstreamNotNull:
    """Marks a nullable column that lokstra-auth's Go code reads into a plain ``string`` /
    map: pgx cannot scan SQL NULL into it, and one such row makes upstream's ``List`` fail
    for the whole table (docs/upstream.md, section B: ``Domain string`` in
    pkg/domain/core/tenant.go L30, ``FullName string`` in pkg/domain/core/user.go L37,
    ``UserID string`` in the older core/domain/app_key.go L19, and the current API-key
    authenticator dereferencing ``*key.Metadata``). The console writes ``written`` where a
    caller gives nothing, as upstream does, and ``check`` reports the rows that hold NULL."""

    written: Any


def upstream_not_null(model: type[BaseModel]) -> dict[str, Any]:
    """The columns of ``model`` marked ``UpstreamNotNull``, with what the console writes for "none"."""
    found: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        for item in info.metadata:
            if isinstance(item, UpstreamNotNull):
                found[name] = item.written
    return found


def _none_is(written: Any) -> BeforeValidator:
    return BeforeValidator(lambda value: (written() if callable(written) else written) if value is None else value)


Id = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(check_identifier)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(check_name)]
Text255 = Annotated[str, StringConstraints(max_length=255), AfterValidator(check_text)]
Text = Annotated[str, AfterValidator(check_text)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(check_identifier)]
Prefix = Annotated[str, StringConstraints(max_length=50), AfterValidator(check_text)]
Email = Annotated[str, StringConstraints(max_length=255), AfterValidator(check_text), AfterValidator(check_email)]
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]
JsonList = Annotated[list[Any], AfterValidator(check_json)]
GoText255 = Annotated[Text255, UpstreamNotNull(""), _none_is("")]
"""Optional text that upstream reads into a Go ``string``: empty, never NULL."""
GoJsonObject = Annotated[JsonObject, UpstreamNotNull({}), _none_is(dict)]


class Record(BaseModel):
    """Shared configuration: no unknown fields, validation on assignment, naive UTC times."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _naive_utc(cls, value: Any) -> Any:
        return naive_utc(value) if isinstance(value, datetime) else value

    def key(self) -> tuple[str, ...]:
        """The primary key, in column order."""
        raise NotImplementedError

    @classmethod
    def from_row(cls, values: dict[str, Any]) -> Self:
        """A model from a stored row, without validation (see the module docstring).

        Faster than ``model_construct`` (no defaults to fill: a row has every column),
        which matters when a page of 50 is built for every keypress. ``values`` must hold
        exactly the model's fields.
        """
        model = cls.__new__(cls)
        object.__setattr__(model, "__dict__", values)
        object.__setattr__(model, "__pydantic_fields_set__", set(values))
        object.__setattr__(model, "__pydantic_extra__", None)
        object.__setattr__(model, "__pydantic_private__", None)
        return model

    def key_text(self) -> str:
        return "/".join(self.key())


class Tenant(Record):
    id: Id
    name: Name
    domain: GoText255 = ""
    db_dsn: Text = Field("", repr=False, description="may contain a password: a secret")
    db_schema: Text255 = ""
    status: TenantStatus = "active"
    config: JsonObject | None = None
    settings: JsonObject | None = None
    metadata: JsonObject | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None

    def key(self) -> tuple[str, ...]:
        return (self.id,)


class App(Record):
    id: Id
    tenant_id: Id
    name: Name
    type: AppType
    status: AppStatus = "active"
    config: JsonObject | None = None
    metadata: JsonObject | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def key(self) -> tuple[str, ...]:
        return (self.tenant_id, self.id)


class Branch(Record):
    id: Id
    tenant_id: Id
    app_id: Id
    code: Code
    name: Name
    type: BranchType
    status: BranchStatus = "active"
    address: JsonObject | None = None
    contact: JsonObject | None = None
    settings: JsonObject | None = None
    metadata: JsonObject | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def key(self) -> tuple[str, ...]:
        return (self.tenant_id, self.app_id, self.id)


class User(Record):
    id: Id
    tenant_id: Id
    username: Name
    email: Email
    full_name: GoText255 = ""
    status: UserStatus = "active"
    metadata: JsonObject | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None

    def key(self) -> tuple[str, ...]:
        return (self.tenant_id, self.id)


class UserApp(Record):
    tenant_id: Id
    app_id: Id
    user_id: Id
    status: GrantStatus = "active"
    granted_at: datetime | None = None
    revoked_at: datetime | None = None

    def key(self) -> tuple[str, ...]:
        return (self.tenant_id, self.app_id, self.user_id)


class AppKey(Record):
    id: Id
    tenant_id: Id
    app_id: Id
    key_id: Id
    prefix: Prefix
    secret_hash: Annotated[str, AfterValidator(check_text)] = Field(
        repr=False, description="base64url SHA3-256 of the secret (stores.keys), never the secret")
    key_type: KeyType
    environment: KeyEnvironment
    user_id: Annotated[Id | None, UpstreamNotNull("app:<app_id>")] = Field(
        None, description='the owning user, or "app:<app_id>" for a key the app owns (stores.owners)')
    name: Name
    scopes: JsonList | None = None
    metadata: GoJsonObject = Field(default_factory=dict)
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used: datetime | None = None
    revoked: bool = False
    revoked_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _owned_by_the_app_unless_a_user_is_named(cls, values: Any) -> Any:
        """No owner means the app owns the key: upstream's ``app:<app_id>``, not NULL (NULL only
        for an app id too long to fit, which lokstra-auth could not store either)."""
        if isinstance(values, dict) and values.get("user_id") in (None, "") and isinstance(values.get("app_id"), str):
            owner = f"app:{values['app_id']}"
            return {**values, "user_id": owner if len(owner) <= 255 else None}
        return values

    def key(self) -> tuple[str, ...]:
        return (self.id,)


def json_text(value: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces) used for digests and comparisons."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
