"""The agent-assist console's logic: the handoff queue, live conversations, agent messages and
take-over, over the `SessionStore` (no Gradio here).

The queue is a pluggable source, a callable returning `QueueRow`s: `store_queue` reads the store
database's human queue; `handoff_sessions` (the fallback when there is no store) lists the
sessions whose last turn handed the conversation over.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.state import SessionStore, TranscriptLine


@dataclass(frozen=True)
class QueueRow:
    """A conversation waiting for a human.

    Attributes:
        session_id: The conversation.
        customer_id: The signed-in customer, if any.
        reason: Why it was handed over.
        status: "waiting", "assigned", ...
        since: When it was queued (ISO time, UTC).
        ticket: The queue entry's id, when the queue has ids.
    """

    session_id: str
    customer_id: str | None
    reason: str
    status: str
    since: str
    ticket: int | None = None


QueueSource = Callable[[], list[QueueRow]]


class HandoffQueue(Protocol):
    """What `store_queue` needs of the store: its queue listing and assignment."""

    def queue(self, status: str | None = "waiting") -> list[Any]:
        """Queue entries, oldest first."""
        ...

    def assign(self, handoff_id: int, agent: str) -> Any:
        """An agent takes a waiting entry."""
        ...


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def store_queue(store: HandoffQueue) -> QueueSource:
    """The waiting and assigned entries of the store's human queue."""

    def rows() -> list[QueueRow]:
        return [
            QueueRow(
                e.session_id,
                e.customer_id,
                e.reason,
                e.status,
                e.created_at.isoformat(timespec="seconds"),
                e.id,
            )
            for e in store.queue(None)
            if e.status in ("waiting", "assigned")
        ]

    return rows


def handoff_sessions(sessions: SessionStore, limit: int = 100) -> QueueSource:
    """The recent sessions whose last assistant turn handed the conversation to a human."""

    def rows() -> list[QueueRow]:
        out = []
        for session_id, customer_id, updated in sessions.sessions(limit):
            last = next(
                (ln for ln in reversed(sessions.transcript(session_id)) if ln.role == "assistant"),
                None,
            )
            if last is not None and last.data.get("handoff"):
                out.append(
                    QueueRow(session_id, customer_id, "handed over", "waiting", _iso(updated))
                )
        return out

    return rows


def queue_of(assistant: Any) -> QueueSource:
    """The assistant's human queue: its store's, when its service desk has a store with a
    queue, else the sessions whose last turn was a handoff."""
    store = getattr(getattr(getattr(assistant, "service", None), "tools", None), "store", None)
    if store is not None and hasattr(store, "queue") and hasattr(store, "assign"):
        return store_queue(store)
    return handoff_sessions(assistant.store)


def append_lines(
    sessions: SessionStore, session_id: str, lines: list[TranscriptLine], customer_id: str | None
) -> None:
    """Append transcript lines to a session without a turn (its state unchanged)."""
    sessions.append(session_id, lines, customer_id)


@dataclass
class ConsoleView:
    """What the console shows of one conversation.

    Attributes:
        lines: The transcript as (role, text).
        intent: The last turn's extracted intent.
        cards: The products of the last turn that showed some (as JSON data, with their
            retrieval and re-rank scores).
        suggestion: A reply the agent may edit and send.
        taken: Whether an agent has taken the conversation over.
    """

    session_id: str
    customer_id: str | None
    lines: list[tuple[str, str]] = field(default_factory=list)
    intent: dict[str, Any] = field(default_factory=dict)
    cards: list[dict[str, Any]] = field(default_factory=list)
    suggestion: str = ""
    taken: bool = False


class Console:
    """The agent's side of the conversations.

    Args:
        sessions: The conversation store.
        queue: The handoff queue source.
        assign: Called with (ticket, agent) when an agent takes over a queued conversation.
        resolve: Called with the ticket when the agent hands a queued conversation back.
        agent: The agent's name in the transcript.

    With a store queue, a taken-over conversation is its "assigned" queue entry, so a restart
    of the app keeps it; without one, the console remembers take-overs in memory.
    """

    def __init__(
        self,
        sessions: SessionStore,
        queue: QueueSource,
        assign: Callable[[int, str], object] | None = None,
        agent: str = "agent",
        resolve: Callable[[int], object] | None = None,
    ) -> None:
        self.sessions, self.queue, self.assign, self.agent = sessions, queue, assign, agent
        self.resolve = resolve
        self._taken: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, assistant: Any, queue: QueueSource | None = None) -> Console:
        """The console over an assistant's sessions and its human queue (or `queue`)."""
        store = getattr(getattr(getattr(assistant, "service", None), "tools", None), "store", None)
        assign = getattr(store, "assign", None) if queue is None else None
        resolve = getattr(store, "resolve", None) if queue is None else None
        return cls(assistant.store, queue or queue_of(assistant), assign, resolve=resolve)

    # -- take-over -----------------------------------------------------------------------------

    def taken(self, session_id: str) -> bool:
        """Whether an agent answers this conversation instead of the assistant."""
        with self._lock:
            if session_id in self._taken:
                return True
        if self.assign is None:
            return False
        return any(r.session_id == session_id and r.status == "assigned" for r in self.queue())

    def take_over(self, session_id: str) -> None:
        """The agent answers this conversation from now on (and takes its queue entry)."""
        with self._lock:
            self._taken.add(session_id)
        if self.assign is not None:
            for row in self.queue():
                if row.session_id == session_id and row.status == "waiting" and row.ticket:
                    self.assign(row.ticket, self.agent)

    def hand_back(self, session_id: str) -> None:
        """The assistant answers this conversation again."""
        with self._lock:
            self._taken.discard(session_id)
        if self.resolve is not None:
            for row in self.queue():
                if row.session_id == session_id and row.ticket:
                    self.resolve(row.ticket)

    # -- messages ------------------------------------------------------------------------------

    def send(self, session_id: str, text: str) -> None:
        """Append the agent's message to the conversation (the customer's page shows it).

        Raises:
            ValueError: The message is empty or the conversation unknown.
        """
        text = text.strip()
        if not text:
            raise ValueError("the message is empty")
        if not self.sessions.transcript(session_id):
            raise ValueError(f"no conversation {session_id!r}")
        line = TranscriptLine("agent", text, {"agent": self.agent})
        append_lines(self.sessions, session_id, [line], None)

    def customer_wrote(self, session_id: str, text: str, customer_id: str | None) -> None:
        """Record a customer's message for the agent (the assistant does not answer it)."""
        line = TranscriptLine("user", " ".join(text.split()), {"to_agent": True})
        append_lines(self.sessions, session_id, [line], customer_id)

    def agent_lines(self, session_id: str) -> list[str]:
        """The agent's messages in a conversation, oldest first."""
        return [ln.text for ln in self.sessions.transcript(session_id) if ln.role == "agent"]

    # -- what the console lists and shows -------------------------------------------------------

    def conversations(self, limit: int = 50) -> list[list[object]]:
        """Rows of (session, customer, who answers, messages, last activity), newest first."""
        waiting = {r.session_id for r in self.queue() if r.status == "waiting"}
        rows: list[list[object]] = []
        for session_id, customer_id, updated in self.sessions.sessions(limit):
            n = sum(1 for ln in self.sessions.transcript(session_id) if ln.role == "user")
            who = (
                "agent"
                if self.taken(session_id)
                else ("waiting for a human" if session_id in waiting else "assistant")
            )
            rows.append([session_id, customer_id or "-", who, n, _iso(updated)])
        return rows

    def view(self, session_id: str) -> ConsoleView:
        """The conversation as the console shows it."""
        transcript = self.sessions.transcript(session_id)
        state = self.sessions.load(session_id)
        view = ConsoleView(session_id, state.customer_id, taken=self.taken(session_id))
        view.lines = [(ln.role, ln.text) for ln in transcript]
        last = next((ln for ln in reversed(transcript) if ln.role == "assistant"), None)
        if last is not None:
            view.intent = dict(last.data.get("intent") or {})
        shown = next((ln for ln in reversed(transcript) if ln.data.get("cards")), None)
        if shown is not None:
            view.cards = list(shown.data["cards"])
        view.suggestion = suggest(transcript)
        return view


def suggest(transcript: list[TranscriptLine]) -> str:
    """The reply the console suggests: the assistant's answer to the last customer message, or,
    when that message went to a human (handoff, take-over), an opening the agent edits."""
    if not transcript:
        return ""
    last = transcript[-1]
    if last.role == "assistant" and not last.data.get("handoff"):
        return last.text
    if last.role == "agent":
        return ""
    asked = next((ln.text for ln in reversed(transcript) if ln.role == "user"), "")
    order = None
    for ln in reversed(transcript):
        intent = ln.data.get("intent") or {}
        order = intent.get("order_id") if isinstance(intent, dict) else None
        if order:
            break
    about = f" about order {order}" if order else ""
    quoted = f' ("{asked[:80]}")' if asked else ""
    return (
        f"Hello, I am a member of the store team and I have read our conversation{about}"
        f"{quoted}. Let me look into it for you."
    )
