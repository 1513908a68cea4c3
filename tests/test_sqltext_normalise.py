"""Function bodies compared by meaning: ``migrations.sqltext.normalise_body``."""
from __future__ import annotations

import pytest

from migrations.sqltext import normalise_body

BODY = "\nBEGIN\n    NEW.updated_at = NOW();\n    RETURN NEW;\nEND;\n"


@pytest.mark.parametrize("other", [
    "begin new.updated_at = now(); return new; end;",
    "BEGIN\n\t-- refresh\n\tNEW.updated_at=NOW ( );\n\tRETURN NEW; /* done */\nEND ;\n",
    "BEGIN /* a /* nested */ comment */ NEW.updated_at = NOW(); RETURN NEW; END;",
])
def test_case_spacing_and_comments_do_not_matter(other: str) -> None:
    assert normalise_body(other) == normalise_body(BODY)


@pytest.mark.parametrize("other", [
    "BEGIN NEW.updated_at = clock_timestamp(); RETURN NEW; END;",
    "BEGIN NEW.created_at = NOW(); RETURN NEW; END;",
    "BEGIN NEW.updated_at = NOW(); RETURN OLD; END;",
])
def test_a_different_statement_is_different(other: str) -> None:
    assert normalise_body(other) != normalise_body(BODY)


@pytest.mark.parametrize("left, right", [
    ("RAISE EXCEPTION 'Owner missing';", "RAISE EXCEPTION 'owner missing';"),
    ("RAISE EXCEPTION 'a  b';", "RAISE EXCEPTION 'a b';"),
    ('SELECT "Name" FROM t;', 'SELECT "name" FROM t;'),
    ("SELECT $x$Keep Case$x$;", "SELECT $x$keep case$x$;"),
    ("SELECT '-- not a comment';", "SELECT '';"),
])
def test_quoted_text_keeps_its_case_spacing_and_dashes(left: str, right: str) -> None:
    assert normalise_body(left) != normalise_body(right)
    folded = left.replace("RAISE EXCEPTION", "raise exception").replace("SELECT", "select").replace("FROM", "from")
    assert normalise_body(folded) == normalise_body(left)
