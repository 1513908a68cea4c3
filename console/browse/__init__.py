"""The entity browser's logic, without widgets: what each list shows and pages through,
the ``/`` filter tokens, the ``:`` jump commands, the page position and its title.

Nothing here imports textual: ``console.screens.browse`` draws it, and the unit tests in
``tests/browse`` check it without a UI.
"""
