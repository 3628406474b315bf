"""Errors of the catalog, organised by who must act.

::

    CatalogError                  base of everything raised by `retrieval`
    ├── CatalogInputError         the caller's data is wrong: fix the input
    │   ├── ProductNotFound       no product with that id
    │   └── EventError            a catalog event (feed line) is malformed
    └── CatalogOperatorError      the deployment is wrong: fix the set-up
        ├── CatalogSourceError    a catalog file or folder is missing or unreadable
        ├── IndexUnavailable      the Chroma store cannot be reached or opened
        └── MissingExtra          an optional dependency is not installed
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base of every error raised by the catalog."""


class CatalogInputError(CatalogError):
    """The caller's data is wrong; the message says what to fix."""


class ProductNotFound(CatalogInputError):
    """No product has this id."""

    def __init__(self, product_id: str) -> None:
        super().__init__(f"No product with id {product_id!r} - list ids with `shopassist search`.")
        self.product_id = product_id


class EventError(CatalogInputError):
    """A catalog event is malformed.

    Attributes:
        line: 1-based line number in the feed, when the event came from a file.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        prefix = f"line {line}: " if line is not None else ""
        super().__init__(prefix + message)
        self.line = line


class CatalogOperatorError(CatalogError):
    """The deployment is wrong; the message says how to fix it."""


class CatalogSourceError(CatalogOperatorError):
    """A catalog source file or folder is missing or unreadable."""


class IndexUnavailable(CatalogOperatorError):
    """The Chroma store cannot be reached or opened."""


class MissingExtra(CatalogOperatorError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the package {package!r} - run `make install` "
            f"(or `pip install {package}`)."
        )
