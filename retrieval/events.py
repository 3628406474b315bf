"""Catalog change events and the JSON-lines feed that carries them.

One event per line::

    {"op": "upsert", "product": {"id": "42", "title": "...", "price": 19.99, "version": 3, ...}}
    {"op": "patch", "id": "42", "price": 17.49, "stock": 3, "version": 4}
    {"op": "delete", "id": "42", "version": 5}

`version` orders the events of one product: an event whose version is not newer than the stored
one is ignored (so replaying a feed changes nothing). A patch or delete without a version applies
as the next version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from retrieval.errors import EventError
from retrieval.product import MAX_PRICE, MAX_STOCK, MAX_VERSION, Product


class UpsertEvent(BaseModel):
    """Create or replace a whole product."""

    model_config = ConfigDict(extra="forbid")
    op: Literal["upsert"]
    product: Product


class PatchEvent(BaseModel):
    """Change a product's price and/or stock, nothing else (no re-embedding)."""

    model_config = ConfigDict(extra="forbid")
    op: Literal["patch"]
    id: str = Field(min_length=1)
    price: Decimal | None = Field(default=None, ge=0, le=MAX_PRICE, decimal_places=2)
    stock: int | None = Field(default=None, ge=0, le=MAX_STOCK)
    version: int | None = Field(default=None, ge=0, le=MAX_VERSION)

    @model_validator(mode="after")
    def _changes_something(self) -> PatchEvent:
        if self.price is None and self.stock is None:
            raise ValueError("a patch needs 'price' and/or 'stock'")
        return self


class DeleteEvent(BaseModel):
    """Remove a product."""

    model_config = ConfigDict(extra="forbid")
    op: Literal["delete"]
    id: str = Field(min_length=1)
    version: int | None = Field(default=None, ge=0, le=MAX_VERSION)


CatalogEvent = Annotated[UpsertEvent | PatchEvent | DeleteEvent, Field(discriminator="op")]
_EVENT = TypeAdapter(CatalogEvent)


def parse_event(data: Any, line: int | None = None) -> UpsertEvent | PatchEvent | DeleteEvent:
    """Validate one event.

    Raises:
        EventError: The event is malformed; the message names the field and the line.
    """
    if isinstance(data, dict) and data.get("op") == "upsert" and "product" not in data:
        data = {"op": "upsert", "product": {k: v for k, v in data.items() if k != "op"}}
    if isinstance(data, dict) and isinstance(data.get("price"), float):
        data = {**data, "price": repr(data["price"])}
    try:
        return _EVENT.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'event'}: {err['msg']}"
            for err in exc.errors()
        )
        raise EventError(f"invalid event ({problems})", line) from None


@dataclass
class FeedParse:
    """The outcome of reading a feed: the valid events (with line numbers) and the bad lines."""

    events: list[tuple[int, UpsertEvent | PatchEvent | DeleteEvent]] = field(default_factory=list)
    errors: list[EventError] = field(default_factory=list)


def parse_feed(lines: Iterable[str]) -> FeedParse:
    """Parse JSON lines; blank lines are skipped, malformed ones are collected, not raised."""
    out = FeedParse()
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            out.errors.append(
                EventError(f"not valid JSON ({exc.msg} at column {exc.colno})", number)
            )
            continue
        try:
            out.events.append((number, parse_event(data, number)))
        except EventError as exc:
            out.errors.append(exc)
    return out


def read_feed(path: Path) -> FeedParse:
    """Parse a JSON-lines feed file.

    Raises:
        EventError: The file cannot be read.
    """
    try:
        with path.open(encoding="utf-8") as fh:
            return parse_feed(fh)
    except (OSError, UnicodeDecodeError) as exc:
        raise EventError(f"cannot read feed {path}: {exc}") from exc
