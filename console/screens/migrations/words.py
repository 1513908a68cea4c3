"""The Migrations screen's words: states, cells, a run's result (headless)."""
from __future__ import annotations

from rich.text import Text

from console.text import plain
from migrations import MigrationStatus, Outcome, Overall, RunResult, State

STATE_STYLE = {
    State.APPLIED: "green",
    State.BASELINE: "cyan",
    State.PENDING: "yellow",
    State.OUT_OF_ORDER: "bold red",
    State.CHANGED: "bold red",
    State.MISSING: "bold red",
    State.FAILED: "bold red",
}
OVERALL_STYLE = {
    Overall.CURRENT: "bold green",
    Overall.PENDING: "bold yellow",
    Overall.NOT_INITIALISED: "bold yellow",
    Overall.DRIFT: "bold red",
    Overall.FAILED: "bold red",
    Overall.UNTRACKED: "bold red",
}
ATTENTION_STATES = (State.FAILED, State.CHANGED, State.MISSING, State.OUT_OF_ORDER)
NAME_WIDTH = 20

def duration_text(ms: int | None) -> str:
    if ms is None:
        return ""
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def state_text(state: State) -> Text:
    return plain(state.value.replace("_", " "), style=STATE_STYLE.get(state, ""))


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def row_cells(m: MigrationStatus) -> tuple[Text, ...]:
    when = m.applied_at or m.failed_at
    return (
        plain(f"{m.version:03d}"),
        plain(short(m.description, NAME_WIDTH)),
        state_text(m.state),
        plain(when.strftime("%Y-%m-%d %H:%M") if when else ""),
        plain(duration_text(m.duration_ms)),
        plain(m.short_checksum or ""),
    )


def row_detail(m: MigrationStatus) -> Text:
    text = Text()
    text.append(plain(m.label, "bold"))
    text.append(" ")
    text.append_text(state_text(m.state))
    if m.applied_by:
        text.append(plain(f" · by {m.applied_by}"))
    if m.recorded_checksum and m.recorded_checksum != m.checksum:
        text.append(plain(f" · applied {m.recorded_checksum[:8]}, file {m.short_checksum or 'missing'}"))
    text.append(plain({True: " · reversible", False: " · irreversible", None: ""}[m.reversible], "dim"))
    if m.error or m.note:
        text.append(plain(f"\n{m.error or m.note}", "red" if m.error else ""))
    return text


def acceptable(result: RunResult) -> bool:
    """A refusal the operator may override: drift (changed, missing, out of order), not an untracked schema."""
    return (result.outcome is Outcome.REFUSED and result.status is not None
            and result.status.overall is not Overall.UNTRACKED)


def result_lines(result: RunResult) -> list[Text]:
    """The whole result of a run, for the run modal."""
    lines: list[Text] = []
    if result.outcome is Outcome.LOCKED:
        lines.append(plain(f"Not started: {result.reasons[0]}", style="bold red"))
    elif result.outcome is Outcome.REFUSED:
        lines.append(Text("Refused:", style="bold red"))
        lines += [plain(f"  - {reason}") for reason in result.reasons]
        if acceptable(result):
            lines.append(Text("Accept and apply records these in the history and goes on.", style="dim"))
    elif result.outcome is Outcome.NOTHING_TO_DO:
        lines.append(Text("Nothing to do.", style="green"))
    for version in result.accepted:
        lines.append(plain(f"{'would accept' if result.dry_run else 'accepted'} the drift of {version:03d}"))
    failed = result.failed_step
    if failed is not None:
        lines.append(plain(f"{failed.label} failed and was rolled back:", style="bold red"))
        lines.append(plain(f"  {failed.error}" + (f" [{failed.sqlstate}]" if failed.sqlstate else ""), style="red"))
        lines += [plain(f"  {extra}") for extra in (failed.detail, failed.hint) if extra]
    elif result.steps:
        done = "would apply" if result.dry_run else "applied"
        lines.append(plain(f"{done.capitalize()} {len(result.steps)} migration(s).", style="bold green"))
    if result.dry_run and result.steps:
        for step in result.steps:
            if step.success:
                lines.append(plain(f"  {step.label}: {len(step.statements)} statement(s), {duration_text(step.duration_ms)}"))
        lines.append(Text("Dry run: everything was rolled back.", style="bold"))
    if result.status is not None and failed is None:
        lines.append(plain(f"Schema: {result.status.headline}"))
    return lines


def result_summary(result: RunResult) -> tuple[str, bool]:
    """One line for the screen after a run, and whether it went well."""
    dry = "dry run: " if result.dry_run else ""
    failed = result.failed_step
    if failed is not None:
        return f"{dry}{failed.label} failed and was rolled back: {failed.error}", False
    if result.outcome is Outcome.LOCKED:
        return f"{dry}not started: {result.reasons[0]}", False
    if result.outcome is Outcome.REFUSED:
        more = f" (+{len(result.reasons) - 1} more)" if len(result.reasons) > 1 else ""
        return f"{dry}refused: {result.reasons[0]}{more}", False
    if result.outcome is Outcome.NOTHING_TO_DO:
        return f"{dry}nothing to do", True
    versions = ", ".join(f"{step.version:03d}" for step in result.steps)
    if result.dry_run:
        return f"dry run: {len(result.steps)} migration(s) would apply ({versions}); everything was rolled back", True
    return f"applied {len(result.steps)} migration(s) ({versions})", True


