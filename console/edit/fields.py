"""What a form needs to know about an entity's fields, read from the store's models.

The form is generic: which widget a field gets (a text input, a select of the vocabulary,
a JSON text area, a masked secret input), its length limit, whether it is required and
whether it may change on edit all come from ``stores.models`` and nothing is repeated here
but the few rules the models cannot say (which fields are keys, which are secrets).
No textual import: this module is plain logic, tested without a terminal.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args, get_origin

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from stores.columns import max_length, unwrap
from stores.controls import escape_json_controls
from stores.models import App, Branch, Record, Tenant, User, json_text
from stores.secrets import MASKED_FIELDS, mask_json, safe_value, unmask_json

EntityName = Literal["tenant", "app", "branch", "user"]

MODELS: dict[str, type[Record]] = {"tenant": Tenant, "app": App, "branch": Branch, "user": User}

PARENT_FIELDS: dict[str, tuple[str, ...]] = {
    "tenant": (), "app": ("tenant_id",), "branch": ("tenant_id", "app_id"), "user": ("tenant_id",),
}
"""Key columns that name the parent: given by the caller, never typed twice."""

MANAGED_FIELDS = frozenset({"created_at", "updated_at", "deleted_at"})
"""Kept by the stores (timestamps, soft delete), never typed."""

STATUS_FIELD = "status"
"""Chosen on create; on edit it changes only through a status action (which keeps
``deleted_at`` right), so the form shows it read-only."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Literal["text", "choice", "json", "secret"]
    required: bool
    optional: bool
    """None is a valid value (an empty input stores NULL)."""
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    json_list: bool = False
    key: bool = False
    """Part of the primary key: required on create, read-only on edit."""

    def hint(self) -> str:
        parts = ["required"] if self.required else []
        if self.max_length:
            parts.append(f"≤{self.max_length}")
        if self.kind == "json":
            parts.append("JSON list" if self.json_list else "JSON object")
        return ", ".join(parts)


def field_spec(model: type[Record], name: str, info: FieldInfo, keys: tuple[str, ...]) -> FieldSpec | None:
    inner, optional, metadata = unwrap(info.annotation)
    metadata = [*info.metadata, *metadata]
    required = info.is_required()
    if inner is datetime or inner is bool:
        return None
    if get_origin(inner) is Literal:
        return FieldSpec(name, "choice", required, optional, choices=tuple(get_args(inner)), key=name in keys)
    if inner is dict or get_origin(inner) in (dict, list) or inner is list:
        return FieldSpec(name, "json", required, optional, json_list=get_origin(inner) is list or inner is list)
    kind: Literal["text", "secret"] = "secret" if name in MASKED_FIELDS else "text"
    return FieldSpec(name, kind, required, optional, max_length=max_length(metadata), key=name in keys)


def form_fields(entity: str) -> list[FieldSpec]:
    """The fields a form shows for ``entity``, in column order."""
    model = MODELS[entity]
    keys = tuple(PARENT_FIELDS[entity]) + ("id",)
    specs = [field_spec(model, name, info, keys) for name, info in model.model_fields.items()
             if name not in MANAGED_FIELDS]
    present = [spec for spec in specs if spec is not None]
    return sorted(present, key=lambda spec: spec.name not in PARENT_FIELDS[entity])  # parents first, stable


# -- values: form text <-> model values ------------------------------------------------------
class JsonProblem(ValueError):
    """A JSON text area's text is not the JSON its field needs; says where."""


def parse_json(spec: FieldSpec, text: str, stored: Any = None) -> Any:
    """The value of a JSON field's text: None when blank, else an object (or a list for
    ``scopes``); errors name the line and column. Values left as ``shown_text`` masked them
    are ``stored``'s (``stores.secrets.unmask_json``)."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    wanted = list if spec.json_list else dict
    if not isinstance(value, wanted):
        raise JsonProblem(f"must be a JSON {'list' if spec.json_list else 'object'}"
                          f" ({'[...]' if spec.json_list else '{...}'}), not {type(value).__name__}")
    return unmask_json(value, stored)


def text_value(spec: FieldSpec, text: str) -> Any:
    """A text input's value for the model: blank means None where the column allows NULL."""
    if spec.optional and text == "":
        return None
    return text


def shown_text(spec: FieldSpec, value: Any) -> str:
    """What a field's widget starts with. Secrets are never put back in clear: a DSN field
    starts empty, JSON with the secrets in it masked (``parse_json`` takes them back)."""
    if spec.kind == "secret" or value is None:
        return ""
    if spec.kind == "json":  # DEL and C1 as \u escapes too: the same JSON, nothing a terminal obeys
        return escape_json_controls(json.dumps(mask_json(value), ensure_ascii=False, indent=2, sort_keys=True))
    return str(value)


def problems_of(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors per top-level field (first message of each)."""
    problems: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        problems.setdefault(field, error["msg"].removeprefix("Value error, "))
    return problems


def build(model: type[Record], values: dict[str, Any]) -> tuple[Record | None, dict[str, str]]:
    """The validated row, or None and the problems per field."""
    try:
        return model.model_validate(values), {}
    except ValidationError as exc:
        return None, problems_of(exc)


# -- diff --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def _diff_text(field: str, value: Any) -> str:
    """One side of a change as it may be shown: secrets masked (``stores.secrets.safe_value``)."""
    if value is None:
        return "∅"
    shown = safe_value(field, value)
    if isinstance(shown, (dict, list)):
        return json_text(shown)
    return str(shown) if shown != "" else '""'


def diff(before: Record, after: Record, fields: list[FieldSpec]) -> list[Change]:
    """The changed fields, each side as it may be shown (secrets masked; a change whose
    masked forms are equal, a new DSN password or JSON secret, is shown as "(changed)")."""
    changes: list[Change] = []
    for spec in fields:
        old, new = getattr(before, spec.name), getattr(after, spec.name)
        same = json_text(old) == json_text(new) if spec.kind == "json" else old == new
        if same:
            continue
        old_text, new_text = _diff_text(spec.name, old), _diff_text(spec.name, new)
        if old_text == new_text:
            new_text += " (changed)"
        changes.append(Change(spec.name, old_text, new_text))
    return changes
