"""Errors of the assistant, organised by who must act.

::

    AssistantError              base of everything raised by `assistant`
    ├── ModelError              the model misbehaved: the turn falls back to parser + templates
    │   ├── ModelUnavailable    the server is down, slow, or answered with an error
    │   └── ExtractionFailed    every attempt gave output that does not fit the schema
    ├── AssistantOperatorError  the deployment is wrong: fix the set-up
    └── UngroundedReply         a reply failed the final grounding check (strict mode only)
"""

from __future__ import annotations

from typing import Any


class AssistantError(Exception):
    """Base of every error raised by the assistant."""


class ModelError(AssistantError):
    """The model misbehaved; the caller falls back to deterministic behaviour."""


class ModelUnavailable(ModelError):
    """The model server cannot be reached, timed out, or answered with an error."""


class ExtractionFailed(ModelError):
    """Structured output failed validation on every attempt.

    Attributes:
        attempts: How many completions were tried.
        last_completion: The last text the model returned.
    """

    def __init__(self, message: str, attempts: int, last_completion: Any) -> None:
        super().__init__(f"{message} (after {attempts} attempts; last: {last_completion!r:.200})")
        self.attempts = attempts
        self.last_completion = last_completion


class AssistantOperatorError(AssistantError):
    """The deployment is wrong; the message says how to fix it."""


class UngroundedReply(AssistantError):
    """A finished reply states something its tool results do not (a template bug).

    Raised only with `SHOPASSIST_STRICT_GROUNDING=1`, which the test suite sets, so that no test
    anywhere can pass while a reply shows an unbacked product, price or claim; in production the
    reply is logged as an error and reported with `grounded: false`.
    """
