"""stores.secrets.mask_dsn: every password libpq (or a URL parser) would read is masked.

Over-masking within one line is acceptable; showing any part of a password is not."""
from __future__ import annotations

import pytest

from stores.postgres.diagnose import scrub
from stores.secrets import mask_dsn


@pytest.mark.parametrize(("dsn", "masked"), [
    # URL user info
    ("postgres://app:s3cr3t@db/x", "postgres://app:****@db/x"),
    ("postgresql://app:Url-Pw-Hx81@db:5432/auth failed", "postgresql://app:****@db:5432/auth failed"),
    ("tenant created with postgres://acme_app:pw@db.internal", "tenant created with postgres://acme_app:****@db.internal"),
    ("postgres://app@db/x", "postgres://app@db/x"),
    ("postgres://app:@db/x", "postgres://app:@db/x"),
    ("postgres://u:pa/ss@h/d", "postgres://u:****@h/d"),
    ("postgres://u:p@ss@h/d", "postgres://u:****@h/d"),
    ("postgres://u:pw@/d?host=/run/pg", "postgres://u:****@/d?host=/run/pg"),
    # URL query parameters
    ("postgres://db/x?user=a&password=qp-1&sslmode=require", "postgres://db/x?user=a&password=****&sslmode=require"),
    ("postgres://db/x?sslpassword=k1", "postgres://db/x?sslpassword=****"),
    # key=value
    ("host=db port=5432 password=Kv-Pw-Qm52 dbname=auth", "host=db port=5432 password=**** dbname=auth"),
    ("host=db password = 'a b\\'c' dbname=x", "host=db password = **** dbname=x"),
    ("host=db PASSWORD=x sslpassword=y", "host=db PASSWORD=**** sslpassword=****"),
    ("host=db dbname=x", "host=db dbname=x"),
    ("no dsn here: user@example.com, a=b", "no dsn here: user@example.com, a=b"),
])
def test_known_forms_are_masked(dsn: str, masked: str) -> None:
    assert mask_dsn(dsn) == masked


@pytest.mark.parametrize(("dsn", "secret"), [
    ("host=db password=ab'cdSECRET dbname=x", "cdSECRET"),        # a quote inside an unquoted value
    ("host=db password=ab\\ cdSECRET dbname=x", "cdSECRET"),      # a backslash-escaped space
    ("host=db password='ab cdSECRET", "cdSECRET"),                # an unterminated quoted value
    ("host=db password='ab\ncdSECRET' dbname=x", "cdSECRET"),     # a quoted value over two lines
    ("postgres://u:pa ssSECRET@h/d", "ssSECRET"),                 # a space in the URL password
    ("connect to postgres://u:a b cSECRET@db.internal:5432/auth failed", "cSECRET"),
    ("postgres://h/d?password=ab cdSECRET", "cdSECRET"),          # libpq reads a query value up to &
])
def test_no_part_of_an_odd_password_is_shown(dsn: str, secret: str) -> None:
    shown = mask_dsn(dsn)
    assert secret not in shown and "****" in shown, shown


def test_a_url_password_is_masked_up_to_the_last_at_on_its_line_only() -> None:
    text = "copy from postgres://u:pa ss@h1/d\nnext line mail@example.com"
    assert mask_dsn(text) == "copy from postgres://u:****@h1/d\nnext line mail@example.com"


def test_scrub_masks_the_odd_forms_too() -> None:
    text = scrub("refused: host=db password=ab\\ cdSECRET and postgres://u:x ySECRET@h/d", [])
    assert "SECRET" not in text
