"""The same error, naming the same rule, on both backends."""
from __future__ import annotations

import pytest

from stores import Stores
from stores.errors import AlreadyExists, ReferenceMissing
from tests.support import factories as f


@pytest.mark.parametrize(
    ("make_duplicate", "rule", "field"),
    [
        (lambda: f.tenant("acme", name="Other name"), "tenant id", "id"),
        (lambda: f.tenant("acme2", name="acme Inc"), "tenant name", "name"),
        (lambda: f.app("acme", "web", name="Another"), "app id per tenant", "id"),
        (lambda: f.app("acme", "web2", name="web app"), "app name per tenant", "name"),
        (lambda: f.branch("acme", "web", "hq2", code="HQ"), "branch code per app", "code"),
        (lambda: f.branch("acme", "web", "hq", code="HQ-NEW"), "branch id per app", "id"),
        (lambda: f.user("acme", "u9", username="user-u1"), "username per tenant", "username"),
        (lambda: f.user("acme", "u9", email="u1@example.com"), "email per tenant", "email"),
        (lambda: f.user("acme", "u1", username="x", email="x@example.com"), "user id per tenant", "id"),
        (lambda: f.key("acme", "web", "k9", key_id="kid-acme-k1"), "key_id", "key_id"),
        (lambda: f.key("acme", "web", "acme-k1", key_id="fresh"), "key id (primary key)", "id"),
    ],
    ids=["tenant-id", "tenant-name", "app-id", "app-name", "branch-code", "branch-id", "username", "email",
         "user-id", "key_id", "key-pk"],
)
async def test_duplicates_name_the_rule(stores: Stores, make_duplicate, rule: str, field: str) -> None:
    await f.seed_basic(stores)
    row = make_duplicate()
    create = {
        "Tenant": stores.tenants.create, "App": stores.apps.create, "Branch": stores.branches.create,
        "User": stores.users.create, "AppKey": stores.app_keys.store,
    }[type(row).__name__]
    with pytest.raises(AlreadyExists) as err:
        await create(row)
    assert (err.value.rule, err.value.field) == (rule, field)
    assert rule in str(err.value)


async def test_same_username_in_another_tenant_is_fine(stores: Stores) -> None:
    await f.seed_basic(stores, "acme")
    await f.seed_basic(stores, "other")
    assert (await stores.users.get_by_username("other", "user-u1")).tenant_id == "other"


async def test_update_into_a_taken_email_is_refused(stores: Stores) -> None:
    await f.seed_basic(stores)
    u2 = await stores.users.get("acme", "u2")
    with pytest.raises(AlreadyExists) as err:
        await stores.users.update(u2.model_copy(update={"email": "u1@example.com"}))
    assert err.value.rule == "email per tenant"
    assert (await stores.users.get("acme", "u2")).email == "u2@example.com"


@pytest.mark.parametrize(
    ("make_orphan", "parent", "field"),
    [
        (lambda: f.app("ghost", "web"), "tenant", "tenant_id"),
        (lambda: f.user("ghost", "u1"), "tenant", "tenant_id"),
        (lambda: f.branch("acme", "ghost-app", "b1"), "app", "app_id"),
        (lambda: f.branch("ghost", "web", "b1"), "app", "app_id"),
        (lambda: f.key("acme", "ghost-app", "k2"), "app", "app_id"),
        (lambda: f.key("acme", "web", "k2", user_id="ghost-user"), "user", "user_id"),
    ],
    ids=["app-no-tenant", "user-no-tenant", "branch-no-app", "branch-no-tenant", "key-no-app", "key-no-owner"],
)
async def test_missing_parents_are_named(stores: Stores, make_orphan, parent: str, field: str) -> None:
    await f.seed_basic(stores)
    row = make_orphan()
    create = {"App": stores.apps.create, "User": stores.users.create, "Branch": stores.branches.create,
              "AppKey": stores.app_keys.store}[type(row).__name__]
    with pytest.raises(ReferenceMissing) as err:
        await create(row)
    assert (err.value.parent, err.value.field) == (parent, field)


@pytest.mark.parametrize(("app_id", "user_id", "parent"),
                         [("web", "ghost", "user"), ("ghost", "u1", "app"), ("ghost", "ghost", "user")])
async def test_grant_to_missing_user_or_app(stores: Stores, app_id: str, user_id: str, parent: str) -> None:
    await f.seed_basic(stores)
    with pytest.raises(ReferenceMissing) as err:
        await stores.user_apps.grant_access("acme", app_id, user_id)
    assert err.value.parent == parent
    assert not await stores.user_apps.has_access("acme", app_id, user_id)


async def test_duplicate_wins_over_missing_parent_as_in_postgresql(stores: Stores) -> None:
    """PostgreSQL checks unique indexes while inserting and foreign keys after: same order here."""
    await f.seed_basic(stores)
    with pytest.raises(AlreadyExists):
        await stores.users.create(f.user("acme", "u1", username="user-u1"))
