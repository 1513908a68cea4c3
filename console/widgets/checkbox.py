"""A checkbox whose state reads without colour: ``[x]`` ticked, ``[ ]`` not.

Textual's Checkbox always draws the same ``X`` and tells the states apart by colour only,
so on a monochrome terminal (``TERM=xterm-mono``, ``NO_COLOR``) ticked and unticked look
alike. A dialog that must not close before something is confirmed cannot rely on that.
"""
from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class MarkedCheckbox(Checkbox):
    DEFAULT_CSS = """
    MarkedCheckbox > .toggle--button { background: transparent; }
    """

    @property
    def _button(self) -> Content:  # Textual's ToggleButton draws its box here (tests/edit/test_keys.py)
        return Content.assemble(("[x]" if self.value else "[ ]", self.get_visual_style("toggle--button")))
