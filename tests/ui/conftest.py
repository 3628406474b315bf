"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose home is a fresh temporary folder, with the fast hash embedders and
    embedded Chroma."""
    monkeypatch.setenv("SHOPASSIST_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPASSIST_EMBEDDER", "hash")
    monkeypatch.setenv("SHOPASSIST_QUERY_EMBEDDER", "hash")
    monkeypatch.delenv("SHOPASSIST_CHROMA_URL", raising=False)
    return CliRunner()
