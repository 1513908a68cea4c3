"""The browser's key bindings (ids for the keymap; ``writes`` ones vanish in read-only mode)."""
from __future__ import annotations

from console.actions import ActionSpec

BROWSE_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("browse.back", "escape", "back_level", "Back (closes the prompt, the pane, the filter, then goes up)",
               show=False),
    ActionSpec("browse.filter", "slash", "filter", "Filter", short="filter"),
    ActionSpec("browse.jump", "colon", "jump", "Jump", short="jump"),
    ActionSpec("browse.detail", "i", "toggle_detail", "Detail pane: every field", short="detail"),
    ActionSpec("browse.detail_focus", "I", "focus_detail", "Into the detail pane, to scroll it (Escape: back)",
               show=False),
    ActionSpec("browse.export", "ctrl+e", "export", "Export the whole list (CSV or JSON)", show=False),
    ActionSpec("browse.reload", "r", "reload", "Reload", show=False),
    ActionSpec("browse.tab_next", "tab,right_square_bracket", "cycle_tab(1)", "Next tab", show=False),
    ActionSpec("browse.tab_prev", "shift+tab,left_square_bracket", "cycle_tab(-1)", "Previous tab", show=False),
    ActionSpec("browse.page_down", "pagedown", "page_step(1)", "Next page", show=False),
    ActionSpec("browse.page_up", "pageup", "page_step(-1)", "Previous page", show=False),
    ActionSpec("browse.first", "home", "page_first", "First page", show=False),
    ActionSpec("browse.last", "end", "page_last", "Last page", show=False),
    # reading a secret writes an audit record: read-only mode has no reveal
    ActionSpec("browse.reveal", "x", "reveal", "Reveal the masked DSN once (audited)", writes=True, show=False),
    # The edit keys: in the footer where they apply to the list (check_action), in F1 always.
    ActionSpec("browse.new", "n", "new", "New", writes=True, short="new"),
    ActionSpec("browse.edit", "e", "edit", "Edit (before/after diff)", writes=True, short="edit"),
    ActionSpec("browse.suspend", "s", "suspend", "Suspend / disable", writes=True, group="status"),
    ActionSpec("browse.activate", "a", "activate", "Activate", writes=True, group="status"),
    ActionSpec("browse.soft_delete", "d", "soft_delete", "Delete (soft)", writes=True, short="delete"),
    ActionSpec("browse.hard_delete", "D", "hard_delete", "Delete for good (allow_hard_delete)", writes=True,
               show=False),
    ActionSpec("browse.grant", "g", "grant", "Grant app access", writes=True, group="access"),
    ActionSpec("browse.revoke_grant", "v", "revoke_grant", "Revoke app access", writes=True, group="access"),
    ActionSpec("browse.new_key", "k", "new_key", "Generate an API key (shown once)", writes=True, short="key"),
    ActionSpec("browse.rotate_key", "R", "rotate_key", "Rotate the key (with overlap)", writes=True, short="rotate"),
    ActionSpec("browse.revoke_key", "X", "revoke_key", "Revoke the key", writes=True, short="revoke"),
    ActionSpec("browse.key_report", "K", "key_report", "Key report", short="report"),
)

WRITE_IDS = frozenset(spec.id for spec in BROWSE_ACTIONS if spec.writes)
