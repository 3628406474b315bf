"""The store's policies: the rules code enforces and the text the assistant quotes.

The rules (return window, item condition, non-returnable categories, cancellation) are code
here; the customer-facing text is package data (`assistant/data/policy.md`), one passage per
section. The numbers and categories of both must agree, and a test checks that they do.

Decisions made for the demo catalog (its categories come from Icecat titles):

- *Window*: 30 days from the delivery date, counted in calendar days in UTC: delivered on day 0,
  day 30 is the last day a return is accepted, day 31 is refused.
- *Condition*: what the customer declares (unopened, opened, defective). Opened items may come
  back, except opened consumables; defective items always may, within the window.
- *Non-returnable*: opened consumables (ink, toner, ribbons, drums, label tape, printer
  supplies: hygiene and resale reasons, like every electronics retailer), and service contracts
  (on-site service, warranty extensions: nothing physical to send back) unless defective.
- *Cancellation*: only while the order is processing, i.e. before it ships.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from importlib import resources

from assistant.store import Order, OrderLine

RETURN_WINDOW_DAYS = 30
CONSUMABLES = frozenset(
    {
        "ink cartridge",
        "toner cartridge",
        "ink stick",
        "printer ribbon",
        "printer drum",
        "toner collector",
        "fax ribbon",
        "correction ribbon",
        "label-making tape",
        "printer supplies",
    }
)
FINAL_SALE = frozenset({"on-site", "warranty/support extension"})


class Condition(StrEnum):
    """The condition a customer declares for a return."""

    UNOPENED = "unopened"
    OPENED = "opened"
    DEFECTIVE = "defective"


_DEFECTIVE = re.compile(
    r"\b(defective|faulty|broken|damaged|does ?n[o']t work|not working|stopped working|dead on "
    r"arrival|doa|cracked)\b",
    re.I,
)
_OPENED = re.compile(r"\b(opened|used|unsealed|installed|tried it|worn)\b", re.I)


def condition_in(text: str) -> Condition | None:
    """The condition a message declares, if it declares one ("it arrived broken": defective)."""
    if _DEFECTIVE.search(text):
        return Condition.DEFECTIVE
    if _OPENED.search(text) and not re.search(r"\b(un|not |never )(opened|used)\b", text, re.I):
        return Condition.OPENED
    if re.search(r"\b(unopened|unused|sealed|not opened|never opened|never used)\b", text, re.I):
        return Condition.UNOPENED
    return None


def days_since(start: datetime, now: datetime) -> int:
    """Whole calendar days from `start` to `now` (UTC dates): the same day is day 0."""
    return (now.date() - start.date()).days


@dataclass
class ReturnDecision:
    """Whether (and what of) an order may be returned, and the policy section that says why.

    Attributes:
        allowed: A return can be started.
        reason: Why not, or what is accepted, in the customer's terms.
        section: The title of the policy section that decides it (to quote).
        lines: The lines the return may cover.
        excluded: Lines the policy keeps out of the return.
        days: Days since delivery, when delivered.
    """

    allowed: bool
    reason: str
    section: str
    lines: list[OrderLine] = field(default_factory=list)
    excluded: list[OrderLine] = field(default_factory=list)
    days: int | None = None


def line_returnable(line: OrderLine, condition: Condition) -> bool:
    """Whether the policy takes this line back in this condition (the window aside)."""
    if condition is Condition.DEFECTIVE:
        return True
    if line.category in FINAL_SALE:
        return False
    return not (line.category in CONSUMABLES and condition is Condition.OPENED)


def return_decision(order: Order, condition: Condition, now: datetime) -> ReturnDecision:
    """Apply the return policy to an order the customer owns."""
    window = "Returns: the return window"
    if order.status in ("processing", "shipped"):
        state = "has not shipped yet" if order.status == "processing" else "is still on its way"
        return ReturnDecision(False, f"order {order.id} {state}, so it cannot be returned", window)
    if order.status == "cancelled":
        return ReturnDecision(False, f"order {order.id} was cancelled", "Cancellations")
    if order.status == "returned":
        return ReturnDecision(False, f"order {order.id} was already returned", window)
    delivered = order.shipment.delivered_at if order.shipment else None
    if delivered is None:
        return ReturnDecision(False, f"order {order.id} has no delivery date yet", window)
    days = days_since(delivered, now)
    if days > RETURN_WINDOW_DAYS:
        return ReturnDecision(
            False,
            f"order {order.id} was delivered {days} days ago, outside the "
            f"{RETURN_WINDOW_DAYS}-day return window",
            "Warranty" if condition is Condition.DEFECTIVE else window,
            days=days,
        )
    ok = [ln for ln in order.lines if line_returnable(ln, condition)]
    out = [ln for ln in order.lines if not line_returnable(ln, condition)]
    if not ok:
        return ReturnDecision(
            False,
            f"the items of order {order.id} cannot be returned in this condition",
            "Returns: items we cannot take back",
            excluded=out,
            days=days,
        )
    return ReturnDecision(
        True,
        f"order {order.id} was delivered {days} days ago, within the {RETURN_WINDOW_DAYS}-day "
        "return window",
        "Returns: item condition",
        lines=ok,
        excluded=out,
        days=days,
    )


@dataclass(frozen=True)
class PolicyPassage:
    """One section of the store policy.

    Attributes:
        title: The section title (what a quote cites).
        text: The section text, quoted word for word.
        keywords: Extra words that help retrieval; never shown.
    """

    title: str
    text: str
    keywords: str = ""

    @property
    def id(self) -> str:
        """A stable id for the index."""
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")

    @property
    def search_text(self) -> str:
        """What is embedded and matched: title, keywords and text."""
        return f"{self.title}. {self.keywords}. {self.text}"


def parse_policy(markdown: str) -> list[PolicyPassage]:
    """The `## ` sections of a policy document, each one passage (the preamble is skipped)."""
    passages = []
    for block in re.split(r"^## ", markdown, flags=re.M)[1:]:
        title, _, body = block.partition("\n")
        keywords, lines = "", []
        for line in body.strip().splitlines():
            if line.lower().startswith("keywords:"):
                keywords = line.split(":", 1)[1].strip()
            else:
                lines.append(line.strip())
        passages.append(PolicyPassage(title.strip(), " ".join(lines).strip(), keywords))
    return passages


@cache
def store_policy() -> tuple[PolicyPassage, ...]:
    """The demo store's policy, from the package data."""
    text = (resources.files("assistant") / "data" / "policy.md").read_text(encoding="utf-8")
    return tuple(parse_policy(text))


def policy_section(title: str) -> PolicyPassage:
    """The store policy's section with this title.

    Raises:
        KeyError: No such section (a bug: the titles are fixed in this module).
    """
    for passage in store_policy():
        if passage.title == title:
            return passage
    raise KeyError(f"the store policy has no section {title!r}")
