"""What the differential fuzzer (test_fuzz.py) found, each as a plain test on both backends.

A test marked ``xfail(strict=True)`` is a bug in a file this suite does not own, reported
to its owner: it starts passing (and so failing as XPASS) when the bug is fixed; then drop
the marker and the matching ``KNOWN_CRASHES`` entry in test_fuzz.py.
"""
from __future__ import annotations

import pytest

from stores import Stores
from stores.errors import ValidationFailed
from tests.support.factories import app, tenant, user


async def _with_parents(stores: Stores) -> None:
    await stores.tenants.create(tenant("t1"))
    await stores.apps.create(app("t1", "a1"))
    await stores.users.create(user("t1", "u1"))


@pytest.mark.parametrize("bad_id", ["", " ", " u1", "x" * 256])
async def test_granting_with_a_blank_or_too_long_id_is_a_validation_failure(stores: Stores, bad_id: str) -> None:
    await _with_parents(stores)
    with pytest.raises(ValidationFailed):
        await stores.user_apps.grant_access("t1", "a1", bad_id)


async def test_floats_in_json_read_back_the_same_on_both_backends(stores: Stores) -> None:
    """jsonb keeps a number as decimal text: 1e+16 came back from PostgreSQL as the int
    10000000000000000 and 1.5e+300 as 15·10^299 while memory kept the floats; -0.0 came back
    as 0.0. Fixed in stores/models.py (``jsonb_numbers``): both now hold what jsonb returns."""
    sent = {"big": 1e16, "huge": 1.5e300, "negative": -2.5e17, "zero": -0.0, "small": 1e-7, "plain": 100.0,
            "nested": [{"x": 1e20}], "int": 2 ** 70}
    created = await stores.tenants.create(tenant("t1", metadata=sent))
    read = await stores.tenants.get("t1")
    expected = {"big": 10 ** 16, "huge": 15 * 10 ** 299, "negative": -25 * 10 ** 16, "zero": 0.0, "small": 1e-7,
                "plain": 100.0, "nested": [{"x": 10 ** 20}], "int": 2 ** 70}
    for found in (created.metadata, read.metadata):
        assert found == expected
        assert type(found["big"]) is int and type(found["plain"]) is float and str(found["zero"]) == "0.0"
    assert float(read.metadata["huge"]) == 1.5e300  # the same number, as the decimal text says it
