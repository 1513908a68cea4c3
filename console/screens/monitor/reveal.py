"""A reveal of masked literals is audited first (RELIABILITY.md, reveal policy): the record is
written, then the screen shows them; in read-only mode the record cannot be written and the
text stays masked."""
from __future__ import annotations

from typing import Any

from textual.message import Message

from stores.errors import StoreError


class RevealAudited(Message):
    """The audit record of a reveal was written (``problem`` None), or why it could not be."""

    def __init__(self, problem: str | None, subject: object = None) -> None:
        self.problem = problem
        self.subject = subject
        super().__init__()


async def audited_reveal(screen: Any, app: Any, entity: str, key: str, what: str, subject: object = None) -> None:
    """Write the reveal's audit record (``Admin.audit_reveal``; never the literals), then let
    ``screen`` show them. Read-only mode cannot write the record: the text stays masked, and
    the operator is told why (RELIABILITY.md, reveal policy)."""
    from stores.admin import Admin

    stores = getattr(app, "stores", None)
    if stores is None:
        screen.post_message(RevealAudited("the stores are not open yet", subject))
        return
    try:
        await Admin(stores).audit_reveal(entity, key, what)
    except StoreError as exc:
        screen.post_message(RevealAudited(f"revealing is audited and the record could not be written: {exc}", subject))
        return
    screen.post_message(RevealAudited(None, subject))
