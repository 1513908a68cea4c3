"""Connection (1): set up a PostgreSQL target, test it, connect the console to it, save it.

The form is prefilled from what the console uses now (the active profile, or the settings
from DB_*, DATABASE_URL, PG* and .env). Fields are checked as they are typed, the message
next to the field. Test runs ``stores.postgres.probe`` in a worker (the screen never writes
SQL) and shows the server, round trip, SSL, role and statistics rights, the lokstra_auth
migration state, and each problem with its fix. Connect is a plain reconnect
(``app.connect_to``); moving data between backends is the Backend screen's switch. Save
profile writes the console's settings file (0600), with the password only when "Save
password" is ticked.

The password lives in a masked Input only: it is never rendered, notified or logged, and
every error text is scrubbed of it.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import SecretStr, ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from console.text import VISIBLE_CONTROLS, plain
from console.actions import ActionSpec, bindings
from console.config import Profile, config_path
from console.logs import register_secret
from console.screens.base import ConsoleScreen
from stores.secrets import scrub
from stores.postgres.probe import Finding, ProbeResult, probe
from stores.settings import SSL_MODES, ConnectionTarget, Settings

if TYPE_CHECKING:
    from console.app import LokstraConsole
    from console.config import ConsoleConfig

CONNECTION_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("connection.test", "ctrl+t", "test", "Test"),
    ActionSpec("connection.connect", "ctrl+o", "connect", "Connect"),
    ActionSpec("connection.save", "ctrl+s", "save_profile", "Save profile"),
    ActionSpec("connection.leave", "escape", "leave_form", "Leave the form", show=False),
)
ENVIRONMENTS: tuple[str, ...] = ("development", "staging", "production")
MAX_TIMEOUT = 3600
PROFILE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
TARGET_FIELDS: tuple[tuple[str, str], ...] = (
    ("host", "Host"), ("port", "Port"), ("user", "User"), ("password", "Password"), ("database", "Database"),
)
POOL_FIELDS: tuple[tuple[str, str], ...] = (
    ("pool-min", "Pool min"), ("pool-max", "Pool max"), ("connect-timeout", "Connect s"), ("command-timeout", "Command s"),
)
INPUT_TYPES = {"port": "integer", "pool-min": "integer", "pool-max": "integer",
               "connect-timeout": "number", "command-timeout": "number"}
FIELD_IDS = tuple(name for name, _ in TARGET_FIELDS + POOL_FIELDS)
SCHEMA_POINTER = {"not_migrated": "The Migrations screen (2) applies them.",
                  "pending": "The Migrations screen (2) applies them.",
                  "schema_drift": "The Migrations screen (2) shows each migration."}
CONNECT_NOTE = "Connect is a plain reconnect: no data moves (a switch with the data: Backend screen, 5)."


# ----- the form's values, checks and what they become ----------------------------------------

@dataclass(frozen=True)
class Form:
    """What the fields say, as typed (strings), plus the selects and checkboxes."""

    host: str
    port: str
    user: str
    password: str
    database: str
    sslmode: str
    pool_min: str
    pool_max: str
    connect_timeout: str
    command_timeout: str
    name: str = ""
    environment: str = "development"
    read_only: bool = False
    save_password: bool = False

    def problems(self) -> dict[str, str]:
        """Field id -> what is wrong with it, for every field that is wrong."""
        found: dict[str, str] = {}
        for field_id, value in (("host", self.host), ("user", self.user), ("database", self.database)):
            if not value.strip():
                found[field_id] = "required"
        port = _int(self.port)
        if port is None or not 1 <= port <= 65535:
            found["port"] = "a port from 1 to 65535"
        low, high = _int(self.pool_min), _int(self.pool_max)
        if low is None or low < 0:
            found["pool-min"] = "0 or more"
        if high is None or high < 1:
            found["pool-max"] = "1 or more"
        elif low is not None and low > high:
            found["pool-max"] = f"at least pool min ({low})"
        for field_id, value in (("connect-timeout", self.connect_timeout), ("command-timeout", self.command_timeout)):
            seconds = _float(value)
            if seconds is None or not 0 < seconds <= MAX_TIMEOUT:
                found[field_id] = f"seconds: above 0, ≤ {MAX_TIMEOUT}"
        if self.name.strip() and not PROFILE_NAME.fullmatch(self.name.strip()):
            found["profile-name"] = "letters, digits, . _ - (40 at most)"
        return found

    def profile(self, statement_cache_size: int, *, with_password: bool) -> Profile:
        """The profile these values describe (call only when ``problems()`` is empty)."""
        password = SecretStr(self.password) if with_password and self.password else None
        return Profile(
            host=self.host.strip(), port=int(self.port), user=self.user.strip(), database=self.database.strip(),
            sslmode=self.sslmode, password=password, environment=self.environment, read_only=self.read_only,
            pool_min_size=int(self.pool_min), pool_max_size=int(self.pool_max),
            connect_timeout=float(self.connect_timeout), command_timeout=float(self.command_timeout),
            statement_cache_size=statement_cache_size,
        )

    def settings(self, base: Settings) -> Settings:
        """Store settings for this target. The form is the whole truth: no DATABASE_URL or
        PGPASSWORD from the environment slips in (an empty password still lets asyncpg use
        ~/.pgpass). Read-only stays on when the console runs read-only."""
        profile = self.profile(base.statement_cache_size, with_password=False)
        password = SecretStr(self.password) if self.password else None
        register_secret(password)  # from now on the log file masks it too
        settings = profile.store_settings(password, read_only=base.read_only)
        return settings.model_copy(update={"database_url": None, "pg_password": None,
                                           "pool_max_inactive_lifetime": base.pool_max_inactive_lifetime})


def checkbox_label(checkbox_id: str, value: bool) -> str:
    """The state in words as well as in colour (a plain terminal, a screen reader, a test)."""
    name = {"read-only": "Read-only", "save-password": "Save password"}[checkbox_id]
    return f"{name}: {'yes' if value else 'no'}"


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ()))
        return f"{where}: {error.get('msg', 'invalid value')}" if where else str(error.get("msg", "invalid value"))
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _float(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def initial_form(app: LokstraConsole) -> tuple[Form, str]:
    """The form for what the console uses now, and where that came from (to say so)."""
    settings = app.settings
    profile = app.config.profile(app.profile_name) if app.profile_name else None
    if profile is not None and not settings.use_postgres:
        settings = profile.store_settings()
    if profile is not None:
        source = f"profile {app.profile_name}"
    elif settings.use_postgres:
        source = "the console's current connection"
    else:
        source = "DB_*, DATABASE_URL, PG* and .env (the console runs on memory)"
    target = settings.connection()
    form = Form(
        host=target.host, port=str(target.port), user=target.user,
        password=target.password.get_secret_value() if target.password else "",
        database=target.database, sslmode=target.sslmode,
        pool_min=str(settings.pool_min_size), pool_max=str(settings.pool_max_size),
        connect_timeout=_number(settings.connect_timeout), command_timeout=_number(settings.command_timeout),
        name=app.profile_name or "",
        environment=app.environment or (profile.environment if profile else "development"),
        read_only=settings.read_only or bool(profile and profile.read_only),
    )
    return form, source


def saved_password_names(config: ConsoleConfig) -> frozenset[str]:
    """Profiles whose password is in the settings file now (the operator chose that before):
    saving keeps those, and never writes one that came from the environment."""
    try:
        with config_path().open("rb") as stream:
            data = tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError):
        return frozenset()
    profiles = data.get("profiles", {})
    return frozenset(name for name, table in profiles.items()
                     if isinstance(table, dict) and "password" in table and name in config.profiles)


# ----- what the result panel shows -----------------------------------------------------------

def _line(text: Text, label: str, value: str, style: str = "") -> None:
    text.append(plain(f"{label:<9}", "bold"))
    text.append(plain(value + "\n", style))


def _finding(text: Text, finding: Finding, style: str) -> None:
    text.append("• ", style=style)
    text.append(plain(finding.reason.rstrip(".") + ".", style))
    fix = finding.fix.rstrip(".") + "."
    pointer = SCHEMA_POINTER.get(finding.cause)
    text.append(plain(f"\n  {fix}" + (f" {pointer}" if pointer else "") + "\n"))


def result_text(result: ProbeResult) -> Text:
    """The Test result in plain lines: what was read, then each finding with its fix."""
    text = Text()
    if result.problem is not None and not result.connected:
        text.append(plain(f"✖ Cannot use {result.target}\n", "bold red"))
        _finding(text, result.problem, "bold red")
        return text
    text.append(plain(f"✔ {result.target}\n", "bold green"))
    version = (result.server_version or "?").split(" ")[0]
    _line(text, "Server", f"PostgreSQL {version}")
    if result.rtt_ms is not None:
        connect = f", connect {result.connect_ms:.0f} ms" if result.connect_ms is not None else ""
        _line(text, "RTT", f"{result.rtt_ms:.1f} ms{connect}")
    if result.ssl is not None:
        _line(text, "SSL", f"in use ({result.ssl_version or '?'})" if result.ssl else "not in use",
              "green" if result.ssl else "yellow")
    if result.problem is not None:  # a check failed after connecting: the rest was not read
        _finding(text, result.problem, "bold red")
        return text
    rights = "superuser" if result.superuser else "pg_monitor" if result.monitor else \
        "pg_read_all_stats" if result.read_all_stats else "no monitoring role"
    _line(text, "Role", f"{result.role} ({rights})")
    statements = result.statements
    if statements.readable:
        seen = "all roles' queries" if statements.all_query_text else "own queries only"
        _line(text, "Stats", f"pg_stat_statements, {seen}", "" if statements.all_query_text else "yellow")
    else:
        state = "unreadable" if statements.created else "not enabled" if statements.available else "not installed"
        _line(text, "Stats", f"pg_stat_statements {state}", "yellow")
    if result.migration_headline is not None:
        where = "lokstra_auth" if result.schema_exists else "lokstra_auth absent"
        style = "green" if result.migration_overall == "current" else "yellow"
        _line(text, "Schema", f"{where}: {result.migration_headline}", style)
    else:
        _line(text, "Schema", f"lokstra_auth {'exists' if result.schema_exists else 'absent'}, state unknown", "yellow")
    for finding in result.findings:
        _finding(text, finding, "yellow")
    return text


# ----- the screen ----------------------------------------------------------------------------

class ConnectionScreen(ConsoleScreen):
    TITLE_TEXT = "connection"
    AUTO_FOCUS = "#host"
    BINDINGS = bindings(CONNECTION_ACTIONS)
    HELP = (
        "Set up a PostgreSQL target, test it, connect the console to it, save it as a profile. The form "
        "starts from what the console uses now (the active profile, or DB_*, DATABASE_URL, PG* and .env).\n"
        "Tab / shift+tab move between fields; Enter in a field runs Test (in the profile name: Save). "
        "Escape leaves the form so that the number keys switch screens.\n"
        "Test: server version, round trip, SSL, the role and whether it reads pg_stat_statements and other "
        "roles' query text, the lokstra_auth migration state; each problem with its fix.\n"
        "Connect: a plain reconnect, no data moves (the Backend screen (5) switches with the data). "
        "An empty password lets the driver use ~/.pgpass or PGPASSWORD.\n"
        "Save profile: writes the settings file (0600) with the environment and read-only flag (ticked "
        "by default in read-only mode); the password only when \"Save password\" is ticked."
    )
    DEFAULT_CSS = """
    ConnectionScreen #columns { height: 1fr; }
    ConnectionScreen #form { width: 39; height: 1fr; padding: 0 1 0 0; }
    ConnectionScreen #side { width: 1fr; height: 1fr; border-left: vkey $primary-darken-2; padding: 0 0 0 1; }
    ConnectionScreen #result-scroll { height: 1fr; }
    ConnectionScreen #note { height: auto; color: $text-muted; }
    ConnectionScreen .row { height: 1; }
    ConnectionScreen .row Label { width: 10; }
    ConnectionScreen .row Input, ConnectionScreen .row Select { width: 1fr; }
    ConnectionScreen .error { color: $error; padding-left: 10; height: 1; display: none; }
    ConnectionScreen .section { text-style: bold; margin-top: 1; }
    ConnectionScreen .buttons { height: 1; margin-top: 1; }
    ConnectionScreen .buttons Button { margin-right: 1; }
    ConnectionScreen Checkbox { margin-left: 10; }
    """

    class Probed(Message):
        def __init__(self, result: ProbeResult) -> None:
            self.result = result
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self.last_result: ProbeResult | None = None
        self.testing: ConnectionTarget | None = None
        self.connecting: Settings | None = None

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        form, source = initial_form(self.console)
        values = {"host": form.host, "port": form.port, "user": form.user, "password": form.password,
                  "database": form.database, "pool-min": form.pool_min, "pool-max": form.pool_max,
                  "connect-timeout": form.connect_timeout, "command-timeout": form.command_timeout}
        yield self.compose_header()
        with Horizontal(id="columns"):
            with VerticalScroll(id="form"):
                for field_id, label in TARGET_FIELDS:
                    yield from self._field(field_id, label, values[field_id])
                with Horizontal(classes="row"):
                    yield Label("SSL mode")
                    yield Select([(mode, mode) for mode in SSL_MODES], value=form.sslmode, allow_blank=False,
                                 id="sslmode", compact=True)
                for field_id, label in POOL_FIELDS:
                    yield from self._field(field_id, label, values[field_id])
                with Horizontal(classes="buttons"):
                    yield Button("Test", id="test", variant="primary", compact=True)
                    yield Button("Connect", id="connect", compact=True)
                yield Static("Profile", classes="section")
                yield from self._field("profile-name", "Name", form.name)
                with Horizontal(classes="row"):
                    yield Label("Env")
                    yield Select([(env, env) for env in ENVIRONMENTS], value=form.environment, allow_blank=False,
                                 id="environment", compact=True)
                yield Checkbox(plain(checkbox_label("read-only", form.read_only)), form.read_only, id="read-only", compact=True)
                yield Checkbox(plain(checkbox_label("save-password", False)), False, id="save-password", compact=True)
                with Horizontal(classes="buttons"):
                    yield Button("Save profile", id="save", compact=True)
            with Vertical(id="side"):
                with VerticalScroll(id="result-scroll"):
                    yield Static(self._intro(source), id="result")
                yield Static(CONNECT_NOTE, id="note")
        yield self.compose_footer()

    def _field(self, field_id: str, label: str, value: str) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label(plain(label))
            yield Input(value, id=field_id, password=field_id == "password", compact=True, highlighter=VISIBLE_CONTROLS,
                        type=INPUT_TYPES.get(field_id, "text"))  # type: ignore[arg-type]
        yield Static("", id=f"{field_id}-error", classes="error")

    def _intro(self, source: str) -> Text:
        text = Text()
        text.append("Prefilled from ", style="dim")
        text.append(plain(source, "dim"))
        text.append(".\n\nTest (Enter, ctrl+t) checks the target: server, round trip, SSL, role and "
                    "statistics rights, and the migration state of lokstra_auth.\n")
        return text

    def on_mount(self) -> None:
        self.query_one("#form", VerticalScroll).can_focus = False  # its fields take the focus, it scrolls to them
        self.show_problems()

    # -- reading the form ------------------------------------------------------------------
    def read_form(self) -> Form:
        def value(field_id: str) -> str:
            return self.query_one(f"#{field_id}", Input).value

        return Form(
            host=value("host"), port=value("port"), user=value("user"), password=value("password"),
            database=value("database"), sslmode=str(self.query_one("#sslmode", Select).value),
            pool_min=value("pool-min"), pool_max=value("pool-max"),
            connect_timeout=value("connect-timeout"), command_timeout=value("command-timeout"),
            name=value("profile-name"), environment=str(self.query_one("#environment", Select).value),
            read_only=self.query_one("#read-only", Checkbox).value,
            save_password=self.query_one("#save-password", Checkbox).value,
        )

    def show_problems(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Put each field's message next to it (``extra``: more of them); returns them all."""
        problems = {**self.read_form().problems(), **(extra or {})}
        for field_id in (*FIELD_IDS, "profile-name"):
            message = problems.get(field_id)
            error = self.query_one(f"#{field_id}-error", Static)
            error.update(plain(message or ""))
            error.display = message is not None
            self.query_one(f"#{field_id}", Input).set_class(message is not None, "-invalid")
        return problems

    def _target_settings(self) -> Settings | None:
        """Store settings for the form, or None (said on the panel) when the fields cannot be used."""
        form = self._usable_form()
        if form is None:
            return None
        try:
            return form.settings(self.console.settings)
        except (ValidationError, ValueError) as exc:  # the checks above should catch it: words, never a traceback
            self.show_result(plain(f"These settings cannot be used: {_first_error(exc)}", style="bold red"))
            return None

    def _usable_form(self, *, extra: dict[str, str] | None = None) -> Form | None:
        """The form when it can be used; otherwise focus the first bad field and say so."""
        problems = self.show_problems(extra)
        if not problems:
            return self.read_form()
        first = next(field_id for field_id in (*FIELD_IDS, "profile-name") if field_id in problems)
        self.query_one(f"#{first}", Input).focus()
        self.show_result(Text("Fix the marked fields first.", style="bold red"))
        return None

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.show_problems()

    @on(Checkbox.Changed)
    def _ticked(self, event: Checkbox.Changed) -> None:
        event.checkbox.label = checkbox_label(event.checkbox.id or "", event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "profile-name":
            self.action_save_profile()
        else:
            self.action_test()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        {"test": self.action_test, "connect": self.action_connect, "save": self.action_save_profile}[event.button.id or ""]()

    def action_leave_form(self) -> None:
        self.set_focus(None)

    def show_result(self, text: Text) -> None:
        self.query_one("#result", Static).update(text)
        self.query_one("#result-scroll", VerticalScroll).scroll_home(animate=False)

    # -- Test ------------------------------------------------------------------------------
    def action_test(self) -> None:
        settings = self._target_settings()
        if settings is None:
            return
        target = settings.connection()
        self.testing = target
        self.show_result(plain(f"Testing {target.display()} …", style="bold"))
        self.run_probe(target)

    @work(exclusive=True, group="connection-test", exit_on_error=False)
    async def run_probe(self, target: ConnectionTarget) -> None:
        self.post_message(self.Probed(await probe(target)))

    @on(Probed)
    def _probed(self, message: Probed) -> None:
        self.last_result = message.result
        self.show_result(result_text(message.result))

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "connection-test" or event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        secrets = self.testing.secrets() if self.testing else []
        text = scrub(f"{type(error).__name__}: {error}", secrets).splitlines()[0]
        self.show_result(plain(f"The test stopped: {text}", style="bold red"))

    # -- Connect ---------------------------------------------------------------------------
    def action_connect(self) -> None:
        settings = self._target_settings()
        if settings is None:
            return
        form = self.read_form()
        app = self.console
        name = form.name.strip()
        saved = app.config.profiles.get(name)
        same = saved is not None and saved.model_dump(exclude={"password"}) == form.profile(
            saved.statement_cache_size, with_password=False).model_dump(exclude={"password"})
        self.connecting = settings
        self.show_result(plain(f"Connecting the console to {settings.connection().display()} …\n", style="bold")
                         + Text(CONNECT_NOTE, style="dim"))
        app.connect_to(settings, profile=name if same else None, environment=form.environment)

    def reconnect_finished(self, target: str, problem: str | None) -> None:
        if self.connecting is None:
            return
        self.connecting = None
        if problem is None:
            self.show_result(plain(f"✔ The console now uses {target}.\n", style="bold green")
                             + Text("Browse (3) shows its data.", style="dim"))
        else:
            self.show_result(plain(f"✖ Cannot use {target}:\n", style="bold red") + plain(f"{problem}\n")
                             + Text("The console stays on its previous backend; Test shows more.", style="dim"))

    # -- Save profile ----------------------------------------------------------------------
    def action_save_profile(self) -> None:
        name_problem = {} if self.read_form().name.strip() else {"profile-name": "a name to save under"}
        form = self._usable_form(extra=name_problem)
        if form is None:
            return
        app = self.console
        name = form.name.strip()
        base = app.config.profiles.get(name)
        cache = base.statement_cache_size if base else app.settings.statement_cache_size
        try:
            profile = form.profile(cache, with_password=form.save_password)
        except ValidationError as exc:  # the form's checks should have caught it: say what, never a traceback
            self.show_result(plain(f"Cannot save: {_first_error(exc)}", style="bold red"))
            return
        config = app.config.model_copy(update={"profiles": {**app.config.profiles, name: profile}})
        keep = set(saved_password_names(app.config) - {name})
        if form.save_password and profile.password is not None:
            keep.add(name)
        try:
            path = config.save(keep_passwords=frozenset(keep))
        except OSError as exc:
            self.show_result(plain(f"Cannot write the settings file: {exc.strerror or exc}", style="bold red"))
            return
        app.config = config
        password = "with the password" if name in keep else "without the password"
        self.show_result(plain(f"✔ Saved profile {name} ({profile.environment}"
                               f"{', read-only' if profile.read_only else ''}) {password} to {path}.", style="bold green"))
        self.notify(f"Profile {name} saved {password}.", title="Saved")
