"""The console app. For now one screen: the tenants of the active backend (the shell,
connection, migrations, browse, monitor and backend screens come with their issues).

Every store call runs in a worker that posts a message; handlers own the widgets.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from stores import Settings, Stores, open_stores
from stores.errors import StoreError
from stores.models import Tenant


@dataclass
class TenantRow:
    tenant: Tenant
    apps: int
    users: int


class LokstraConsole(App[int]):
    TITLE = "lokstra-console"
    CSS = """
    #status { height: 1; padding: 0 1; background: $boost; }
    #problem { color: $error; padding: 1 2; display: none; }
    DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("r", "reload", "Reload", id="app.reload"),
    ]

    class TenantsLoaded(Message):
        def __init__(self, rows: list[TenantRow], total: int) -> None:
            self.rows = rows
            self.total = total
            super().__init__()

    class LoadFailed(Message):
        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.stores: Stores | None = None
        self.animation_level = "none"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._backend_label(), id="status")
        yield Static("", id="problem")
        table: DataTable[str] = DataTable(id="tenants", cursor_type="row", zebra_stripes=True)
        table.add_columns("id", "name", "status", "apps", "users")
        yield table
        yield Footer()

    def _backend_label(self) -> str:
        if self.settings.use_postgres:
            target = self.settings.connection()
            mode = "  READ-ONLY" if self.settings.read_only else ""
            return f"POSTGRES {target.display()}{mode}"
        return "MEMORY (demo data)" if self.settings.demo_data else "MEMORY"

    def on_mount(self) -> None:
        self.load_tenants()

    def action_reload(self) -> None:
        self.load_tenants()

    @work(exclusive=True, group="tenants", exit_on_error=False)
    async def load_tenants(self) -> None:
        try:
            if self.stores is None:
                self.stores = await open_stores(self.settings)
            page = await self.stores.tenants.page(limit=100)
            rows = [TenantRow(t, await self.stores.apps.count(t.id), (await self.stores.users.estimate_count(t.id)).value)
                    for t in page.rows]
            total = await self.stores.tenants.count()
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

    async def on_unmount(self) -> None:
        if self.stores is not None:
            await self.stores.close()
