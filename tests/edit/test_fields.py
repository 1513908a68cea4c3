"""The form's plain logic: fields read from the models, JSON and key-dialog parsing, the diff."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from console.edit.delete import radius_text
from console.edit.fields import JsonProblem, diff, form_fields, parse_json, text_value
from console.edit.parse import parse_duration, parse_expiry, parse_scopes
from stores.admin import BlastRadius
from tests.support.factories import tenant

NOW = datetime(2030, 1, 1, 12, 0)


def test_fields_come_from_the_models() -> None:
    fields = {spec.name: spec for spec in form_fields("branch")}
    assert list(fields)[:2] == ["tenant_id", "app_id"], "parents first"
    assert fields["code"].max_length == 100 and fields["code"].required
    assert fields["type"].kind == "choice" and "warehouse" in fields["type"].choices
    assert fields["address"].kind == "json" and fields["address"].optional
    assert "created_at" not in fields and fields["id"].key
    tenant_fields = {spec.name: spec for spec in form_fields("tenant")}
    assert tenant_fields["db_dsn"].kind == "secret"
    # Blank, not NULL: lokstra-auth reads tenants.domain into a Go string (docs/upstream.md, B).
    assert not tenant_fields["domain"].required and not tenant_fields["domain"].optional
    assert text_value(tenant_fields["domain"], "") == ""


def test_json_problems_name_line_and_column() -> None:
    spec = next(s for s in form_fields("user") if s.name == "metadata")
    assert parse_json(spec, "  ") is None and parse_json(spec, '{"a": [1]}') == {"a": [1]}
    with pytest.raises(JsonProblem, match="line 2, column 1"):
        parse_json(spec, '{"a": 1,\n}')
    with pytest.raises(JsonProblem, match="must be a JSON object"):
        parse_json(spec, "[1]")


def test_the_diff_masks_the_dsn() -> None:
    before = tenant(db_dsn="postgres://app:old@db/x")
    after = before.model_copy(update={"db_dsn": "postgres://app:new@db/x", "name": "B"})
    changes = {c.field: c for c in diff(before, after, form_fields("tenant"))}
    assert set(changes) == {"name", "db_dsn"}
    assert changes["db_dsn"].before == "postgres://app:****@db/x"
    assert changes["db_dsn"].after == "postgres://app:****@db/x (changed)"


def test_key_dialog_text() -> None:
    assert parse_scopes(" read, ,write ") == ["read", "write"] and parse_scopes("") is None
    assert parse_duration("90m") == timedelta(minutes=90) and parse_duration("3d") == timedelta(days=3)
    assert parse_duration("12") == timedelta(hours=12)
    with pytest.raises(ValueError):
        parse_duration("soon")
    assert parse_expiry("", NOW) is None
    assert parse_expiry("30", NOW) == NOW + timedelta(days=30)
    assert parse_expiry("2031-02-03", NOW) == datetime(2031, 2, 3)
    with pytest.raises(ValueError, match="future"):
        parse_expiry("2029-12-31", NOW)
    with pytest.raises(ValueError, match="too far in the future"):  # past year 9999: was an OverflowError crash
        parse_expiry("3000000", NOW)


def test_blast_radius_wording() -> None:
    radius = BlastRadius({"app_keys": 12, "tenants": 1, "users": 1200, "user_apps": 3000, "apps": 3, "branches": 7})
    assert radius_text(tenant(), radius) == "acme: 1 tenant, 3 apps, 7 branches, 1,200 users, 3,000 grants, 12 keys"
