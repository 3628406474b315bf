"""The deterministic floor of intent extraction: prices, brands, ordinals, order numbers, sizes.

Every turn gets a correct reading from this parser, whatever the model does: the model may add
to it, but the assistant never lets the model replace a number or brand read here with one that
is not in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from assistant.intent import Intent, IntentName, Size, SortOrder

# Inches: 15", 15 inch, 15-inch, 15 in. - but not the "in" of "2 in stock" or "30 in black".
_INCH = r"(?:\"|-?inch(?:es)?\b|in\.|in\b(?!\s*[a-z0-9]))"
# "1,299.99" has a thousands separator; "19,99" a decimal comma. A number followed by a unit
# ("1 TB", "100 watt", "15 inch") is not a price.
_NUM = (
    r"(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,6}(?:[.,]\d{1,2})?)"
    rf"(?!\d|[.,]\d|[a-z]|\s*(?:gb|tb|mb|{_INCH}|ft\b|foot|feet|m\b|cm\b|mm\b|w\b|watts?|v\b|"
    r"volts?|hp\b|ports?\b|pack\b|pcs\b))"
)
_CUR = r"(?:\$|usd\s*|eur\s*|gbp\s*|€|£)?"
_UNIT = r"(?:\s*(?:dollars?|bucks|usd|euros?|quid|pounds?|gbp))?"
PRICE = _CUR + _NUM + _UNIT

# "the difference between 1 and 3" names two products, not a price range (see _DIFFERENCE).
_BETWEEN = re.compile(
    rf"(?<!difference )\b(?:between|from)\s+{PRICE}\s*(?:and|to|-)\s*{PRICE}", re.IGNORECASE
)
# A range starts a word: the "7-920" of a model name "i7-920" is not one.
_RANGE = re.compile(
    rf"(?<![\w.-]){_CUR}{_NUM}\s*(?:-|–|to)\s*{_CUR}{_NUM}{_UNIT}(?=\s|$|[?.!,])", re.IGNORECASE
)
# A negated bound turns round: "nothing over $70" is a maximum, "no cheaper than 60" a minimum.
_NOT = r"(?<!no )(?<!not )(?<!nothing )(?<!never )"
_MAX = re.compile(
    rf"\b(?:{_NOT}under|{_NOT}below|{_NOT}less than|{_NOT}cheaper than|less expensive than|"
    r"(?:no|not|nothing|never) (?:more than|over|above|higher than|pricier than|"
    r"more expensive than)|"
    rf"at most|max(?:imum)?|up to|within|budget(?: of| is|:)?)\s*{PRICE}|<=?\s*{PRICE}",
    re.IGNORECASE,
)
_MIN = re.compile(
    rf"\b(?:{_NOT}over|{_NOT}above|{_NOT}more than|{_NOT}pricier than|{_NOT}higher than|"
    rf"{_NOT}more expensive than|north of|upwards of|in excess of|"
    r"(?:no|not|nothing|never) (?:less than|under|below|cheaper than|lower than)|"
    rf"at least|min(?:imum)?|from|starting at)\s*{PRICE}|>=?\s*{PRICE}",
    re.IGNORECASE,
)
# The bound after the amount: "50 dollars max", "$50 or less", "$50+", "50 bucks or more".
_MAX_AFTER = re.compile(
    rf"(?<![\w.]){PRICE}\s*(?:max(?:imum)?\b|tops\b|or less\b|or under\b|or below\b)",
    re.IGNORECASE,
)
_MIN_AFTER = re.compile(
    rf"(?<![\w.]){PRICE}\s*(?:\+(?!\d)|or more\b|or above\b|or over\b|and up\b|min(?:imum)?\b)",
    re.IGNORECASE,
)
_AROUND = re.compile(
    rf"(?:\b(?:around|about|roughly|approximately|close to|ballpark(?: of)?)|~)\s*{PRICE}",
    re.IGNORECASE,
)
# "$50 or so", "in the $50 range", "in the 300 dollar range": around the amount too.
_AROUND_AFTER = re.compile(rf"(?<![\w.]){PRICE}\s*(?:or so|give or take)\b", re.IGNORECASE)
_IN_RANGE = re.compile(rf"\bin the\s+{PRICE}\s*range\b", re.IGNORECASE)
_BARE_DOLLAR = re.compile(
    r"\$\s*(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,6}(?:\.\d{1,2})?)|"
    # "make it 50 dollars", "100 bucks": the amount with its currency word, as "$50"
    r"(?<![\w.$])(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,6}(?:\.\d{1,2})?)\s*"
    r"(?:dollars?|bucks|usd)\b",
    re.IGNORECASE,
)

_ORDER = re.compile(
    r"\border\s*(?:number|no\.?|num|id|#)?\s*[:#]?\s*([A-Z]{0,3}-?\d{3,10})\b", re.IGNORECASE
)
# An order number without the word "order", read only when the message is about an order.
_ORDER_NUMBER = re.compile(r"(?<![\w$€£.,/])#?([A-Z]{0,3}-?\d{4,10})\b(?![.,]\d)", re.IGNORECASE)
# Words that make a prefixed number ("SO-60218", "A-2270") an order number without "order".
_ORDER_CONTEXT = re.compile(
    r"\b(track\w*|deliver\w*|arriv\w*|dispatch\w*|ship(?:ped|ping)|parcel|package|refund|"
    r"return\w*|cancel\w*|status)\b",
    re.I,
)
_PREFIXED_NUMBER = re.compile(r"(?<![\w/])([A-Z]{1,3}-\d{4,10})\b")
# "the difference between 1 and 3": two products by position.
_DIFFERENCE = re.compile(
    r"\bdifference between (?:(?:the|option|number|no\.|#)\s*)?(\d{1,2})(?:st|nd|rd|th)?\s*"
    r"(?:and|&)\s*(?:(?:the|option|number|no\.|#)\s*)?(\d{1,2})(?:st|nd|rd|th)?\b",
    re.I,
)
_ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "6th": 6,
    "seventh": 7,
    "7th": 7,
    "eighth": 8,
    "8th": 8,
    "ninth": 9,
    "9th": 9,
    "tenth": 10,
    "10th": 10,
    "last": -1,
    "final": -1,
}
_ORDINAL = re.compile(
    r"\b(" + "|".join(_ORDINALS) + r")\b"
    # Not a position: "my 2nd order", "the 3rd time", "4th gen ipad", "apple pencil 2nd edition".
    r"(?!\s*(?:order|purchase|time|week|month|year|gen|generation|edition|version|series|rev"
    r"|revision|grade|floor|birthday|anniversary)\b)"
    r"(?:\s+(?:one|item|product|option|result))?",
    re.IGNORECASE,
)
# "first" and "last" are also adverbs and verbs ("cheapest first", "batteries that last"): they
# point at a product only after a determiner, before "one", beside another ordinal, or alone.
_AMBIGUOUS_ORDINALS = {"first", "last", "final"}
_DETERMINER_BEFORE = re.compile(r"\b(?:the|your|my)\s+$", re.IGNORECASE)
_ORDINAL_JOIN = re.compile(
    r"\s*(?:,|and|or|vs\.?|versus|with|to|&)\s*(?:(?:the|with|to)\s+)*", re.IGNORECASE
)
_FIRST_N = re.compile(r"\b(?:first|top)\s+(two|three|four|five|[2-5])\b", re.IGNORECASE)
_SMALL_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5}
_NUMBERED = re.compile(
    r"(?:#|\bnumber\s+|\bno\.\s*|\bitem\s+|\boption\s+)(\d{1,2})\b", re.IGNORECASE
)
# "compare 2 and 3", "compare 1, 2 and 4", "2 vs 3?": bare positions of the shown list, read only
# when nothing but the end of the request follows ("compare 32 and 64 gb sticks" names sizes).
_COMPARED_NUMBERS = re.compile(
    r"(?:\b(?:compare|comparing|which\s+(?:one\s+)?is\s+(?:better|cheaper|best))\s*,?\s*"
    r"(?:(?:items?|options?|numbers?|products?)\s+)?|(?<![\w.$€£]))"
    r"(\d{1,2})((?:\s*(?:,|and|or|&|vs\.?|versus|with)\s*(?:(?:the|with)\s+)?\d{1,2}\b)+)"
    r"(?=\s*(?:$|[?.!]|please\b|for me\b))",
    re.IGNORECASE,
)
# "the Sony one", "that one": a product already shown, named without its position.
_POINTER = re.compile(r"\b(?:that|this|the\s+[\w.-]+)\s+one\b", re.IGNORECASE)
_CAPACITY = re.compile(r"\b(\d{1,4}(?:\.\d)?)\s*(gb|tb|mb)\b", re.IGNORECASE)
_SCREEN = re.compile(rf"\b(\d{{1,2}}(?:\.\d)?)\s*{_INCH}", re.IGNORECASE)
# A size in inches is a screen size only for things with a screen (else: "36 inch vent hood").
_SCREEN_THING = re.compile(
    r"\b(tvs?|televisions?|monitors?|screens?|displays?|laptops?|notebooks?|tablets?|ipads?|"
    r"macbooks?|chromebooks?|ultrabooks?|smartphones?|phones?|projectors?)\b",
    re.IGNORECASE,
)
COLOURS = (
    "black",
    "white",
    "red",
    "blue",
    "green",
    "grey",
    "gray",
    "silver",
    "gold",
    "pink",
    "purple",
    "yellow",
    "orange",
    "brown",
    "beige",
    "rose gold",
)
_COLOUR = re.compile(r"\b(" + "|".join(sorted(COLOURS, key=len, reverse=True)) + r")\b", re.I)
# A number standing alone just before ("1/3 hp", "6.5 hp"), not the end of a word ("ddr4").
_NUMBER_BEFORE = re.compile(r"(?:^|[\s/(~])\d(?:[\d.,/]*\d)?\s*$")
# "cable 3m long": a length, not the brand 3M.
_LENGTH_AFTER = re.compile(r"^\s*(?:long|length|lead|cable|cord|high|wide|tall)\b", re.I)
_LENGTH_BEFORE = re.compile(r"\b(?:cable|cord|lead|length|of)\s*$", re.I)

_CART = r"(?:cart|basket|trolley)"
NAMES_CART = re.compile(rf"\b{_CART}\b", re.I)
# "which of these is best for gaming", "which would you pick": a comparison of what is shown.
_WHICH_OF = re.compile(
    r"\bwhich (?:one )?(?:of (?:these|them|those|the (?:two|three|2|3))|would you "
    r"(?:pick|choose|recommend|go for|get))\b",
    re.I,
)
_BETTER = (
    r"(?:\w+est|most \w+|least \w+|best|better|worse|cheaper|quieter|faster|lighter|smaller|"
    r"bigger)"
)
# What asks about sales and discounts: a policy question alone, the cheapest with product
# words (`_DEALS`).
_DEAL_TERMS = (
    r"discounts?|coupons?|promo(?:tion)? codes?|voucher codes?|deals?|bargains?|on sale|clearance"
)
_INTENT_RULES: list[tuple[IntentName, re.Pattern[str]]] = [
    (
        IntentName.HANDOFF,
        re.compile(
            r"\b(humans?|real person|(?:a|any|some) person(?= i can| to)|agents?\b(?!'s)|"
            r"representative|operator|manager|customer (?:service|support)|connect me|"
            r"transfer me|(?:talk|speak|chat) (?:to|with) (?:a |an |the |your )?(?:someone|"
            r"anyone|somebody|person|staff|people|support)|phone number|"
            r"(?:call|ring) (?:you|someone|somebody)|"
            # billing trouble is for a person: "I was charged twice", "double charged"
            r"charged (?:me )?(?:twice|two times|double|too much|the wrong amount)|"
            r"double[- ]charged|overcharged|billing (?:problem|issue|error|mistake))\b",
            re.I,
        ),
    ),
    (
        IntentName.CANCEL_ORDER,
        re.compile(
            r"\b(cancel|stop (?:my |the |this )?order|don't want (?:my |the )?order)\b", re.I
        ),
    ),
    (
        IntentName.POLICY_QUESTION,
        re.compile(
            r"\b(polic(?:y|ies)|warranty|guarantee|(?:shipping|delivery) (?:costs?|times?|fees?|"
            r"charges?|options?)|free (?:shipping|delivery)|how much (?:is|does) (?:the )?"
            r"(?:shipping|delivery)|how (?:long|many days)\b.*\b(?:return|ship|deliver|refund)\w*|"
            r"returns? window|privacy|payment (?:methods?|options?)|pay (?:with|by|using)|"
            r"how (?:do|can|should|could) (?:i|we) pay|"
            # the whole message asks to check out ("can I check out now?"), nothing else
            r"^\s*(?:(?:ok|okay|please|now),?\s+)*(?:(?:can|could|may) (?:i|we)\s+|"
            r"(?:i|we)(?:'d| would)? (?:like|want|need|wanna) to\s+|(?:i'?m\s+)?ready to\s+|"
            r"let(?: me|'s)\s+)?(?:check ?out|proceed to (?:the )?checkout)(?:\s+now)?"
            r"(?:,?\s+please)?(?=[\s?!.]*$)|"
            r"do you deliver|deliver (?:to|abroad|overseas|internationally|outside)|"
            # "which one ships fastest?": shipping, not products ("when will it arrive?" is
            # about an order)
            r"which (?:one|of them|of these|of those)\s+(?:(?:can|will|would|could) (?:be )?)?"
            r"(?:ships?|shipped|deliver\w*|arrives?)|"
            r"how (?:fast|quickly|soon) (?:can|do|will|would) you (?:ship|deliver)|"
            r"price match\w*|do you ship|ship to|(?:store|in-store) pick ?up|"
            # the store itself and paying: "store hours", "where are you located", installments
            r"(?:store|opening|business) hours|when are you open|are you open|"
            r"where (?:are you|is (?:your|the) (?:store|shop|company)) (?:located|based)|"
            r"where are you\b(?=\W*$)|(?:physical|brick and mortar|retail|local) (?:store|shop|"
            r"location)|visit (?:your|the) (?:store|shop)|installments?|payment plans?|financing|"
            r"pay (?:it )?(?:monthly|over time|later)|(?:payment|card|credit card) (?:info\w*|"
            r"details|data) (?:safe|secure)|safe to pay|order (?:by|over the) phone|phone orders?|"
            # the customer's data: privacy
            r"(?:do with|delete|erase|share|sell|keep|store|use) (?:my|our) (?:personal )?(?:data|"
            r"information|info|details)|my personal (?:data|information|info|details)|"
            # the customer's account: the website's, not the chat's
            r"(?:create|open|make|set up|sign up for|register for) (?:an |a |my )?account|"
            r"sign up|(?:forgot|forgotten|reset|change|lost) (?:my |the )?password|"
            r"(?:can'?t|cannot|unable to) (?:log|sign) ?in|how (?:do|can) i (?:log|sign) ?in|"
            # changing an order is for an agent, before it ships: the policy says so
            r"(?:change|update|edit|modify|correct|fix) (?:the |my |an? |our )?(?:shipping |"
            r"delivery |postal )?address|wrong (?:shipping |delivery )?address|"
            r"(?:change|modify|edit) (?:my |the |an? )?order|"
            r"(?:accept|take|allow) returns|"
            r"pick ?(?:it |them )?up (?:in|from|at) (?:the |a )?(?:store|shop)|click and collect|"
            rf"{_DEAL_TERMS})\b",
            re.I,
        ),
    ),
    (
        # where a return or refund stands: the orders' returns, not a new return
        IntentName.ORDER_STATUS,
        re.compile(
            r"\b(?:status of (?:my |the |a )?(?:refund|return|rma)|(?:refund|return|rma) status|"
            r"where(?:'s|s| is) (?:my|the) (?:refund|money|return)|"
            r"(?:did|have) (?:you|u) (?:get|got|receive|received) (?:my|the) return|"
            r"(?:has|was|is) my (?:refund|return) (?:been )?(?:processed|approved|received|"
            r"through|done|issued|complete)|"
            r"(?:haven'?t|have not|didn'?t|did not|still not|not yet) (?:got|gotten|received|"
            r"seen) (?:my|the|a|any) (?:refund|money))\b",
            re.I,
        ),
    ),
    (
        IntentName.RETURN_REQUEST,
        re.compile(
            r"\b(return (?:it|this|that|them|my|the|an?|order|request|#?\d)|"
            r"(?:want|like|need) to return|send (?:it|this|them) back|send back|"
            r"refund|rma|money back|return label|start a return|a return for|"
            r"(?:want|need|get) a replacement|exchange (?:it|this|that|them|my|the|an?)|"
            r"arrived (?:damaged|broken|faulty)|"
            # "I received a damaged item", "the speaker came broken"
            r"(?:received|got|came|arrived|delivered)(?: [\w'-]+){0,3} (?:damaged|broken|faulty|"
            r"defective|cracked|smashed|dented)|(?:damaged|broken|faulty|defective) (?:item|"
            r"product|package|parcel|one|delivery) (?:arrived|came|was delivered))\b",
            re.I,
        ),
    ),
    (
        IntentName.ORDER_STATUS,
        re.compile(
            r"\b(where is my|where(?:'s|s| is) (?:it|my (?:order|package|parcel|delivery|stuff))|"
            r"placed an order|out for delivery|"
            r"track (?:my |the |an? )?(?:order|package|parcel|delivery|shipment)|tracking "
            r"(?:number|info\w*|code|link|for|on)|order status|status of (?:my )?order|my orders?|"
            r"(?:expected|estimated) delivery|delivery date|"
            r"has (?:it|my order) shipped|when will .* arrive|i (?:have )?ordered|"
            r"(?:hasn't|has not|not yet|never) arrived|"
            r"what did i (?:order|buy|purchase)|(?:last|latest|most recent|previous|past|recent) "
            r"(?:orders?|purchases?)|(?:order|purchase) history|"
            r"my (?:order|package|parcel|delivery) (?:is|was) (?:late|delayed|lost|missing))\b",
            re.I,
        ),
    ),
    (
        IntentName.ADD_TO_CART,
        re.compile(
            rf"\b(add (?:it|this|that|them|the|one|\w+ )?.*to (?:my |the )?{_CART}|"
            rf"add to {_CART}|i'?ll take|i will take|buy (?:it|this|that|them)|"
            rf"(?:put|chuck|throw|pop|stick) .* in(?:to)? (?:my |the )?{_CART})\b|"
            # a whole message that takes what is pointed at: "ok add it", "add this one please"
            r"^\W*(?:(?:ok|okay|yes|yeah|great|perfect|sure|alright|then|please)\W+)*"
            r"(?:add|take|get) (?:it|this|that|them|these|those)(?: one)?"
            r"(?:[\s,]+(?:please|then|thanks|thank you))*[\s.!]*$",
            re.I,
        ),
    ),
    (
        IntentName.VIEW_CART,
        re.compile(
            rf"\b(my {_CART}|what(?:'s| is) in (?:my|the) {_CART}|(?:view|show|"
            rf"open|see|check) (?:my |the )?{_CART}|{_CART} total|what (?:have|did) "
            r"i (?:added|add|put)|"
            # "what's my total?", "how much do I owe?": the cart's sum
            r"(?:what(?:'s| is) )?(?:my|the) (?:total|subtotal|grand total)(?! (?:price|cost) of)|"
            r"how much (?:do i owe|is (?:it|everything|that) (?:all )?(?:together|in total)|"
            r"in total))\b"
            # "remove it", "delete the second one": only the cart has things to remove.
            r"|^\s*(?:(?:ok|okay|please|actually|now),?\s+)*(?:remove|delete)\b",
            re.I,
        ),
    ),
    (
        IntentName.COMPARE,
        re.compile(
            r"\b(compare|comparison|vs\.?|versus|difference between|which is better|"
            r"stacks? up|(?:better|worse) value|what(?:'s| is) better|"
            # "which one is the quietest", "which has the longest battery", "brother or epson,
            # which ..." - but "which is the best gaming mouse" asks for products
            rf"which (?:one |of them )?has (?:the )?{_BETTER}|"
            rf"which (?:one |of them )?(?:is|are|would be) (?:the )?{_BETTER}"
            r"(?=\s*(?:[?.!,]|$|one\b|for\b|of\b|to\b|overall\b|here\b))|"
            r"\bor\b[^,?]{1,30},\s*which|"
            r"is (?:the|that|this) [\w -]{1,30}? (?:(?:more|less) \w+|\w+er|better|worse) than "
            r"(?:the|that|this|option|number|#))\b|" + _WHICH_OF.pattern,
            re.I,
        ),
    ),
]
_ORDER_INTENTS = {IntentName.ORDER_STATUS, IntentName.CANCEL_ORDER, IntentName.RETURN_REQUEST}
# A question about an attribute of what is shown: "how big is the screen?", "what's the weight"
_ATTRIBUTE_QUESTION = re.compile(
    r"^\s*(?:and |so |ok |okay )?(?:how (?:big|large|heavy|long) (?:is|are) (?:the|its|their) "
    r"(?:screen|display|battery|cable)|what(?:'s| is| are) (?:the|its|their) (?:screen size|"
    r"display size|weight|battery life|storage(?: capacity)?|capacity|cable length|colou?rs?)|"
    r"how much (?:do|does) (?:it|they|the \w+) weigh)\b",
    re.I,
)
# A message that starts by adding something pointed at: the cart, whatever it names
_ADD_LEAD = re.compile(
    r"^\s*(?:(?:ok|okay|yes|yeah|please|and|then|now|also|great|perfect),?\s+)*(?:add|put)\s+"
    r"(?:the|that|this|those|these|it|them|both|\d+|two|three|a couple)\b",
    re.I,
)
_TAKE = re.compile(r"\b(buy|take|order|purchase|get|add|go (?:with|for))\b", re.I)
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|good (?:morning|afternoon|evening)|howdy|hiya|greetings)\b[\s!.,]*"
    r"(there|team|all|everyone|folks)?[\s!.,]*(how are you(?: doing)?|how's it going)?"
    r"[\s!.,?]*$",
    re.I,
)
_CLOSING = re.compile(
    r"^\s*(?:(?:thanks?(?: you)?(?: so much| a lot)?|thank you|thx|ty|ok(?:ay)?|cool|great|"
    r"perfect|bye|good ?bye|see you|cheers|never ?mind|nvm|lol|yes|no|that's all|"
    r"(?:that's|that is) (?:all|it) for (?:now|today))\b[\s!.,]*)+$",
    re.I,
)

# Asking why ("why?", "why these?", "how come?"): after a list, the turn says how it was chosen
_WHY = r"why(?: is that| so| (?:these|those)(?: ones)?| them| this| that)?|how come"
_ASKS_WHY = re.compile(rf"^\s*(?:{_WHY})[\s!.,?]*$", re.I)
# Puzzlement and filler that name no product and ask for nothing the tools do ("why?", "hmm",
# "what do you mean"): searching the catalog for "why" shows dolls and shaving heads.
_CHATTER = re.compile(
    rf"^\s*(?:(?:{_WHY}|why not|"
    r"really|seriously|hmm+|huh|uh+|um+|erm?|"
    r"what do you mean|what does that mean|i (?:do not|don'?t) (?:understand|get it)|"
    r"sure|fine|alright|all right|ok|okay|maybe(?: later)?|not now|later|wow|oh|ah|i see|"
    r"got it|makes sense|(?:that'?s|that is) (?:weird|strange|odd|annoying|too bad|a shame))"
    r"\b[\s!.,?]*)+$",
    re.I,
)


def is_closing(text: str) -> bool:
    """Whether the message only thanks, agrees or says goodbye ("ok thanks, bye")."""
    return bool(_CLOSING.match(text))


def asks_why(text: str) -> bool:
    """Whether the message only asks why ("why?", "why these?", "how come?"); it is chatter."""
    return bool(_ASKS_WHY.match(text))


def is_chatter(text: str) -> bool:
    """Whether the message only thanks, agrees, says goodbye or is puzzled ("why?", "hmm"): it
    names no product, whatever a model reads into it."""
    return bool(_CLOSING.match(text) or _CHATTER.match(text))


_REFINE = re.compile(
    r"^\s*(?:(?:no|nah|hmm+|ok|okay),?\s+)?(?:only|just|cheaper|less expensive|more expensive|"
    r"something cheaper|show (?:me )?(?:more|cheaper|only)|what about|any in|any (?:with|without|"
    r"that)|ones (?:with|without|that)|in (?:black|white|red|blue)|under|below|"
    r"over|above|sort|by price|bigger|smaller|larger|(?:something )?(?:lighter|heavier))\b|"
    r"\bonly[\s.!?]*$|"
    r"\b(?:other|different|another) (?:brands?|makes?)\b",
    re.I,
)
# Words that point back at the results shown or change them; they name no product.
_REFINE_CUE = re.compile(
    r"\b(instead|rather|same(?: thing)?|but|else|narrow (?:it |them |this )?down(?: to)?|"
    r"make (?:it|them)|only|just|these|those|ones|cheaper|pricier|(?:more|less) expensive|"
    r"bigger|smaller|larger)\b",
    re.I,
)
_ANAPHORA = re.compile(r"\b(ones|these|those)\b", re.I)
_FOR = re.compile(r"\bfor\b", re.I)
# "a mouse that matches it", "a case to go with that one": what it goes with is no product word
_GOES_WITH = re.compile(
    r"\b(?:that|which|to|so it)\s+(?:would\s+|will\s+|can\s+)?(?:match(?:es)?|go(?:es)?\s+with|"
    r"fits?(?:\s+with)?)\s+(?:it|that|this|them|those|these|mine)(?:\s+ones?)?\b|\bmatching\b",
    re.I,
)
# A message that starts as a question ("when would option 5 arrive if I order today").
_ASKS = re.compile(r"^\s*(?:when|how|what|whats|does|do|is|are|will|would|which|where|why)\b", re.I)
# "does it work with mac?", "is that kettle cordless?", "how many pages does that toner do?"
_IT_QUESTION = re.compile(
    r"\b(?:does|do|is|are|will|can|would|has|did)\s+(?:it|they|(?:that|this|these|those)"
    r"(?!\s+(?:shop|store|site|website|place|company)\b)(?:\s+[\w-]+)?)\b",
    re.I,
)
# Small talk the shop has no answer for.
_OFF_TOPIC = re.compile(
    r"\b(weather (?:like|today|tomorrow|forecast)|tell me a joke|are you (?:a )?(?:bot|robot|"
    r"human|real)|meaning of life|who won)\b",
    re.I,
)
_QUESTION = re.compile(
    r"\b(in stock|available|how much|price of|does (?:it|this|that)|is (?:it|this|that)|"
    r"what (?:is|are) the|tell me (?:more )?about|details|specs?|colou?rs?|dimensions|"
    r"weight|compatible)\b",
    re.I,
)
# "show me more", "any others?", "next page": the next products of the search shown last.
_MORE = re.compile(
    r"^\s*(?:(?:ok|okay|please|and|yes|can you|could you),?\s+)*(?:(?:show|give|see|list)\s+"
    r"(?:me\s+|us\s+)?)?(?:some\s+|any\s+)?(?:more|others|other ones|next(?: page| ones| five)?|"
    r"the next (?:page|ones|five))(?:\s+(?:results?|options?|ones|products?|items?|please))*"
    r"[\s?!.]*$",
    re.I,
)
# "something similar to the first one", "anything like it?", "more like this", "alternatives to
# the third one": products like one shown, not words to search for.
_SIMILAR = re.compile(
    r"\b(?:similar(?:\s+(?:ones?|products?|items?))?(?:\s+to)?|(?:something|anything|more|others?|"
    r"ones?|products?)\s+like|alternatives?\s+(?:to|for))\s*(?:(?:the|that|this|it|them|these|"
    r"those)\b|$|[?.!])",
    re.I,
)
# "is there a bigger size?", "smaller ones", "a larger screen", "a longer battery life": a size
# relative to what was shown; the size words go with it ("screen size" is not a product word).
_SIZE = re.compile(
    # "lighter" and "heavier" are a size only first or after "something", "a", "any", ...:
    # a "car lighter adapter" is a product
    r"(?:\b(bigger|larger|smaller|more compact|longer|shorter)|(?:^\s*|\b(?:something|anything|"
    r"any|a|an|bit|slightly|much|even|one)\s+)(lighter|heavier))"
    r"(?:\s+(?:screens?|displays?|sizes?|capacity|storage|ones?|versions?|models?|packs?|"
    r"battery|life)){0,2}\b",
    re.I,
)
_SIZE_WORDS: dict[str, Size] = {
    "bigger": "bigger",
    "larger": "bigger",
    "smaller": "smaller",
    "more compact": "smaller",
    "longer": "longer",
    "shorter": "shorter",
    "lighter": "lighter",
    "heavier": "heavier",
}
# "add 2 of the first one", "I'll take three of them", "add 2 to my cart": a quantity for the
# cart. A number followed by anything else ("2 tb drive") is not one.
_QUANTITY = re.compile(
    r"\b(?:add|buy|take|get|order|want|need|have)\s+(\d{1,3}|two|three|four|five|six|"
    rf"a couple(?: of)?|a pair of)\s+(?:(?:of\s+)?(?:the|those|these|them|it|that|this)\b|of\s+"
    rf"(?=(?:#|number|option|item)\b)|(?:to|in|into)\s+(?:my|the)\s+{_CART}\b|more\b)",
    re.I,
)
_QUANTITY_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
# "make it 2", "change that to three": how many the cart should hold of what was just added or
# pointed at. A number with a unit or a price ("make it 50 dollars") is not one.
_SET_QUANTITY = re.compile(
    r"\b(?:make|change|set|update)\s+(?:it|that|this|them|the quantity|the amount)\s+"
    r"(?:to\s+)?(\d{1,3}|two|three|four|five|six|a couple|a pair)(?:\s+of\s+(?:them|those))?"
    r"(?=\s*(?:$|[?.!,]|(?:instead|please|then|units?|pieces?|items?)\b))",
    re.I,
)


def _size(word: str) -> Size:
    return _SIZE_WORDS[" ".join(word.lower().split())]


def _quantity(word: str) -> int:
    """The quantity `_QUANTITY` read: "2", "three", "a couple of" (2)."""
    word = word.lower()
    if word.isdigit():
        return max(1, int(word))
    return 2 if word.startswith("a ") else _QUANTITY_WORDS[word]


# "only the ones in stock", "in-stock items", "available now": a filter, not product words.
_IN_STOCK_ONLY = re.compile(
    r"\b(?:(?:only|just)\s+(?:(?:the|those|ones?|items?|products?|that|which|are|is)\s+)*"
    r"(?:in[- ]stock|available)|in[- ]stock\s+(?:ones?|items?|products?|only)|"
    r"(?:that|which)\s+(?:are|is)\s+(?:in[- ]stock|available)|available\s+(?:right\s+)?now|"
    r"in[- ]stock(?=[\s?!.]*$)|^\s*in[- ]stock)\b",
    re.I,
)
_BY_PRICE = r"(?:(?:sort(?:ed)?|order(?:ed)?|list(?:ed)?) by price,?\s*)?"
_SORT_DESC = re.compile(
    rf"\b{_BY_PRICE}(?:most expensive|highest(?: price)?|(?:price )?high(?:est)? to low(?:est)?|"
    r"priciest|descending)(?:\s+(?:price\s+)?first)?\b",
    re.I,
)
_SORT_ASC = re.compile(
    rf"\b{_BY_PRICE}(?:cheapest|lowest(?: price)?|(?:price )?low(?:est)? to high(?:est)?|"
    r"ascending)(?:\s+(?:price\s+)?first)?\b|\b(?:sort(?:ed)?|order(?:ed)?|list(?:ed)?) by price\b",
    re.I,
)
_CONTRACTION = re.compile(r"(?<=\w)(?:'(?:s|m|re|ll|d|ve)|n't)\b", re.I)
_FILLER = re.compile(
    r"\b(i|im|me|my|we|us|our|you|your|a|an|the|some|any|all|please|pls|looking|look|for|want|"
    r"wanna|need|would|like|to|buy|get|find|show|search|sell|offer|do|does|did|have|has|had|"
    r"got|can|could|will|is|are|was|were|am|be|it|its|they|them|one|that|this|and|or|of|"
    r"in|on|at|from|by|about|than|so|also|cheap|good|best|new|something|anything|stock|price|"
    r"least|most|"
    r"prices|priced|dollars?|bucks|usd|euros?|hi|hello|hey|thanks?|what|which|where|when|how|"
    r"much|many|there|here|tell|know|let|more|less|compare|comparison|vs|versus|difference|"
    r"between|better|sort|sorted|sure|really|ok|okay|yes|yeah|yep|actually|maybe|hmm+|um+|oh|"
    r"too|meant|mean|no|whats|recommend|suggest|rated|"
    r"ah|wow|nice|cool|awesome|now)\b",
    re.I,
)


# "Which one is the cheapest?": the superlative, what it measures (an attribute the reply
# compares, `turn._MEASURES`; None: the price), and whether the most of it wins. A measured one
# is no product words ("the lightest laptop" searches "laptop"); the turn answers it.
Superlative = tuple[re.Pattern[str], str, str | None, bool]
# What may follow a superlative that names no measure: "the longest?", "the longest one".
_ALONE = r"(?=\s*(?:$|[?.!,]|(?:ones?|of|among|here|shown|please)\b))"
SUPERLATIVES: list[Superlative] = [
    (
        re.compile(r"\b(cheapest|least expensive|lowest price|most affordable)\b", re.I),
        "cheapest",
        None,
        False,
    ),
    (
        re.compile(r"\b(most expensive|priciest|highest price)\b", re.I),
        "most expensive",
        None,
        True,
    ),
    (re.compile(r"\blightest\b", re.I), "lightest", "weight", False),
    (re.compile(r"\bheaviest\b", re.I), "heaviest", "weight", True),
    (
        re.compile(r"\b(biggest|largest) (screen|display)\b", re.I),
        "largest screen",
        "display_diagonal",
        True,
    ),
    (
        re.compile(r"\bsmallest (screen|display)\b", re.I),
        "smallest screen",
        "display_diagonal",
        False,
    ),
    (
        re.compile(r"\b(most|largest|biggest) (storage|capacity)\b", re.I),
        "most storage",
        "storage_capacity",
        True,
    ),
    (
        re.compile(r"\b(?:longest|best|most)\s+battery(?:\s+life)?\b", re.I),
        "longest battery life",
        "battery_life",
        True,
    ),
    (
        re.compile(r"\bshortest\s+battery(?:\s+life)?\b", re.I),
        "shortest battery life",
        "battery_life",
        False,
    ),
    # "The longest" alone is the cable; "the longest warranty" is not (no number says it).
    (re.compile(rf"\blongest(?:\s+cable\b|{_ALONE})", re.I), "longest cable", "cable_length", True),
    (
        re.compile(rf"\bshortest(?:\s+cable\b|{_ALONE})", re.I),
        "shortest cable",
        "cable_length",
        False,
    ),
]
# "Which one is cheaper?", "the lighter of the two", "add the cheaper one": a comparative that
# picks among the products shown (or compared), as its superlative does (`comparative_asked`).
# "Something cheaper", "cheaper ones" and "is there a cheaper one?" refine the search instead.
_COMPARATIVES: list[tuple[str, str, str]] = [  # (what is said, the comparative, its superlative)
    (r"cheaper|less expensive|more affordable|lower[- ]priced", "cheaper", "cheapest"),
    (r"more expensive|pricier|dearer|higher[- ]priced", "more expensive", "most expensive"),
    (r"lighter", "lighter", "lightest"),
    (r"heavier", "heavier", "heaviest"),
    (r"(?:bigger|larger) (?:screen|display)", "larger screen", "largest screen"),
    (r"smaller (?:screen|display)", "smaller screen", "smallest screen"),
    (r"more (?:storage|capacity)", "more storage", "most storage"),
    (r"(?:longer|better|more) battery(?: life)?", "longer battery life", "longest battery life"),
    (r"shorter battery(?: life)?", "shorter battery life", "shortest battery life"),
    (r"longer(?: cable)?", "longer cable", "longest cable"),
    (r"shorter(?: cable)?", "shorter cable", "shortest cable"),
]
_PICKER = re.compile(
    r"\b(?:which(?:\s+one)?(?:\s+of\s+(?:them|these|those|the\s+(?:two|2|three|3)(?:\s+\w+)?))?"
    r"\s+(?:is|are|has|have|would be|costs?|weighs?)\s+(?:the\s+)?(?P<asked>"
    + "|".join(f"(?:{said})" for said, _, _ in _COMPARATIVES)
    + r")\b|\bthe\s+(?P<picked>"
    + "|".join(f"(?:{said})" for said, _, _ in _COMPARATIVES)
    + r")(?=\s*(?:$|[?.!,]|one\b|of\b|please\b)))",
    re.I,
)


def comparative_asked(text: str) -> tuple[Superlative, str] | None:
    """The superlative that a comparative picking among products asks for, with the
    comparative ("which one is cheaper?": the cheapest, "cheaper"); None when the message asks
    none."""
    m = _PICKER.search(text)
    if m is None:
        return None
    said = (m["asked"] or m["picked"]).lower()
    for pattern, comparative, superlative in _COMPARATIVES:
        if re.fullmatch(pattern, said, re.I):
            found = next(t for t in SUPERLATIVES if t[1] == superlative)
            return found, comparative
    return None  # pragma: no cover - the pattern holds only the comparatives listed


# Gifts. Who a product is for, the occasion and what they like are no product words: "a gift
# for my dad under 50" has none, "something for a 10 year old who likes games" has "games". They
# are cut from the query; a gift without product words is answered with a question (what do
# they like?). "Gift cards" are products, "baby", "kids", "girl" and "boy" product words ("baby
# monitor", "kids headphones").
_RELATIONS = (
    r"(?:dad|daddy|father|mum|mom|mommy|mother|parents|wife|husband|son|daughter|grandma|grandpa|"
    r"grandmother|grandfather|grandparents|granddaughter|grandson|boyfriend|girlfriend|partner|"
    r"fiancee?|friend|brother|sister|uncle|aunt|auntie|boss|colleague|co-?worker|nephew|niece|"
    r"teacher|in-laws?)s?"
)
_AGE = (
    r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r"[- ]?(?:years?|yrs?)[- ]?olds?"
)
_RECIPIENT = re.compile(
    r"\bfor\s+(?P<whom>"
    rf"(?:(?:my|a|an|our|his|her|the|your)\s+)?(?:(?:little|young|teenage|{_AGE})\s+)?"
    rf"{_RELATIONS}|him|her|someone|somebody|"
    rf"(?:(?:my|a|an|our)\s+)?{_AGE}(?:\s+(?:girl|boy|kid|child)s?)?)\b",
    re.I,
)
_OCCASION = (
    r"(?:birthday|christmas|xmas|anniversary|wedding|graduation|housewarming|retirement|"
    r"holiday|valentine'?s(?:\s+day)?|mother'?s\s+day|father'?s\s+day|secret\s+santa)"
)
_GIFT = re.compile(
    rf"\b(?:{_OCCASION}\s+)?(?:gifts?|presents?)(?:\s+ideas?)?\b(?!\s+cards?\b)"
    rf"|\bstocking\s+(?:fillers?|stuffers?)\b"
    rf"|\bfor\s+(?:(?:his|her|my|their|a|the)\s+)?{_OCCASION}\b",
    re.I,
)
# "A gift for a music lover": the interest is the product words, the rest who it is for. A fan
# is a person only after an article: "a light for ceiling fans" is for fans that turn.
_LOVERS = r"lovers?|enthusiasts?|addicts?|geeks?|nerds?|buffs?|junkies?"
_FAN = re.compile(
    r"\bfor\s+(?P<whom>(?P<article>(?:a|an|my|our|the)\s+)[a-z][\w-]*\s+"
    rf"(?P<fan>fans?|{_LOVERS})|[a-z][\w-]*\s+(?P<lover>{_LOVERS}))\b",
    re.I,
)
_LIKES = re.compile(
    r"\b(?:who|he|she|they)(?:\s+(?:really|also|just))?\s+(?:likes?|loves?|enjoys?|"
    r"(?:is|are|'s|'re)\s+(?:really\s+)?(?:into|interested\s+in|(?:a\s+)?(?:big\s+)?fans?\s+of))\b",
    re.I,
)


# Sales and deals: the catalog has no sale prices. With product words ("any deals on
# headphones?") they ask for the cheapest of those; alone ("any deals?") they are a question
# for the store policy (its "Prices, sales and discounts" section).
_DEALS = re.compile(rf"\b(?:(?:special\s+)?(?:{_DEAL_TERMS})|discounted)\b", re.I)


# Ratings, reviews and best sellers: the catalog has none ("best rated webcam" searches
# "webcam", and the reply says there are no ratings).
_RATED = re.compile(
    r"\b(?:(?:best|top|highest|most|well|good|great|better|higher)[- ]?"
    r"(?:rated|reviewed|ranked|selling|sellers?)|best-?sellers?|bestselling|most popular|"
    r"(?:(?:good|great|best|top|positive|high|the)\s+)?(?:reviews?|ratings?))\b",
    re.I,
)


_RATED_INTENTS = (IntentName.SEARCH, IntentName.REFINE, IntentName.COMPARE)
# Words that qualify a deal, not a product: "any other discounts?", "deals today", "the best
# deals this week".
_DEAL_WORDS = frozenset(
    "other others today tonight now right currently current moment this week weekend month "
    "year good great hot top big latest special running use using apply redeem enter code "
    "codes".split()
)


def _features_first(words: list[str]) -> list[str]:
    """`words` with what follows each "with" before what it follows: "laptops with ram" ->
    "ram laptops" ("with" is filler and left out)."""
    groups: list[list[str]] = [[]]
    for w in words:
        if w.lower() == "with":
            groups.append([])
        else:
            groups[-1].append(w)
    return [w for group in reversed(groups) for w in group]


def _recipient(match: re.Match[str]) -> str:
    """Who a `_RECIPIENT` match names, as the reply says it: "my dad" -> "your dad"."""
    words = match.group("whom").lower().split()
    if words[0] in ("my", "our"):
        words[0] = "your"
    return " ".join(words)


_PRODUCT_INTENTS = {
    IntentName.SEARCH,
    IntentName.REFINE,
    IntentName.PRODUCT_QUESTION,
    IntentName.COMPARE,
}
Span = tuple[int, int]


# Corporate words a customer leaves out: "kingston" for "Kingston Technology".
_CORPORATE = re.compile(
    r"\s+(?:technology|technologies|interactive|entertainment|electronics|international|inc\.?|"
    r"corp\.?|corporation|creative|ltd\.?|gmbh|systems|networks)$",
    re.I,
)


def _brand_pattern(name: str) -> re.Pattern[str]:
    """How a brand may be written: any case, "-", " " or nothing where the name has "-" or a
    space ("tp link", "oral b"), without a ".com" ending or a corporate last word."""
    core = re.sub(r"\.com$", "", name, flags=re.I)
    short = _CORPORATE.sub("", core)
    forms = [core] + ([short] if short != core and len(short) >= 3 else [])
    spelled = ["".join(r"[-\s]?" if ch in "- " else re.escape(ch) for ch in form) for form in forms]
    return re.compile(r"(?<![\w.])(?:" + "|".join(spelled) + r")(?:\.com)?(?![\w])", re.I)


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def around(amount: Decimal) -> tuple[Decimal, Decimal]:
    """The range "around $X" means: 20% either side of X, to the cent. The parser reads it so,
    and so does the model's answer: the tuned model writes X alone (`llm_data.Proposal`)."""
    cent = Decimal("0.01")
    return (amount * Decimal("0.8")).quantize(cent), (amount * Decimal("1.2")).quantize(cent)


def _amount(text: str) -> Decimal:
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?", text):
        return Decimal(text.replace(",", ""))
    return Decimal(text.replace(",", "."))


def _cut(text: str, spans: Iterable[Span]) -> str:
    """`text` with the (possibly overlapping) spans blanked out."""
    keep = [True] * len(text)
    for start, end in spans:
        keep[start:end] = [False] * (end - start)
    return "".join(c if k else " " for c, k in zip(text, keep, strict=True))


class MessageParser:
    """Reads the facts of a message that need no model.

    Args:
        brands: The catalog's brand vocabulary (as written in the catalog).
        categories: Category phrases the catalog knows (lower case).
    """

    def __init__(self, brands: Iterable[str] = (), categories: Iterable[str] = ()) -> None:
        names = sorted({b for b in brands if b.strip()}, key=len, reverse=True)
        self._brands = [(b, _brand_pattern(b)) for b in names]
        self._categories = sorted({c.lower() for c in categories if c}, key=len, reverse=True)
        self.brand_names = {name for name, _ in self._brands}

    def parse(self, text: str) -> Intent:
        """The deterministic reading of `text` (intent by keyword rules, slots by pattern).

        The query keeps the product words only: prices, brands, attribute values, sort and
        reference phrases and filler are taken out.
        """
        work = " ".join(text.split())
        if _MORE.match(work):
            return Intent(intent=IntentName.REFINE, more=True)
        refs, ref_spans = self._refs(work)
        if _SIMILAR.search(work):
            return Intent(intent=IntentName.SEARCH, similar=True, refs=refs)
        lo, hi, spans = self._prices(work)
        order = _ORDER.search(work)
        if order is None and _ORDER_CONTEXT.search(work):
            order = _PREFIXED_NUMBER.search(work)
        order_id = order.group(1).upper() if order else None
        if order:
            spans.append(order.span())
        brands, brand_spans = self._brands_in(work)
        attributes, attribute_spans = self._attributes(work)
        category = next(
            (c for c in self._categories if re.search(rf"\b{re.escape(c)}s?\b", work, re.I)), None
        )
        sort: SortOrder | None = None
        desc = _SORT_DESC.search(work)
        by_price = desc or _SORT_ASC.search(work)
        if by_price:
            sort = "price_desc" if desc else "price_asc"
            spans.append(by_price.span())
        quantity = _QUANTITY.search(work) or _SET_QUANTITY.search(work)
        if quantity:
            spans.append(quantity.span(1))
        in_stock = _IN_STOCK_ONLY.search(work)
        if in_stock:
            spans.append(in_stock.span())
        size = _SIZE.search(work)
        if size:
            spans.append(size.span())
        measured = [  # "the lightest one under 1000": the turn answers it over the search
            m.span() for pattern, _, key, _ in SUPERLATIVES if key for m in pattern.finditer(work)
        ]
        spans += measured
        deal_spans = [m.span() for m in _DEALS.finditer(work)]
        spans += deal_spans
        rated_spans = [m.span() for m in _RATED.finditer(work)]
        spans += rated_spans
        gift_spans = [m.span() for p in (_GIFT, _LIKES) for m in p.finditer(work)]
        recipient = _RECIPIENT.search(work)
        fan = _FAN.search(work)
        if recipient:  # "for" stays: "toys for a 5 year old girl" is "girl toys"
            gift_spans.append(recipient.span("whom"))
        elif fan:  # "for a coffee lover": "coffee" stays
            if fan["article"]:
                gift_spans += [fan.span("article"), fan.span("fan")]
            else:
                gift_spans.append(fan.span("lover"))
        whom = (
            _recipient(recipient)
            if recipient
            else " ".join(fan["whom"].lower().split())
            if fan
            else None
        )
        content = self.content(
            _cut(work, spans + ref_spans + brand_spans + attribute_spans + gift_spans)
        )
        constrained = (
            lo is not None
            or hi is not None
            or bool(attributes or sort or in_stock or size or measured)
        )
        if deal_spans:
            content = [w for w in content if w.lower() not in _DEAL_WORDS]
        intent = self._intent(work, refs, order_id, content, constrained, bool(brands))
        words = [w for w in content if not _REFINE_CUE.fullmatch(w)]
        deals = bool(deal_spans) and bool(words or brands) and not refs and not order_id
        if deals and intent in (IntentName.POLICY_QUESTION, IntentName.OTHER):
            intent = IntentName.SEARCH  # "any deals on headphones?": the cheapest headphones
        gift = bool(gift_spans) and not refs and not order_id
        if gift and intent in (IntentName.REFINE, IntentName.OTHER) and not _MORE.search(work):
            intent = IntentName.SEARCH  # "a gift for my dad under 50": a new search, to be asked
        if quantity:
            intent = IntentName.ADD_TO_CART
        if intent in _ORDER_INTENTS and order_id is None:
            number = _ORDER_NUMBER.search(_cut(work, spans))
            order_id = number.group(1).upper() if number else None
        pointed = bool(refs) or bool(_POINTER.search(work))
        wants_products = intent in _PRODUCT_INTENTS and not (
            pointed and intent in (IntentName.PRODUCT_QUESTION, IntentName.COMPARE)
        )
        return Intent(
            intent=intent,
            query=" ".join(w for w in content if not _REFINE_CUE.fullmatch(w))
            if wants_products
            else "",
            category=category,
            brands=brands,
            price_min=lo,
            price_max=hi,
            attributes=attributes,
            sort=sort or ("price_asc" if deals and intent is IntentName.SEARCH else None),
            refs=refs,
            order_id=order_id,
            in_stock=bool(in_stock),
            quantity=_quantity(quantity.group(1)) if quantity else 1,
            set_quantity=quantity is not None and quantity.re is _SET_QUANTITY,
            size=_size(size.group(1) or size.group(2))
            if size and intent is IntentName.REFINE
            else None,
            gift=gift and intent is IntentName.SEARCH,
            deals=deals and intent in (IntentName.SEARCH, IntentName.REFINE),
            recipient=whom if intent is IntentName.SEARCH else None,
            rated=bool(rated_spans) and intent in _RATED_INTENTS,
        )

    def _prices(self, text: str) -> tuple[Decimal | None, Decimal | None, list[Span]]:
        lo = hi = None
        spans: list[Span] = []
        m = _BETWEEN.search(text) or _RANGE.search(text)
        if m:
            a, b = _amount(m.group(1)), _amount(m.group(2))
            return min(a, b), max(a, b), [m.span()]
        # the amount is the first group that matched ("under 50" or "< 50")
        m = _MAX.search(text) or _MAX_AFTER.search(text)
        if m:
            hi = _amount(next(g for g in m.groups() if g))
            spans.append(m.span())
        m = _MIN.search(text) or _MIN_AFTER.search(text)
        if m and not (spans and _overlaps(m.span(), spans[0])):
            lo = _amount(next(g for g in m.groups() if g))
            spans.append(m.span())
        m = _AROUND.search(text) or _AROUND_AFTER.search(text) or _IN_RANGE.search(text)
        if m and lo is None and hi is None:
            lo, hi = around(_amount(m.group(1)))
            spans.append(m.span())
        if lo is None and hi is None:
            bare = _BARE_DOLLAR.search(text)
            if bare:
                hi = _amount(bare.group(1) or bare.group(2))
                spans.append(bare.span())
        return lo, hi, spans

    def _brands_in(self, text: str) -> tuple[list[str], list[Span]]:
        found: dict[str, Span] = {}
        for name, pattern in self._brands:
            for m in pattern.finditer(text):
                # "1/3 hp", "6.5 hp": a lower-case word after a number is a unit, not a brand;
                # "3m long" is a length, not 3M.
                before, after = text[: m.start()], text[m.end() :]
                if m.group(0) != name and (
                    _NUMBER_BEFORE.search(before)
                    or (
                        name[:1].isdigit()
                        and (_LENGTH_AFTER.search(after) or _LENGTH_BEFORE.search(before))
                    )
                ):
                    continue
                found.setdefault(name, m.span())
        names = [b for b in found if not any(b != o and b.lower() in o.lower() for o in found)]
        return names, [found[b] for b in names]

    @staticmethod
    def _refs(text: str) -> tuple[list[int], list[Span]]:
        matches = list(_ORDINAL.finditer(text))

        def certain(m: re.Match[str]) -> bool:
            return (
                m.group(1).lower() not in _AMBIGUOUS_ORDINALS
                or m.group(0) != m.group(1)
                or bool(_DETERMINER_BEFORE.search(text[: m.start()]))
                or text.strip(" ?!.").lower() == m.group(1).lower()
            )

        kept = {i for i, m in enumerate(matches) if certain(m)}
        for i in range(len(matches) - 1):
            between = text[matches[i].end() : matches[i + 1].start()]
            if _ORDINAL_JOIN.fullmatch(between) and (i in kept or i + 1 in kept):
                kept |= {i, i + 1}
        found: list[tuple[Span, int]] = [
            (m.span(), _ORDINALS[m.group(1).lower()]) for i, m in enumerate(matches) if i in kept
        ]
        for m in _FIRST_N.finditer(text):
            n = _SMALL_NUMBERS.get(m.group(1).lower()) or int(m.group(1))
            found += [(m.span(), k) for k in range(1, n + 1)]
        if not _ORDER.search(text):
            found += [(m.span(), int(m.group(1))) for m in _NUMBERED.finditer(text)]
        for m in _COMPARED_NUMBERS.finditer(text):
            if m.group(0)[0].isdigit() and (
                text[: m.start()].strip() or not re.search(r"\bvs\b|\bversus\b", m.group(2), re.I)
            ):
                continue  # "2 and 3", "usb stick 32 vs 64": not positions
            found += [
                (n.span(), int(n.group()))
                for n in re.finditer(r"\d{1,2}", text[: m.end()])
                if n.start() >= m.start(1)
            ]
        for m in _DIFFERENCE.finditer(text):
            found += [(m.span(1), int(m.group(1))), (m.span(2), int(m.group(2)))]
        found.sort(key=lambda f: f[0])
        return list(dict.fromkeys(value for _, value in found)), [span for span, _ in found]

    @staticmethod
    def _attributes(text: str) -> tuple[dict[str, str], list[Span]]:
        out: dict[str, str] = {}
        spans: list[Span] = []
        colour = _COLOUR.search(text)
        if colour:
            out["colour"] = colour.group(1).lower().replace("gray", "grey")
            spans.append(colour.span())
        cap = _CAPACITY.search(text)
        if cap:
            out["capacity"] = f"{cap.group(1)} {cap.group(2).upper()}"
            spans.append(cap.span())
        screen = _SCREEN.search(text)
        if screen and _SCREEN_THING.search(text):
            out["screen_size"] = f"{screen.group(1)} inch"
            spans.append(screen.span())
        return out, spans

    @staticmethod
    def content(text: str) -> list[str]:
        """The words left once filler is gone (slot values and references already cut out).

        A purpose or owner after "for" comes first, as in the compound it stands for: "laptop
        for college" is "college laptop", "a case for my iphone" "iphone case", so the last
        word is the head, the kind of product wanted. So does a feature after "with": "laptops
        with 16gb ram" is "ram laptops", not "laptops ram" (a laptop RAM module)."""
        text = re.sub(r"[^\w\s'.-]", " ", _CONTRACTION.sub("", text))
        text = _GOES_WITH.sub(" ", text)  # "a mouse that matches it" wants a mouse
        text = _REFINE_CUE.sub(lambda m: "_".join(m.group(0).split()), text)  # one word each
        parts = [
            [w.strip(".'-").replace("_", " ") for w in _FILLER.sub(" ", part).split()]
            for part in _FOR.split(text)
        ]
        return [w for part in reversed(parts) for w in _features_first(part) if w]

    @staticmethod
    def _intent(
        text: str,
        refs: list[int],
        order_id: str | None,
        content: list[str],
        constrained: bool,
        has_brands: bool,
    ) -> IntentName:
        if not text.strip():
            return IntentName.OTHER
        if _GREETING.match(text):
            return IntentName.GREETING
        if is_chatter(text) or _OFF_TOPIC.search(text):
            return IntentName.OTHER
        for name, pattern in _INTENT_RULES:
            if pattern.search(text):
                # "does the 2nd one have a warranty?" asks about a product, not the policy.
                if name is IntentName.POLICY_QUESTION and _WHICH_OF.search(text):
                    return IntentName.COMPARE  # "which of them has the longest warranty"
                if name is IntentName.POLICY_QUESTION and refs:
                    return IntentName.PRODUCT_QUESTION
                return name
        asks = bool(_ASKS.match(text))
        if _ADD_LEAD.match(text):
            return IntentName.ADD_TO_CART  # "add the epson magenta one", "put the printer in"
        # "a case to go with that one" takes nothing: it asks for a case
        taken = _GOES_WITH.sub(" ", text)
        if (refs or _POINTER.search(taken)) and _TAKE.search(taken) and not asks:
            return IntentName.ADD_TO_CART
        if order_id:
            return IntentName.ORDER_STATUS
        question = bool(_QUESTION.search(text)) or text.rstrip().endswith("?") or asks
        if refs and question:
            return IntentName.PRODUCT_QUESTION
        if question and _IT_QUESTION.search(text):
            return IntentName.PRODUCT_QUESTION
        if _ATTRIBUTE_QUESTION.search(text):
            return IntentName.PRODUCT_QUESTION  # "how big is the screen?" of what is shown
        if _REFINE.search(text):
            return IntentName.REFINE
        if refs or (question and _POINTER.search(text)):
            return IntentName.PRODUCT_QUESTION
        words = [w for w in content if not _REFINE_CUE.fullmatch(w)]
        cued = len(words) < len(content)
        if not words:
            # Only constraints: a price, colour or order changes the results shown; a bare
            # brand ("anything from Dell?") may as well start a new search.
            if cued or constrained:
                return IntentName.REFINE
            return IntentName.SEARCH if has_brands else IntentName.OTHER
        if _ANAPHORA.search(text):
            return IntentName.REFINE
        return IntentName.SEARCH
