"""Create and edit a tenant, app, branch or user: one form driven by the store's models.

Each field gets the widget its type calls for (``console.edit.fields``). The row is
re-validated with pydantic on every change and a changed field's problem is shown under
it; JSON text is checked on save (with the line and column of a syntax error). The
database's own refusals (a taken username, a missing parent) come back as store errors and
are shown at the field they concern. An edit shows a before/after diff and asks first; a
row changed by someone else since the form opened is never overwritten: the form shows the
current values and offers to reload them.
"""
from __future__ import annotations

from typing import Any

from pydantic_core import PydanticUndefined
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from console.text import VISIBLE_CONTROLS, plain
from console.edit.common import EditModal, buttons, dialog, field_problems
from console.edit.fields import (
    MODELS, PARENT_FIELDS, STATUS_FIELD, Change, EntityName, FieldSpec, JsonProblem, build, diff, form_fields,
    parse_json, shown_text, text_value,
)
from console.screens.confirm import ConfirmModal
from stores.errors import Conflict
from stores.models import Record

KEEP_SECRET = "leave empty to keep the current value"


class EntityForm(EditModal[Record | None]):
    """``EntityForm("user", parent={"tenant_id": "acme"})`` creates; ``EntityForm("user",
    row=user)`` edits. Dismissed with the stored row, or None when cancelled."""

    DEFAULT_CSS = """
    EntityForm > #dialog { height: 100%; }
    EntityForm #fields { height: 1fr; }
    EntityForm .field { height: auto; }
    EntityForm .field Input, EntityForm .field Select { width: 1fr; }
    EntityForm #fields TextArea { height: 5; }
    EntityForm .error { color: $error; height: auto; padding-left: 16; }
    EntityForm .error.now { color: $warning; }
    EntityForm .error:disabled { display: none; }
    EntityForm #reload { display: none; }
    EntityForm.conflict #reload { display: block; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="edit.save"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="edit.reload"),
    ]

    def __init__(self, entity: EntityName, *, row: Record | None = None, parent: dict[str, str] | None = None) -> None:
        super().__init__()
        if entity not in MODELS:
            raise ValueError(f"no form for {entity!r}")
        self.entity = entity
        self.model = MODELS[entity]
        self.row = row
        self.parent_keys = dict(parent or {})
        self.fields = form_fields(entity)
        self.attempted = False
        """A save was tried: every field's problem shows, not only the changed ones'."""
        self.conflict: Record | None = None
        self.initial = {spec.name: shown_text(spec, self._start_value(spec)) for spec in self.fields}

    @property
    def creating(self) -> bool:
        return self.row is None

    def _start_value(self, spec: FieldSpec) -> Any:
        if self.row is not None:
            return getattr(self.row, spec.name)
        if spec.name in self.parent_keys:
            return self.parent_keys[spec.name]
        default = self.model.model_fields[spec.name].default
        return None if default is PydanticUndefined else default

    def _read_only(self, spec: FieldSpec) -> bool:
        if spec.name in PARENT_FIELDS[self.entity] and spec.name in self.parent_keys:
            return True
        return not self.creating and (spec.key or spec.name == STATUS_FIELD)

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        title = f"New {self.entity}" if self.creating else f"Edit {self.entity} {self.row.key_text()}"  # type: ignore[union-attr]
        with dialog():
            yield Static(plain(title), id="title")
            with VerticalScroll(id="fields"):
                for spec in self.fields:
                    yield from self._compose_field(spec)
            yield Static("", id="problem", classes="problem", disabled=True)
            yield from buttons(Button("Reload (ctrl+r)", id="reload", compact=True),
                               Button("Save (ctrl+s)", id="save", variant="primary", compact=True),
                               Button("Cancel (esc)", id="cancel", compact=True))

    def _compose_field(self, spec: FieldSpec) -> ComposeResult:
        """One line (label, input) per simple field; a JSON field's text area under its label."""
        widget = self._widget(spec)
        label = Label(spec.name + (" *" if spec.required and not self._read_only(spec) else ""), classes="label")
        label.tooltip = spec.hint() or None
        with Horizontal(classes="field row"):
            yield label
            yield Static(plain(f" ({spec.hint()})"), classes="note") if spec.kind == "json" else widget
        if spec.kind == "json":
            yield widget
        yield Static("", id=f"e-{spec.name}", classes="error", disabled=True)

    def _widget(self, spec: FieldSpec) -> Widget:
        value = self.initial[spec.name]
        disabled = self._read_only(spec)
        wid = f"f-{spec.name}"
        if spec.kind == "choice":
            current = value if value in spec.choices else None
            options: list[tuple[str | Text, str]] = [(choice, choice) for choice in spec.choices]
            if current is None and value:  # a stored value outside today's vocabulary: still shown
                options.append((plain(value), value))
                current = value
            return Select(options, value=current if current is not None else spec.choices[0],
                          allow_blank=False, id=wid, disabled=disabled, compact=True)
        if spec.kind == "json":
            return TextArea(value, id=wid, soft_wrap=True, tab_behavior="focus", disabled=disabled)
        placeholder = KEEP_SECRET if spec.kind == "secret" and not self.creating else spec.hint()
        return Input(value, id=wid, password=spec.kind == "secret", max_length=spec.max_length or 0,
                     placeholder=placeholder, disabled=disabled, compact=True, highlighter=VISIBLE_CONTROLS)

    def on_mount(self) -> None:
        self.pristine = {spec.name: self._text(spec) for spec in self.fields}
        """What each field held when the form opened (Escape asks before dropping changes)."""
        for spec in self.fields:
            widget = self.query_one(f"#f-{spec.name}")
            if not widget.disabled:
                widget.focus()
                break

    def changed_fields(self) -> list[str]:
        return [spec.name for spec in self.fields if self._text(spec) != self.pristine.get(spec.name)]

    def action_cancel(self) -> None:
        """Escape (and Cancel): a form with changes asks before they are dropped; y / Enter on
        "Discard" drops them, n / Escape goes back to the form as it was."""
        changed = self.changed_fields()
        if not changed:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal("Discard your changes?", f"Changed: {', '.join(changed)}. Nothing was saved.",
                                          yes="Discard", no="Keep editing"), answered)

    # -- values ------------------------------------------------------------------------------
    def _text(self, spec: FieldSpec) -> str:
        widget = self.query_one(f"#f-{spec.name}")
        if isinstance(widget, TextArea):
            return widget.text
        if isinstance(widget, Select):
            return str(widget.value)
        return widget.value  # type: ignore[attr-defined]

    def collect(self, *, check_json: bool) -> tuple[dict[str, Any], dict[str, str]]:
        """The model values the form holds, and JSON problems (only with ``check_json``:
        while typing, unparsable JSON keeps the value the field started with)."""
        values: dict[str, Any] = self.row.model_dump() if self.row is not None else {}
        problems: dict[str, str] = {}
        for spec in self.fields:
            text = self._text(spec)
            if spec.kind == "json":
                try:
                    values[spec.name] = parse_json(spec, text, stored=getattr(self.row, spec.name, None))
                except JsonProblem as exc:
                    if check_json:
                        problems[spec.name] = str(exc)
                    values.setdefault(spec.name, None)
            elif spec.kind == "secret" and not self.creating and text == "":
                continue  # keep the stored value (already in ``values``)
            elif spec.kind == "choice":
                values[spec.name] = text
            else:
                values[spec.name] = text_value(spec, text)
        return values, problems

    def show_field_problems(self, problems: dict[str, str], *, every: bool) -> None:
        """Each field's problem under it: all of them (``every``) or the changed fields'."""
        for spec in self.fields:
            text = problems.get(spec.name, "")
            if not every and self._text(spec) == self.initial[spec.name]:
                text = ""
            error = self.query_one(f"#e-{spec.name}", Static)
            error.remove_class("now")
            error.update(plain(text))
            error.disabled = not text

    @on(Input.Changed)
    @on(Select.Changed)
    @on(TextArea.Changed)
    def _changed(self) -> None:
        if not self.is_mounted:
            return
        # JSON is checked from the first save on (while typing it is rarely complete before)
        values, json_problems = self.collect(check_json=self.attempted)
        _, problems = build(self.model, values)
        self.show_field_problems({**problems, **json_problems}, every=self.attempted)

    # -- saving ------------------------------------------------------------------------------
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.busy():
            return
        self.attempted = True
        values, problems = self.collect(check_json=True)
        row, model_problems = build(self.model, values)
        problems = {**model_problems, **problems}
        if problems or row is None:
            self.show_field_problems(problems, every=True)
            self.show_problem("Not saved: fix the marked fields.")
            self._focus_field(next(iter(problems), ""))
            return
        self.show_field_problems({}, every=True)
        if self.creating:
            self.show_problem("")
            self.write(lambda admin: admin.create(row))
            return
        opened = self.row
        assert opened is not None
        changes = diff(opened, row, self.fields)
        if not changes:
            self.show_problem("Nothing changed.")
            return
        self.show_problem("")

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(lambda admin: admin.update(row, expected_updated_at=opened.updated_at))

        self.app.push_screen(ConfirmModal(f"Save {len(changes)} change(s) to {self.entity} {opened.key_text()}?",
                                          diff_text(changes), yes="Save", no="Back", danger=False), answered)

    def _focus_field(self, name: str) -> None:
        for widget in self.query(f"#f-{name}"):
            if not widget.disabled:
                widget.focus()
                widget.scroll_visible()

    @on(EditModal.Done)
    def _saved(self, message: EditModal.Done) -> None:
        self.dismiss(message.value)

    @on(EditModal.Failed)
    def _failed(self, message: EditModal.Failed) -> None:
        error = message.error
        if isinstance(error, Conflict):
            self.show_conflict(error)
            return
        problems = field_problems(error)
        general = problems.pop("", "")
        known = {name: text for name, text in problems.items() if any(s.name == name for s in self.fields)}
        self.show_field_problems(known, every=True)
        unplaced = "; ".join(f"{name}: {text}" for name, text in problems.items() if name not in known)
        self.show_problem(f"Not saved: {general or unplaced or 'see the marked fields'}")
        if known:
            self._focus_field(next(iter(known)))

    # -- conflicts ---------------------------------------------------------------------------
    def show_conflict(self, error: Conflict) -> None:
        """Under each field someone else changed: its current value. Nothing is written."""
        current = error.current if isinstance(error.current, Record) else None
        self.conflict = current
        if current is not None and self.row is not None:
            for change in diff(self.row, current, self.fields):
                note = self.query_one(f"#e-{change.field}", Static)
                note.update(plain(f"now: {change.after}"))
                note.add_class("now")
                note.disabled = False
        self.add_class("conflict")
        self.show_problem(Text.assemble(
            plain(f"{self.entity} {error.key} was changed since you opened it", "bold"),
            "; nothing was saved. Its current values are shown under the fields. "
            "Reload (ctrl+r) to edit those, or Cancel."))

    @on(Button.Pressed, "#reload")
    def action_reload(self) -> None:
        if self.conflict is None:
            return
        self.row, self.conflict = self.conflict, None
        self.attempted = False
        self.initial = {spec.name: shown_text(spec, self._start_value(spec)) for spec in self.fields}
        with self.prevent(Input.Changed, Select.Changed, TextArea.Changed):
            for spec in self.fields:
                widget = self.query_one(f"#f-{spec.name}")
                if isinstance(widget, TextArea):
                    widget.load_text(self.initial[spec.name])
                elif isinstance(widget, Select):
                    widget.value = self.initial[spec.name]
                elif isinstance(widget, Input):
                    widget.value = self.initial[spec.name]
        self.show_field_problems({}, every=True)
        self.remove_class("conflict")
        self.show_problem("Reloaded the current values; nothing was saved.")


def diff_text(changes: list[Change]) -> Text:
    """``field: before → after`` per changed field (secrets already masked in ``changes``)."""
    text = Text()
    for number, change in enumerate(changes):
        if number:
            text.append("\n")
        text.append(plain(f"{change.field}: ", "bold"))
        text.append(plain(change.before, "red"))
        text.append(" → ")
        text.append(plain(change.after, "green"))
    return text
