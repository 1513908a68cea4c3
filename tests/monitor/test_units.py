"""The monitor's pure parts: literal masking, deltas, version-picked SQL, store timings."""
from __future__ import annotations

from datetime import datetime

import pytest

from stores import Settings, open_stores
from stores.errors import NotFound
from stores.monitor import PostgresMonitor
from stores.monitor.deltas import DeltaTracker
from stores.monitor.masking import mask_literals
from stores.monitor.models import Figures, Sample
from stores.monitor.sql import StatementColumns, statements_sql, texts_sql
from stores import timing as timing_module
from stores.timing import RECENT, Timings


# ----- masking ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "masked"), [
    ("SELECT * FROM users WHERE secret_hash = 'c2VjcmV0' AND id = 42",
     "SELECT * FROM users WHERE secret_hash = '…' AND id = ?"),
    ("UPDATE t SET a = 'it''s a secret', b = -1.5e-3", "UPDATE t SET a = '…', b = -?"),
    ("SELECT E'tok\\'en', e'x', U&'d\\0061t', X'ff', B'101'", "SELECT E'…', e'…', U&'…', X'…', B'…'"),
    ("SELECT $$ dollar secret $$, $tag$ more $tag$ FROM t WHERE a = $1", "SELECT '…', '…' FROM t WHERE a = $1"),
    ("SELECT t1.col_2, \"Quoted 'x' 12\" FROM t1", "SELECT t1.col_2, \"Quoted 'x' 12\" FROM t1"),
    ("SELECT 1 -- keep 'comment' 5\n, .5, 0x1F, 1_000", "SELECT ? -- keep 'comment' 5\n, ?, ?, ?"),
    ("/* c 'x' */ SELECT 'a'", "/* c 'x' */ SELECT '…'"),
    ("INSERT INTO k VALUES ('sk_live_abc', 'unterminated", "INSERT INTO k VALUES ('…', '…'"),
    ("SELECT a$b, x FROM y", "SELECT a$b, x FROM y"),
])
def test_literals_are_masked_and_the_rest_kept(text: str, masked: str) -> None:
    assert mask_literals(text) == masked


@pytest.mark.parametrize("text", ["SELECT 1 -- note\r'secret'", "SELECT 1 -- note\r\n'secret'",
                                  "SELECT 1 -- note\n'secret'"])
def test_a_line_comment_ends_at_a_carriage_return_too(text: str) -> None:
    """PostgreSQL's lexer ends ``--`` comments at \\n or \\r: the literal after a bare \\r is SQL."""
    shown = mask_literals(text)
    assert "secret" not in shown and shown.endswith("'…'") and shown.startswith("SELECT ? -- note")


def test_masking_hides_every_secret_of_a_realistic_statement() -> None:
    secret = "pbkdf2$600000$Zq81xYw$abcdef0123456789"
    text = f"UPDATE lokstra_auth.app_keys SET secret_hash = '{secret}', last_used = now() WHERE key_id = 'kid-991'"
    shown = mask_literals(text)
    assert secret not in shown and "kid-991" not in shown and "Zq81" not in shown
    assert shown == "UPDATE lokstra_auth.app_keys SET secret_hash = '…', last_used = now() WHERE key_id = '…'"


# ----- deltas -------------------------------------------------------------------------------

def f(calls: int, total: float, rows: int = 0) -> Figures:
    return Figures(calls, total, rows, 0, 0)


A = (1, 10, 111, True)
B = (1, 10, 222, True)
C = (1, 10, 333, True)


def test_the_first_sample_has_no_interval_and_later_ones_only_the_difference() -> None:
    tracker = DeltaTracker()
    assert tracker.update({A: f(10, 100.0), B: f(5, 5.0)}) is None
    deltas = tracker.update({A: f(12, 130.0), B: f(5, 5.0)})
    assert deltas == {A: f(2, 30.0), B: f(0, 0.0)}
    assert tracker.history_all() == [30.0]
    assert tracker.history_of(A) == [30.0] and tracker.history_of(B) == [0.0]


def test_a_new_entry_and_an_entry_that_went_back_count_whole() -> None:
    tracker = DeltaTracker()
    tracker.update({A: f(10, 100.0)})
    deltas = tracker.update({A: f(3, 9.0), C: f(4, 8.0)})  # A was evicted and came back; C is new
    assert deltas == {A: f(3, 9.0), C: f(4, 8.0)}


def test_a_reset_seen_in_the_info_view_restarts_every_entry() -> None:
    tracker = DeltaTracker()
    first = datetime(2026, 1, 1)
    tracker.update({A: f(10, 100.0)}, first)
    deltas = tracker.update({A: f(11, 101.0)}, datetime(2026, 1, 2))  # reset, then 11 calls again
    assert deltas == {A: f(11, 101.0)}


@pytest.mark.parametrize("now", [
    Figures(12, 20.0, 60, 5, 5),   # more calls, less time: reset or evicted, then built up again
    Figures(12, 130.0, 5, 5, 5),   # fewer rows
    Figures(12, 130.0, 60, 1, 5),  # fewer blocks hit
    Figures(12, 130.0, 60, 5, 1),  # fewer blocks read
])
def test_an_entry_with_any_counter_gone_down_counts_whole(now: Figures) -> None:
    tracker = DeltaTracker()
    tracker.update({A: Figures(10, 100.0, 50, 4, 4)})
    deltas = tracker.update({A: now})
    assert deltas == {A: now}
    assert tracker.history_all() == [now.total_ms] and tracker.history_of(A) == [now.total_ms]


def test_float_noise_in_an_unchanged_total_is_no_change() -> None:
    """Hidden entries are summed per database and role in whatever order the view returns
    them: the same figures can add up to a total one rounding step lower."""
    tracker = DeltaTracker()
    tracker.update({A: f(10, 0.1 + 0.2 + 0.3)})
    deltas = tracker.update({A: f(10, 0.3 + 0.2 + 0.1)})
    assert 0.1 + 0.2 + 0.3 > 0.3 + 0.2 + 0.1 and deltas == {A: f(0, 0.0)}
    deltas = tracker.update({A: f(11, 0.3 + 0.2 + 0.1 + 1.0)})
    assert deltas is not None and deltas[A].calls == 1 and deltas[A].total_ms == pytest.approx(1.0)


def test_a_changed_stats_since_means_a_new_entry() -> None:
    """PostgreSQL 17 keeps stats_since per entry: an entry evicted (or reset on its own) and
    built up past its old figures within one interval is told apart by it."""
    tracker = DeltaTracker()
    first, second = datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 11)
    tracker.update({A: f(10, 100.0), B: f(5, 5.0)}, since={A: first, B: first})
    deltas = tracker.update({A: f(20, 300.0), B: f(6, 7.0)}, since={A: second, B: first})
    assert deltas == {A: f(20, 300.0), B: f(1, 2.0)}
    deltas = tracker.update({A: f(21, 301.0), B: f(6, 7.0)}, since={A: second, B: None})
    assert deltas == {A: f(1, 1.0), B: f(0, 0.0)}, "no stats_since (older servers, summed entries): the counters decide"


def test_history_is_per_interval_with_zeros_where_the_entry_did_not_run() -> None:
    tracker = DeltaTracker(history=3)
    tracker.update({A: f(0, 0.0)})
    for calls, total in [(1, 1.0), (1, 1.0), (2, 3.0), (3, 6.0)]:
        tracker.update({A: f(calls, total)})
    assert tracker.history_of(A) == [0.0, 2.0, 3.0]
    assert tracker.history_all() == [0.0, 2.0, 3.0]


def test_figures_ratios_are_none_without_data() -> None:
    assert Figures(0, 0.0, 0, 0, 0).mean_ms is None and Figures(0, 0.0, 0, 0, 0).hit_ratio is None
    assert Figures(4, 10.0, 0, 3, 1).hit_ratio == 0.75 and Figures(4, 10.0, 0, 3, 1).mean_ms == 2.5


# ----- version-picked SQL -------------------------------------------------------------------

@pytest.mark.parametrize(("version", "expected", "absent"), [
    (120005, ["s.total_time", "s.mean_time", "s.stddev_time", "s.blk_read_time", "true AS toplevel",
              "NULL::float8 AS plan_ms"], ["exec_time", "s.toplevel"]),
    (130011, ["s.total_exec_time", "s.mean_exec_time", "s.stddev_exec_time", "s.blk_read_time",
              "true AS toplevel", "s.total_plan_time"], ["shared_blk_read_time", "s.toplevel"]),
    (140010, ["s.total_exec_time", "s.toplevel AS toplevel", "s.blk_read_time + s.blk_write_time"],
     ["shared_blk_read_time"]),
    (150020, ["s.total_exec_time", "s.toplevel AS toplevel", "s.blk_read_time"], ["shared_blk_read_time"]),
    (160004, ["s.total_exec_time", "s.toplevel AS toplevel", "s.blk_read_time", "NULL::timestamptz AS stats_since"],
     ["shared_blk_read_time", "s.stats_since"]),
    (170002, ["s.total_exec_time", "s.toplevel AS toplevel",
              "s.shared_blk_read_time + s.shared_blk_write_time", "s.stats_since AS stats_since"],
     [" s.blk_read_time"]),
])
def test_the_statements_query_uses_the_columns_of_each_version(version: int, expected: list[str],
                                                                absent: list[str]) -> None:
    columns = StatementColumns.for_version(version)
    text = statements_sql(columns, "public")
    for part in expected:
        assert part in text, part
    for part in absent:
        assert part not in text, part
    assert "pg_stat_statements(false)" in text and "pg_stat_statements(true)" in texts_sql(columns, "public")
    assert columns.has_info is (version >= 140000)
    assert ("stats_since" in columns.required()) is (version >= 170000)


def test_a_sample_hands_each_entrys_stats_since_to_the_deltas() -> None:
    """Rows as sql.statements_sql returns them (PostgreSQL 17): entry A was evicted and built
    up past its old figures between two samples; only its stats_since tells."""
    monitor = PostgresMonitor(object())
    first, second = datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 11)

    def row(queryid: int | None, calls: int, total: float, since: datetime) -> tuple[object, ...]:
        return (1, 10, queryid, True, "db", "role", calls, total, total / calls, 0.0, calls, 0, 0, None, None, since)

    def sample(*rows: tuple[object, ...]) -> Sample:
        taken = Sample(taken_at=datetime(2026, 1, 1), seconds=0.0, interval_seconds=None)
        monitor._fill_statements(taken, list(rows), None)
        return taken

    sample(row(111, 10, 100.0, first), row(222, 5, 5.0, first), row(None, 1, 1.0, first), row(None, 1, 1.0, first))
    later = sample(row(111, 20, 300.0, second), row(222, 6, 7.0, first),
                   row(None, 1, 1.0, second), row(None, 1, 1.0, first))
    intervals = {s.key[2]: s.interval for s in later.statements or []}
    assert intervals[111] == Figures(20, 300.0, 20, 0, 0), "a new stats_since: the whole figures"
    assert intervals[222] == Figures(1, 2.0, 1, 0, 0)
    assert intervals[None] == Figures(0, 0.0, 0, 0, 0), "entries summed together have no one stats_since"


# ----- store timings ------------------------------------------------------------------------

async def test_every_store_operation_is_timed_per_stores_object() -> None:
    stores = await open_stores(Settings(use_postgres=False, demo_data=True))
    other = await open_stores(Settings(use_postgres=False, demo_data=False))
    tenants = (await stores.tenants.page(limit=5)).rows
    for _ in range(3):
        await stores.tenants.get(tenants[0].id)
    with pytest.raises(NotFound):
        await stores.tenants.get("no-such-tenant")
    stats = {t.name: t for t in stores.timings.snapshot()}
    assert stats["tenants.get"].calls == 4 and stats["tenants.get"].errors == 1
    assert stats["tenants.page"].calls == 1 and stats["tenants.page"].errors == 0
    get = stats["tenants.get"]
    assert 0 < get.mean_ms <= get.p95_ms <= get.max_ms and get.total_ms == pytest.approx(get.mean_ms * 4)
    assert other.timings.snapshot() == []  # a registry per Stores object, nothing global
    assert type(stores.tenants).get is not stores.tenants.get  # the instance is wrapped, not the class


async def test_p95_comes_from_the_recent_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter(range(10**6))
    clock_values: list[float] = []

    def clock() -> float:
        value = next(ticks) * 0.001
        clock_values.append(value)
        return value

    monkeypatch.setattr(timing_module, "CLOCK", clock)
    registry = Timings()

    class Store:
        async def work(self) -> int:
            clock()  # one tick inside: every call lasts 2 ms on this clock
            return 1

    store = Store()
    registry.instrument("s", store)
    for _ in range(RECENT + 10):
        assert await store.work() == 1
    (row,) = registry.snapshot()
    assert row.calls == RECENT + 10 and row.mean_ms == pytest.approx(2.0) and row.p95_ms == pytest.approx(2.0)
    assert row.max_ms == pytest.approx(2.0)
    registry.reset()
    await store.work()
    assert registry.snapshot()[0].calls == 1  # reset in place: the wrapped method still records


def test_the_text_filter_matches_what_is_shown_not_the_hidden_literals() -> None:
    """Utility statements keep their literals in pg_stat_statements; filtering on the raw
    text would let an operator test for a password the screen masks."""
    from console.screens.monitor.statements import StatementFilter
    from stores.monitor.models import Statement

    statement = Statement(key=(1, 2, 3, True), database="lokstra", role="app", totals=f(1, 1.0), stddev_ms=None,
                          io_ms=None, plan_ms=None, query="ALTER ROLE app PASSWORD 'Hunter2-Secret'")
    assert StatementFilter.parse("alter role").matches(statement)
    assert not StatementFilter.parse("hunter2").matches(statement)
