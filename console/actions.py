"""Every key binding of the console in one registry: id, default keys, what it does,
whether it writes. Bindings, the footer, F1 help, the command palette and the keymap
overrides (by id, from the settings file) all come from here; in read-only mode the
actions that write are left out everywhere instead of failing when used."""
from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class ActionSpec:
    id: str
    keys: str
    action: str
    description: str
    writes: bool = False
    show: bool = True
    priority: bool = False
    short: str = ""
    """The footer's label when ``description`` (F1's) is too long for it."""
    group: str = ""
    """Keys of one footer group: shown together under this one label (``s a status``)."""


SCREEN_KEYS: tuple[tuple[str, str], ...] = (
    ("1", "connection"), ("2", "migrations"), ("3", "browse"), ("4", "monitor"), ("5", "backend"))
"""The screens by number: the header's strip shows them, the bindings below switch to them."""

APP_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("app.help", "f1", "help", "Help"),
    ActionSpec("app.quit", "ctrl+q", "quit", "Quit", priority=True),
    # One rule on every screen: the digit switches screens where it is not text (a list, a
    # button); alt+digit switches from anywhere, a text field too (priority: before the field).
    *(ActionSpec(f"app.screen.{name}", digit, f"goto_screen('{name}')", f"{name.title()} screen",
                 show=False) for digit, name in SCREEN_KEYS),
    *(ActionSpec(f"app.screen.{name}.anywhere", f"alt+{digit}", f"goto_screen('{name}')",
                 f"{name.title()} screen", show=False, priority=True)
      for digit, name in SCREEN_KEYS),
    ActionSpec("app.back", "escape", "back", "Back", show=False),
)


def bindings(specs: tuple[ActionSpec, ...], read_only: bool = False) -> list[BindingType]:
    """Textual bindings for ``specs``, each with its id so the keymap can rebind it."""
    return [Binding(s.keys, s.action, s.short or s.description, show=s.show, id=s.id, priority=s.priority,
                    tooltip=s.description, group=Binding.Group(s.group, compact=True) if s.group else None)
            for s in specs if not (read_only and s.writes)]
