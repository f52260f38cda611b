"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest
from moto import mock_aws


@pytest.fixture
def mocked_aws(monkeypatch):
    """moto in-process, with nothing of the caller's environment (an endpoint, a profile) leaking in."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield
