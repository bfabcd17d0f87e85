"""Fixtures shared by integration tests of several modules."""

import logging

import pytest


@pytest.fixture
def pii(caplog):
    """Collects the personal data a test uses (`remember`); at the end, no log line may
    contain any of it."""
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = []
    yield secrets
    assert secrets
    from tests.integration.test_notifications_support import assert_no_pii_logged

    assert_no_pii_logged(caplog.records, secrets)
