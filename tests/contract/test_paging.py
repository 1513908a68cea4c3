"""Keyset pages: the same rows in the same order on both backends (code-point order)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from stores import Stores
from stores.errors import AlreadyExists, ValidationFailed
from stores.query import encode_cursor
from tests.support import factories as f

TRICKY_NAMES = [
    "alice", "Alice", "ALICE", "álice", "a\u0301lice", "bob", "Bob", "zed", "Zed", "_under", "%percent",
    "a b", "a-b", "a.b", "a_b", "émile", "Émile", "日本", "😀smile", "ß", "ss", "Ω", "zz", "a", "aa", "ab",
    "z\u202eevil", "0", "9lives", "~tilde",
]


async def _users(stores: Stores, names: list[str]) -> None:
    await stores.tenants.create(f.tenant("acme"))
    for index, name in enumerate(names):
        await stores.users.create(f.user("acme", f"id{index:03d}", username=name, email=f"m{index:03d}.{name.replace(' ', '')}@x.io",
                                         status="suspended" if index % 4 == 0 else "active"))


async def _walk(page_fn, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = await page_fn(after=cursor, limit=limit)
        pages.append([u.username for u in page.rows])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


async def test_pages_follow_code_point_order_with_unicode_and_mixed_case(stores: Stores) -> None:
    await _users(stores, TRICKY_NAMES)
    pages = await _walk(lambda **kw: stores.users.page("acme", **kw), limit=7)
    assert [len(p) for p in pages] == [7, 7, 7, 7, 2]
    assert [name for page in pages for name in page] == sorted(TRICKY_NAMES)


async def test_exact_multiple_of_page_size_has_no_empty_last_page(stores: Stores) -> None:
    await _users(stores, TRICKY_NAMES[:10])
    pages = await _walk(lambda **kw: stores.users.page("acme", **kw), limit=5)
    assert [len(p) for p in pages] == [5, 5]


async def test_prefix_filter_with_like_metacharacters_is_literal(stores: Stores) -> None:
    await _users(stores, TRICKY_NAMES)
    page = await stores.users.page("acme", filter={"username_prefix": "a"}, limit=100)
    assert [u.username for u in page.rows] == sorted(n for n in TRICKY_NAMES if n[:1] in ("a", "A"))
    underscore = await stores.users.page("acme", filter={"username_prefix": "a_"})
    assert [u.username for u in underscore.rows] == ["a_b"]
    percent = await stores.users.page("acme", filter={"username_prefix": "%"})
    assert [u.username for u in percent.rows] == ["%percent"]
    emoji = await stores.users.page("acme", filter={"username_prefix": "😀"})
    assert [u.username for u in emoji.rows] == ["😀smile"]


async def test_prefix_pages_walk_across_the_prefix_range(stores: Stores) -> None:
    await _users(stores, TRICKY_NAMES)
    pages = await _walk(lambda **kw: stores.users.page("acme", filter={"username_prefix": "a"}, **kw), limit=2)
    assert [n for p in pages for n in p] == sorted(n for n in TRICKY_NAMES if n[:1] in ("a", "A"))


CASE_NAMES = [
    "alice", "Alice", "ALICE-2", "aLiCe.b", "álice", "Álvaro", "ÁLVARO2", "émile", "Émile", "ÉMILIE", "emma", "EMMA",
    "straße", "STRASSE", "ǅemal", "ǆemal", "ǄEMAL", "ΩMEGA", "ωmega", "İstanbul", "istanbul", "ıvan", "Ivan",
    "a[b]", "A[B]x", "a\\b", "a.b", "axb", "a^b", "A^Bc", "a$b", "日本", "zed",
]


@pytest.mark.parametrize(("prefix", "expected"), [
    ("alice", ["ALICE-2", "Alice", "aLiCe.b", "alice"]),      # letter case ignored, order by code point kept
    ("ALI", ["ALICE-2", "Alice", "aLiCe.b", "alice"]),
    ("á", ["ÁLVARO2", "Álvaro", "álice"]),                   # non-ASCII letters fold too, accents stay
    ("Émil", ["ÉMILIE", "Émile", "émile"]),
    ("e", ["EMMA", "emma"]),                                  # é is not e
    ("STRASSE", ["STRASSE"]), ("straß", ["straße"]),          # ß has no one-letter upper case
    ("ǅ", ["ǄEMAL", "ǅemal", "ǆemal"]),                       # the title case letter and both others
    ("ωm", ["ΩMEGA", "ωmega"]),
    ("a[b", ["A[B]x", "a[b]"]), ("a.", ["a.b"]), ("a^b", ["A^Bc", "a^b"]), ("a$", ["a$b"]),
    ("a\\", ["a\\b"]), ("日", ["日本"]), ("nobody", []),
])
async def test_prefix_filters_ignore_letter_case_the_same_on_both_backends(stores: Stores, prefix: str,
                                                                          expected: list[str]) -> None:
    """Issue 16 item 11: ``Alice`` finds alice. The case rule is the console's (``Prefix``),
    not the database locale's, so memory and PostgreSQL agree letter for letter, also where
    Unicode has no one-to-one case pair; regular-expression characters stay literal; pages
    across the range, counts and both directions agree."""
    await _users(stores, CASE_NAMES)
    pages = await _walk(lambda **kw: stores.users.page("acme", filter={"username_prefix": prefix}, **kw), limit=2)
    assert [name for page in pages for name in page] == expected
    assert await stores.users.count("acme", filter={"username_prefix": prefix}) == len(expected)
    last = await stores.users.page("acme", filter={"username_prefix": prefix}, last=True, limit=2)
    assert [u.username for u in last.rows] == expected[-2:]  # walked backwards from the end of the range


async def test_name_prefixes_of_tenants_and_apps_ignore_case(stores: Stores) -> None:
    await stores.tenants.create(f.tenant("acme", name="Acme Corporation"))
    await stores.tenants.create(f.tenant("ecole", name="École Ünïon"))
    assert [t.id for t in (await stores.tenants.page(filter={"name_prefix": "acme"})).rows] == ["acme"]
    assert [t.id for t in (await stores.tenants.page(filter={"name_prefix": "éCOLE ü"})).rows] == ["ecole"]
    assert await stores.tenants.count(filter={"name_prefix": "ÉCOLE"}) == 1
    await stores.apps.create(f.app("acme", "web-app", name="Web Portal"))
    assert [a.id for a in (await stores.apps.page("acme", filter={"name_prefix": "web"})).rows] == ["web-app"]


async def test_email_prefix_orders_by_email(stores: Stores) -> None:
    await _users(stores, TRICKY_NAMES)
    page = await stores.users.page("acme", filter={"email_prefix": "m01"}, limit=3)
    emails = [u.email for u in page.rows]
    assert emails == sorted(emails) and all(e.startswith("m01") for e in emails)
    rest = await stores.users.page("acme", filter={"email_prefix": "m01"}, limit=100, after=page.next_cursor)
    assert len(page.rows) + len(rest.rows) == 10
    with pytest.raises(ValidationFailed):  # a username cursor is not an email cursor
        await stores.users.page("acme", filter={"email_prefix": "m01"}, after=encode_cursor("username", "a"))


async def test_status_filter_and_counts(stores: Stores) -> None:
    await _users(stores, TRICKY_NAMES)
    suspended = await stores.users.page("acme", filter={"status": "suspended"}, limit=100)
    expected = sorted(n for i, n in enumerate(TRICKY_NAMES) if i % 4 == 0)
    assert [u.username for u in suspended.rows] == expected
    assert await stores.users.count("acme") == len(TRICKY_NAMES)
    assert await stores.users.count("acme", filter={"status": "suspended"}) == len(expected)
    estimate = await stores.users.estimate_count("acme")
    assert estimate.value == len(TRICKY_NAMES) and estimate.exact, "small scopes are counted exactly"
    assert await stores.users.count("other-tenant") == 0


async def test_garbage_cursor_is_a_validation_error(stores: Stores) -> None:
    for cursor in ("not-base64!!", "e30", encode_cursor("name", "x")):
        with pytest.raises(ValidationFailed):
            await stores.users.page("acme", after=cursor)


async def test_other_stores_page_and_filter(stores: Stores) -> None:
    await stores.tenants.create(f.tenant("acme", name="Acme"))
    await stores.tenants.create(f.tenant("beta", name="beta", status="suspended"))
    await stores.tenants.create(f.tenant("gamma", name="Gamma"))
    assert [t.name for t in (await stores.tenants.page()).rows] == ["Acme", "Gamma", "beta"]
    assert [t.id for t in (await stores.tenants.page(filter={"status": "suspended"})).rows] == ["beta"]
    assert [t.id for t in (await stores.tenants.page(filter={"name_prefix": "G"})).rows] == ["gamma"]
    assert (await stores.tenants.estimate_count()).value == 3

    for app_id, app_type in [("w", "web"), ("m", "mobile"), ("s", "service")]:
        await stores.apps.create(f.app("acme", app_id, type=app_type, name=f"{app_type} app"))
    assert [a.id for a in (await stores.apps.page("acme", filter={"type": "mobile"})).rows] == ["m"]
    assert await stores.apps.count("acme") == 3

    for code in ("B-2", "B-1", "A-9"):
        await stores.branches.create(f.branch("acme", "w", code.lower(), code=code, type="store" if code != "A-9" else "warehouse"))
    assert [b.code for b in (await stores.branches.page("acme", "w")).rows] == ["A-9", "B-1", "B-2"]
    assert [b.code for b in (await stores.branches.page("acme", "w", filter={"type": "store"})).rows] == ["B-1", "B-2"]
    assert (await stores.branches.estimate_count("acme", "w")).value == 3


async def test_key_filters(stores: Stores) -> None:
    await f.seed_basic(stores)
    await stores.apps.create(f.app("acme", "api", type="api"))
    soon = datetime(2030, 1, 1)
    await stores.app_keys.store(f.key("acme", "web", "k2", environment="test", expires_at=soon))
    await stores.app_keys.store(f.key("acme", "api", "k3", expires_at=soon + timedelta(days=60)))
    await stores.app_keys.revoke("k3")
    assert [k.id for k in (await stores.app_keys.page("acme")).rows] == ["acme-k1", "k2", "k3"]
    assert [k.id for k in (await stores.app_keys.page("acme", "web")).rows] == ["acme-k1", "k2"]
    assert [k.id for k in (await stores.app_keys.page("acme", filter={"environment": "test"})).rows] == ["k2"]
    assert [k.id for k in (await stores.app_keys.page("acme", filter={"revoked": True})).rows] == ["k3"]
    before = soon + timedelta(days=1)
    assert [k.id for k in (await stores.app_keys.page("acme", filter={"expires_before": before})).rows] == ["k2"]
    assert await stores.app_keys.count("acme", "api") == 1


async def test_two_tasks_creating_the_same_username_one_wins(stores: Stores) -> None:
    await stores.tenants.create(f.tenant("acme"))
    results = await asyncio.gather(
        stores.users.create(f.user("acme", "a1", username="same", email="a1@example.com")),
        stores.users.create(f.user("acme", "a2", username="same", email="a2@example.com")),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], AlreadyExists) and errors[0].rule == "username per tenant"
    assert [u.username for u in await stores.users.list("acme")] == ["same"]


async def test_many_concurrent_grants_and_revokes_end_consistent(stores: Stores) -> None:
    await f.seed_basic(stores)
    ops = [stores.user_apps.grant_access("acme", "web", "u2") if i % 2 else stores.user_apps.revoke_access("acme", "web", "u1")
           for i in range(20)]
    await asyncio.gather(*ops)
    grants = {g.user_id: g.status for g in await stores.user_apps.list_app_users("acme", "web")}
    assert grants == {"u1": "revoked", "u2": "active"}


async def test_aware_timestamps_are_stored_and_filtered_as_utc(stores: Stores) -> None:
    from datetime import timezone

    await f.seed_basic(stores)
    jakarta = timezone(timedelta(hours=7))
    await stores.app_keys.store(f.key("acme", "web", "k2", expires_at=datetime(2030, 1, 1, 7, 0, tzinfo=jakarta)))
    stored = await stores.app_keys.get_by_id("k2")
    assert stored.expires_at == datetime(2030, 1, 1, 0, 0)
    hit = await stores.app_keys.page("acme", filter={"expires_before": datetime(2030, 1, 1, 7, 1, tzinfo=jakarta)})
    miss = await stores.app_keys.page("acme", filter={"expires_before": datetime(2030, 1, 1, 7, 0, tzinfo=jakarta)})
    assert [k.id for k in hit.rows] == ["k2"] and miss.rows == []


async def test_prefix_counts_agree_with_pages(stores: Stores) -> None:
    await _users(stores, TRICKY_NAMES)
    for filter_ in ({"email_prefix": "m01"}, {"username_prefix": "a"}, {"username_prefix": "a", "status": "active"},
                    {"email_prefix": "m0", "username_prefix": "z"}, {"username_prefix": "\U0010ffff"}):
        page = await stores.users.page("acme", filter=filter_, limit=1000)
        assert await stores.users.count("acme", filter=filter_) == len(page.rows), filter_
        assert (await stores.users.estimate_count("acme", filter=filter_)).value == len(page.rows), filter_


async def _walk_back(page_fn, limit: int) -> list[list[str]]:
    """From the last page to the first with ``before`` cursors, pages in walk order."""
    pages: list[list[str]] = []
    page = await page_fn(last=True, limit=limit)
    while True:
        pages.append([u.username for u in page.rows])
        if page.prev_cursor is None:
            return pages
        page = await page_fn(before=page.prev_cursor, limit=limit)


async def test_last_page_and_walking_back_mirror_the_forward_walk(stores: Stores) -> None:
    await _users(stores, TRICKY_NAMES)
    backward = await _walk_back(lambda **kw: stores.users.page("acme", **kw), limit=7)
    assert [len(p) for p in backward] == [7, 7, 7, 7, 2]
    assert [name for page in reversed(backward) for name in page] == sorted(TRICKY_NAMES)
    last = await stores.users.page("acme", last=True, limit=7)
    assert last.next_cursor is None and last.prev_cursor is not None


async def test_before_a_cursor_then_after_it_comes_back_to_the_same_page(stores: Stores) -> None:
    await _users(stores, TRICKY_NAMES)
    first = await stores.users.page("acme", limit=5)
    assert first.prev_cursor is None
    second = await stores.users.page("acme", after=first.next_cursor, limit=5)
    assert second.prev_cursor is not None
    back = await stores.users.page("acme", before=second.prev_cursor, limit=5)
    assert [u.username for u in back.rows] == [u.username for u in first.rows]
    assert back.prev_cursor is None  # nothing before the first page
    again = await stores.users.page("acme", after=back.next_cursor, limit=5)
    assert [u.username for u in again.rows] == [u.username for u in second.rows]


async def test_backward_pages_keep_prefix_and_status_filters(stores: Stores) -> None:
    await _users(stores, TRICKY_NAMES)
    wanted = sorted(n for i, n in enumerate(TRICKY_NAMES) if n[:1] in ("a", "A") and i % 4 != 0)
    backward = await _walk_back(lambda **kw: stores.users.page("acme", filter={"username_prefix": "a", "status": "active"}, **kw),
                                limit=2)
    assert [name for page in reversed(backward) for name in page] == wanted
    by_email = await stores.users.page("acme", filter={"email_prefix": "m00"}, last=True, limit=3)
    assert [u.email for u in by_email.rows] == sorted(u.email for u in (await stores.users.list("acme"))
                                                        if u.email.startswith("m00"))[-3:]


async def test_last_page_of_an_empty_scope_and_conflicting_cursors(stores: Stores) -> None:
    await stores.tenants.create(f.tenant("acme"))
    empty = await stores.users.page("acme", last=True)
    assert empty.rows == [] and empty.next_cursor is None and empty.prev_cursor is None
    cursor = encode_cursor("username", "m")
    with pytest.raises(ValidationFailed):
        await stores.users.page("acme", after=cursor, before=cursor)
    with pytest.raises(ValidationFailed):
        await stores.users.page("acme", after=cursor, last=True)


async def test_other_stores_page_backwards(stores: Stores) -> None:
    await stores.tenants.create(f.tenant("acme"))
    for index in range(5):
        await stores.apps.create(f.app("acme", f"app{index}", name=f"App {index}"))
    apps = await stores.apps.page("acme", last=True, limit=2)
    assert [a.name for a in apps.rows] == ["App 3", "App 4"]
    tenants = await stores.tenants.page(last=True, limit=1)
    assert [t.id for t in tenants.rows] == ["acme"] and tenants.prev_cursor is None


async def test_apps_filter_by_name_prefix(stores: Stores) -> None:
    await stores.tenants.create(f.tenant("acme"))
    for app_id, name in (("w1", "Web"), ("w2", "Webhooks"), ("m1", "Mobile"), ("w3", "web lower")):
        await stores.apps.create(f.app("acme", app_id, name=name))
    page = await stores.apps.page("acme", filter={"name_prefix": "Web"})
    assert [a.name for a in page.rows] == ["Web", "Webhooks", "web lower"]  # letter case ignored
    assert await stores.apps.count("acme", filter={"name_prefix": "Web"}) == 3
