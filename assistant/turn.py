"""The turn loop: intent -> tools -> checked reply, with the conversation's state in SQLite.

The model proposes, code disposes: the extractor merges the model's intent with the parser's
reading; code plans and runs the tools (LangChain tools, see `assistant.tools`), resolves
references against what the session was shown, renders every product fact, and lets the model
write only the connecting sentence, which the grounding checker must accept or the template
sentence is shown instead. A model that is down, slow or wrong costs fluency, never truth.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from dataclasses import replace
from decimal import Decimal
from importlib import resources

from assistant.chat_model import ChatModel, Message
from assistant.errors import AssistantError, ModelError, ModelUnavailable, UngroundedReply
from assistant.extract import MIN_WAIT, IntentExtractor
from assistant.grounding import Evidence, check, check_sentence
from assistant.intent import Intent, IntentName
from assistant.llm_data import reply_messages
from assistant.matching import (
    AMOUNT,
    AT_LEAST,
    amounts,
    headed_test,
    kind_test,
    matching,
    query_words,
    size_of,
    states_amount,
)
from assistant.parser import (
    SUPERLATIVES,
    MessageParser,
    Superlative,
    asks_why,
    comparative_asked,
    is_closing,
)
from assistant.reply import (
    Draft,
    Event,
    ProductCard,
    Status,
    TextDelta,
    TurnDone,
    TurnResult,
    details_text,
    either_of,
    table_text,
)
from assistant.service import NoServiceDesk, ServiceDesk
from assistant.state import ActiveFilters, SessionState, SessionStore, TranscriptLine
from assistant.tools import CatalogTools, ToolResult, measure, money, stock_phrase
from retrieval.lexical import tokenize, word_alternatives
from retrieval.product import Product
from retrieval.search import Hit

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
_CENT = Decimal("0.01")
_CHEAPER = re.compile(
    r"\b(cheaper|less expensive|lower price|more affordable|too (?:expensive|pricey|costly))\b",
    re.I,
)
_PRICIER = re.compile(r"\b(more expensive|pricier|higher[- ]end|more premium)\b", re.I)
_NEW_TOPIC = re.compile(r"^\s*(?:what|how) about\b|^\s*(?:any|show me)\b", re.I)
_ONES = re.compile(r"\bones?\b", re.I)
_REFINE_FILLER = frozenset(
    "one ones something options option them those these any anything else cheaper expensive "
    "more less show me some what how about only just please instead rather pricier affordable "
    "lower higher price prices sorted sort by in colour color too pricey costly".split()
)
_PRONOUN = re.compile(r"\b(it|its|this|that|this one|that one|they|them)\b", re.I)
_QUESTIONISH = re.compile(
    r"\?|\b(in stock|available|how much|price|cost|colou?r|weight|details|specs?|tell me)\b", re.I
)
_DETAIL_WORDS = re.compile(r"\b(details?|specs?|specifications|tell me (?:more )?about|describe)\b")
_ATTRIBUTE_WORDS = {
    "colour": re.compile(r"\bcolou?rs?\b", re.I),
    "weight": re.compile(r"\b(weight|weigh|heavy)\b", re.I),
    "material": re.compile(r"\bmaterial\b", re.I),
    "cable_length": re.compile(r"\b(cable length|how long is the cable)\b", re.I),
    "display_diagonal": re.compile(
        r"\b(screen size|display size|how (?:big|large) is (?:the |its |their )?(?:screen|display)|"
        r"size of (?:the |its |their )?(?:screen|display))\b",
        re.I,
    ),
    "storage_capacity": re.compile(r"\b(storage|capacity|how much space)\b", re.I),
    "battery_life": re.compile(r"\b(battery life|how long does the battery)\b", re.I),
    "connector": re.compile(r"\b(connector|plug|port)\b", re.I),
    "compatibility": re.compile(r"\b(compatible|compatibility|work with)\b", re.I),
}
# Words that ask for an attribute named in `_ATTRIBUTE_WORDS`, no word to look up beside it
# ("how big is the screen?" asks the screen size, not where "big" occurs)
_ATTRIBUTE_TERMS = frozenset(
    "big large size screen display heavy weight battery life storage space capacity long "
    "cable length".split()
)
# Words of a product question that ask nothing of the product's data ("does the first one
# come with ..."); what is left ("lens") is looked up in that data (`mention_text`).
_NOT_ASKED = frozenset(
    """does do did is are was were can could will would should has have had come comes came
    with include includes included including it its this that these those one ones item
    items product products option number the and any there how what which when where who
    why much many tell about more please still also too really know want need get got take
    work works support supports use first second third fourth fifth sixth seventh eighth
    ninth tenth last final stock available availability price cost costs expensive cheap
    for from you your yes okay then than well good they them their here just only able me
    my an on in to of or no so up at by we us be go if as am""".split()
)
_MAX_ASKED = 3
# Product questions that store policy answers: "does the 2nd one have a warranty?", "is the
# first one on sale?"
_POLICY_TOPIC = re.compile(
    r"\b(warrant(?:y|ies)|guarantee[ds]?|ship(?:s|ping)?|deliver\w*|on sale|discount\w*|"
    r"deals?|coupons?)\b",
    re.I,
)
_NO_RATINGS = "The catalog holds no customer ratings, reviews or sales ranks."
_COUNTS = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4}
_FIRST_N = re.compile(r"\b(?:first|top)\s+(two|three|four|2|3|4)\b", re.I)
_ORDINAL = re.compile(
    r"first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th|cheapest|priciest|more|same|"
    r"another|other|again|both|all|cheaper|pricier|dearer|better|bigger|smaller|larger|"
    r"lighter|heavier|longer|shorter|newer|older|expensive|affordable|best|least",
    re.I,
)
# One product by price: "show me the cheapest", "the most expensive one" (not "the cheapest ones")
_THE_EXTREME = re.compile(
    r"\bthe (?:cheapest|least expensive|lowest priced|most expensive|priciest)(?: one)?\b"
    r"(?!\s+(?:ones|first)\b)",
    re.I,
)
_SEEN = 30  # products a session remembers as seen
# "Which would you recommend?", "which one is best?", "which one should I buy?": a pick among
# the products shown or compared (`Assistant._recommend`). "What do you recommend for a gamer?"
# searches; "which is best for gaming?" asks which mention gaming (`_BEST_FOR`).
_AMONG = r"(?:\s+one)?(?:\s+of\s+(?:these|them|those|the\s+(?:two|three|2|3)(?:\s+\w+)?))?"
_END = r"(?=\s*(?:$|[?.!,]|(?:of|among|from)\s+(?:these|them|those|the)\b|please\b))"
_RECOMMEND = re.compile(
    rf"\bwhich{_AMONG}\s+(?:(?:would|do|should|could|can|shall)\s+(?:you|i|we)\s+(?:recommend|"
    r"suggest|pick|choose|go for|get|buy|take|order)\b|(?:is|would be|'s)\s+(?:the\s+)?(?:(?:best|"
    r"better)(?:\s+(?:one|value|buy|deal|choice|option|pick))?|your (?:pick|favou?rite|"
    rf"recommendation)|(?:the )?one (?:to|i should) (?:get|buy)){_END})|"
    rf"\bwhat\s+(?:would|do|should|could|can)\s+you\s+(?:recommend|suggest|pick|choose){_END}|"
    rf"\b(?:your|any)\s+(?:recommendations?|suggestions?|picks?){_END}|"
    rf"\b(?:recommend|suggest)\s+(?:one|me one){_END}",
    re.I,
)
_BEST_FOR = re.compile(
    rf"\bwhich{_AMONG}\s+(?:is|would be|'s|are)\s+(?:the\s+)?(?:best|better|good|ideal|"
    r"suited)\s+for\s+(?P<what>[^?!.]+)",
    re.I,
)
# Intents whose message may pick a product by a comparative ("the cheaper one"); an addition
# to the cart picks it in `Assistant._resolve`
_PICKING = {
    IntentName.SEARCH,
    IntentName.REFINE,
    IntentName.PRODUCT_QUESTION,
    IntentName.COMPARE,
}
# What an add to cart says besides the product it names: "ok add the printer to my cart"
_CART_TALK = re.compile(
    r"\b(?:add|put|take|buy|purchase|order|grab|get|go (?:with|for)|i'?ll|i will|want|"
    r"(?:to|in|into|on) (?:my |the )?(?:cart|basket|bag|order)|cart|basket|also|too|"
    r"make|change|set|update|couple|pair|few|"
    r"\d+|two|three|four|five|six|x|of|those|these|them|it|one|ones)\b",
    re.I,
)
# An accessory for what the conversation is about: "a bag for it", "ink for that one"
_FOR_IT = re.compile(
    r"\bfor (?:it|this|that|them|these|those|this one|that one|the (?:first|second|third|last) "
    r"one)\b(?!\s+\w*(?:year|old|kid|boy|girl|son|daughter))",
    re.I,
)
_FOR_ME = re.compile(r"\bfor (?:me|myself|us|ourselves)\b|\bmyself\b", re.I)
# "which of these is wireless?", "which ones have bluetooth": what the products shown must
# mention; answered from their data, never by a comparison table
_FEATURE_VERB = (
    r"(?:is|are|has|have|comes? with|supports?|includes?|offers?|works? with|"
    r"is compatible with|are compatible with)"
)
_WHICH_FEATURE = re.compile(
    r"\b(?:which (?:one|ones|of (?:these|them|those)(?: ones)?|of the (?:two|three|four|five|"
    rf"[2-5])(?: ones)?)\s+{_FEATURE_VERB}|(?:do|does|are|is|can|will) any (?:of (?:these|"
    rf"them|those)(?: ones)?|one)(?:\s+{_FEATURE_VERB}|\s+come with)?)\s+(?P<what>[^?!.]+)",
    re.I,
)
# "Does it have a numeric keypad?", "does it come with a case?" (the feature asked about)
_IT_HAS = re.compile(
    r"\b(?:does|do|will|would|can) (?:it|this|that|they|this one|that one) (?:have|has|come with|"
    r"include|support)\s+(?P<what>[^?!.]+)",
    re.I,
)
_FEATURE_FILLER = frozenset(
    "a an the any some good built in it its they them one ones also really actually compatible "
    "with work works support supports".split()
)
_OFF_TASK = re.compile(
    r"\b(sorry|cannot|can't|couldn't|could not|unable|unfortunately|no|not|none|don't|"
    r"doesn't|as an ai|i'm not able|apolog\w*|customer|list|sentence|shown|removed|prompt|"
    r"instruction\w*|happy to (?:order|buy|get|book|deliver))\b",
    re.I,
)
# A sentence that says the products fit a budget ("These monitors fit your budget.") is shown
# only when the customer gave one: a price bound on the search (`unusable`).
_BUDGET_CLAIM = re.compile(r"\b(budgets?|price range|afford\w*|within your price)\b", re.I)
# Numbers the catalog states that replies compare, with the words a reply uses for them (their
# units: `tools.UNITS`, through `measure`).
_MEASURES: dict[str, str] = {
    "display_diagonal": "screen size",
    "storage_capacity": "storage capacity",
    "cable_length": "cable length",
    "weight": "weight",
    "battery_life": "battery life",
}
# What "bigger", "smaller", "longer" and "shorter" compare (in the order tried), and how a reply
# says it: the comparative and the extreme ("a larger screen size than the largest shown").
_SIZES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "bigger": (("display_diagonal", "storage_capacity"), "larger", "largest"),
    "smaller": (("display_diagonal", "storage_capacity"), "smaller", "smallest"),
    "longer": (("cable_length", "battery_life"), "longer", "longest"),
    "shorter": (("cable_length", "battery_life"), "shorter", "shortest"),
    "lighter": (("weight",), "lower", "lightest"),
    "heavier": (("weight",), "higher", "heaviest"),
}
_SIZE_CANDIDATES = 50
# "What brands of headphones do you have?": the words that ask for brands, not for products.
_BRANDS_ASKED = re.compile(
    r"\b(?:what|which)\s+(?:brands?|makes?|manufacturers?)\b|\bbrands?\s+(?:of|do you)\b", re.I
)
_BRAND_WORDS = frozenset(
    "brand brands make makes manufacturer manufacturers carry sell stock have offer".split()
)
_BRAND_CANDIDATES = 50
_WHICH_IS = re.compile(r"^\s*(?:which|what|whats|what's)\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!])\s")


def _prompt(name: str) -> str:
    return (resources.files("assistant") / "prompts" / name).read_text(encoding="utf-8")


def _describe(f: ActiveFilters) -> str:
    parts = []
    if f.brands:
        parts.append("from " + " or ".join(f.brands))
    if f.attributes:
        parts.append("in " + ", ".join(f.attributes.values()))
    if f.in_stock:
        parts.append("in-stock only")  # not "in stock": that would claim stock (grounding)
    if f.price_min is not None and f.price_max is not None:
        parts.append(f"between {money(f.price_min, 'USD')} and {money(f.price_max, 'USD')}")
    elif f.price_max is not None:
        parts.append(f"up to {money(f.price_max, 'USD')}")
    elif f.price_min is not None:
        parts.append(f"from {money(f.price_min, 'USD')}")
    if f.sort == "price_asc":
        parts.append("cheapest first")
    elif f.sort == "price_desc":
        parts.append("most expensive first")
    return " ".join(parts)


_RELAXATIONS = (("in_stock",), ("attributes",), ("brands",), ("price_min", "price_max"))
_EMPTY: dict[str, object] = {
    "in_stock": False,
    "attributes": {},
    "brands": [],
    "price_min": None,
    "price_max": None,
}


def _unmentioned(query: str, products: list[Product]) -> list[str]:
    """The query's words (of three letters or more) that none of the products' data mentions:
    title, brand, category, description and attributes, through the shop vocabulary. A reply
    that shows near matches says so ("none of them mentions 'waterproof'"), so that "matches for
    waterproof bluetooth speaker" never implies a fact the catalog does not state."""
    missing = [
        _readable(_written(number, unit)).replace('"', " inch")
        for number, unit in amounts(query)
        if not any(states_amount(p, number, unit) for p in products)
    ]
    stripped = (w.strip(".,;:!?()\"'") for w in AMOUNT.sub(" ", query).lower().split())
    words = [w for w in dict.fromkeys(stripped) if w.isalpha() and len(w) >= 3]
    if not words or not products:
        return missing if products else []
    alternatives = word_alternatives(tokenize(query))
    texts = [
        set(tokenize(" ".join((p.search_text(), *p.attributes.keys(), *p.attributes.values()))))
        for p in products
    ]

    def mentioned(token: str) -> bool:
        return any(token in text or text & alternatives.get(token, set()) for text in texts)

    return [
        w for w in words if tokenize(w) and not any(mentioned(t) for t in tokenize(w))
    ] + missing


def _overlap(hits: list[Hit]) -> int:
    """The most query words any of the hits holds; -1 when there are no hits."""
    return max((len(h.matched_terms) for h in hits), default=-1)


def _written(number: str, unit: str) -> str:
    """An amount as a search writes it: screens as Icecat's titles do ('24"'), capacities in
    capitals ("32 GB"), lengths as they are ("3 m"); a lower bound with its "+" ('27"+')."""
    bound = AT_LEAST if unit.endswith(AT_LEAST) else ""
    unit = unit.removesuffix(AT_LEAST)
    if unit == "inch":
        return f'{number}"{bound}'
    return f"{number} {unit.upper() if unit in ('gb', 'tb', 'mb') else unit}{bound}"


def _readable(query: str) -> str:
    """The query as a reply says it: a lower bound in words ('27"+ monitor' -> 'at least 27"
    monitor')."""
    return AMOUNT.sub(lambda m: f"at least {m[0].removesuffix(AT_LEAST)}" if m[3] else m[0], query)


# "at least 27 inches", "64gb or more", "3 m+": the amount is a lower bound
_AT_LEAST_PHRASE = re.compile(
    r"\b(?:at least|min(?:imum)?(?: of)?|no (?:less|smaller|shorter) than|(?:more|bigger|larger|"
    r"longer) than|over)\s+(?P<n>\d+(?:\.\d+)?)|(?<![\w.])(?P<m>\d+(?:\.\d+)?)\s*(?:tb|gb|mb|"
    r"inch(?:es)?|\"|in|m|cm|ft|feet|foot|metres?|meters?)?\s*(?:or (?:more|bigger|larger|"
    r"longer|above|higher|greater)\b|\+|and (?:up|above)\b)",
    re.I,
)


def _bounded(query: str, text: str) -> str:
    """`query` with the amounts that `text` bounds below marked as such ('27"' -> '27"+' for
    "at least 27 inches")."""
    bounded = {phrase["n"] or phrase["m"] for phrase in _AT_LEAST_PHRASE.finditer(text)}

    def mark(m: re.Match[str]) -> str:
        return m[0] + AT_LEAST if m[1] in bounded and not m[3] else m[0]

    return AMOUNT.sub(mark, query) if bounded else query


def _cart_named(text: str) -> list[str]:
    """The product words an add to cart names ("add the printer" -> ["printer"]); none for
    "add it", "I'll take the first one", "add 2 more"."""
    words = MessageParser.content(_CART_TALK.sub(" ", text))
    return [w for w in words if not all(_ORDINAL.fullmatch(x) for x in w.split())]


def _picked(hits: list[Hit], matched: list[bool], query: str) -> list[Hit]:
    """The hits a reply shows as matches. Hits that share no word with the query and rank
    below every hit that does are noise; one that the ranker placed among the matches stays,
    unless the query asks for an amount (a 16 GB drive is no near match for "32 GB") or it is
    not of the kind the query names while others are ("headphones with a microphone": a
    microphone is no near match)."""
    if amounts(query):
        return [h for h, m in zip(hits, matched, strict=True) if m]
    window = list(zip(hits, matched, strict=True))[: max(i for i, m in enumerate(matched) if m) + 1]
    names = kind_test(query)
    if any(names(h.product.category) for h, _ in window):
        return [h for h, m in window if m or names(h.product.category)]
    return [h for h, _ in window]


def _asked_about(text: str, products: list[Product], brands: list[str]) -> list[str]:
    """The words a product question asks about that the reply's other parts do not answer:
    not question words, attribute or detail words, policy topics, brands, or words of the
    products' titles (those point at the product). At most three."""
    named = {t for p in products for t in tokenize(f"{p.title} {p.brand}")}
    named |= {t for b in brands for t in tokenize(b)}
    covered = [*_ATTRIBUTE_WORDS.values(), _DETAIL_WORDS, _POLICY_TOPIC]
    out: list[str] = []
    for word in dict.fromkeys(re.findall(r"\b[a-z][a-z0-9]+\b", text.lower())):
        if word in _NOT_ASKED or any(p.search(word) for p in covered):
            continue
        if not set(tokenize(word)) - named:
            continue
        out.append(word)
    return out[:_MAX_ASKED]


def _narrows(intent: Intent) -> bool:
    """Whether a refinement changes which products the search finds (price, brands,
    attributes, stock); a sort does not."""
    return bool(
        intent.price_min is not None
        or intent.price_max is not None
        or intent.brands
        or intent.attributes
        or intent.in_stock
    )


def _superlative_asked(text: str, shown: list[str]) -> Superlative | None:
    """The superlative the message asks for ("the cheapest", "the longest cable") of the
    products shown; None when it asks none or no product is shown."""
    if not shown:
        return None
    found = next((t for t in SUPERLATIVES if t[0].search(text)), None)
    if found is None and (picked := comparative_asked(text)) is not None:
        found = picked[0]  # "add the cheaper one"
    return found


def _among(state: SessionState) -> tuple[list[str], str]:
    """The products a pick or a superlative is among, and what they are: those of the
    comparison on screen, else those shown."""
    return (state.compared, "compared") if state.compared else (state.shown, "shown")


def _positions(state: SessionState, ids: Iterable[str]) -> list[int]:
    """The numbers in the list shown of those of `ids` that it holds."""
    return [state.shown.index(i) + 1 for i in ids if i in state.shown]


def _numbered(state: SessionState, product: Product) -> str:
    """The product's title, led by its number in the list shown when it is there."""
    return "".join(f"{n}. " for n in _positions(state, [product.id])) + product.title


def _feature_words(what: str) -> str:
    """The words of a feature asked about, without filler ("a backlit keyboard")."""
    return " ".join(w for w in what.split() if w.lower() not in _FEATURE_FILLER)


def _winners(
    products: list[Product], asked: Superlative
) -> tuple[list[tuple[float, Product]], list[Product]]:
    """The products that state the superlative's measure, with it, and those that win."""
    _, _, key, most = asked
    measured = [
        (v, p)
        for p in products
        if (v := float(p.price) if key is None else size_of(p, key)) is not None
    ]
    if not measured:
        return [], []
    top = (max if most else min)(v for v, _ in measured)
    return measured, [p for v, p in measured if v == top]


def _kinds_headed(query: str, categories: dict[str, int]) -> list[str]:
    """The catalog categories of the kind the query names (`headed_test`), the largest first."""
    headed = headed_test(query)
    return sorted((c for c in categories if headed(c)), key=lambda c: (-categories[c], c))


def _kind_named(query: str, categories: dict[str, int]) -> str | None:
    """The catalog category (of `categories`, name -> products) that the query names in full;
    the largest when it names several; None when it names none."""
    names = kind_test(query)
    named = [c for c in categories if names(c)]
    return max(named, key=lambda c: (categories[c], c)) if named else None


def _search_args(f: ActiveFilters, limit: int) -> dict[str, object]:
    return {
        "query": f.query,
        "brands": f.brands,
        "price_min": f.price_min,
        "price_max": f.price_max,
        "attributes": f.attributes,
        "in_stock_only": f.in_stock,
        "sort": f.sort,
        "limit": limit,
        "category": f.category,
    }


def plan_search(
    intent: Intent, active: ActiveFilters, shown: list[Product], text: str
) -> ActiveFilters:
    """The search this message asks for: a new one, or the active one refined.

    A refinement ("cheaper", "only Logitech", "under 30", "in black") keeps the active query and
    filters and changes what the message names; a message with new product words starts over.
    "Cheaper" means cheaper than everything just shown, "more expensive" the reverse.
    """
    if intent.more:  # "show me more": the same search, its next page
        return active.model_copy(update={"page": active.page + 1})
    named = {w for b in intent.brands for w in b.lower().split()}
    words = [w for w in intent.query.lower().split() if w not in _REFINE_FILLER | named]
    refining = bool(active.query or active.brands) and (
        intent.intent is IntentName.REFINE or not words
    )
    colour = {k: v for k, v in intent.attributes.items() if k == "colour"}
    # Other values are searched for as words; a screen size as Icecat's titles write it, '27"'
    # ("27 inch" found the "22-inch" monitors that say "inch" before the 27" ones).
    other_values = [
        v.replace(" inch", '"') if k == "screen_size" else v
        for k, v in intent.attributes.items()
        if k != "colour"
    ]
    if refining:
        new = active.model_copy(deep=True)
        said = " ".join(words)
        if words and amounts(said) and not AMOUNT.sub(" ", said).strip():
            # "what about 24 inch?" after '27" gaming monitor': another amount of the same
            # products, in place of the one the query holds ('24" gaming monitor')
            written = [_written(n, u) for n, u in amounts(said)]
            rest = AMOUNT.sub(" ", active.query).split()
            new.query = " ".join([*written, *rest])
            words = []
        if words:
            # "what about mice?" starts over; "any android ones?" narrows the kind shown, its
            # words first so that the last word still names the kind ("android tablets")
            new.query = (
                " ".join(words)
                if _NEW_TOPIC.match(text) and not _ONES.search(text)
                else " ".join(dict.fromkeys(words + active.query.split()))
            )
            new.category = None  # new words may name another kind
    else:
        new = ActiveFilters(query=intent.query or (intent.category or ""))
        kind = (query_words(active.query) or [""])[-1]
        if intent.query and kind and _FOR_IT.search(text) and kind not in tokenize(new.query):
            # "also a bag for it" after laptops: a laptop bag
            new.query = f"{kind} {new.query}"
        if not (active.query or active.brands or active.attributes) and not _FOR_ME.search(text):
            # A budget given before any product words ("a gift for my dad under 50", then "he
            # likes music") holds for them; not for the customer's own ("a bag for me").
            new.price_min, new.price_max = active.price_min, active.price_max
            new.in_stock = active.in_stock
    if other_values:
        # "32 GB memory card"; an amount named again replaces the one the query held ("and
        # 64gb?" after "32gb usb stick" is "64 GB usb stick")
        held = AMOUNT.sub(" ", new.query) if any(amounts(v) for v in other_values) else new.query
        new.query = " ".join([*other_values, *held.split()]).strip()
    if intent.brands:
        new.brands = list(intent.brands)
    if intent.in_stock:
        new.in_stock = True
    if colour:
        new.attributes = {**new.attributes, **colour}
    if intent.price_min is not None or intent.price_max is not None:
        new.price_min, new.price_max = intent.price_min, intent.price_max
    elif shown and _CHEAPER.search(text):
        new.price_max = min(p.price for p in shown) - _CENT
        new.price_min = (
            None if new.price_min is None or new.price_min > new.price_max else new.price_min
        )
    elif shown and _PRICIER.search(text):
        new.price_min = max(p.price for p in shown) + _CENT
        new.price_max = None
    if intent.sort:
        new.sort = intent.sort
    new.query = _bounded(new.query, text)
    new.page = 0
    return new


class Assistant:
    """The shopping assistant: one call per customer message.

    Args:
        tools: The catalog tools.
        extractor: Parser + model intent extraction.
        store: Conversation state.
        writer: The model that writes connecting sentences; None keeps the templates.
        service: Orders, cart, returns, policies, handoff; `NoServiceDesk` when there is none.
        show: Products shown per list.
        temperature: Sampling temperature of the model's sentence.
        budget: Seconds a turn may wait for the model in all; when they are spent the turn
            goes on without it (parser intent, template sentence). None waits per call only.
        min_relevance: When the best re-ranker score of a search is below this, the products
            share words with the request but none is relevant ("shoes" -> a flash "hot shoe"
            adapter): they are shown as alternatives, and the reply says the catalog may not
            carry it.
        prompt_style: How the writer is asked: "few_shot" (a base model: system prompt and
            examples) or "short" (the LoRA adapter trained on `llm_data.reply_messages`).
    """

    def __init__(
        self,
        tools: CatalogTools,
        extractor: IntentExtractor,
        store: SessionStore,
        writer: ChatModel | None = None,
        service: ServiceDesk | None = None,
        show: int = 5,
        temperature: float = 0.0,
        budget: float | None = None,
        min_relevance: float = 0.35,
        prompt_style: str = "few_shot",
    ) -> None:
        if prompt_style not in ("few_shot", "short"):
            raise ValueError(f"unknown prompt style {prompt_style!r}: few_shot or short")
        self.tools, self.extractor, self.store, self.writer = tools, extractor, store, writer
        self.prompt_style = prompt_style
        self.service: ServiceDesk = service or NoServiceDesk()
        self.show, self.temperature, self.budget = show, temperature, budget
        self.min_relevance = min_relevance
        self._reply_prompt = _prompt("reply_system.md")
        self._reply_examples = json.loads(_prompt("reply_examples.json"))

    @property
    def index(self):  # type: ignore[no-untyped-def]
        """The catalog behind the tools."""
        return self.tools.search.index

    def respond(self, session_id: str, text: str, customer_id: str | None = None) -> TurnResult:
        """Answer one message (the stream, consumed)."""
        for event in self.stream(session_id, text, customer_id):
            if isinstance(event, TurnDone):
                return event.result
        raise AssertionError("the stream ended without a result")

    def stream(self, session_id: str, text: str, customer_id: str | None = None) -> Iterator[Event]:
        """Answer one message as events: status while tools run, then the checked text, then
        the result. The text streams only after the checker passed it: unchecked model text is
        never shown, not even for a moment.

        Raises:
            AssistantError: The session belongs to another customer.
        """
        started = time.perf_counter()
        timings: dict[str, float] = {}
        deadline = None if self.budget is None else time.monotonic() + self.budget
        state = self.store.load(session_id, customer_id)
        if customer_id and state.customer_id not in (None, customer_id):
            raise AssistantError(f"session {session_id!r} belongs to another customer")
        state.customer_id = state.customer_id or customer_id
        message = " ".join(text.split())
        fault: str | None = None
        source = "parser"
        if not message:
            intent, draft = Intent(), Draft(intro=_HELP)
        elif len(message) > MAX_MESSAGE_CHARS:
            intent = Intent()
            draft = Draft(intro="That message is too long for me to read. Please shorten it.")
        else:
            yield Status("understand", "Understanding your message")
            extraction = self.extractor.extract(message, deadline)
            timings["extract"] = time.perf_counter() - started
            intent, source, fault = extraction.intent, extraction.source, extraction.fault
            if extraction.parsed and self._names_a_kind(intent, extraction.parsed, message):
                intent = extraction.parsed  # "keyboard", which the model read as nothing
            intent = self._resolve(intent, state, message)
            draft = yield from self._dispatch(intent, state, message)
            timings["tools"] = time.perf_counter() - started - timings["extract"]

        evidence = Evidence(
            draft.evidence, draft.passages, message, self.extractor.parser.brand_names
        )
        sentence: str | None = None
        violations: list[str] = []
        writes = draft.model_may_write and self.writer is not None
        if writes:
            yield Status("write", "Writing the reply")
            began = time.perf_counter()
            try:
                request = _request(message, state)
                sentence = self._sentence(request, draft, deadline)
            except ModelError as exc:
                fault = fault or str(exc)
                log.warning("reply sentence fell back to the template: %s", exc)
            else:
                violations = check_sentence(sentence, evidence).violations
                # numbers and topic are judged against what the customer asked for in this
                # search ("64 GB" typed a turn before "under 75"), prices against the tools
                bounds = (state.filters.price_min, state.filters.price_max)
                priced = any(b is not None for b in bounds)  # the search has a price bound
                reason = None if violations else unusable(sentence, request, draft, priced)
                violations += [reason] if reason else []
                if violations:
                    log.info("model sentence rejected %r: %s", sentence, violations)
                    sentence = None
            timings["write"] = time.perf_counter() - began
        reply = draft.text(sentence)
        final = check(reply, evidence)
        if not final.grounded:  # a template bug: still shown, but never hidden
            log.error("reply not grounded: %s: %r", final.violations, reply)
            if os.environ.get("SHOPASSIST_STRICT_GROUNDING") == "1":
                raise UngroundedReply(f"{final.violations}: {reply!r}")
        result = TurnResult(
            session_id=session_id,
            message=message,
            reply=reply,
            products=draft.cards,
            intent=intent,
            source=source,
            grounded=final.grounded,
            fallback=(self.extractor.model is None and self.writer is None)
            or fault is not None
            or (writes and sentence is None),
            tools_called=draft.tools_called,
            table=draft.table,
            refs=draft.refs,
            handoff=draft.handoff,
            state_changed=draft.state_changed,
            fault=fault,
            violations=violations + final.violations,
            wrote=sentence is not None,
        )
        if draft.shown is not None:
            state.shown, state.compared, state.why_shown = draft.shown, [], draft.why
        if draft.table is not None:
            state.compared = [p.id for p in draft.table.products]
        if draft.subject is not None:
            state.subject = draft.subject
        recent = [*([state.subject] if state.subject else []), *state.shown, *state.seen]
        state.seen = list(dict.fromkeys(recent))[:_SEEN]
        state.turns += 1
        result.seconds = time.perf_counter() - started
        result.timings = {k: round(v, 3) for k, v in timings.items()}
        self.store.save(
            state,
            [
                TranscriptLine("user", message),
                TranscriptLine("assistant", reply, result.as_dict()),
            ],
        )
        for piece in re.findall(r"\S+\s*|\s+", reply):
            yield TextDelta(piece)
        yield TurnDone(result)

    # -- understanding -------------------------------------------------------------------------

    def _shown(self, state: SessionState) -> list[Product]:
        return self.index.get_many(state.shown) if state.shown else []

    def _names_a_kind(self, intent: Intent, parsed: Intent, text: str) -> bool:
        """Whether the model read as nothing ("other") a message that the parser read as a
        search for one word naming a kind of product the catalog has ("keyboard")."""
        if intent.intent is not IntentName.OTHER or is_closing(text):
            return False
        words = parsed.query.split()
        if parsed.intent is not IntentName.SEARCH or len(words) != 1:
            return False
        kind = headed_test(words[0])
        return any(kind(c) for c in self.tools.search.index.categories())

    def _resolve(self, intent: Intent, state: SessionState, text: str) -> Intent:
        """References the parser cannot see alone: "that Sony", "is it in stock?", "add the
        cheapest one"."""
        if intent.intent is IntentName.ADD_TO_CART and not intent.refs:
            asked = _superlative_asked(text, state.shown)
            among = self.index.get_many(_among(state)[0])  # "the cheaper of the two"
            _, winners = _winners(among, asked) if asked else ([], [])
            if len(winners) == 1 and winners[0].id in state.shown:
                return intent.model_copy(update={"refs": [state.shown.index(winners[0].id) + 1]})
            if len(winners) == 1:  # compared with the subject, which is not in the list
                state.subject = winners[0].id
        if intent.refs or not state.shown or intent.intent not in _PRODUCT_TURN:
            return intent
        if intent.brands:
            shown = self._shown(state)
            for brand in intent.brands:
                if re.search(rf"\b(?:that|this|the)\s+{re.escape(brand)}\b", text, re.I):
                    positions = [
                        i for i, p in enumerate(shown, 1) if p.brand.lower() == brand.lower()
                    ]
                    if positions:
                        return intent.model_copy(
                            update={
                                "intent": IntentName.PRODUCT_QUESTION,
                                "refs": positions[:1],
                                "brands": [],
                                "query": "",
                            }
                        )
        content = [w for w in intent.query.lower().split() if w not in _REFINE_FILLER]
        pronoun_only = not content or all(_PRONOUN.fullmatch(w) for w in content)
        if (
            intent.intent is IntentName.PRODUCT_QUESTION
            and not pronoun_only
            and _FOR_IT.search(text)
            and not _WHICH_FEATURE.search(text)
        ):
            # "how much is the ink for it?": a search for the accessory, not a question
            return intent.model_copy(update={"intent": IntentName.SEARCH})
        if (
            _PRONOUN.search(text)
            and _QUESTIONISH.search(text)
            and (pronoun_only or intent.intent is IntentName.PRODUCT_QUESTION)
        ):
            return intent.model_copy(update={"intent": IntentName.PRODUCT_QUESTION, "query": ""})
        return intent

    # -- acting --------------------------------------------------------------------------------

    def _dispatch(
        self, intent: Intent, state: SessionState, text: str
    ) -> Generator[Event, None, Draft]:
        name = intent.intent
        # Issue 5 (customer service): the desk also takes the answer to a pending confirmation,
        # an angry customer and a stalled service conversation, whatever the intent. Any other
        # non-service turn drops an unanswered confirmation (it is asked for the next message
        # only) and counts as progress.
        if self.service.takes(intent, state, text):
            yield Status("service", "Checking with the store")
            return self.service.handle(intent, state, text)
        if name not in _SERVICE_TURN:
            state.pending, state.stalls = None, 0
        if (
            state.shown
            and name in _PICKING
            and (picked := comparative_asked(text)) is not None
            and len(intent.refs) != 1
        ):
            # "which one is cheaper?", "the lighter of the two": among those named, else those
            # compared, else those shown
            among, wrong = self._named_among(intent, state)
            if wrong:
                return Draft(intro=wrong)
            return (yield from self._superlative(picked[0], state, among, picked[1]))
        if state.shown and name in _PICKING | {IntentName.OTHER} and _RECOMMEND.search(text):
            among, wrong = self._named_among(intent, state)
            if wrong:
                return Draft(intro=wrong)
            return (yield from self._recommend(state, among))
        best_for = _BEST_FOR.search(text)
        if state.shown and name in _PICKING and not intent.refs and best_for:
            if wanted := _feature_words(best_for["what"]):
                # "which is best for gaming?": those that mention gaming
                return (yield from self._mentioning(wanted, state))
        if intent.similar:
            return (yield from self._similar(intent, state))
        if intent.size and state.shown and not intent.attributes:
            return (yield from self._sized(intent, state))
        if name is IntentName.SEARCH and _BRANDS_ASKED.search(text):
            return (yield from self._brands(intent, state))
        if (
            name in (IntentName.SEARCH, IntentName.REFINE, IntentName.PRODUCT_QUESTION)
            and state.shown
            and not intent.refs
            and _WHICH_FEATURE.search(text)
        ):
            name = IntentName.COMPARE  # "which ones have a numeric keypad?" asks about them
        if name in (IntentName.SEARCH, IntentName.REFINE):
            asked = _superlative_asked(text, state.shown)
            measured = next((s for s in SUPERLATIVES if s[2] and s[0].search(text)), None)
            if (
                name is IntentName.REFINE
                and not intent.query
                and not _narrows(intent)
                and asked is not None
                and (_WHICH_IS.match(text) or asked[2])
            ):
                # "what is the most expensive one?", "the lightest one" ask about what is
                # shown; "cheapest first" sorts
                return (yield from self._superlative(asked, state))
            draft = yield from self._search(intent, state, text)
            if intent.sort and draft.shown and _THE_EXTREME.search(text) and not draft.subject:
                draft.subject = draft.shown[0]  # "show me the cheapest": "it" is that one now
            if measured is None or not draft.shown or len(draft.shown) < 2:
                return draft
            # "the lightest one under 1000", "which laptop has the biggest screen": the search,
            # then the answer over what it shows
            answer = yield from self._superlative(measured, state, draft.shown)
            return replace(
                draft,
                body="\n".join(p for p in (draft.body, answer.intro) if p),
                evidence=[*draft.evidence, *answer.evidence],
                tools_called=[*draft.tools_called, *answer.tools_called],
                model_may_write=False,
                subject=answer.subject,
            )
        if name is IntentName.PRODUCT_QUESTION:
            return (yield from self._question(intent, state, text))
        if name is IntentName.COMPARE:
            return (yield from self._compare(intent, state, text))
        if name is IntentName.GREETING:
            return Draft(intro=_GREETING)
        if name is IntentName.OTHER:
            if asks_why(text) and state.why_shown and state.shown:
                # "why?" after a list: how it was chosen, not a request to say it again
                return Draft(intro=f"{state.why_shown} {_NEXT_STEPS}")
            return Draft(intro=_closing_reply(text) if is_closing(text) else _HELP)
        if (
            name is IntentName.ADD_TO_CART
            and not intent.refs
            and _superlative_asked(text, state.shown) is None
            and (words := _cart_named(text))
        ):
            # "ok add the printer to my cart": the product it names, among those shown, else
            # among those shown before; never the subject when the words name another
            named, problem = self._named(words, state)
            if problem is not None:
                return problem
            if named is not None:
                intent = intent.model_copy(update={"refs": named[0]}) if named[0] else intent
                state.subject = named[1] or state.subject
        yield Status("service", "Checking with the store")
        return self.service.handle(intent, state, text)

    def _named(
        self, words: list[str], state: SessionState
    ) -> tuple[tuple[list[int], str | None] | None, Draft | None]:
        """The product `words` name ("printer", "epson magenta"): its position among those
        shown, else its id among those seen before; or the question which, when several or
        none is. Words of no product's data ("add it please") name nothing: (None, None)."""
        said = " ".join(words)

        def holds(p: Product) -> bool:
            return not _unmentioned(said, [p])

        shown = self._shown(state)
        positions = [i for i, p in enumerate(shown, 1) if holds(p)]
        kind = headed_test(said)  # "the printer": a printer, before the ink that names one
        if any(kind(shown[i - 1].category) for i in positions):
            positions = [i for i in positions if kind(shown[i - 1].category)]
        if len(positions) == 1:
            return ([positions[0]], None), None
        if len(positions) > 1:
            which = [shown[i - 1] for i in positions]
            listed = "; ".join(f"{i}. {p.title}" for i, p in zip(positions, which, strict=True))
            return None, Draft(
                intro=f'Which {said} do you mean: {listed}? Say "add number {positions[0]}", '
                "for example.",
                evidence=which,
            )
        earlier = [p for p in self.index.get_many(state.seen) if p.id not in state.shown]
        before = [p for p in earlier if holds(p)]
        before = [p for p in before if kind(p.category)] or before
        if before:
            return ([], before[0].id), None  # the most recent of them
        if not shown and not earlier:
            return None, None
        return None, Draft(
            intro=f"I cannot tell which product you mean by {said!r}: none shown is one. "
            'Search for it first, or say "add the second one".'
        )

    def _search(
        self, intent: Intent, state: SessionState, text: str
    ) -> Generator[Event, None, Draft]:
        if intent.gift and not (intent.query or intent.brands or intent.attributes):
            # "A gift for my dad under 50": nothing to search for yet. The budget is kept for
            # the answer ("he likes music").
            state.filters = ActiveFilters(
                price_min=intent.price_min, price_max=intent.price_max, in_stock=intent.in_stock
            )
            return self._gift_question(intent, state.filters)
        if intent.rated:  # "best rated webcam": the webcams, and that no ratings exist
            draft = yield from self._search(intent.model_copy(update={"rated": False}), state, text)
            draft.intro = f"{_NO_RATINGS} {draft.intro}"
            draft.model_may_write = False
            return draft
        if intent.deals:  # "any deals on headphones?": the cheapest, and what the store says
            draft = yield from self._search(intent.model_copy(update={"deals": False}), state, text)
            policy = self.service.policy_answer(text)
            if policy is None:
                draft.intro = "The catalog lists no sale prices. " + draft.intro
            else:
                draft.intro = f"{policy.intro}\n{policy.body}\n\n{draft.intro}"
                draft.passages = [*draft.passages, *policy.passages]
                draft.tools_called = [*draft.tools_called, *policy.tools_called]
            draft.model_may_write = False
            return draft
        shown = self._shown(state) if state.shown else []
        filters = plan_search(intent, state.filters, shown, text)
        # A word the catalog does not hold, one letter away from one it does, is read as that
        # word ("blutooth speakr"), and the reply says so first: the words are the customer's.
        spelled = self.index.spelled(filters.query)
        if spelled == filters.query:
            state.filters = filters
            return (yield from self._searched(filters, state))
        typed = filters.query.split()
        unknown = [w for w, s in zip(typed, spelled.split(), strict=True) if w != s]
        state.filters = filters = filters.model_copy(update={"query": spelled})
        draft = yield from self._searched(filters, state)
        draft.intro = (
            f"No product mentions {either_of(unknown)}, so I searched for {spelled!r} instead. "
            + draft.intro
        )
        draft.model_may_write = False
        return draft

    def _gift_question(self, intent: Intent, budget: ActiveFilters) -> Draft:
        """What a gift without product words gets: the question what they like, with kinds of
        product the catalog has as examples."""
        categories = self.tools.search.index.categories()
        heads = {c.split()[-1] for c in categories if c}
        examples = [kind for kind in _GIFT_KINDS if kind.split()[-1] in heads][:3]
        listed = ", ".join(examples[:-1]) + " or " + examples[-1] if len(examples) > 1 else ""
        whom = f" for {intent.recipient}" if intent.recipient else ""
        within = f" {described}" if (described := _describe(budget)) else ""
        intro = (
            f"Happy to help you find a gift{whom}{within}. {_like_question(intent.recipient)} "
            "Tell me a kind of "
            f"product{f', for example {listed},' if listed else ''} and I will search the catalog."
        )
        return Draft(
            intro=intro, passages=[f"Asked for a gift{whom}{within}."], model_may_write=False
        )

    def _searched(
        self, filters: ActiveFilters, state: SessionState
    ) -> Generator[Event, None, Draft]:
        """The search `filters` ask for, its filters relaxed when nothing passes them."""
        if not filters.query and not (filters.brands or filters.attributes):
            if filters.price_min is None and filters.price_max is None:
                return Draft(intro=_HELP)
        yield Status("search", f"Searching the catalog for {filters.query or 'products'}")
        wanted = " ".join(p for p in (_readable(filters.query), _describe(filters)) if p)
        passages = [f"Searched for {wanted}."]
        if filters.page:
            return self._next_page(filters, wanted, passages)
        called = [self.tools.call("search_products", _search_args(filters, self.show))]
        hits: list[Hit] = called[0].artifact
        relaxed = looser = filters
        for dropped in _RELAXATIONS:
            if any(matching(hits, relaxed.query)) or not any(getattr(looser, f) for f in dropped):
                continue
            if "price_max" in dropped and any(h.matched_terms for h in hits):
                break  # within the price, near matches are better alternatives than dearer ones
            # Nothing passes the filters: relax the oldest kinds of filter first, and mark what
            # is shown as alternatives. A relaxation whose hits hold no more of the query's
            # words is no better alternative ("photography under 30", words no product holds):
            # the products within the filters stay.
            yield Status("search", "Nothing matches those filters; looking for alternatives")
            looser = looser.model_copy(update={f: _EMPTY[f] for f in dropped})
            called.append(self.tools.call("search_products", _search_args(looser, 3)))
            wider: list[Hit] = called[-1].artifact
            if any(matching(wider, looser.query)) or _overlap(wider) > _overlap(hits):
                relaxed, hits = looser, wider
        if not hits:
            intro = f"Nothing in the catalog matches {wanted}."
            tools_called = [c.name for c in called]
            return Draft(intro=intro, passages=passages, tools_called=tools_called, shown=[])
        matched = self._matched(hits, relaxed.query)
        # The kind of product the query names, of those the catalog has ("laptop": notebook)
        kind = (
            _kind_named(filters.query, self.tools.search.index.categories())
            if relaxed is filters and filters.query
            else None
        )
        if kind is not None and any(matched) and not filters.category:
            # No match is of the kind named ('32" monitor': a wall mount for 32"-60" screens):
            # no match, so the kind is searched below
            names = headed_test(filters.query)
            if not any(m and names(h.product.category) for h, m in zip(hits, matched, strict=True)):
                matched = [False] * len(hits)
        # Only products of the kind named matched, too few of them to fill the reply: the
        # re-ranker found none relevant, and the accessories that say the kind's name
        # outnumber it ("tablet": stands and cases, two tablets).
        few = 0 < sum(matched) < self.show and not self._relevant(hits)
        of_kind: str | None = None
        unmentioned: list[str] = []
        if (few or not any(matched)) and kind is not None:
            # Before saying the catalog may not carry it, or showing a few: when the query
            # names a kind of product the catalog has ("laptop": its notebooks), search among
            # that kind.
            yield Status("search", f"Looking among the catalog's {kind} products")
            args = {**_search_args(filters, self.show), "category": kind}
            called.append(self.tools.call("search_products", args))
            found: list[Hit] = called[-1].artifact
            # More matches among the kind than the search found (none, or a few)
            if sum(found_matched := matching(found, filters.query)) > sum(matched):
                hits, matched = found, found_matched
                # "cheaper", "show me more" go on among that kind
                filters = relaxed = filters.model_copy(update={"category": kind})
                state.filters = filters
            elif found and not any(matched):
                # The catalog has the kind, not with these words ("ergonomic keyboard",
                # "laptop for college under 500"): its closest products of that kind are
                # the first alternatives, and the reply says which words none of them
                # mentions.
                unmentioned = _unmentioned(filters.query, [h.product for h in found])
                ids = {h.product.id for h in found}
                rest = [h for h in hits if h.product.id not in ids]
                hits, of_kind = (found + rest)[: self.show], kind
        if relaxed is not filters:
            picked = hits
            loose = _describe(relaxed)
            intro = (
                f"Nothing in the catalog matches {wanted}. The closest alternatives"
                + (f" ({loose})" if loose else "")
                + ":"
            )
        elif not any(matched) and of_kind:
            picked = hits
            loose = _describe(filters)
            products = f"{of_kind} products" + (f" {loose}" if loose else "")
            intro = (
                f"None of our {products} mentions {either_of(unmentioned)}. "
                if unmentioned
                else f"I found no {products} that match {_readable(filters.query)!r}. "
            ) + "These are the closest, shown as alternatives:"
        elif not any(matched) and _describe(filters):
            picked = hits
            intro = f"Nothing in the catalog matches {wanted}. The closest alternatives:"
        elif not any(matched):
            picked = hits
            intro = (
                f"I could not find {_readable(filters.query)!r} in our catalog; we may not carry "
                "it. "
                "These are the closest items, shown as alternatives:"
            )
        else:
            picked = _picked(hits, matched, filters.query)
            n = len(picked)
            intro = f"Here {'is 1 match' if n == 1 else f'are {n} matches'} for {wanted}"
            unmentioned = _unmentioned(filters.query, [h.product for h in picked])
            if unmentioned:
                intro += f"; {'it does not mention' if n == 1 else 'none of them mentions'} "
                intro += either_of(unmentioned)
            intro += ":"
        alternative = relaxed is not filters or not any(matched)
        cards = [ProductCard.of_hit(h, alternative) for h in picked]
        why = (
            f"Nothing in the catalog matched {wanted}, so I showed the closest products I "
            "found, marked as alternatives."
            if alternative
            else _why_matches(wanted, filters)
        )
        return Draft(
            intro=intro,
            body="\n".join(c.line(i) for i, c in enumerate(cards, 1)),
            cards=cards,
            evidence=[h.product for h in picked],
            passages=passages + [f"Searched for {_describe(relaxed)}."],
            tools_called=[c.name for c in called],
            # The model writes the sentence over matches only, and not when the reply must say
            # a word of the query is unmentioned: it would echo "waterproof" as a fact.
            model_may_write=not alternative and not unmentioned,
            shown=[c.id for c in cards],
            subject="",
            why=why,
        )

    def _similar(self, intent: Intent, state: SessionState) -> Generator[Event, None, Draft]:
        """Products like the one pointed at ("something similar to the first one"): the same
        kind (category), the most relevant first; they become the active search, so "cheaper"
        and "show me more" go on from them."""
        ids, problem = self._targets(intent, state)
        if problem:
            return Draft(intro=problem)
        called = [self.tools.call("get_product_details", {"product_ids": ids[:1]})]
        found: list[Product] = called[0].artifact
        if not found:
            return Draft(
                intro="That product is no longer in the catalog.",
                tools_called=[called[0].name],
                subject="",
            )
        like = found[0]
        kind = like.category if like.category != "other" else None
        filters = ActiveFilters(query=kind or like.title, category=kind)
        state.filters = filters
        yield Status("search", f"Looking for products like {like.title}")
        called.append(self.tools.call("search_products", _search_args(filters, self.show + 1)))
        hits = [h for h in called[-1].artifact if h.product.id != like.id][: self.show]
        tools_called = [c.name for c in called]
        if not hits:
            return Draft(
                intro=f"I found nothing else like {like.title} in the catalog.",
                evidence=[like],
                tools_called=tools_called,
            )
        cards = [ProductCard.of_hit(h, False) for h in hits]
        n = len(cards)
        return Draft(
            intro=f"Here {'is 1 product' if n == 1 else f'are {n} products'} like {like.title}"
            + (f" ({kind})" if kind else "")
            + ":",
            body="\n".join(c.line(i) for i, c in enumerate(cards, 1)),
            cards=cards,
            evidence=[like, *(h.product for h in hits)],
            passages=[f"Products like {like.title}."],
            tools_called=tools_called,
            model_may_write=False,
            shown=[c.id for c in cards],
            subject="",
        )

    def _brands(self, intent: Intent, state: SessionState) -> Generator[Event, None, Draft]:
        """ "What brands of headphones do you have?": the brands of every product of the kind
        the words name (its category), or else of the products that match them (up to
        `_BRAND_CANDIDATES`), the most products first. The search becomes the active one, so
        a brand named next ("Philips") narrows it."""
        query = " ".join(w for w in intent.query.split() if w.lower() not in _BRAND_WORDS)
        if not query:
            n = len(self.index.brands())
            return Draft(
                intro=f"Our catalog has products of {n} brands. Name a kind of product "
                '("headphones", "printers") and I will list the brands we have of it.',
                passages=[f"{n} brands."],
            )
        categories = self.index.categories()
        yield Status("search", f"Looking up the brands of {query}")
        called: list[ToolResult] = []
        hits: list[Hit] = []
        kinds: list[str] = []
        filters = ActiveFilters(query=query)
        one_word = len(tokenize(query)) == 1

        def matches() -> list[Hit]:  # "gaming mouse": the products that hold the words
            called.append(
                self.tools.call("search_products", _search_args(filters, _BRAND_CANDIDATES))
            )
            found: list[Hit] = called[-1].artifact
            return [h for h, m in zip(found, matching(found, query), strict=True) if m]

        if not one_word:
            hits = matches()
        if not hits:  # "printers": every product of that kind, no query words to re-rank
            kinds = _kinds_headed(query, categories)
            for k in kinds:
                args = {**_search_args(ActiveFilters(category=k), categories[k]), "query": ""}
                called.append(self.tools.call("search_products", args))
                hits += called[-1].artifact
            filters.category = kinds[0] if kinds else None
        if not hits and one_word:
            hits = matches()
        tools_called = [c.name for c in called]
        if not hits:
            return Draft(
                intro=f"I could not find {query!r} in our catalog; we may not carry it.",
                tools_called=tools_called,
            )
        state.filters = filters
        counts = Counter(h.product.brand for h in hits if h.product.brand)
        listed = ", ".join(f"{brand} ({n})" for brand, n in counts.most_common())
        n, b = len(hits), len(counts)
        products = f"{n} product{'s' if n != 1 else ''}"
        if kinds:
            products += f" of the kind {(kinds[0] if len(kinds) == 1 else query)!r}"
        else:
            products += f" that match{'es' if n == 1 else ''} {query!r}"
        said = f"We have {products}, from {b} brand{'s' if b != 1 else ''}"
        if kinds and not one_word:  # "ergonomic keyboard": no product holds all the words
            unmentioned = _unmentioned(query, [h.product for h in hits])
            if unmentioned:
                said = f"None of our {kinds[0]} products mentions {either_of(unmentioned)}. {said}"
                # the active search is the kind then: "CHERRY" next means CHERRY keyboards
                kept = [w for w in query.split() if w.lower() not in unmentioned]
                state.filters = filters.model_copy(update={"query": " ".join(kept)})
        searched = f"categories {', '.join(kinds)}" if kinds else "matching products"
        return Draft(
            intro=f"{said}: {listed}. Name one to see its products.",
            evidence=[h.product for h in hits],
            passages=[f"Searched for {query} ({searched}).", f"{said}: {listed}."],
            tools_called=tools_called,
        )

    def _sized(self, intent: Intent, state: SessionState) -> Generator[Event, None, Draft]:
        """Products of the active search bigger, smaller, longer or shorter than the one pointed
        at, or than every product shown: "is there a bigger size?", "smaller ones", "a longer
        one?". A size is one the catalog states as a number (`_SIZES`); the nearest comes
        first. The active search stays as it was."""
        size = intent.size or "bigger"
        up = size in ("bigger", "longer", "heavier")
        measures, compared, extreme = _SIZES[size]
        if intent.refs or state.subject:
            ids, problem = self._targets(intent, state)
            if problem:
                return Draft(intro=problem)
            reference = self.index.get_many(ids)
        else:
            reference = self._shown(state)
        key = next(
            (k for k in measures if any(size_of(p, k) is not None for p in reference)),
            None,
        )
        if key is None:
            names = " or ".join(_MEASURES[k] for k in measures)
            of = reference[0].title if len(reference) == 1 else "the products shown"
            return Draft(
                intro=f"The catalog gives no {names} for {of}, so I cannot tell which products "
                f"are {size}.",
                evidence=reference,
            )
        label = _MEASURES[key]
        sized = [(v, p) for p in reference if (v := size_of(p, key)) is not None]
        limit, limit_of = (max if up else min)(sized, key=lambda t: t[0])
        of = limit_of.title if len(reference) == 1 else f"the {extreme} shown"
        than = f"{compared} {label} than {of} ({measure(key, limit_of.attributes[key])})"
        filters = state.filters.model_copy(update={"page": 0})
        if not filters.query and not filters.category and limit_of.category != "other":
            filters.category = limit_of.category
        yield Status("search", f"Looking for a {compared} {label}")
        called = self.tools.call("search_products", _search_args(filters, _SIZE_CANDIDATES))
        hits: list[Hit] = called.artifact
        ids_shown = {p.id for p in reference}
        found = [
            (v, i, h)
            for i, (h, m) in enumerate(zip(hits, matching(hits, filters.query), strict=True))
            if m
            and h.product.id not in ids_shown
            and (v := size_of(h.product, key)) is not None
            and (v > limit if up else v < limit)
        ]
        found.sort(key=lambda t: (t[0] if up else -t[0], t[1]))  # the nearest size first
        picked = [h for _, _, h in found[: self.show]]
        wanted = " ".join(
            part
            for part in (_readable(filters.query) or filters.category, _describe(filters))
            if part
        )
        if not picked:
            return Draft(
                intro=f"Nothing among the matches for {wanted} has a {than}.",
                evidence=reference,
                passages=[f"Searched for {wanted}."],
                tools_called=[called.name],
            )
        cards = [ProductCard.of_hit(h, False) for h in picked]
        n = len(cards)
        return Draft(
            intro=f"Here {'is 1 product' if n == 1 else f'are {n} products'} with a {than}"
            + (", the nearest first:" if n > 1 else ":"),
            body="\n".join(
                f"{c.line(i)} - {label} {measure(key, h.product.attributes[key])}"
                for i, (c, h) in enumerate(zip(cards, picked, strict=True), 1)
            ),
            cards=cards,
            evidence=[*reference, *(h.product for h in picked)],
            passages=[f"Searched for {wanted}."],
            tools_called=[called.name],
            model_may_write=False,
            shown=[c.id for c in cards],
            subject="",
        )

    def _relevant(self, hits: list[Hit]) -> bool:
        """Whether the re-ranker finds any of the hits relevant (all are, unscored)."""
        best = max((h.extra_scores.get("rerank_score", 1.0) for h in hits), default=1.0)
        return best >= self.min_relevance

    def _matched(self, hits: list[Hit], query: str) -> list[bool]:
        """Which hits match the query: they hold most of its words (`matching`), and when the
        re-ranker finds none of them relevant, they are also of the kind the query names. Its
        scores are not comparable across queries (it gives ASUS gaming notebooks -0.15 for
        "gaming laptop"), so a product of the very kind still matches."""
        matched = matching(hits, query)
        if not self._relevant(hits):
            names = headed_test(query)
            matched = [m and names(h.product.category) for h, m in zip(hits, matched, strict=True)]
        return matched

    def _next_page(self, filters: ActiveFilters, wanted: str, passages: list[str]) -> Draft:
        """The next products of the active search ("show me more"): its hits after the pages
        already shown, matches only; no filter is relaxed for them."""
        start = filters.page * self.show
        called = self.tools.call("search_products", _search_args(filters, start + self.show))
        hits: list[Hit] = called.artifact[start:]
        matched = self._matched(hits, filters.query)
        if not any(matched):
            return Draft(
                intro=f"That is everything I found for {wanted}. Tell me what else to look for.",
                passages=passages,
                tools_called=[called.name],
            )
        picked = _picked(hits, matched, filters.query)
        cards = [ProductCard.of_hit(h, False) for h in picked]
        n = len(picked)
        return Draft(
            intro=f"Here {'is 1 more match' if n == 1 else f'are {n} more matches'} for {wanted}:",
            body="\n".join(c.line(i) for i, c in enumerate(cards, 1)),
            cards=cards,
            evidence=[h.product for h in picked],
            passages=passages,
            tools_called=[called.name],
            model_may_write=False,
            shown=[c.id for c in cards],
            subject="",
            why=_why_matches(wanted, filters),
        )

    def _targets(self, intent: Intent, state: SessionState) -> tuple[list[str], str | None]:
        """The product ids a question or comparison is about, or why they cannot be told."""
        if intent.refs:
            n = len(state.shown)
            positions = [n if r == -1 else r for r in intent.refs]
            bad = [r for r in positions if not 1 <= r <= n]
            if bad:
                if not n:
                    return [], "I have not shown you any products yet. What are you looking for?"
                return [], f"I showed {n} product{'s' if n != 1 else ''}; which one do you mean?"
            return [state.shown[r - 1] for r in positions], None
        if state.subject:
            return [state.subject], None
        if len(state.shown) == 1:
            return state.shown[:1], None
        if state.shown:
            return [], 'Which product do you mean? You can say "the first one", for example.'
        return [], "I have not shown you any products yet. What are you looking for?"

    def _question(
        self, intent: Intent, state: SessionState, text: str
    ) -> Generator[Event, None, Draft]:
        if not intent.refs and (most := _superlative_asked(text, state.shown)) is not None:
            return (yield from self._superlative(most, state))  # "what is the cheapest one?"
        ids, problem = self._targets(intent, state)
        listed = False
        if (
            problem
            and state.shown
            and not intent.refs
            and not intent.attributes
            and any(p.search(text) for p in _ATTRIBUTE_WORDS.values())
        ):
            # "how big is the screen?" over a list: each product shown answers
            ids, problem, listed = state.shown, None, True
        has = _IT_HAS.search(text) if problem and state.shown and not intent.refs else None
        if has and not intent.attributes:
            # "does it have a backlit keyboard?" with no product pointed at: those shown that
            # mention it
            if words := _feature_words(has["what"]):
                return (yield from self._mentioning(words, state))
        if problem:
            if intent.query and not intent.refs:  # a question naming a product: search for it
                return (
                    yield from self._search(
                        intent.model_copy(update={"intent": IntentName.SEARCH}), state, text
                    )
                )
            if intent.attributes and not intent.refs and state.filters.query:
                # "do you have it in black?" over a list: the search, in black
                return (
                    yield from self._search(
                        intent.model_copy(update={"intent": IntentName.REFINE}), state, text
                    )
                )
            return Draft(intro=problem)
        yield Status("details", "Looking up the product")
        called = self.tools.call("get_product_details", {"product_ids": ids})
        products: list[Product] = called.artifact
        if not products:
            return Draft(
                intro="That product is no longer in the catalog.",
                tools_called=[called.name],
                subject="",
            )
        asked = [k for k, pattern in _ATTRIBUTE_WORDS.items() if pattern.search(text)]
        # "do you have it in blue?": its colour answers, not where "blue" occurs in its data
        asked += [k for k in intent.attributes if k in _ATTRIBUTE_WORDS and k not in asked]
        full = bool(_DETAIL_WORDS.search(text.lower()))
        positions = _positions(state, (p.id for p in products))
        values = {t for v in intent.attributes.values() for t in tokenize(v)}
        about = [
            w
            for w in _asked_about(text, products, intent.brands)
            if w not in values and not (asked and w in _ATTRIBUTE_TERMS)
        ]
        body = [details_text(p, asked, full, about) for p in products]
        if listed:
            body = [
                f"{state.shown.index(p.id) + 1}. {b}" for p, b in zip(products, body, strict=True)
            ]
        passages: list[str] = []
        tools_called = [called.name]
        # The catalog holds no warranty or shipping terms per product; the store policy does.
        policy = self.service.policy_answer(text) if _POLICY_TOPIC.search(text) else None
        if policy is not None:
            body += [policy.intro, policy.body]
            passages, tools_called = policy.passages, tools_called + policy.tools_called
        return Draft(
            intro="",
            body="\n".join(body),
            cards=[ProductCard.of(p, "the product you asked about") for p in products],
            evidence=products,
            passages=passages,
            tools_called=tools_called,
            subject=None if listed else products[0].id,
            refs=[] if listed else positions,
        )

    def _compare(
        self, intent: Intent, state: SessionState, text: str
    ) -> Generator[Event, None, Draft]:
        if len(intent.refs) < 2 and (asked := _superlative_asked(text, state.shown)) is not None:
            return (yield from self._superlative(asked, state))
        if intent.rated and len(intent.refs) < 2:  # "which one has the best reviews?"
            return Draft(intro=f"{_NO_RATINGS} So I cannot tell which is rated best.")
        topic = _POLICY_TOPIC.search(text)
        if topic and state.shown and len(intent.refs) < 2:
            # "which of them has the longest warranty?": the catalog holds no such terms per
            # product; the store policy states them for all
            said = f"The catalog states no {topic[1].lower()} terms per product, so I cannot "
            said += "tell them apart."
            policy = self.service.policy_answer(text)
            if policy is None:
                return Draft(intro=said)
            return Draft(
                intro=f"{said} {policy.intro}",
                body=policy.body,
                passages=policy.passages,
                tools_called=policy.tools_called,
            )
        feature = _WHICH_FEATURE.search(text)
        if feature and state.shown and len(intent.refs) < 2:
            if words := _feature_words(feature["what"]):
                return (yield from self._mentioning(words, state))
        first = _FIRST_N.search(text)
        if len(intent.refs) >= 2:
            ids, problem = self._targets(intent, state)
        elif first:
            ids, problem = state.shown[: _COUNTS[first[1].lower()]], None
        elif len(intent.refs) == 1:
            # "compare it with the first one": the product the conversation is about, and that one
            one, problem = self._targets(intent, state)
            other = [state.subject] if state.subject and state.subject not in one else []
            ids = other + one
            if not problem and not other:
                problem = (
                    "Which product should I compare with that one? Say, for example, "
                    '"compare the first and the second".'
                )
        else:
            ids, problem = state.shown[:3], None
        if problem:
            return Draft(intro=problem)
        if len(ids) < 2:
            return Draft(intro="Show me at least two products to compare: search for some first.")
        yield Status("compare", f"Comparing {len(ids)} products")
        called = self.tools.call("compare_products", {"product_ids": ids})
        table = called.artifact
        return Draft(
            intro="Here is how they compare:",
            body=table_text(table),
            cards=[ProductCard.of(p, "in the comparison") for p in table.products],
            evidence=table.products,
            tools_called=[called.name],
            table=table,
            refs=[state.shown.index(i) + 1 for i in ids if i in state.shown],
        )

    def _mentioning(self, what: str, state: SessionState) -> Generator[Event, None, Draft]:
        """ "Which of these is wireless?": the products shown whose data mention every word
        (through the shop vocabulary) and amount of `what`, by their numbers in the list. The
        one that does becomes the subject ("add it"); what was shown stays shown."""
        yield Status("compare", f"Looking for {what} among the products shown")
        called = self.tools.call("get_product_details", {"product_ids": state.shown})
        products: list[Product] = called.artifact
        holding = [p for p in products if not _unmentioned(what, [p])]
        n = len(products)
        of = "the product shown" if n == 1 else f"the {n} products shown"
        if not holding:
            intro = (
                f"The product shown does not mention {what!r}."
                if n == 1
                else f"None of {of} mentions {what!r}."
            )
            if state.filters.query:
                said = _readable(state.filters.query)
                intro += f' To search the catalog for it, say "{what} {said}".'
            return Draft(intro=intro, evidence=products, tools_called=[called.name])
        cards = [ProductCard.of(p, f"mentions {what}") for p in holding]
        numbers = [state.shown.index(p.id) + 1 for p in holding]
        k = len(holding)
        if n == 1:
            intro = f"The product shown mentions {what!r}:"
        else:
            counted = "all mention" if k == n else f"{k} mention" if k > 1 else "1 mentions"
            intro = f"Of {of}, {counted} {what!r}:"
        return Draft(
            intro=intro,
            body="\n".join(c.line(i) for i, c in zip(numbers, cards, strict=True)),
            cards=cards,
            evidence=products,
            tools_called=[called.name],
            subject=holding[0].id if k == 1 else None,
            refs=numbers,
        )

    def _named_among(
        self, intent: Intent, state: SessionState
    ) -> tuple[list[str] | None, str | None]:
        """The products a pick is among when the message numbers two or more ("which one is
        cheaper, 2 or 3?"), or why they cannot be told; (None, None) when it numbers none."""
        return self._targets(intent, state) if len(intent.refs) > 1 else (None, None)

    def _superlative(
        self,
        asked: Superlative,
        state: SessionState,
        shown: list[str] | None = None,
        word: str | None = None,
    ) -> Generator[Event, None, Draft]:
        """ "Which one is the cheapest?", "which has the longest cable?": the answer over every
        product shown (`shown`, else those of the comparison on screen, else the session's), by
        price or by a number the catalog states (`SUPERLATIVES`). `word` is what the customer
        said when it is a comparative ("which one is cheaper?"). The winner becomes the subject
        ("add it to my cart"); what was shown stays shown."""
        shown, where = _among(state) if shown is None else (shown, "shown")
        _, most, key, _ = asked
        label = _MEASURES[key] if key else "price"
        yield Status("compare", f"Finding the {most} of the products {where}")
        called = self.tools.call("get_product_details", {"product_ids": shown})
        products: list[Product] = called.artifact
        measured, winners = _winners(products, asked)
        the = word if word and len(products) == 2 else most  # "the cheaper" of two
        has = key not in (None, "weight")  # a product has the largest screen, is the lightest
        if not measured:
            return Draft(
                intro=f"The catalog states no {label} for the product {where}."
                if len(products) == 1
                else f"The catalog states no {label} for the products {where}, so I cannot "
                f"tell which {'has' if has else 'is'} the {the}.",
                evidence=products,
                tools_called=[called.name],
            )
        of = f"the {len(products)} products {where}"
        if len(measured) < len(products):
            of = f"the {len(measured)} of {of} whose {label} the catalog states"

        def value(p: Product, labelled: bool = True) -> str:
            if key is None:
                return money(p.price, p.currency)
            stated = measure(key, p.attributes[key])
            return f"{label} {stated}" if labelled else stated

        def named(p: Product) -> str:
            return f"{_numbered(state, p)} ({value(p)})"

        if len(products) == 1:  # "what's the cheapest one?" with one product shown
            intro = f"Only one product is {where}: {named(winners[0])}."
        elif len(winners) == 1 and has:
            intro = f"Of {of}, {named(winners[0])} has the {the}."
        elif len(winners) == 1:
            intro = f"Of {of}, the {the} is {named(winners[0])}."
        elif len(winners) == len(products):  # "which one is cheaper?" of two at one price
            same = "cost the same" if key is None else f"have the same {label}"
            intro = f"The {len(products)} products {where} {same}, {value(winners[0], False)}: "
            intro += "; ".join(named(p) for p in winners) + "."
        else:
            these = f"these have the {most}" if has else f"these are the {most}"
            intro = f"Of {of}, {these}: " + "; ".join(named(p) for p in winners) + "."
        return Draft(
            intro=intro,
            cards=[ProductCard.of(p, f"the {the} {where}") for p in winners],
            evidence=products,
            tools_called=[called.name],
            subject=winners[0].id if len(winners) == 1 else None,
            refs=_positions(state, (p.id for p in winners)),
        )

    def _recommend(
        self, state: SessionState, among: list[str] | None = None
    ) -> Generator[Event, None, Draft]:
        """ "Which would you recommend?": of the products named (`among`), else those compared,
        else those shown, the first in stock in the order of the list (how well each matches
        the search, or the order asked for), and the cheapest in stock beside it when that is
        another. The catalog holds no ratings, and the reply says what the pick goes by. The
        pick becomes the subject ("add it")."""
        among, where = _among(state) if among is None else (among, "shown")
        yield Status("compare", f"Choosing among the products {where}")
        called = self.tools.call("get_product_details", {"product_ids": among})
        products: list[Product] = called.artifact
        if not products:
            return Draft(intro="Those products are no longer in the catalog.")
        # the list's order: how well each matches the search (or the order asked for)
        products.sort(key=lambda p: state.shown.index(p.id) if p.id in state.shown else len(among))
        available = [p for p in products if p.in_stock]
        pick = (available or products)[0]

        def named(p: Product) -> str:
            return f"{_numbered(state, p)} ({money(p.price, p.currency)}, {stock_phrase(p.stock)})"

        if len(products) == 1:
            return Draft(
                intro=f"Only one product is {where}: {named(pick)}.",
                cards=[ProductCard.of(pick, f"the only product {where}")],
                evidence=products,
                tools_called=[called.name],
                subject=pick.id,
            )
        order = state.filters.sort if state.filters.sort != "relevance" else None
        if order:
            why = "it comes first in the order you asked for"
        elif state.filters.query:
            why = f"it matches your search for {_readable(state.filters.query)!r} best"
        else:
            why = "it comes first in the list"
        if pick is not products[0]:
            why += " of those in stock"
        elif available:
            why += " and is in stock"
        intro = f"Of the {len(products)} products {where}, I would go for {named(pick)}: {why}."
        cheapest = min(available or products, key=lambda p: p.price)
        cards = [ProductCard.of(pick, "the recommendation")]
        if cheapest.price < pick.price:
            stocked = " in stock" if available else ""
            intro += f" If price matters most, {named(cheapest)} is the cheapest{stocked}."
            cards.append(ProductCard.of(cheapest, f"the cheapest {where}"))
        if not available:
            intro += " None of them is in stock now."
        intro += f" {_NO_RATINGS}"
        return Draft(
            intro=intro,
            cards=cards,
            evidence=products,
            tools_called=[called.name],
            subject=pick.id,
            refs=_positions(state, (c.id for c in cards)),
        )

    # -- writing -------------------------------------------------------------------------------

    def _sentence(self, text: str, draft: Draft, deadline: float | None) -> str:
        """The model's connecting sentence: its first sentence, trimmed.

        Raises:
            ModelError: The model failed, or the turn's time budget is spent.
        """
        assert self.writer is not None
        timeout = None if deadline is None else deadline - time.monotonic()
        if timeout is not None and timeout < MIN_WAIT:
            raise ModelUnavailable("the turn's time budget is spent")
        titles = [c.title for c in draft.cards]
        if self.prompt_style == "short":
            messages = reply_messages(text, titles)
        else:
            messages = [Message("system", self._reply_prompt)]
            for example in self._reply_examples:
                messages.append(
                    Message("user", _writer_request(example["customer"], example["products"]))
                )
                messages.append(Message("assistant", example["sentence"]))
            messages.append(Message("user", _writer_request(text, titles)))
        raw = self.writer.complete(
            messages, max_tokens=40, temperature=self.temperature, timeout=timeout
        ).text
        line = next((ln.strip() for ln in raw.splitlines() if ln.strip()), "")
        return _SENTENCE_END.split(line, maxsplit=1)[0].strip().strip('"')


def _request(message: str, state: SessionState) -> str:
    """What the customer asked for, as the writer sees it: the message, led by the active
    search's words when the message does not hold them ("under 30" after "bluetooth speaker"
    is "bluetooth speaker, under 30"), so the sentence can name what the list is."""
    query = state.filters.query if state.filters else ""
    if query and not set(tokenize(query)) <= set(tokenize(message)):
        return f"{query}, {message}"
    return message


def unusable(sentence: str, text: str, draft: Draft, priced: bool = False) -> str | None:
    """Why a grounded sentence is still not shown, or None: empty, long, a question, a refusal
    or talk about the prompt, numbers the customer did not write, a budget when the search
    has no price bound (`priced`), or off the topic."""
    if not 8 <= len(sentence) <= 200:
        return "the sentence is empty or too long"
    if "?" in sentence or _OFF_TASK.search(sentence):
        return "the sentence asks, denies, apologises, offers to act or talks about its prompt"
    if set(re.findall(r"\d+", sentence)) - set(re.findall(r"\d+", text)):
        return "the sentence names numbers (model numbers and counts are the list's job)"
    if _BUDGET_CLAIM.search(sentence) and not priced:
        return "the sentence speaks of a budget the customer did not give"
    # The topic: the customer's words (stop words aside; "tv", "pc" and "sd" are words too) and
    # the shown titles' longer words (titles are full of units and codes such as "gb" or "x").
    asked = {t for t in tokenize(text) if len(t) > 2 or (len(t) == 2 and t.isalpha())}
    shown = {t for c in draft.cards for t in tokenize(c.title) if len(t) > 2}
    if not (asked | shown) & set(tokenize(sentence)):
        return "the sentence is about something else"
    return None


def _writer_request(customer: str, titles: list[str]) -> str:
    listing = "\n".join(f"- {t}" for t in titles)
    return f"Customer: {customer}\nProducts:\n{listing}"


_PRODUCT_TURN = {
    IntentName.SEARCH,
    IntentName.REFINE,
    IntentName.PRODUCT_QUESTION,
    IntentName.OTHER,
}
_SERVICE_TURN = {
    IntentName.ADD_TO_CART,
    IntentName.VIEW_CART,
    IntentName.ORDER_STATUS,
    IntentName.RETURN_REQUEST,
    IntentName.CANCEL_ORDER,
    IntentName.POLICY_QUESTION,
    IntentName.HANDOFF,
}
_HE = frozenset(
    "dad daddy father husband son grandpa grandfather grandson boyfriend brother uncle nephew "
    "him boy fiance".split()
)
_SHE = frozenset(
    "mum mom mommy mother wife daughter grandma grandmother granddaughter girlfriend sister "
    "aunt auntie niece her girl fiancee".split()
)


def _like_question(recipient: str | None) -> str:
    """ "What does he like?" for "your dad", "she" for "your sister", else "they"."""
    last = recipient.split()[-1] if recipient else ""
    if last in _HE:
        return "What does he like?"
    return "What does she like?" if last in _SHE else "What do they like?"


# Kinds of product a gift question gives as examples, those the catalog has (by a category's
# last word).
_GIFT_KINDS = ("headphones", "a speaker", "a smartwatch", "a camera", "a puzzle", "a video game")
_GREETING = (
    "Hello! I can search our catalog, compare products and answer questions about them. "
    "What are you looking for?"
)
_WELCOME = "You're welcome! If you need anything else, just ask."
_THANKS = re.compile(r"\b(thanks?|thank you|thx|ty|cheers)\b", re.I)
_BYE = re.compile(r"\b(bye|good ?bye|see you)\b", re.I)


def _closing_reply(text: str) -> str:
    """The answer to a message that only thanks, agrees or says goodbye: "You're welcome" only
    to thanks; a bare "yes", "no" or "ok" with nothing to confirm is acknowledged."""
    if _THANKS.search(text):
        return _WELCOME
    if _BYE.search(text):
        return "Goodbye! If you need anything else, just ask."
    return "All right. If you need anything else, just ask."


_NEXT_STEPS = 'Say "show me more" for the next ones, or tell me what to change.'


def _why_matches(wanted: str, filters: ActiveFilters) -> str:
    """How the matches of a search were chosen and ordered, in words."""
    order = "in the order you asked for" if filters.sort else "the most relevant first"
    return (
        f"They are the products that match {wanted}: the title, category or description of "
        f"each holds most of the words you searched for, {order}."
    )


_HELP = (
    "I did not understand that. Tell me what you are looking for, for example "
    '"a wireless mouse" or "a black laptop bag", and I will search the catalog.'
)
