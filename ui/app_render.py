"""HTML and Markdown of the web app, with every catalog and customer text escaped.

Product titles, descriptions, "why" lines and customer messages are data, never markup: a title
holding `<script>` or `[a link](http://...)` must reach the page as those characters. Chat
bubbles render Markdown, so their text is escaped for Markdown (`chat_text`); the product cards
and the console's tables are HTML built here with `html.escape` on every value.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from assistant.tools import money, stock_phrase

# Markdown treats these as syntax (emphasis, links, code, headings, HTML, autolinks...); a
# backslash makes each a literal character. "." and ":" break URL and e-mail autolinks.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~.:@=>-])")
_LIST_MARKER = re.compile(r"^(\s*\d+)\\\.(\s)")
_BULLET = re.compile(r"^(\s*)\\-(\s)")
_TABLE_LINE = re.compile(r"^\|.*\|$")

CSS = """
.sa-cards { display: flex; flex-direction: column; gap: 8px; }
.sa-card { display: flex; gap: 10px; border: 1px solid #ddd; border-radius: 8px; padding: 8px; }
.sa-card img { width: 64px; height: 64px; object-fit: contain; flex: none; }
.sa-title { font-weight: 600; }
.sa-price { font-size: 1.1em; }
.sa-why { color: #666; font-size: 0.85em; }
.sa-alt { color: #a15c00; font-size: 0.85em; }
.sa-table { border-collapse: collapse; font-size: 0.9em; }
.sa-table td, .sa-table th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
.sa-line { white-space: pre-wrap; margin: 4px 0; }
"""


def chat_text(text: str) -> str:
    """Text for a Markdown chat bubble that shows exactly `text`: HTML and Markdown syntax are
    escaped; numbered and bulleted lines stay lists and pipe tables stay tables (their cells
    escaped)."""
    return "\n".join(_chat_line(line) for line in text.split("\n"))


def _chat_line(line: str) -> str:
    if _TABLE_LINE.match(line.strip()):
        cells = line.strip()[1:-1].split("|")
        if all(set(c.strip()) <= {"-", ":"} and c.strip() for c in cells):
            return line.strip()  # the separator row
        return "|" + "|".join(f" {_escape_md(c.strip())} " for c in cells) + "|"
    escaped = _escape_md(line)
    escaped = _LIST_MARKER.sub(r"\1.\2", escaped)
    return _BULLET.sub(r"\1-\2", escaped)


def _escape_md(text: str) -> str:
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=True).replace("\\&gt;", "&gt;")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _price(card: Mapping[str, Any]) -> str:
    try:
        return money(Decimal(str(card["price"])), str(card.get("currency") or "USD"))
    except (InvalidOperation, KeyError):
        return str(card.get("price", ""))


def _image(url: object) -> str:
    if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
        return ""
    return f'<img src="{_e(url)}" alt="" loading="lazy" referrerpolicy="no-referrer">'


def cards_html(cards: Sequence[Mapping[str, Any]], empty: str = "") -> str:
    """Product cards (image, title, price, stock, why it matched) from cards as JSON data
    (`ProductCard.as_dict()`), every value escaped."""
    if not cards:
        return f'<div class="sa-cards sa-empty">{_e(empty)}</div>' if empty else ""
    parts = []
    for n, card in enumerate(cards, 1):
        stock = int(card.get("stock", 0) or 0)
        alternative = '<div class="sa-alt">alternative</div>' if card.get("alternative") else ""
        parts.append(
            f'<div class="sa-card" data-testid="product-card" data-product-id="{_e(card["id"])}">'
            f"{_image(card.get('image_url'))}<div>"
            f'<div class="sa-title">{n}. {_e(card.get("title", ""))}</div>'
            f'<div class="sa-price">{_e(_price(card))}</div>'
            f'<div class="sa-stock">{_e(stock_phrase(stock))}</div>'
            f'<div class="sa-why">Why: {_e(card.get("why", ""))}</div>'
            f"{alternative}</div></div>"
        )
    return '<div class="sa-cards">' + "".join(parts) + "</div>"


SCORE_COLUMNS = ("score", "rerank_score", "retrieval_score", "lexical_score", "dense_score")


def candidates_html(cards: Sequence[Mapping[str, Any]]) -> str:
    """The candidates of a turn with their final, re-rank and retrieval scores."""
    if not cards:
        return "<p>No products in the last turn.</p>"
    head = "".join(f"<th>{_e(c)}</th>" for c in ("#", "id", "title", "price", "stock"))
    head += "".join(f"<th>{_e(c.removesuffix('_score') or c)}</th>" for c in SCORE_COLUMNS)
    rows = []
    for n, card in enumerate(cards, 1):
        scores = card.get("scores") or {}
        cells = [n, card.get("id", ""), card.get("title", ""), _price(card), card.get("stock", "")]
        cells += [_score(scores.get(name)) for name in SCORE_COLUMNS]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return f'<table class="sa-table"><tr>{head}</tr>{"".join(rows)}</table>'


def _score(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else ""


ROLE_NAMES = {"user": "Customer", "assistant": "Assistant", "agent": "Agent"}


def transcript_html(lines: Sequence[tuple[str, str]]) -> str:
    """A transcript as (role, text) lines."""
    if not lines:
        return "<p>No messages yet.</p>"
    return "".join(
        f'<div class="sa-line sa-{_e(role)}"><b>{_e(ROLE_NAMES.get(role, role))}:</b> '
        f"{_e(text)}</div>"
        for role, text in lines
    )


def queue_html(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """A small table (the handoff queue, the live conversations)."""
    if not rows:
        return "<p>Nobody is waiting.</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="sa-table"><tr>{head}</tr>{body}</table>'
