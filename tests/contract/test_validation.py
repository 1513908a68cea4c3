"""Input the database would refuse is refused up front, the same way on both backends;
hostile but valid strings round-trip exactly."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from stores import Stores
from stores.errors import ValidationFailed
from stores.models import Tenant
from tests.support import factories as f

HOSTILE_BUT_VALID = [
    "Robert'); DROP TABLE lokstra_auth.users;--",
    "$(rm -rf /) `id` && echo pwned | cat",
    "\u202eevil\u202c right-to-left \u200f mark",
    "emoji 😀 and 日本語 and e\u0301",
    "%_\\ like metacharacters",
    "x" * 255,
]


@pytest.mark.parametrize("text", HOSTILE_BUT_VALID, ids=["sql", "shell", "rtl", "unicode", "like", "255"])
async def test_hostile_strings_round_trip(stores: Stores, text: str) -> None:
    await stores.tenants.create(f.tenant("t1", name=text, domain=text, metadata={text: [text]}))
    fetched = await stores.tenants.get("t1")
    assert (fetched.name, fetched.domain, fetched.metadata) == (text, text, {text: [text]})
    assert (await stores.tenants.get_by_name(text)).id == "t1"


async def test_long_text_columns_hold_10k_characters(stores: Stores) -> None:
    dsn = "postgres://u:" + "p" * 10_000 + "@h/db"
    await stores.tenants.create(f.tenant("t1", db_dsn=dsn))
    assert (await stores.tenants.get("t1")).db_dsn == dsn


def _refused(make) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        make()
    return err.value


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: f.tenant("t", name="n" * 256), "name"),
        (lambda: f.tenant("t" * 256), "id"),
        (lambda: f.tenant("t", name=""), "name"),
        (lambda: f.tenant(" t"), "id"),
        (lambda: f.tenant("t", name="a\x00b"), "name"),
        (lambda: f.tenant("t", status="paused"), "status"),
        (lambda: f.tenant("t", settings={"quota": float("nan")}), "settings"),
        (lambda: f.tenant("t", settings={"bad": "nul\x00inside"}), "settings"),
        (lambda: f.tenant("t", config=["not", "an", "object"]), "config"),
        (lambda: f.branch(code="c" * 101), "code"),
        (lambda: f.key(prefix="p" * 51), "prefix"),
        (lambda: f.key(environment="staging"), "environment"),
        (lambda: f.key(scopes={"not": "a list"}), "scopes"),
        (lambda: f.user(email="not-an-email"), "email"),
        (lambda: f.user(email="a b@example.com"), "email"),
        (lambda: f.app(type="website"), "type"),
    ],
    ids=["name-256", "id-256", "name-empty", "id-space", "nul", "status", "json-nan", "json-nul", "json-list",
         "code-101", "prefix-51", "environment", "scopes", "email", "email-space", "app-type"],
)
def test_models_refuse_what_the_database_would(make, field: str) -> None:
    error = _refused(make)
    assert error.errors()[0]["loc"][0] == field


def test_boundary_lengths_are_accepted() -> None:
    assert len(f.tenant("t" * 255, name="n" * 255).name) == 255
    assert len(f.branch(code="c" * 100).code) == 100
    assert len(f.key(prefix="p" * 50).prefix) == 50


async def test_a_model_bypassing_validation_is_still_refused_by_the_store(stores: Stores) -> None:
    sneaky = Tenant.model_construct(id="t1", name="n" * 256, db_dsn="", db_schema="", status="active")
    with pytest.raises(ValidationFailed) as err:
        await stores.tenants.create(sneaky)
    assert "name" in err.value.problems
    assert not await stores.tenants.exists("t1")


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800"], ids=["nul", "lone-surrogate"])
async def test_lookups_with_unstorable_keys_are_validation_errors(stores: Stores, bad: str) -> None:
    with pytest.raises(ValidationFailed):
        await stores.tenants.get(bad)
    with pytest.raises(ValidationFailed):
        await stores.users.page(bad)
    with pytest.raises(ValidationFailed):
        await stores.users.page("acme", filter={"username_prefix": bad})


async def test_bad_filters_and_limits_are_validation_errors(stores: Stores) -> None:
    with pytest.raises(ValidationFailed) as err:
        await stores.users.page("acme", filter={"status": "sleeping"})
    assert "status" in err.value.problems
    with pytest.raises(ValidationFailed):
        await stores.users.page("acme", filter={"colour": "red"})
    for limit in (0, 1001, -1):
        with pytest.raises(ValidationFailed):
            await stores.users.page("acme", limit=limit)
    with pytest.raises(ValidationFailed):
        await stores.apps.list_by_type("acme", "website")
    with pytest.raises(ValidationFailed):
        await stores.users.set_status("acme", "u1", "asleep")


# ----- issue 16 item 5: a name of only spaces is as empty as an empty one -----------------------------

BLANKS = ["   ", "\t \n", "\u3000", "\u200b\u200b", "\u200f "]
"""Spaces, tabs and newlines, an ideographic space, zero-width spaces, an RTL mark and a space."""

NAMED = {  # (store, the factory, a name-like field)
    "tenant name": ("tenants", lambda **kw: f.tenant("t9", **kw), "name"),
    "app name": ("apps", lambda **kw: f.app("acme", "a9", **kw), "name"),
    "branch name": ("branches", lambda **kw: f.branch("acme", "web", "b9", **kw), "name"),
    "branch code": ("branches", lambda **kw: f.branch("acme", "web", "b9", **kw), "code"),
    "username": ("users", lambda **kw: f.user("acme", "u9", **kw), "username"),
    "key name": ("app_keys", lambda **kw: f.key("acme", "web", "k9", **kw), "name"),
}


async def _seeded(stores: Stores) -> None:
    await stores.tenants.create(f.tenant("acme"))
    await stores.apps.create(f.app("acme", "web"))


async def _write(stores: Stores, store: str, row: Any, update: bool) -> Any:
    target = getattr(stores, store)
    if update:
        return await target.update(row)
    return await (target.store(row) if store == "app_keys" else target.create(row))


async def _read(stores: Stores, store: str, row: Any) -> Any:
    return await (stores.app_keys.get_by_id(row.id) if store == "app_keys" else getattr(stores, store).get(*row.key()))


@pytest.mark.parametrize("blank", BLANKS, ids=["spaces", "whitespace", "ideographic", "zero-width", "rtl"])
@pytest.mark.parametrize("what", list(NAMED))
async def test_a_blank_name_is_refused_on_create_and_update(stores: Stores, what: str, blank: str) -> None:
    """Both backends refuse a name-like field that shows as nothing, with the same error at
    that field, and store nothing (a username of spaces made a blank row in the list)."""
    store, make, field = NAMED[what]
    await _seeded(stores)
    valid = make()
    with pytest.raises(ValidationError) as err:
        make(**{field: blank})
    assert err.value.errors()[0]["loc"][0] == field and "blank" in str(err.value)
    sneaky = type(valid).model_construct(**{**valid.model_dump(), field: blank})
    with pytest.raises(ValidationFailed) as refused:
        await _write(stores, store, sneaky, update=False)
    assert field in refused.value.problems and "blank" in refused.value.problems[field]
    stored = await _write(stores, store, valid, update=False)
    with pytest.raises(ValidationFailed) as refused:
        await _write(stores, store, stored.model_copy(update={field: blank}), update=True)
    assert field in refused.value.problems
    assert getattr(await _read(stores, store, valid), field) == getattr(valid, field), "the stored row is unchanged"


def test_a_name_with_spaces_inside_or_around_is_still_a_name() -> None:
    assert f.user(username=" a b ").username == " a b " and f.tenant("t", name="\u200bx").name == "\u200bx"
