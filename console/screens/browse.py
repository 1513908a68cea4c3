"""Browse: the tenants of the active backend (the full entity browser comes with its issue)."""
from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Static

from console.screens.base import ConsoleScreen
from stores.errors import StoreError
from stores.models import Tenant


@dataclass
class TenantRow:
    tenant: Tenant
    apps: int
    users: int


class BrowseScreen(ConsoleScreen):
    TITLE_TEXT = "browse"
    HELP = "Tenants of the active backend with their app and user counts. r reloads."
    BINDINGS = [("r", "reload", "Reload")]
    DEFAULT_CSS = """
    #problem { color: $error; padding: 1 2; display: none; }
    #tenants { height: 1fr; }
    """

    class TenantsLoaded(Message):
        def __init__(self, rows: list[TenantRow], total: int) -> None:
            self.rows = rows
            self.total = total
            super().__init__()

    class LoadFailed(Message):
        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    def compose(self) -> ComposeResult:
        yield self.compose_header()
        yield Static("", id="problem")
        table: DataTable[str] = DataTable(id="tenants", cursor_type="row", zebra_stripes=True)
        table.add_columns("id", "name", "status", "apps", "users")
        yield table
        yield self.compose_footer()

    def stores_ready(self) -> None:
        self.load_tenants()

    def action_reload(self) -> None:
        self.load_tenants()

    @work(exclusive=True, group="tenants", exit_on_error=False)
    async def load_tenants(self) -> None:
        stores = self.console.stores
        if stores is None:
            return
        try:
            page = await stores.tenants.page(limit=100)
            rows = [TenantRow(t, await stores.apps.count(t.id), (await stores.users.estimate_count(t.id)).value)
                    for t in page.rows]
            total = await stores.tenants.count()
        except StoreError as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        self.post_message(self.TenantsLoaded(rows, total))

    @on(TenantsLoaded)
    def show_tenants(self, message: TenantsLoaded) -> None:
        table = self.query_one("#tenants", DataTable)
        table.clear()
        for row in message.rows:
            t = row.tenant
            table.add_row(t.id, t.name, t.status, str(row.apps), str(row.users), key=t.id)
        self.query_one("#problem", Static).display = False
        self.sub_title = f"{len(message.rows)} of {message.total} tenants"

    @on(LoadFailed)
    def show_problem(self, message: LoadFailed) -> None:
        problem = self.query_one("#problem", Static)
        problem.update(message.text)
        problem.display = True
