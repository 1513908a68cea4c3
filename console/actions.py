"""Every key binding of the console in one registry: id, default keys, what it does,
whether it writes. Bindings, the footer, F1 help, the command palette and the keymap
overrides (by id, from the settings file) all come from here; in read-only mode the
actions that write are left out everywhere instead of failing when used."""
from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class ActionSpec:
    id: str
    keys: str
    action: str
    description: str
    writes: bool = False
    show: bool = True
    priority: bool = False


APP_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("app.help", "f1", "help", "Help"),
    ActionSpec("app.quit", "ctrl+q", "quit", "Quit", priority=True),
    ActionSpec("app.screen.connection", "1", "switch_mode('connection')", "Connection", show=False),
    ActionSpec("app.screen.migrations", "2", "switch_mode('migrations')", "Migrations", show=False),
    ActionSpec("app.screen.browse", "3", "switch_mode('browse')", "Browse", show=False),
    ActionSpec("app.screen.monitor", "4", "switch_mode('monitor')", "Monitor", show=False),
    ActionSpec("app.screen.backend", "5", "switch_mode('backend')", "Backend", show=False),
    ActionSpec("app.back", "escape", "back", "Back", show=False),
)


def bindings(specs: tuple[ActionSpec, ...], read_only: bool = False) -> list[Binding]:
    """Textual bindings for ``specs``, each with its id so the keymap can rebind it."""
    return [Binding(s.keys, s.action, s.description, show=s.show, id=s.id, priority=s.priority)
            for s in specs if not (read_only and s.writes)]
