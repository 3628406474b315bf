"""Errors of the ranking package, organised by who must act.

::

    RankingError              base of everything raised by `ranking`
    ├── RankingInputError     the caller's data is wrong (a bad pairs file, bad weights)
    └── RankingOperatorError  the deployment is wrong: fix the set-up
        ├── ModelMissing      the trained re-ranker is not where it should be
        └── MissingExtra      an optional dependency is not installed
"""

from __future__ import annotations


class RankingError(Exception):
    """Base of every error raised by `ranking`."""


class RankingInputError(RankingError):
    """The caller's data is wrong; the message says what to fix."""


class RankingOperatorError(RankingError):
    """The deployment is wrong; the message says how to fix it."""


class ModelMissing(RankingOperatorError):
    """The trained re-ranker cannot be found."""


class MissingExtra(RankingOperatorError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the package {package!r} - run `make install` "
            f"(or `pip install {package}`)."
        )
