"""The grounding checker rejects any claim that the tool results do not support."""

from __future__ import annotations

import pytest

from assistant.grounding import Evidence, check, check_sentence
from tests.retrieval.catalog_fixtures import product

SONY = product("1993197", "Sony SRS-XB13 waterproof bluetooth speaker", "49.99", stock=26)
JBL = product("s2", "JBL Flip 5 waterproof bluetooth speaker", "89.95", stock=0)
BRANDS = ["Sony", "JBL", "Bose", "Anker"]
EVIDENCE = Evidence(products=[SONY, JBL], user_text="speaker under $100", brands=BRANDS)


@pytest.mark.parametrize(
    "text",
    [
        "Here are two waterproof speakers that match.",
        "The Sony costs $49.99 and 26 are in stock.",
        "The SRS-XB13 is waterproof.",
        "The JBL Flip 5 is $89.95 but it is out of stock.",
        "Both are under $100, as you asked.",
        "Product 1993197 is the cheaper one.",
        "I found 2 options for you.",
    ],
)
def test_grounded_sentences_pass(text: str) -> None:
    result = check(text, EVIDENCE)
    assert result.grounded, result.violations


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("The Sony is only $39.99 today.", "price '$39.99'"),
        ("It costs 45 dollars.", "price '45 dollars'"),
        ("A Bose SoundLink would suit you too.", "brand 'Bose'"),
        ("We have 140 units of it.", "number '140'"),
        ("It comes with free shipping.", "policy term 'free shipping'"),
        ("It has a 5 year warranty.", "policy term 'warranty'"),
        ("The Sony SRS-XB33 is louder.", "product name 'SRS-XB33'"),
        ("Try the Flip5 instead.", "product name 'Flip5'"),
    ],
)
def test_ungrounded_claims_are_rejected(text: str, why: str) -> None:
    result = check(text, EVIDENCE)
    assert not result.grounded and any(why in v for v in result.violations), result.violations


def test_stock_claims_must_match_the_results() -> None:
    only_out = Evidence(products=[JBL], brands=BRANDS)
    assert not check("It is in stock and ships today.", only_out).grounded
    assert check("Sorry, it is out of stock.", only_out).grounded
    only_in = Evidence(products=[SONY], brands=BRANDS)
    assert not check("That one is sold out.", only_in).grounded


def test_policy_terms_pass_when_a_passage_states_them() -> None:
    passage = "Returns: 30 days from delivery. Free shipping on orders over $35."
    ev = Evidence(passages=[passage], user_text="what is your return policy?")
    assert check("You have 30 days from delivery, and free shipping over $35.", ev).grounded
    assert not check("You have 60 days to return it.", ev).grounded
    assert not check("Free shipping on orders over $25.", ev).grounded
    assert not check("Returns are free, no questions asked.", ev).grounded


def test_no_evidence_means_no_facts() -> None:
    empty = Evidence(brands=BRANDS)
    assert check("Sorry, nothing matches that.", empty).grounded
    assert not check("Try the Anker one for $20.", empty).grounded


def test_attribute_values_are_evidence() -> None:
    heavy = product("h1", "Acme mouse", "9.99", attributes={"weight": "122 g"})
    assert check("It weighs 122 g.", Evidence(products=[heavy])).grounded
    assert not check("It weighs 180 g.", Evidence(products=[heavy])).grounded


@pytest.mark.parametrize(
    "text",
    [
        "The Sony is a steal at $49.99.",  # a real price, but the sentence may not pin it
        "Both are in stock right now.",
        "Sorry, the JBL is sold out.",
    ],
)
def test_the_connecting_sentence_states_no_price_or_stock(text: str) -> None:
    assert not check_sentence(text, EVIDENCE).grounded


def test_the_connecting_sentence_may_echo_the_customers_budget() -> None:
    assert check_sentence("Here are speakers under $100 for you.", EVIDENCE).grounded
