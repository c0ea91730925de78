"""Fixtures of the client's tests (the shared ones are in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_key_or_base_url_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test sees neither TWELVE_LABS_API_KEY nor ASYNCANALYZE_BASE_URL, whatever is set."""
    monkeypatch.delenv("TWELVE_LABS_API_KEY", raising=False)
    monkeypatch.delenv("ASYNCANALYZE_BASE_URL", raising=False)
