"""The capability probe reports the monitoring privileges the role really uses.

PostgreSQL checks stats visibility and backend signalling with the privileges a role
inherits, not with bare membership: a NOINHERIT role granted pg_read_all_stats still sees
only its own queries until it runs SET ROLE."""
from __future__ import annotations

import pytest

from stores.monitor import PostgresMonitor
from tests.monitor.conftest import grant_schema, open_engine, with_user
from tests.monitor.test_monitor_pg import workload
from tests.support.server import PgServer

NOINHERIT_ROLE = "lokstra_monitor_noinherit"
INHERIT_ROLE = "lokstra_monitor_inherit"


def create_role(pg_server: PgServer, role: str, inherit: bool) -> None:
    attribute = "INHERIT" if inherit else "NOINHERIT"
    pg_server.execute(f"DO $$ BEGIN CREATE ROLE {role} LOGIN {attribute}; "
                      "EXCEPTION WHEN duplicate_object THEN NULL; END $$; "
                      f"ALTER ROLE {role} {attribute}; GRANT pg_read_all_stats, pg_signal_backend TO {role}")


@pytest.mark.parametrize(("role", "inherit"), [(NOINHERIT_ROLE, False), (INHERIT_ROLE, True)])
async def test_membership_without_inheritance_is_a_gap(pg_server: PgServer, stats_db: str,
                                                      role: str, inherit: bool) -> None:
    create_role(pg_server, role, inherit)
    grant_schema(pg_server, stats_db, role)
    await workload(stats_db)  # as postgres: another role's statements
    engine = await open_engine(with_user(stats_db, role))
    try:
        monitor = PostgresMonitor(engine)
        sample = await monitor.sample()
        caps = monitor.capabilities
        assert caps is not None and caps.readable and not caps.superuser
        hidden = [s for s in sample.statements or [] if s.key[2] is None]
        assert bool(hidden) is not inherit, "what the server really shows this role"
        assert caps.all_stats is inherit and caps.read_all_stats is inherit
        assert caps.may_signal_others is inherit and caps.signal_backend is inherit
        gaps = " ".join(gap.what for gap in caps.gaps())
        fixes = " ".join(gap.fix for gap in caps.gaps())
        assert (f"ALTER ROLE {role} INHERIT" in fixes) is not inherit, "another GRANT would change nothing"
        assert "GRANT pg_monitor" not in fixes
        assert (f"Role {role} sees only its own queries" in gaps) is not inherit
        assert (f"Role {role} may cancel or terminate only its own sessions" in gaps) is not inherit
    finally:
        await engine.close()
