"""Shared fixtures. Keep each one small; several test modules rely on them."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL URL from EVENTDECK_TEST_PG_URL; skips the test when it is unset."""
    url = os.environ.get("EVENTDECK_TEST_PG_URL")
    if not url:
        pytest.skip("set EVENTDECK_TEST_PG_URL to run the PostgreSQL tests")
    return url
