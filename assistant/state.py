"""Conversation state in SQLite: what each session was shown, its active filters, its transcript.

One file under `SHOPASSIST_HOME` (WAL mode, schema version in `PRAGMA user_version`), so a
restarted process continues every conversation where it stopped. A turn's state and transcript
lines are written in one transaction: a crash leaves the turn either fully recorded or absent.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assistant.intent import SortOrder
from assistant.sqlite import SqliteFile

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    customer_id TEXT,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    n INTEGER NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (session_id, n)
);
"""


class ActiveFilters(BaseModel):
    """The search a conversation is refining: what "cheaper" or "only Logitech" applies to."""

    model_config = ConfigDict(extra="forbid")

    query: str = ""
    brands: list[str] = Field(default_factory=list)
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    sort: SortOrder | None = None
    in_stock: bool = False
    category: str | None = None
    page: int = Field(default=0, ge=0)


class SessionState(BaseModel):
    """Everything a session remembers between turns.

    Attributes:
        session_id: The conversation's id.
        customer_id: The signed-in customer, if any.
        shown: Product ids of the last product list, in the order shown ("the second one").
        subject: The product the conversation is about now ("is it in stock?").
        filters: The active search.
        turns: Customer messages so far.
        pending: A store action waiting for the customer's yes or no in the next message
            (set and read by the service desk, e.g. {"action": "return", "order_id": "1011"}).
        order_id: The order the conversation is about ("I want to return it").
        stalls: Consecutive service turns without progress (two hand the conversation over).
        seen: Products shown or talked about, the most recent first ("add the printer" after
            the ink cartridges for it were listed).
        compared: Product ids of the last comparison while its list is shown ("which one is
            cheaper?" picks among them).
        why_shown: Why the products of `shown` were chosen, said again to "why?" ("" when the
            list has no such account).
    """

    model_config = ConfigDict(extra="forbid")

    session_id: str
    customer_id: str | None = None
    shown: list[str] = Field(default_factory=list)
    subject: str | None = None
    filters: ActiveFilters = Field(default_factory=ActiveFilters)
    turns: int = 0
    pending: dict[str, Any] | None = None
    order_id: str | None = None
    stalls: int = 0
    seen: list[str] = Field(default_factory=list)
    compared: list[str] = Field(default_factory=list)
    why_shown: str = ""


@dataclass
class TranscriptLine:
    """One line of a transcript: a customer message or an assistant reply, with its data."""

    role: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0


class SessionStore(SqliteFile):
    """Sessions and transcripts in one SQLite file; safe to share between threads.

    Args:
        path: The database file (created with its folder); ":memory:" for a throw-away store.

    Raises:
        AssistantOperatorError: The file was written by a newer schema.
    """

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, _SCHEMA, SCHEMA_VERSION, "conversation")

    def load(self, session_id: str, customer_id: str | None = None) -> SessionState:
        """The session's state; a new, empty one when the id is unknown."""
        rows = self._read("SELECT state FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            return SessionState(session_id=session_id, customer_id=customer_id)
        return SessionState.model_validate_json(rows[0][0])

    def save(self, state: SessionState, lines: list[TranscriptLine]) -> None:
        """Store the state and append the turn's transcript lines, atomically."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO sessions (id, customer_id, state, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "customer_id = excluded.customer_id, state = excluded.state, "
                "updated_at = excluded.updated_at",
                (state.session_id, state.customer_id, state.model_dump_json(), now, now),
            )
            self._append(db, state.session_id, lines, now)

    def append(self, session_id: str, lines: list[TranscriptLine], customer_id: str | None) -> None:
        """Append transcript lines without a turn (an agent's message): the session's state is
        left as it is, so a turn running at the same moment loses nothing."""
        now = time.time()
        initial = SessionState(session_id=session_id, customer_id=customer_id).model_dump_json()
        with self._tx() as db:
            db.execute(
                "INSERT INTO sessions (id, customer_id, state, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "updated_at = excluded.updated_at",
                (session_id, customer_id, initial, now, now),
            )
            self._append(db, session_id, lines, now)

    def _append(
        self, db: sqlite3.Connection, session_id: str, lines: list[TranscriptLine], now: float
    ) -> None:
        (n,) = db.execute(
            "SELECT COALESCE(MAX(n), 0) FROM turns WHERE session_id = ?", (session_id,)
        ).fetchone()
        db.executemany(
            "INSERT INTO turns (session_id, n, role, text, data, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (session_id, n + i, line.role, line.text, _dumps(line.data), now)
                for i, line in enumerate(lines, start=1)
            ],
        )

    def transcript(self, session_id: str) -> list[TranscriptLine]:
        """The session's lines, oldest first."""
        rows = self._read(
            "SELECT role, text, data, created_at FROM turns WHERE session_id = ? ORDER BY n",
            (session_id,),
        )
        return [TranscriptLine(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def sessions(self, limit: int = 100) -> list[tuple[str, str | None, float]]:
        """(id, customer, last activity) of the most recently active sessions."""
        rows = self._read(
            "SELECT id, customer_id, updated_at FROM sessions ORDER BY updated_at DESC LIMIT ?",
            (limit,),
        )
        return [(r[0], r[1], r[2]) for r in rows]


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)
