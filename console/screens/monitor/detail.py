"""One statement in full: its figures and text (wrapped, highlighted; literals masked until ``x``)."""
from __future__ import annotations

from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Sparkline, Static

from console.screens.monitor.cells import NA, ms, percent
from console.screens.monitor.reveal import RevealAudited, audited_reveal
from console.text import plain
from stores.monitor import Statement, mask_literals


class QueryDetail(ModalScreen[None]):
    """One statement: its figures and full text (wrapped, highlighted; literals masked until ``x``)."""

    DEFAULT_CSS = """
    QueryDetail { align: center middle; }
    QueryDetail > VerticalScroll { width: 96%; height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    QueryDetail #figures { height: auto; margin-bottom: 1; }
    QueryDetail #text { height: auto; }
    """
    BINDINGS = [Binding("escape,q,d", "dismiss", "Close", id="monitor-detail.close"),
                Binding("x", "reveal", "Reveal literals", id="monitor-detail.reveal")]

    def __init__(self, statement: Statement, history: list[float]) -> None:
        super().__init__()
        self.statement = statement
        self.history = history
        self.revealed = False

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._figures(), id="figures")
            yield Sparkline(self.history or [0.0], id="detail-spark")
            yield Static(self._text(), id="text")

    def _figures(self) -> Text:
        s = self.statement
        text = Text()
        text.append(plain(f"database {s.database or NA} · role {s.role or NA} · queryid {s.key[2]} · "
                          f"{'top level' if s.key[3] else 'nested'}\n", "bold"))

        def line(label: str, figures: Any, stddev: float | None, share: float | None) -> None:
            if figures is None:
                text.append(f"{label}: {NA} (from the next sample)\n")
                return
            text.append(f"{label}: calls {figures.calls:,} · total {ms(figures.total_ms).text} ms · mean "
                        f"{ms(figures.mean_ms).text} ms · stddev {ms(stddev).text} ms · rows {figures.rows:,} · "
                        f"hit {percent(figures.hit_ratio).text}% · share {percent(share).text}%\n")

        line("since reset", s.totals, s.stddev_ms, s.share)
        line("last interval", s.interval, None, s.interval_share)
        text.append(plain(f"I/O time {ms(s.io_ms).text} ms · planning {ms(s.plan_ms).text} ms", "dim"))
        return text

    def _text(self) -> Syntax | Text:
        if self.statement.query is None:
            return Text("<the text is not visible to this role>", style="dim")
        shown = self.statement.query if self.revealed else mask_literals(self.statement.query)
        return Syntax(shown, "sql", word_wrap=True, background_color="default", theme="ansi_dark")

    def action_reveal(self) -> None:
        if self.revealed:
            self.revealed = False
            self.query_one("#text", Static).update(self._text())
            return
        if self.statement.query is not None:
            self.audit_reveal(self.app, "query", f"queryid {self.statement.key[2]}",
                              f"the literals of query {self.statement.key[2]}")

    audit_reveal = work(exclusive=True, group="reveal", exit_on_error=False)(audited_reveal)

    @on(RevealAudited)
    def _reveal_audited(self, message: RevealAudited) -> None:
        if message.problem is not None:
            self.notify(message.problem, title="Literals stay masked", severity="warning")
            return
        self.revealed = True
        self.query_one("#text", Static).update(self._text())
