"""The browser's key bindings (ids for the keymap; ``writes`` ones vanish in read-only mode)."""
from __future__ import annotations

from console.actions import ActionSpec

BROWSE_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("browse.back", "escape", "back_level", "Back"),
    ActionSpec("browse.filter", "slash", "filter", "Filter"),
    ActionSpec("browse.jump", "colon", "jump", "Jump"),
    ActionSpec("browse.detail", "i", "toggle_detail", "Detail"),
    ActionSpec("browse.detail_focus", "I", "focus_detail", "Scroll the detail pane (arrows, PageUp/PageDown; "
               "Escape or I goes back to the list)", show=False),
    ActionSpec("browse.export", "ctrl+e", "export", "Export"),
    ActionSpec("browse.reload", "r", "reload", "Reload", show=False),
    ActionSpec("browse.tab_next", "tab,right_square_bracket", "cycle_tab(1)", "Next tab", show=False),
    ActionSpec("browse.tab_prev", "shift+tab,left_square_bracket", "cycle_tab(-1)", "Previous tab", show=False),
    ActionSpec("browse.page_down", "pagedown", "page_step(1)", "Next page", show=False),
    ActionSpec("browse.page_up", "pageup", "page_step(-1)", "Previous page", show=False),
    ActionSpec("browse.first", "home", "page_first", "First page", show=False),
    ActionSpec("browse.last", "end", "page_last", "Last page", show=False),
    # reading a secret writes an audit record: read-only mode has no reveal
    ActionSpec("browse.reveal", "x", "reveal", "Reveal", writes=True, show=False),
    ActionSpec("browse.new", "n", "new", "New", writes=True, show=False),
    ActionSpec("browse.edit", "e", "edit", "Edit", writes=True, show=False),
    ActionSpec("browse.suspend", "s", "suspend", "Suspend / disable", writes=True, show=False),
    ActionSpec("browse.activate", "a", "activate", "Activate", writes=True, show=False),
    ActionSpec("browse.soft_delete", "d", "soft_delete", "Delete (soft)", writes=True, show=False),
    ActionSpec("browse.hard_delete", "D", "hard_delete", "Delete for good", writes=True, show=False),
    ActionSpec("browse.grant", "g", "grant", "Grant access", writes=True, show=False),
    ActionSpec("browse.revoke_grant", "v", "revoke_grant", "Revoke access", writes=True, show=False),
    ActionSpec("browse.new_key", "k", "new_key", "Generate key", writes=True, show=False),
    ActionSpec("browse.rotate_key", "R", "rotate_key", "Rotate key", writes=True, show=False),
    ActionSpec("browse.revoke_key", "X", "revoke_key", "Revoke key", writes=True, show=False),
    ActionSpec("browse.key_report", "K", "key_report", "Key report", show=False),
)

WRITE_IDS = frozenset(spec.id for spec in BROWSE_ACTIONS if spec.writes)
