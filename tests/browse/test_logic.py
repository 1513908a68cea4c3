"""The browser's logic without a UI: filter tokens, jump commands, page positions, titles."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from console.browse.filters import FilterError, parse_filter
from console.browse.format import human_count
from console.browse.jump import Jump, JumpError, parse_jump
from console.browse.kinds import KINDS, ROOT, app_level, crumbs, tenant_level
from console.browse.paging import Position, range_text
from stores.contract import KeyFilter, TenantFilter, UserFilter
from stores.query import Page, RowCount

NOW = datetime(2026, 1, 10, 12, 0, 0)


def users(text: str) -> dict:
    return parse_filter(text, KINDS["users"].filters, list_name="users", now=NOW)


def keys(text: str) -> dict:
    return parse_filter(text, KINDS["tenant_keys"].filters, list_name="keys", now=NOW)


def test_a_bare_word_is_the_lists_default_prefix_and_an_at_sign_makes_it_an_email_prefix() -> None:
    assert users("alice") == {"username_prefix": "alice"}
    assert users("alice@acme") == {"email_prefix": "alice@acme"}
    assert users("bob. status:suspended") == {"username_prefix": "bob.", "status": "suspended"}
    assert parse_filter("Acme", KINDS["tenants"].filters) == {"name_prefix": "Acme"}
    assert parse_filter('"Acme Corp" status:active', KINDS["tenants"].filters) == {"name_prefix": "Acme Corp", "status": "active"}
    assert users("") == {}
    UserFilter.parse(users("al status:deleted"))  # what the parser gives, the store accepts
    TenantFilter.parse(parse_filter("Ac", KINDS["tenants"].filters))


def test_key_tokens_become_the_key_filter() -> None:
    parsed = keys("env:test type:public revoked:yes expires<30d")
    assert parsed == {"environment": "test", "key_type": "public", "revoked": True,
                      "expires_before": NOW + timedelta(days=30)}
    assert keys("revoked:no expires<12h") == {"revoked": False, "expires_before": NOW + timedelta(hours=12)}
    assert keys("expires<2w")["expires_before"] == NOW + timedelta(weeks=2)
    assert keys("expires<2026-12-31")["expires_before"] == datetime(2026, 12, 31)
    KeyFilter.parse(parsed)
    assert parse_filter("type:service status:disabled", KINDS["apps"].filters) == {"type": "service", "status": "disabled"}


@pytest.mark.parametrize(("kind", "text", "says"), [
    ("users", "status:frozen", "status:frozen is not one of active, suspended, deleted"),
    ("users", "colour:red", "colour: is not understood here; users understand: a word (username prefix)"),
    ("users", "env:test", "env: is not understood here"),
    ("users", "expires<30d", "is not understood here"),
    ("tenant_keys", "expires<soon", "give a span like 30d"),
    ("tenant_keys", "expires<3000000d", "too far in the future"),  # was an OverflowError that ended the console
    ("tenant_keys", "revoked:maybe", "revoked:maybe must be yes or no"),
    ("tenant_keys", "alice", "'alice' is not understood here; keys understand: env:live|test, type:secret|public"),
    ("apps", "type:fridge", "type:fridge is not one of web, mobile, api, desktop, service"),
    ("branches", "hq", "branches understand: type:headquarters|"),
    ("users", 'status:"active', "a quote is not closed"),
    ("users", "status:active status:deleted", "status: is given twice"),
])
def test_bad_filters_say_what_the_list_understands(kind: str, text: str, says: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(text, KINDS[kind].filters, list_name=KINDS[kind].tab, now=NOW)
    assert says in str(caught.value)


@pytest.mark.parametrize(("text", "jump"), [
    (":tenants", Jump("tenants")),
    (":tenant acme", Jump("tenant", "acme")),
    (":users acme", Jump("users", "acme")),
    (":apps acme", Jump("apps", "acme")),
    (":keys acme", Jump("keys", "acme")),
    (":keys acme/web", Jump("keys", "acme", app="web")),
    (":app acme/web", Jump("app", "acme", app="web")),
    (":user acme/alice", Jump("user", "acme", user="alice")),
    (":audit", Jump("audit")),
    (":audit acme", Jump("audit", "acme")),
    ("  :USERS   acme ", Jump("users", "acme")),
])
def test_jump_commands_parse(text: str, jump: Jump) -> None:
    assert parse_jump(text) == jump


@pytest.mark.parametrize(("text", "says"), [
    (":", "type a command"),
    (":frobnicate acme", "unknown command :frobnicate; try :tenants"),
    (":users", ":users needs TENANT, e.g. :users acme"),
    (":app acme", ":app needs TENANT/APP, e.g. :app acme/web"),
    (":user acme", ":user needs TENANT/USERNAME"),
    (":users acme/web", ":users takes TENANT, not 'acme/web'"),
    (":tenants acme", ":tenants takes nothing"),
    (":keys acme/", ":keys needs TENANT[/APP]"),
    (":users acme globex", ":users takes TENANT, not 'acme globex'"),
])
def test_bad_jumps_say_what_works(text: str, says: str) -> None:
    with pytest.raises(JumpError) as caught:
        parse_jump(text)
    assert says in str(caught.value)


def page(rows: int, *, next_: bool, prev: bool) -> Page[int]:
    return Page(list(range(rows)), "n" if next_ else None, "p" if prev else None)


def test_positions_count_from_either_end_and_titles_say_where() -> None:
    first = Position.first().landed(page(20, next_=True, prev=False))
    assert range_text(first, 20, RowCount(1_234_567, False)) == "1–20 of ~1.2M"
    second_at = first.next(page(20, next_=True, prev=False))
    second = second_at.settle(page(20, next_=True, prev=True), came_from=first)
    assert range_text(second, 20, RowCount(1_234_567, False)) == "21–40 of ~1.2M"
    last = Position.last().landed(page(20, next_=False, prev=True))
    assert range_text(last, 20, RowCount(1_234_567, False)) == "last 20 of ~1.2M"
    assert range_text(last, 20, RowCount(100_000, True)) == "99,981–100,000 of 100,000"
    before_last = last.previous(page(20, next_=False, prev=True)).settle(page(20, next_=True, prev=True), came_from=last)
    assert before_last.after_end == 20
    assert range_text(before_last, 20, RowCount(100_000, True)) == "99,961–99,980 of 100,000"
    # a single page pins both ends: the exact total is known without counting
    only = Position.first().landed(page(7, next_=False, prev=False))
    assert range_text(only, 7, RowCount(12, False)) == "1–7 of 7"
    # reloading the first page with a smaller page size forgets that it was the last one
    smaller = only.landed(page(5, next_=True, prev=False))
    assert smaller.after_end is None and range_text(smaller, 5, RowCount(7, True)) == "1–5 of 7"
    assert range_text(Position.first(), 0, None) == "no rows"


def test_human_counts() -> None:
    assert [human_count(n) for n in (7, 999, 1200, 12_345, 999_999, 1_234_567, 30_000_000)] == \
        ["7", "999", "1.2k", "12k", "999k", "1.2M", "30M"]


def test_crumbs_name_each_level_and_its_tab() -> None:
    stack = [(ROOT, "tenants"), (tenant_level("acme"), "apps"), (app_level("acme", "web"), "app_keys")]
    assert crumbs(stack) == ["tenants", "acme", "apps", "web", "keys"]
    assert crumbs([(ROOT, "all_audit")]) == ["audit"]
