"""The deterministic parser: the floor under every turn."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from assistant.intent import Intent, IntentName
from assistant.parser import MessageParser

PARSER = MessageParser(
    brands=["Sony", "JBL", "Logitech", "Tripp Lite", "HP", "Apple", "StarTech.com"],
    categories=["bluetooth speaker", "mouse", "toner cartridge"],
)
D = Decimal


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("waterproof bluetooth speaker under $50", "search"),
        ("the second one, is it in stock?", "product_question"),
        ("where is my order 1043?", "order_status"),
        ("I want to return it", "return_request"),
        ("only Logitech", "refine"),
        ("cheaper", "refine"),
        ("under 30", "refine"),
        ("hi there", "greeting"),
        ("talk to a human please", "handoff"),
        ("compare the first and the third", "compare"),
        ("add the 2nd one to my cart", "add_to_cart"),
        ("what's in my cart", "view_cart"),
        ("what is your return policy?", "policy_question"),
        ("cancel order #A-20931", "cancel_order"),
        ("tell me about the last one", "product_question"),
        ("", "other"),
        ("?!", "other"),
    ],
)
def test_intent_rules(text: str, intent: str) -> None:
    assert PARSER.parse(text).intent == IntentName(intent)


@pytest.mark.parametrize(
    ("text", "lo", "hi"),
    [
        ("speaker under $50", None, D("50")),
        ("mouse below 25 dollars", None, D("25")),
        ("less than 19.99", None, D("19.99")),
        ("between 20 and 40 dollars", D("20"), D("40")),
        ("Sony headphones $100-$200", D("100"), D("200")),
        ("from $300 to $100", D("100"), D("300")),
        ("at least $80", D("80"), None),
        ("laptop bag around $40", D("32.00"), D("48.00")),
        ("a $25 mouse", None, D("25")),
        ("hard disk 39 dollars max please", None, D("39")),
        ("charger $15 or less", None, D("15")),
        ("monitor 300 bucks or more", D("300"), None),
        ("speakers $66+", D("66"), None),
        ("no less than 72 dollars", D("72"), None),
        ("not more than $40", None, D("40")),
        ("usb cable 2 m", None, None),
        ("64gb usb stick", None, None),
        # a negated bound turns round
        ("webcam, nothing over $70 though", None, D("70")),
        ("not above 70 dollars", None, D("70")),
        ("nothing under $200", D("200"), None),
        ("no cheaper than 60", D("60"), None),
        # comparatives and other wordings of a bound
        ("pricier than $300", D("300"), None),
        ("more expensive than 300 dollars", D("300"), None),
        ("less expensive than 300", None, D("300")),
        ("north of $300", D("300"), None),
        ("upwards of 300 bucks", D("300"), None),
        ("in excess of $900", D("900"), None),
        # about an amount: 20% either side
        ("kettle in the $50 range", D("40.00"), D("60.00")),
        ("tv in the 300 dollar range", D("240.00"), D("360.00")),
        ("$50 or so", D("40.00"), D("60.00")),
        ("close to 80 bucks", D("64.00"), D("96.00")),
        ("ballpark 50", D("40.00"), D("60.00")),
        ("50 range hood", None, None),  # a kitchen range, not a price range
        # an amount with its currency word alone is a budget, as "$50" is
        ("make it 50 dollars", None, D("50")),
        ("headphones 100 bucks", None, D("100")),
        ("make it 3", None, None),
        # comparison signs
        ("headphones < 20", None, D("20")),
        ("headphones <= 20", None, D("20")),
        ("speakers > 100", D("100"), None),
    ],
)
def test_prices(text: str, lo: Decimal | None, hi: Decimal | None) -> None:
    got = PARSER.parse(text)
    assert (got.price_min, got.price_max) == (lo, hi)


def test_brands_are_catalog_names_longest_first_and_case_insensitive() -> None:
    assert PARSER.parse("tripp lite usb cable").brands == ["Tripp Lite"]
    assert PARSER.parse("startech.com or hp cables").brands == ["StarTech.com", "HP"]
    assert PARSER.parse("a sonya pillow").brands == []  # whole words only
    assert PARSER.parse("shop for jbl speakers").brands == ["JBL"]


def test_references_orders_and_attributes() -> None:
    assert PARSER.parse("the second one").refs == [2]
    assert PARSER.parse("compare #1 and number 3").refs == [1, 3]
    assert PARSER.parse("the last one please").refs == [-1]
    assert PARSER.parse("where is order no. 1043").order_id == "1043"
    assert PARSER.parse("status of order #A-20931").refs == []
    got = PARSER.parse("64gb usb stick in gray")
    assert got.attributes == {"colour": "grey", "capacity": "64 GB"}
    assert PARSER.parse('15.6" laptop bag').attributes == {"screen_size": "15.6 inch"}
    assert PARSER.parse("cheapest wireless mouse").sort == "price_asc"


def test_query_keeps_product_words_only() -> None:
    got = PARSER.parse("I need a waterproof bluetooth speaker under $50 please")
    assert got.query == "waterproof bluetooth speaker"
    assert got.category == "bluetooth speaker"
    assert PARSER.parse("where is my order 1043?").query == ""


def test_intent_schema_validates() -> None:
    swapped = Intent(intent=IntentName.SEARCH, price_min=D("50"), price_max=D("10"))
    assert (swapped.price_min, swapped.price_max) == (D("10"), D("50"))
    with pytest.raises(ValidationError):
        Intent(intent="shopping")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Intent(price_max=D("-1"))
    with pytest.raises(ValidationError):
        Intent.model_validate({"intent": "search", "colour": "red"})


@pytest.mark.parametrize(
    ("text", "lo", "hi"),
    [
        ("TVs over $1,000", D("1000"), None),  # a thousands separator, not 1.00
        ("under $1,299.99", None, D("1299.99")),
        ("less than 19,99 euros", None, D("19.99")),
        ("earphones ~$20", D("16.00"), D("24.00")),
        ("what about 1TB?", None, None),  # a capacity, not "about 1"
        ("100 watt bulb under 20", None, D("20")),
        ("under 30 in black", None, D("30")),
        ("intel i7-920 processor", None, None),  # a model name, not a range
        ("what's 2+2?", None, None),
    ],
)
def test_prices_are_not_units(text: str, lo: Decimal | None, hi: Decimal | None) -> None:
    got = PARSER.parse(text)
    assert (got.price_min, got.price_max) == (lo, hi)


def test_query_leaves_out_brands_attributes_and_sort_words() -> None:
    assert PARSER.parse("Logitech wireless mouse under 40").query == "wireless mouse"
    assert PARSER.parse("cheapest 64GB usb stick in black").query == "usb stick"
    assert PARSER.parse("I'm looking for a 15.6 inch laptop bag").query == "laptop bag"
    assert PARSER.parse("anything from HP?").query == ""
    assert PARSER.parse("is the 2nd one waterproof?").query == ""  # asks about a shown product


def test_screen_sizes_belong_to_screens() -> None:
    assert PARSER.parse("36 inch vent hood").attributes == {}
    assert PARSER.parse("36 inch vent hood").query == "36 inch vent hood"
    assert PARSER.parse("a 55 inch tv").attributes == {"screen_size": "55 inch"}
    assert PARSER.parse("do you have 2 in stock").attributes == {}


def test_a_lower_case_brand_after_a_number_is_a_unit() -> None:
    assert PARSER.parse("1/3 hp sump pump").brands == []
    assert PARSER.parse("2 HP toner cartridges").brands == ["HP"]


@pytest.mark.parametrize(
    ("text", "refs", "sort"),
    [
        ("cheapest first please", [], "price_asc"),
        ("sort by price, highest first", [], "price_desc"),
        ("batteries that last a long time", [], None),
        ("compare the first two", [1, 2], None),
        ("which is better, the second or the last?", [2, -1], None),
        ("compare first and third", [1, 3], None),
        ("that last one", [-1], None),
    ],
)
def test_first_and_last_point_at_products_only_when_used_so(
    text: str, refs: list[int], sort: str | None
) -> None:
    got = PARSER.parse(text)
    assert (got.refs, got.sort) == (refs, sort)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("between 50 and 80", "refine"),
        ("something from HP instead", "refine"),
        ("do you have these in red?", "refine"),
        ("any bluetooth ones?", "refine"),
        ("15.6 inch screens only", "refine"),
        ("anything from Sony?", "search"),
        ("8 foot track lighting", "search"),
        ("where can I buy the iphone 11?", "search"),
        ("a usb hub for an agent's laptop", "search"),
        ("I want to buy number 2", "add_to_cart"),
        ("is the Sony one wireless?", "product_question"),
        ("does the 3rd one have a warranty?", "product_question"),
        ("how long does shipping take?", "policy_question"),
        ("how many days do I have to return something?", "policy_question"),
        ("is there a person I can chat with?", "handoff"),
        ("I ordered a tablet last week, where is it?", "order_status"),
        ("stop my order 7781 before it ships", "cancel_order"),
        ("hello, how are you?", "greeting"),
        ("what's my total?", "view_cart"),
        ("how much do I owe?", "view_cart"),
        ("can I change the shipping address?", "policy_question"),
        ("total war game", "search"),
        ("add the epson magenta one", "add_to_cart"),
        ("I received a damaged item", "return_request"),
        ("the speaker came broken", "return_request"),
        ("what's the status of my refund?", "order_status"),
        ("I haven't received my refund yet", "order_status"),
        ("how long do refunds take?", "policy_question"),
        ("is the laptop broken?", "search"),
        ("how big is the screen?", "product_question"),
        ("what's the weight?", "product_question"),
        ("big screen tv", "search"),
        ("what are your store hours?", "policy_question"),
        ("where are you located?", "policy_question"),
        ("do you have a physical store?", "policy_question"),
        ("can I pay in installments?", "policy_question"),
        ("is my payment info safe?", "policy_question"),
        ("store organizer", "search"),
        ("how do I create an account?", "policy_question"),
        ("I forgot my password", "policy_question"),
        ("can I order by phone?", "policy_question"),
        ("phone case", "search"),
        ("what do you do with my data?", "policy_question"),
        ("data cable", "search"),
        ("ok put the printer in my basket", "add_to_cart"),
        ("thanks!", "other"),
    ],
)
def test_more_intent_rules(text: str, intent: str) -> None:
    assert PARSER.parse(text).intent == IntentName(intent)


@pytest.mark.parametrize(
    ("text", "refs", "query"),
    [
        ("compare 2 and 3", [2, 3], ""),
        ("compare 1, 2 and 4", [1, 2, 4], ""),
        ("compare items 2 with 3 please", [2, 3], ""),
        ("2 vs 3?", [2, 3], ""),
        ("which is better, 1 or 3?", [1, 3], ""),
        # Not positions: sizes, a model number, numbers without "compare" or "vs".
        ("compare 32 and 64 gb usb sticks", [], "32 usb sticks"),
        ("usb stick 32 vs 64", [], "usb stick 32 64"),
        ("2 and 3", [], "2 3"),
    ],
)
def test_bare_numbers_in_a_comparison_are_positions(text: str, refs: list[int], query: str) -> None:
    got = PARSER.parse(text)
    assert (got.refs, got.query) == (refs, query)
    if refs:
        assert got.intent == IntentName.COMPARE


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("4th gen ipad", "4th gen ipad"),
        ("sony pencil 2nd generation", "pencil 2nd generation"),
        ("laptop with 10th gen intel i5", "10th gen intel i5 laptop"),  # features first
        ("folio for ipad air (3rd gen)", "ipad air 3rd gen folio"),
    ],
)
def test_an_ordinal_naming_a_generation_is_a_product_word(text: str, query: str) -> None:
    got = PARSER.parse(text)
    assert (got.intent, got.refs, got.query) == (IntentName.SEARCH, [], query)


@pytest.mark.parametrize(
    "text",
    [
        "why?",
        "why not?",
        "how come?",
        "really?",
        "hmm",
        "huh",
        "what do you mean",
        "ah ok",
        "i dont understand",
        "why is that",
        "why these?",
        "why those ones?",
        "that is weird",
        "sure",
        "maybe later",
    ],
)
def test_puzzlement_and_filler_are_not_searches(text: str) -> None:
    got = PARSER.parse(text)
    assert (got.intent, got.query) == (IntentName.OTHER, "")


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("sure, show me sony speakers", "speakers"),
        ("really cheap speakers", "speakers"),
        ("why is that one so expensive?", ""),
        ("fine tip pens", "fine tip pens"),
        ("now a laptop bag", "laptop bag"),
        # what it goes with is no product word
        ("a mouse that matches it", "mouse"),
        ("a case to go with that one", "case"),
        ("a matching mouse", "mouse"),
        ("a sleeve that fits it", "sleeve"),
        ("get a bag that goes with it", "bag"),
    ],
)
def test_conversational_words_stay_out_of_the_product_words(text: str, query: str) -> None:
    got = PARSER.parse(text)
    assert got.query == query
    assert got.intent is not IntentName.ADD_TO_CART  # "to go with that one" takes nothing


@pytest.mark.parametrize(
    ("text", "query"),
    [
        # What comes after "for" is a purpose or owner: it goes first, as in the compound, so
        # that the last word is the kind of product wanted.
        ("laptop for college", "college laptop"),
        ("a case for my iphone", "iphone case"),
        ("i'm looking for a charger for my laptop", "laptop charger"),
        ("headphones for running under $50", "running headphones"),
        ("looking for a laptop", "laptop"),
        ("anything for gaming?", "gaming"),
    ],
)
def test_a_purpose_after_for_comes_before_the_kind(text: str, query: str) -> None:
    assert PARSER.parse(text).query == query


@pytest.mark.parametrize(
    ("text", "query"),
    [
        # A feature after "with" goes first too: the last word stays the kind wanted.
        ("show me laptops with 16gb ram", "ram laptops"),
        ("headphones with a microphone", "microphone headphones"),
        ("a case for my iphone with a card slot", "card slot iphone case"),
        ("laptop bag with wheels", "wheels laptop bag"),
    ],
)
def test_a_feature_after_with_comes_before_the_kind(text: str, query: str) -> None:
    assert PARSER.parse(text).query == query


@pytest.mark.parametrize(
    ("text", "intent", "refs"),
    [
        ("remove it", "view_cart", []),
        ("ok remove the second one", "view_cart", [2]),
        ("please delete the first item", "view_cart", [1]),
        ("how do I remove the battery", "search", []),
    ],
)
def test_a_message_that_starts_by_removing_is_about_the_cart(
    text: str, intent: str, refs: list[int]
) -> None:
    got = PARSER.parse(text)
    assert (got.intent, got.refs) == (IntentName(intent), refs)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("checkout", "policy_question"),
        ("how do I pay?", "policy_question"),
        ("ready to check out!", "policy_question"),
        ("ok, checkout please", "policy_question"),
        ("usb checkout scanner", "search"),
        ("can i see the cart before i checkout", "view_cart"),
        ("want #2, take me to checkout", "add_to_cart"),
        ("checkout counter display", "search"),
    ],
)
def test_asking_to_check_out_or_pay_is_a_payment_question(text: str, intent: str) -> None:
    assert PARSER.parse(text).intent == IntentName(intent)


@pytest.mark.parametrize(
    ("text", "query", "in_stock"),
    [
        ("only in stock ones", "", True),
        ("wireless mouse in stock", "wireless mouse", True),
        ("do you have wireless mice in stock?", "wireless mice", True),
        ("in-stock keyboards only", "keyboards", True),
        ("show me only the ones that are available", "", True),
        ("stock ticker display", "ticker display", False),
    ],
)
def test_asking_for_stock_only_is_a_filter(text: str, query: str, in_stock: bool) -> None:
    got = PARSER.parse(text)
    assert (got.query, got.in_stock) == (query, in_stock)


@pytest.mark.parametrize(
    ("text", "more"),
    [
        ("show me more", True),
        ("more please", True),
        ("any others?", True),
        ("next page", True),
        ("ok, show me some more results", True),
        ("more expensive ones", False),
        ("more hp ink", False),
    ],
)
def test_asking_for_more_is_the_next_page(text: str, more: bool) -> None:
    got = PARSER.parse(text)
    assert got.more is more and (got.intent is IntentName.REFINE or not more)


@pytest.mark.parametrize(
    ("text", "intent", "query"),
    [
        ("thanks, can you show me monitors too?", "search", "monitors"),
        ("no, I meant keyboards", "search", "keyboards"),
        ("whats the cheapest printer you have", "search", "printer"),
        ("can you recommend a good mouse for gaming?", "search", "gaming mouse"),
        ("any discounts?", "policy_question", ""),
        ("can I pick it up in store?", "policy_question", ""),
        ("my package is late", "order_status", ""),
        ("what did I order last?", "order_status", ""),
        ("show my previous orders", "order_status", ""),
        ("my purchase history", "order_status", ""),
        ("I was charged twice", "handoff", ""),
    ],
)
def test_everyday_service_wordings(text: str, intent: str, query: str) -> None:
    got = PARSER.parse(text)
    assert (got.intent, got.query) == (IntentName(intent), query)


@pytest.mark.parametrize(
    ("text", "refs", "quantity"),
    [
        ("I want 2 of the first one", [1], 2),
        ("add two of the second one to my cart", [2], 2),
        ("add 3 more to my cart", [], 3),
        ("add a couple of the last one", [-1], 2),
        ("add the first one to my cart", [1], 1),
    ],
)
def test_a_quantity_for_the_cart(text: str, refs: list[int], quantity: int) -> None:
    got = PARSER.parse(text)
    assert (got.intent, got.refs, got.quantity) == (IntentName.ADD_TO_CART, refs, quantity)


@pytest.mark.parametrize(
    ("text", "similar", "refs"),
    [
        ("something similar to the first one", True, [1]),
        ("anything like the second one?", True, [2]),
        ("more like this", True, []),
        ("alternatives to the third one", True, [3]),
        ("speakers like JBL", False, []),
        ("I would like the first one", False, [1]),
    ],
)
def test_similar_to_a_shown_product(text: str, similar: bool, refs: list[int]) -> None:
    got = PARSER.parse(text)
    assert (got.similar, got.refs) == (similar, refs)


def test_a_number_before_product_words_is_not_a_quantity() -> None:
    got = PARSER.parse("I want 4 hdmi cables")
    assert (got.intent, got.quantity) == (IntentName.SEARCH, 1)


def test_an_order_number_without_the_word_order() -> None:
    assert PARSER.parse("cancel 90210 please").order_id == "90210"
    assert PARSER.parse("order status for 558812").order_id == "558812"
    assert PARSER.parse("usb hub 1234").order_id is None  # not about an order


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("can you open my trolley pls", "view_cart"),
        ("chuck option 5 in the trolley", "add_to_cart"),
        ("ok add the last one", "add_to_cart"),
        ("ok add it", "add_to_cart"),
        ("add this one, please!", "add_to_cart"),
        ("i will take it", "add_to_cart"),
        ("get it?", "other"),  # a question, not an order to add
        ("which of these is best for gaming", "compare"),
        ("which of them has the longest warranty", "compare"),
        ("option 3 or option 1, which would you pick for a student?", "compare"),
        ("is there a phone number i can ring?", "handoff"),
        ("do you accept returns on opened toys?", "policy_question"),
        ("wheres my stuff", "order_status"),
        ("is it out for delivery today?", "order_status"),
        ("thanks, that's all for now", "other"),
        ("which laptop bag fits 17 inch", "search"),
    ],
)
def test_more_wordings_of_the_keyword_intents(text: str, intent: str) -> None:
    assert PARSER.parse(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # found on a third blind set (a development set; the second stays unread)
        ("how would the 3rd stack up against the first", "compare"),
        ("what's better value, option 2 or 4", "compare"),
        ("which one is the lightest", "compare"),
        ("is the sony louder than the jbl one", "compare"),
        ("ok fine, add the jbl one", "add_to_cart"),
        ("when would number 2 arrive if i order now", "product_question"),
        ("does it work with windows 11?", "product_question"),
        ("is that speaker waterproof?", "product_question"),
        ("does this shop sell hdmi cables?", "search"),
        ("i want to send back the mouse from order A-1234", "return_request"),
        ("can i exchange the keyboard for a uk layout", "return_request"),
        ("return request for SO-55501, it's broken", "return_request"),
        ("do you deliver to the channel islands", "policy_question"),
        ("what's the returns window on headphones", "policy_question"),
        ("tracking for SO-48211 please", "order_status"),
        ("estimated delivery for A-7781?", "order_status"),
        ("any with a longer cable", "refine"),
        ("no, cheaper, like 20 quid", "refine"),
        ("not sony, other brands?", "refine"),
        ("what's the weather like tomorrow", "other"),
        ("which has the longest battery", "compare"),
        ("which is the best gaming mouse under $50", "search"),
        ("which one ships fastest?", "policy_question"),
        ("which one can be delivered tomorrow", "policy_question"),
        ("how fast can you deliver?", "policy_question"),
        ("when will it arrive?", "order_status"),
    ],
)
def test_wordings_from_the_third_blind_set(text: str, intent: str) -> None:
    assert PARSER.parse(text).intent == intent


def test_prefixed_order_numbers_need_an_order_word_and_positions_are_not_prices() -> None:
    assert PARSER.parse("tracking for SO-48211 please").order_id == "SO-48211"
    assert PARSER.parse("a GTX-1080 graphics card").order_id is None
    got = PARSER.parse("what's the difference between 1 and 3?")
    assert got.intent == "compare" and got.refs == [1, 3]
    assert got.price_min is None and got.price_max is None
    assert PARSER.parse("tracking number for my last order").refs == []
    assert PARSER.parse("gaming monitor, budget of 300 dollars").price_max == D(300)
    assert PARSER.parse("something around 30 quid").price_max == D(36)


def test_brands_written_loosely() -> None:
    parser = MessageParser(["Kingston Technology", "TP-LINK", "StarTech.com", "3M", "Oral-B"])
    assert parser.parse("ram 16gb ddr4 kingston").brands == ["Kingston Technology"]
    assert parser.parse("tp link mesh wifi").brands == ["TP-LINK"]
    assert parser.parse("startech dock").brands == ["StarTech.com"]
    assert parser.parse("oral b toothbrush").brands == ["Oral-B"]
    assert parser.parse("3m command hooks").brands == ["3M"]
    assert parser.parse("hdmi cable 3m long").brands == []
    assert parser.parse("usb-c cable 2 m, 3M").brands == ["3M"]


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("is there a bigger size?", "bigger"),
        ("bigger screen size?", "bigger"),
        ("do you have a larger one", "bigger"),
        ("smaller ones?", "smaller"),
        ("something more compact", "smaller"),
        ("a longer one?", "longer"),
        ("shorter?", "shorter"),
        ("any with a longer battery life?", "longer"),
    ],
)
def test_a_size_relative_to_what_was_shown_is_a_refinement(text: str, size: str) -> None:
    got = PARSER.parse(text)
    assert (got.intent, got.query, got.size) == (IntentName.REFINE, "", size)


@pytest.mark.parametrize(
    ("text", "intent", "query"),
    [
        ("the lightest laptop under 1000", "search", "laptop"),
        ("which laptop has the biggest screen", "search", "laptop"),
        ("the lightest one under 1000", "refine", ""),
        ("the heaviest one", "refine", ""),
        ("hdmi cable at least 3 m", "search", "hdmi cable 3 m"),
    ],
)
def test_a_measured_superlative_is_no_product_word(text: str, intent: str, query: str) -> None:
    got = PARSER.parse(text)
    assert (got.intent.value, got.query) == (intent, query)


@pytest.mark.parametrize(
    ("text", "quantity", "sets"),
    [
        ("actually make it 2", 2, True),
        ("change that to three please", 3, True),
        ("set the quantity to 4", 4, True),
        ("add 2 of them", 2, False),
    ],
)
def test_make_it_n_sets_the_carts_quantity(text: str, quantity: int, sets: bool) -> None:
    got = PARSER.parse(text)
    assert (got.intent, got.quantity, got.set_quantity) == (
        IntentName.ADD_TO_CART,
        quantity,
        sets,
    )


@pytest.mark.parametrize("text", ["make it cheaper", "make it under 30", "make it 2 tb"])
def test_make_it_without_a_count_is_no_cart_quantity(text: str) -> None:
    assert PARSER.parse(text).intent is not IntentName.ADD_TO_CART


@pytest.mark.parametrize(
    ("text", "query", "rated"),
    [
        ("best rated webcam", "webcam", True),
        ("top-rated headphones under 50", "headphones", True),
        ("bestselling mouse", "mouse", True),
        ("tv with good reviews", "tv", True),
        ("star wars lego", "star wars lego", False),
    ],
)
def test_ratings_and_reviews_are_no_product_words(text: str, query: str, rated: bool) -> None:
    got = PARSER.parse(text)
    assert (got.query, got.rated) == (query, rated)


def test_bigger_in_a_new_search_is_not_a_relative_size() -> None:
    got = PARSER.parse("any external hard drives 2tb or bigger? up to 80")
    assert (got.intent, got.query, got.size) == (IntentName.SEARCH, "external hard drives", None)


@pytest.mark.parametrize(
    ("text", "query", "recipient", "hi"),
    [
        # Who it is for, the occasion and what they like are no product words.
        ("a gift for my dad under 50", "", "your dad", D(50)),
        ("birthday present for my wife, she loves music", "music", "your wife", None),
        ("something for a 10 year old who likes games", "games", "a 10 year old", None),
        ("what toys do you have for a 5 year old girl", "toys", "a 5 year old girl", None),
        ("toys for a 3 year old under 25", "toys", "a 3 year old", D(25)),
        ("toys for 5 year olds", "toys", "5 year olds", None),
        ("gift for 10 year old", "", "10 year old", None),
        ("a gift for a music lover", "music", "a music lover", None),  # the interest stays
        ("something under 20 for a coffee lover", "coffee", "a coffee lover", D(20)),
        ("headphones for a music fan", "music headphones", "a music fan", None),
        ("gifts for coffee addicts", "coffee", "coffee addicts", None),
        ("christmas gift ideas", "", None, None),
        ("stocking fillers under 20", "", None, D(20)),
        ("a gift for him", "", "him", None),
        ("perfume for her", "perfume", "her", None),
        ("a speaker for my son who is really into music", "music speaker", "your son", None),
        ("he likes music", "music", None, None),
    ],
)
def test_a_gift_keeps_the_product_words_and_who_it_is_for(
    text: str, query: str, recipient: str | None, hi: Decimal | None
) -> None:
    got = PARSER.parse(text)
    assert got.intent is IntentName.SEARCH and got.gift
    assert (got.query, got.recipient, got.price_max) == (query, recipient, hi)


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("netflix gift cards", "netflix gift cards"),  # a product
        ("do you sell gift cards?", "gift cards"),
        ("headphones for kids", "kids headphones"),  # kids' headphones are a kind
        ("a baby monitor", "baby monitor"),
        ("a fan for my room", "room fan"),  # a fan is a product
        ("light attachment for ceiling fans", "ceiling fans light attachment"),
    ],
)
def test_gift_cards_and_kids_products_are_product_words(text: str, query: str) -> None:
    got = PARSER.parse(text)
    assert got.query == query and not got.gift


def test_a_gift_question_about_a_product_shown_is_no_gift_search() -> None:
    got = PARSER.parse("is the second one a good gift?")
    assert got.intent is IntentName.PRODUCT_QUESTION and not got.gift and got.refs == [2]


@pytest.mark.parametrize(
    ("text", "query", "brands"),
    [
        ("any deals on headphones?", "headphones", []),
        ("sony headphones on sale", "headphones", ["Sony"]),
        ("discounted laptops", "laptops", []),
        ("clearance tvs", "tvs", []),
        ("best deals on laptops this week", "laptops", []),
    ],
)
def test_deals_on_products_ask_for_the_cheapest(text: str, query: str, brands: list[str]) -> None:
    got = PARSER.parse(text)
    assert (got.intent, got.query, got.brands) == (IntentName.SEARCH, query, brands)
    assert got.deals and got.sort == "price_asc"


@pytest.mark.parametrize(
    "text",
    [
        "do you have any discounts?",
        "whats on sale",
        "any deals?",
        "do you have coupons",
        "do you have any other discounts?",  # words that qualify the deal are no products
        "any good deals right now?",
        "best deals this week",
    ],
)
def test_deals_alone_are_a_policy_question(text: str) -> None:
    got = PARSER.parse(text)
    assert got.intent is IntentName.POLICY_QUESTION and not got.deals
