"""The SQLite file behind the conversation state and the store: WAL, versioned schema, one lock.

Both `SessionStore` and `Store` keep one connection in autocommit mode, shared between threads
under a lock; every write is an explicit `BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.errors import AssistantOperatorError


class SqliteFile:
    """One SQLite database with a schema version in `PRAGMA user_version`.

    Args:
        path: The database file (created with its folder); ":memory:" for a throw-away one.
        schema: `CREATE ... IF NOT EXISTS` statements, separated by ";".
        version: The schema version this code writes.
        what: What the file holds, for the error message ("conversation", "store").

    Raises:
        AssistantOperatorError: The file was written by a newer schema.
    """

    def __init__(self, path: Path | str, schema: str, version: int, what: str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA foreign_keys=ON")
        found = self._db.execute("PRAGMA user_version").fetchone()[0]
        if found > version:
            raise AssistantOperatorError(
                f"{path} has {what} schema {found}; this version reads up to {version}: "
                "upgrade shopassist or point SHOPASSIST_HOME elsewhere"
            )
        with self._tx() as db:
            for statement in filter(str.strip, schema.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version={version}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
