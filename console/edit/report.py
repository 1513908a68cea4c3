"""The key report: keys expiring within N days, expired but not revoked, never used, and
those lokstra-auth can never verify (to re-issue)."""
from __future__ import annotations

from datetime import datetime

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Static, TabbedContent, TabPane

from console.text import plain
from console.edit.common import EditModal, buttons, dialog
from stores.admin import KeyReport
from stores.errors import StoreError
from stores.models import AppKey

DEFAULT_DAYS = 30
SECTIONS = (("expiring", "Expiring"), ("expired_not_revoked", "Expired, not revoked"), ("never_used", "Never used"),
            ("unverifiable", "Re-issue"))
"""``unverifiable``: keys lokstra-auth cannot verify (an older console's hex hash): rotate them."""


def when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "—"


class KeyReportScreen(EditModal[None]):
    """Three lists of one tenant's (or one app's) keys; Enter in the days field re-runs it."""

    DEFAULT_CSS = """
    KeyReportScreen > #dialog { height: 100%; }
    KeyReportScreen TabbedContent { height: 1fr; }
    KeyReportScreen #days { width: 8; }
    """
    BINDINGS = [Binding("r", "refresh_report", "Refresh", show=False)]

    class Loaded(Message):
        def __init__(self, report: KeyReport) -> None:
            self.report = report
            super().__init__()

    def __init__(self, tenant_id: str, app_id: str | None = None) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.app_id = app_id

    def compose(self) -> ComposeResult:
        scope = f"{self.tenant_id}/{self.app_id}" if self.app_id else f"tenant {self.tenant_id}"
        with dialog():
            yield Static(plain(f"Key report: {scope}"), id="title")
            with Horizontal(classes="row"):
                yield Label("expiring within", classes="label")
                yield Input(str(DEFAULT_DAYS), id="days", type="integer", max_length=4, compact=True)
                yield Label(" days (Enter: run again)")
            with TabbedContent(id="sections"):
                for name, title in SECTIONS:
                    with TabPane(title, id=f"tab-{name}"):
                        table: DataTable[str] = DataTable(id=name, cursor_type="row", zebra_stripes=True)
                        table.add_columns("key_id", "app", "name", "env", "expires", "last used")
                        yield table
            yield Static("", id="problem", classes="problem", disabled=True)
            yield from buttons(Button("Close (esc)", id="close", compact=True))

    def on_mount(self) -> None:
        self.query_one("#days", Input).focus()
        self.load(DEFAULT_DAYS)

    def days(self) -> int | None:
        text = self.query_one("#days", Input).value.strip()
        return int(text) if text.isdigit() else None

    @on(Input.Submitted, "#days")
    def action_refresh_report(self) -> None:
        days = self.days()
        if days is None:
            self.show_problem("Days: a whole number from 0 to 3650.")
            return
        self.load(days)

    @work(exclusive=True, group="report", exit_on_error=False)
    async def load(self, days: int) -> None:
        try:
            report = await self.admin().key_report(self.tenant_id, self.app_id, within_days=days)
        except StoreError as exc:
            self.post_message(self.Failed(exc))
            return
        self.post_message(self.Loaded(report))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        report = message.report
        self.show_problem("")
        tabs = self.query_one(TabbedContent)
        for name, title in SECTIONS:
            keys: list[AppKey] = getattr(report, name)
            table = self.query_one(f"#{name}", DataTable)
            table.clear()
            for key in keys:
                table.add_row(*(plain(cell) for cell in (key.key_id, key.app_id, key.name, key.environment,
                                                         when(key.expires_at), when(key.last_used))), key=key.id)
            label = title if name != "expiring" else f"Expiring ≤{report.within_days}d"
            tabs.get_tab(f"tab-{name}").label = f"{label} ({len(keys)})"

    @on(EditModal.Failed)
    def _failed(self, message: EditModal.Failed) -> None:
        self.show_problem(f"Report failed: {message.error}")

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)
