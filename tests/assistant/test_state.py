"""Conversation state in SQLite: round trips, transcripts, schema versions."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.errors import AssistantOperatorError
from assistant.state import ActiveFilters, SessionState, SessionStore, TranscriptLine


def test_state_and_transcript_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    store = SessionStore(path)
    assert store.load("new", "C001") == SessionState(session_id="new", customer_id="C001")
    state = SessionState(
        session_id="s",
        shown=["a", "b"],
        filters=ActiveFilters(query="mouse", price_max=Decimal("29.99"), brands=["Logitech"]),
    )
    store.save(
        state, [TranscriptLine("user", "hi"), TranscriptLine("assistant", "hello", {"x": 1})]
    )
    store.save(state, [TranscriptLine("user", "again")])
    store.close()
    reopened = SessionStore(path)
    assert reopened.load("s") == state
    assert [(t.role, t.text, t.data) for t in reopened.transcript("s")] == [
        ("user", "hi", {}),
        ("assistant", "hello", {"x": 1}),
        ("user", "again", {}),
    ]
    assert [s[0] for s in reopened.sessions()] == ["s"]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    SessionStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(AssistantOperatorError, match="schema 99"):
        SessionStore(path)


def test_a_failed_write_leaves_nothing_half_done(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "c.sqlite3")
    state = SessionState(session_id="s", shown=["a"])
    bad = TranscriptLine("user", None)  # type: ignore[arg-type]  # NOT NULL violation
    with pytest.raises(sqlite3.IntegrityError):
        store.save(state, [TranscriptLine("user", "ok"), bad])
    assert store.transcript("s") == [] and store.load("s").shown == []


def test_append_adds_lines_and_leaves_the_state_alone(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "c.sqlite3")
    state = SessionState(session_id="s", customer_id="C001", shown=["a", "b"])
    store.save(state, [TranscriptLine("user", "hi")])
    store.append("s", [TranscriptLine("agent", "An agent here.")], "C001")
    assert store.load("s") == state
    assert [(t.role, t.text) for t in store.transcript("s")] == [
        ("user", "hi"),
        ("agent", "An agent here."),
    ]
    store.append("new", [TranscriptLine("agent", "Hello?")], None)
    assert store.load("new").session_id == "new" and len(store.transcript("new")) == 1
