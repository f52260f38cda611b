"""Fixtures shared by the unit and integration tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
# Filter plugins and module_utils are plain Python files: import them directly.
sys.path.insert(0, str(REPO / "filter_plugins"))

from support.cloud import LocalCloud  # noqa: E402


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory):
    """One emulator for the session, on a free port; tests reset it as they need."""
    cloud = LocalCloud(tmp_path_factory.mktemp("local-cloud")).start()
    yield cloud
    cloud.stop()
