"""Customer service as conversations through `Assistant.respond`, on the fakes and a seeded store.

Orders, returns (with confirmation, idempotent), cancellations, the cart (stock at add time,
prices at view time), policy quotes, handoff (request, anger, two stalled turns), sign-in, and
the authorisation matrix: another customer's order reads exactly like a missing one.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.service import NoServiceDesk
from assistant.store import Customer, NewOrder, OrderLine, Store
from assistant.turn import Assistant
from retrieval.memory import InMemoryIndex
from tests.assistant.store_fixtures import Clock, make_assistant, seeded_store
from tests.retrieval.catalog_fixtures import product, sample_products


def orders_of(store: Store, customer: str, status: str) -> list[str]:
    return [o.id for o in store.orders(customer) if o.status == status]


def store_of(bot: Assistant) -> Store:
    return bot.service.tools.store  # type: ignore[attr-defined,no-any-return]


def snapshot(store: Store) -> list[tuple[object, ...]]:
    return store._read("SELECT id, status FROM orders ORDER BY id") + store._read(
        "SELECT id, order_id, status FROM returns ORDER BY id"
    )


def test_order_status_and_listing(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    shipped = orders_of(store_of(bot), "C001", "shipped")[0]
    r = bot.respond("s", f"where is my order {shipped}?", "C001")
    order = store_of(bot).order("C001", shipped)
    assert order and order.shipment
    assert r.tools_called == ["order_status"] and r.grounded
    assert order.shipment.tracking in r.reply and "shipped on" in r.reply
    assert not r.state_changed
    listing = bot.respond("s", "my orders", "C001")
    assert listing.tools_called == ["list_orders"]
    assert all(f"Order {o.id}: {o.status}" in listing.reply for o in store_of(bot).orders("C001"))


def test_a_return_needs_a_yes_in_the_next_turn_and_is_created_once(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    store = store_of(bot)
    inside = next(
        o.id
        for o in store.orders("C001")
        if o.status == "delivered" and (store.now() - o.shipment.delivered_at).days == 5  # type: ignore[operator,union-attr]
    )
    before = snapshot(store)
    ask = bot.respond("s", f"I want to return order {inside}", "C001")
    assert "30-day return window" in ask.reply and '"yes"' in ask.reply
    assert not ask.state_changed and snapshot(store) == before
    done = bot.respond("s", "yes", "C001")
    assert done.state_changed and f"RMA-{inside}" in done.reply and done.grounded
    assert 'Our store policy ("Returns: refunds")' in done.reply
    again = bot.respond("s", f"I want to return order {inside}", "C001")
    assert "already exists" in again.reply and not again.state_changed
    assert bot.respond("s", "yes", "C001").state_changed is False  # nothing was pending
    returns = store._read("SELECT COUNT(*) FROM returns WHERE order_id = ?", (inside,))
    assert returns[0][0] == 1


def test_no_or_another_message_drops_the_pending_action(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    store = store_of(bot)
    processing = orders_of(store, "C002", "processing")[0]
    before = snapshot(store)
    bot.respond("s", f"cancel order {processing}", "C002")
    assert not bot.respond("s", "no", "C002").state_changed
    bot.respond("s", f"cancel order {processing}", "C002")
    bot.respond("s", "bluetooth speaker", "C002")  # not an answer: the question lapses
    late = bot.respond("s", "yes", "C002")
    assert not late.state_changed and snapshot(store) == before


def test_cancel_only_before_shipping(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    store = store_of(bot)
    processing = orders_of(store, "C003", "processing")[0]
    shipped = orders_of(store, "C003", "shipped")[0]
    refused = bot.respond("s", f"cancel order {shipped}", "C003")
    assert "can no longer be cancelled" in refused.reply and '("Cancellations")' in refused.reply
    assert bot.respond("s", "yes", "C003").state_changed is False
    assert store.order("C003", shipped).status == "shipped"  # type: ignore[union-attr]
    bot.respond("s", f"cancel order {processing}", "C003")
    done = bot.respond("s", "yes", "C003")
    assert done.state_changed and store.order("C003", processing).status == "cancelled"  # type: ignore[union-attr]
    again = bot.respond("s", f"cancel order {processing}", "C003")
    assert "already cancelled" in again.reply


def test_a_return_outside_the_window_is_refused_with_the_policy_quoted(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    store = store_of(bot)
    old = next(
        o.id
        for o in store.orders("C001")
        if o.status == "delivered" and (store.now() - o.shipment.delivered_at).days > 30  # type: ignore[operator,union-attr]
    )
    r = bot.respond("s", f"I want to return order {old}", "C001")
    assert "outside the 30-day return window" in r.reply
    assert 'Our store policy ("Returns: the return window") says: "You can return' in r.reply
    assert r.grounded and not r.state_changed
    assert not bot.respond("s", "yes", "C001").state_changed


def test_the_window_boundary_through_the_conversation(tmp_path: Path) -> None:
    clock = Clock()
    store = seeded_store(clock=clock)
    recent = next(
        o
        for o in store.orders("C004")
        if o.status == "delivered" and (clock() - o.shipment.delivered_at).days == 5  # type: ignore[operator,union-attr]
    )
    clock.advance(25)  # day 30: the last day
    bot = make_assistant(tmp_path, store)
    assert "30 days ago, within" in bot.respond("a", f"return order {recent.id}", "C004").reply
    clock.advance(1)  # day 31
    assert bot.respond("a", "yes", "C004").state_changed is False  # re-checked at the write
    r = bot.respond("b", f"return order {recent.id}", "C004")
    assert "31 days ago, outside" in r.reply


def test_an_opened_consumable_is_not_returnable(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    store = store_of(bot)
    toner = next(
        o.id
        for o in store.orders("C005")
        if o.status == "delivered" and o.lines[0].category in ("toner cartridge", "ink cartridge",
                                                                  "printer supplies", "ink stick",
                                                                  "printer ribbon", "printer drum",
                                                                  "toner collector", "fax ribbon",
                                                                  "correction ribbon",
                                                                  "label-making tape")
    )  # fmt: skip
    r = bot.respond("s", f"I want to return order {toner}, I opened it", "C005")
    assert "cannot start a return" in r.reply and "items we cannot take back" in r.reply
    ok = bot.respond("t", f"I want to return order {toner}, it is still sealed", "C005")
    assert "I can start a return" in ok.reply


def test_the_order_to_return_is_asked_for_and_taken_from_the_next_message(
    tmp_path: Path,
) -> None:
    bot = make_assistant(tmp_path)
    ask = bot.respond("s", "I want to return something", "C006")
    delivered = [o.id for o in store_of(bot).orders("C006") if o.status == "delivered"]
    assert "Which order" in ask.reply and all(f"Order {i}" in ask.reply for i in delivered)
    answer = bot.respond("s", delivered[0], "C006")
    assert f"Order {delivered[0]}" in answer.reply and answer.tools_called == ["check_return"]


def test_the_order_is_the_one_holding_the_product_named_or_the_newest(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    r = bot.respond("s", "I want to return the toner", "C001")  # only order 1021 holds toner
    assert r.reply.startswith("Order 1021 was delivered on")
    assert r.tools_called == ["list_orders", "check_return"] and r.grounded
    bot.respond("s", "no", "C001")
    r = bot.respond("s", "I want to return the headphones", "C001")
    assert r.reply.startswith(
        "None of your delivered orders holds 'headphones'. Which order do you want to return?"
    )
    bot.respond("s", "1021", "C001")
    bot.respond("s", "no", "C001")
    # A reason is no product: the order stays the one the conversation is about.
    r = bot.respond("s", "I want to return it, the box is cracked", "C001")
    assert r.reply.startswith("Order 1021 was delivered on")
    bot.respond("s", "no", "C001")
    # "My last order" is the newest, not the order the conversation was about (1021).
    r = bot.respond("s", "can I cancel my last order?", "C001")
    assert r.reply.startswith("Order 1041 (") and "can be cancelled" in r.reply


def test_authorisation_matrix_no_leak_no_action(tmp_path: Path) -> None:
    store = seeded_store()
    bot = make_assistant(tmp_path, store)
    customers = [c.id for c in store.customers()]
    before = snapshot(store)
    templates = ("where is my order {}?", "I want to return order {}", "cancel order {}")
    session = itertools.count()
    for me, owner in itertools.permutations(customers, 2):
        for foreign in (o.id for o in store.orders(owner)):
            for template in templates:
                missing = bot.respond(f"m{next(session)}", template.format("9999"), me)
                theirs = bot.respond(f"t{next(session)}", template.format(foreign), me)
                assert theirs.reply.replace(foreign, "X") == missing.reply.replace("9999", "X")
                assert theirs.tools_called == missing.tools_called
                assert not theirs.state_changed and not theirs.products
    for me, owner in itertools.permutations(customers[:3], 2):
        for foreign in (o.id for o in store.orders(owner)):
            s = f"y{next(session)}"
            bot.respond(s, f"cancel order {foreign}", me)
            assert not bot.respond(s, "yes", me).state_changed
    assert snapshot(store) == before


def test_every_customer_sees_only_their_orders(tmp_path: Path) -> None:
    store = seeded_store()
    bot = make_assistant(tmp_path, store)
    for c in store.customers():
        reply = bot.respond(f"l{c.id}", "my orders", c.id).reply
        mine = {o.id for o in store.orders(c.id)}
        others = {o.id for d in store.customers() if d.id != c.id for o in store.orders(d.id)}
        assert all(f"Order {i}:" in reply for i in mine)
        assert not any(f"Order {i}:" in reply for i in others)


def test_without_sign_in_the_order_and_cart_tools_ask_for_it(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    for text in ("where is my order 1001?", "show my cart", "cancel order 1041", "my orders"):
        r = bot.respond("anon", text)
        assert "sign in" in r.reply and not r.tools_called
    assert bot.respond("anon", "do you offer free shipping?").tools_called == ["search_policies"]


def test_cart_add_by_reference_stock_check_and_live_prices(tmp_path: Path) -> None:
    index = InMemoryIndex()
    index.upsert(sample_products())
    bot = make_assistant(tmp_path, index=index)
    shown = bot.respond("s", "bluetooth speaker", "C001").products
    added = bot.respond("s", "add the second one to my cart", "C001")
    assert added.state_changed and added.tools_called == ["add_to_cart"]
    assert store_of(bot).cart("C001")[0].product_id == shown[1].id
    assert shown[1].price_text in added.reply and added.grounded

    p = index.get(shown[1].id)
    assert p is not None
    index.upsert([p.model_copy(update={"price": Decimal("12.34"), "version": p.version + 1})])
    view = bot.respond("s", "show my cart", "C001")
    assert "$12.34" in view.reply and shown[1].price_text not in view.reply and view.grounded

    out = next(c for c in shown if c.stock == 0)
    bot.respond("s", "bluetooth speaker", "C001")
    position = [c.id for c in shown].index(out.id) + 1
    refused = bot.respond(
        "s", f"add the {['first', 'second', 'third'][position - 1]} one to my cart", "C001"
    )
    assert "out of stock" in refused.reply and not refused.state_changed
    assert out.id not in [c.product_id for c in store_of(bot).cart("C001")]

    removed = bot.respond("s", "remove the first one from my cart", "C001")
    assert removed.state_changed and store_of(bot).cart("C001") == []
    assert "empty" in removed.reply and removed.grounded


def test_a_quantity_is_added_and_more_of_the_same_product_after_it(tmp_path: Path) -> None:
    index = InMemoryIndex()
    index.upsert([product("z1", "Zeta speaker", "10.00", stock=4), *sample_products()])
    bot = make_assistant(tmp_path, index=index)
    assert bot.respond("s", "zeta speaker", "C001").products[0].id == "z1"
    two = bot.respond("s", "I want 2 of the first one", "C001")
    assert two.reply.startswith("Added 2 x Zeta speaker ($10.00 each) to your cart.")
    assert two.grounded and store_of(bot).cart("C001")[0].quantity == 2
    over = bot.respond("s", "add 3 more to my cart", "C001")
    assert "your cart already holds 2, so I cannot add 3 more" in over.reply
    assert not over.state_changed and over.grounded
    one = bot.respond("s", "add 2 more to my cart", "C001")
    assert one.state_changed and store_of(bot).cart("C001")[0].quantity == 4


def test_make_it_n_sets_how_many_the_cart_holds(tmp_path: Path) -> None:
    index = InMemoryIndex()
    index.upsert([product("z1", "Zeta speaker", "10.00", stock=4), *sample_products()])
    bot = make_assistant(tmp_path, index=index)
    bot.respond("s", "zeta speaker", "C001")
    bot.respond("s", "add the first one to my cart", "C001")
    three = bot.respond("s", "actually make it 3", "C001")
    assert three.reply.startswith("Your cart now holds 3 x Zeta speaker ($10.00 each).")
    assert three.tools_called == ["set_cart_quantity"] and three.grounded
    assert store_of(bot).cart("C001")[0].quantity == 3
    one = bot.respond("s", "change that to 1", "C001")
    assert one.state_changed and store_of(bot).cart("C001")[0].quantity == 1
    over = bot.respond("s", "make it five", "C001")  # 4 in stock
    assert "so your cart cannot hold 5; it holds 1." in over.reply and not over.state_changed
    assert store_of(bot).cart("C001")[0].quantity == 1


def test_remove_by_position_means_the_list_shown_last_unless_the_cart_is_named(
    tmp_path: Path,
) -> None:
    index = InMemoryIndex()
    index.upsert(sample_products())
    bot = make_assistant(tmp_path, index=index)
    assert "nothing to remove" in bot.respond("s", "remove it", "C001").reply
    bot.respond("s", "anker speaker", "C001")  # out of stock
    refused = bot.respond("s", "add the first one to my cart", "C001")
    assert "Your cart is empty." in refused.reply and "now empty" not in refused.reply
    shown = bot.respond("s", "bluetooth speaker", "C001").products
    bot.respond("s", "add the first one to my cart", "C001")
    bot.respond("s", "add the second one to my cart", "C001")
    cart = [line.product_id for line in store_of(bot).cart("C001")]
    assert sorted(cart) == sorted([shown[0].id, shown[1].id])
    # The search list is shown last: "the third one" is a speaker that is not in the cart.
    kept = bot.respond("s", "remove the third one", "C001")
    assert "not in your cart" in kept.reply and not kept.state_changed and kept.grounded
    assert len(store_of(bot).cart("C001")) == 2
    # "the second one" of that list is in the cart: that product goes, whatever its line.
    gone = bot.respond("s", "remove the second one", "C001")
    assert gone.state_changed and shown[1].title in gone.reply
    assert [line.product_id for line in store_of(bot).cart("C001")] == [shown[0].id]


def test_cart_respects_low_stock(tmp_path: Path) -> None:
    index = InMemoryIndex()
    index.upsert([product("z1", "Zeta speaker", "10.00", stock=1)])
    bot = make_assistant(tmp_path, index=index)
    bot.respond("s", "zeta speaker", "C001")
    assert bot.respond("s", "add it to my cart", "C001").state_changed
    bot.respond("s", "zeta speaker", "C001")
    again = bot.respond("s", "add the first one to my cart", "C001")
    assert not again.state_changed and "cannot add more" in again.reply


def test_a_policy_answer_quotes_and_cites_the_passage(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    r = bot.respond("s", "do you offer free shipping?")
    assert r.reply.startswith('Our store policy ("Shipping: costs and times") says:')
    assert "orders of $50 or more ship free" in r.reply and r.grounded
    for text in ("checkout", "how do I pay?"):
        paid = bot.respond("s", text)
        assert paid.reply.startswith('Our store policy ("Payment") says:') and paid.grounded
    unknown = bot.respond("s", "what is your policy on pets?")
    assert "could not find that in our store policy" in unknown.reply


def test_a_product_question_about_warranty_or_shipping_quotes_the_policy(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    shown = bot.respond("s", "bluetooth speaker").products
    r = bot.respond("s", "does the second one have a warranty?")
    assert [c.id for c in r.products] == [shown[1].id]
    assert r.tools_called == ["get_product_details", "search_policies"]
    assert 'Our store policy ("Warranty") says:\n"Every product carries' in r.reply
    assert shown[1].title in r.reply and r.grounded
    r = bot.respond("s", "is the first one in stock?")
    assert r.tools_called == ["get_product_details"] and "store policy" not in r.reply


def test_which_of_them_has_the_longest_warranty_quotes_the_policy(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    bot.respond("s", "bluetooth speaker")
    r = bot.respond("s", "which of them has the longest warranty?")
    assert r.reply.startswith(
        "The catalog states no warranty terms per product, so I cannot tell them apart. "
        'Our store policy ("Warranty") says:\n"Every product carries'
    )
    assert r.table is None and r.tools_called == ["search_policies"] and r.grounded
    # "ships" is no product word: the jigsaw of a cruise ship is not what was asked for.
    r = bot.respond("s", "which one ships fastest?")
    assert 'Our store policy ("Shipping: costs and times") says:' in r.reply and not r.products


def test_deals_show_the_cheapest_and_quote_the_price_policy(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    r = bot.respond("s", "any deals on bluetooth speakers?")
    assert r.reply.startswith('Our store policy ("Prices, sales and discounts") says:\n"The price')
    assert "Here are 3 matches for bluetooth speakers cheapest first:" in r.reply
    assert [c.id for c in r.products] == ["s3", "s1", "s2"]  # $25.00, $49.99, $89.95
    assert r.tools_called == ["search_products", "search_policies"] and r.grounded
    # Without product words it is the policy question; about a product shown, both.
    for text in ("do you have any discounts?", "can I use a coupon?", "can I apply a promo code?"):
        r = bot.respond("s", text)
        assert r.reply.startswith('Our store policy ("Prices, sales and discounts") says:'), text
        assert not r.products, text
    r = bot.respond("t", "bluetooth speaker")
    r = bot.respond("t", "is the first one on sale?")
    assert len(r.products) == 1 and "no product has a sale price" in r.reply


def test_without_a_store_deals_say_the_catalog_has_no_sale_prices(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    bot.service = NoServiceDesk()
    r = bot.respond("s", "bluetooth speakers on sale")
    assert r.reply.startswith(
        "The catalog lists no sale prices. Here are 3 matches for bluetooth speakers cheapest "
        "first:"
    )


def test_handoff_on_request_with_transcript_and_order_context(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    store = store_of(bot)
    shipped = orders_of(store, "C001", "shipped")[0]
    bot.respond("s", f"where is my order {shipped}?", "C001")
    r = bot.respond("s", "I want to talk to a human", "C001")
    assert r.handoff and "human agent" in r.reply and r.grounded
    (entry,) = store.queue()
    assert entry.customer_id == "C001" and entry.order_id == shipped
    assert entry.context["order"]["order_id"] == shipped
    assert [t["role"] for t in entry.transcript] == ["user", "assistant", "user"]
    assert entry.intent == "handoff" and entry.reason == "the customer asked for a human"


def test_handoff_on_an_angry_customer(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    r = bot.respond("s", "This is ridiculous, my parcel is late again!!", "C002")
    assert r.handoff and store_of(bot).queue()[0].reason == "the customer is upset"
    assert bot.respond("t", "where is my order!!", "C002").handoff  # "!!" about an order
    # "!!" in a glad request or thanks is no upset customer
    for text in ("\U0001f600 bluetooth speakers!!!", "thanks so much!!", "great, show me mice!!"):
        r = bot.respond("u", text, "C002")
        assert not r.handoff, text
    assert len(store_of(bot).queue()) == 2


def test_handoff_after_two_turns_without_progress(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    first = bot.respond("s", "where is my order 9999?", "C002")
    assert not first.handoff
    second = bot.respond("s", "where is my order 9998?", "C002")
    assert second.handoff and store_of(bot).queue()[0].reason == "two turns without progress"

    bot.respond("t", "where is my order 9999?", "C003")
    assert bot.respond("t", "thanks", "C003").handoff  # an unclear reply is no progress either

    bot.respond("u", "where is my order 9999?", "C004")
    bot.respond("u", "bluetooth speaker", "C004")  # progress in between
    assert not bot.respond("u", "where is my order 9998?", "C004").handoff


@pytest.mark.parametrize("text", ["yes", "no", "hello", "bluetooth speaker"])
def test_answers_without_a_pending_action_change_nothing(tmp_path: Path, text: str) -> None:
    bot = make_assistant(tmp_path)
    before = snapshot(store_of(bot))
    r = bot.respond("s", text, "C001")
    assert not r.state_changed and snapshot(store_of(bot)) == before


def test_refused_adds_are_answers_not_stalls(tmp_path: Path) -> None:
    index = InMemoryIndex()
    index.upsert([product("z1", "Zeta speaker", "10.00", stock=0), *sample_products()])
    bot = make_assistant(tmp_path, index=index)
    bot.respond("s", "zeta speaker", "C001")
    for _ in range(3):
        refused = bot.respond("s", "add the first one to my cart", "C001")
        assert "Zeta speaker is out of stock, so I cannot add it." in refused.reply
        assert not refused.handoff and not refused.state_changed


def test_the_latest_order_and_the_history_by_their_everyday_names(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    newest = max(store_of(bot).orders("C001"), key=lambda o: o.placed_at)
    r = bot.respond("s", "what did I order last?", "C001")
    assert r.reply.startswith(f"Your latest order: Order {newest.id} (placed ")
    assert all(line.title in r.reply for line in newest.lines) and r.grounded
    assert r.tools_called == ["list_orders", "order_status"]
    listing = bot.respond("s", "show my previous orders", "C001")
    assert listing.reply.startswith("Your orders, newest first:")


def test_add_the_cheapest_one_adds_the_cheapest_shown(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    shown = bot.respond("s", "bluetooth speaker", "C001").products
    assert [c.id for c in shown] == ["s1", "s2", "s3"]  # $49.99, $89.95, $25.00 (out of stock)
    r = bot.respond("s", "add the cheapest one to my cart", "C001")
    assert r.reply.startswith("Anker Soundcore mini bluetooth speaker is out of stock")
    r = bot.respond("s", "add the most expensive one to my cart", "C001")
    assert r.reply.startswith("Added JBL Flip 5 waterproof bluetooth speaker ($89.95)")
    assert [line.product_id for line in store_of(bot).cart("C001")] == ["s2"]


def test_where_is_my_order_without_a_number_answers_with_the_orders_on_their_way(
    tmp_path: Path,
) -> None:
    bot = make_assistant(tmp_path)
    orders = sorted(store_of(bot).orders("C001"), key=lambda o: o.placed_at, reverse=True)
    open_ = [o for o in orders if o.status in ("processing", "shipped")]
    assert len(open_) >= 2  # the seed has one being prepared and one shipped
    r = bot.respond("s", "where is my order?", "C001")
    assert r.reply.startswith(f"You have {len(open_)} orders on their way, newest first:")
    for order in open_:
        assert f"Order {order.id} (placed " in r.reply
    assert r.reply.index(f"Order {open_[0].id} ") < r.reply.index(f"Order {open_[1].id} ")
    done = [o for o in orders if o not in open_]
    assert done and not any(f"Order {o.id} " in r.reply for o in done)
    shipped = next(o for o in open_ if o.status == "shipped")
    assert shipped.shipment is not None and shipped.shipment.tracking in r.reply
    assert r.tools_called == ["list_orders"] + ["order_status"] * len(open_) and r.grounded
    # "my orders" still lists every order
    assert bot.respond("s", "my orders", "C001").reply.startswith("Your orders, newest first:")


def test_an_order_asked_after_when_one_or_none_is_on_its_way(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    store = store_of(bot)
    orders = sorted(store.orders("C001"), key=lambda o: o.placed_at, reverse=True)
    prepared = next(o for o in orders if o.status == "processing")
    bot.respond("s", f"cancel order {prepared.id}", "C001")
    assert bot.respond("s", "yes", "C001").state_changed
    shipped = next(o for o in orders if o.status == "shipped")
    r = bot.respond("t", "when will my order arrive?", "C001")
    assert r.reply.startswith(f"Your order on its way: Order {shipped.id} (placed ")
    assert "it is expected on" in r.reply
    # it is now the order the conversation is about
    assert bot.respond("t", "can I cancel it?", "C001").reply.count(shipped.id) >= 1


def test_where_is_my_order_when_none_is_on_its_way_gives_the_latest(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    line = OrderLine("s1", "Zeta speaker", "speaker", Decimal("10.00"), "USD", 1)
    placed = [datetime(2026, 10, d, tzinfo=UTC) for d in (1, 9)]
    store_of(bot).insert(
        [Customer("C900", "Ada", "ada@example.com")],
        [NewOrder(f"90{n}", "C900", "cancelled", at, [line]) for n, at in enumerate(placed)],
    )
    r = bot.respond("s", "where is my order?", "C900")
    assert r.reply.startswith("None of your orders is on its way. Your latest: Order 901 (placed")
    assert "Order 900" not in r.reply and "is cancelled" in r.reply
    assert bot.respond("t", "where is my order?", "C001").reply.startswith("You have 2 orders")


@pytest.mark.parametrize(
    "text",
    [
        "can I change the shipping address?",
        "I put the wrong address on my order",
        "how do I update my delivery address",
        "can i change my order?",
    ],
)
def test_changing_an_order_quotes_the_policy_not_the_catalog(tmp_path: Path, text: str) -> None:
    bot = make_assistant(tmp_path)
    r = bot.respond("s", text, "C001")
    assert r.reply.startswith('Our store policy ("Changing an order") says:'), r.reply
    assert "before it ships" in r.reply and r.grounded and not r.products
    assert r.tools_called == ["search_policies"]


def test_a_policy_question_naming_an_order_says_where_that_order_stands(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    orders = store_of(bot).orders("C001")
    prepared = next(o for o in orders if o.status == "processing")
    r = bot.respond("s", f"I entered the wrong address for order {prepared.id}", "C001")
    assert r.reply.startswith('Our store policy ("Changing an order") says:')
    assert f"Order {prepared.id} (placed " in r.reply and "has not shipped yet" in r.reply
    assert r.tools_called == ["search_policies", "order_status"] and r.grounded
    # another customer's order: the policy alone, nothing of that order
    theirs = next(o for o in store_of(bot).orders("C002") if o.status == "processing")
    other = bot.respond("t", f"wrong address on order {theirs.id}", "C001")
    assert other.reply.startswith('Our store policy ("Changing an order") says:')
    assert f"Order {theirs.id}" not in other.reply and "Total:" not in other.reply


def test_an_add_that_names_a_product_adds_that_product(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    bot.respond("s", "bluetooth speaker", "C001")  # s1 Sony, s2 JBL, s3 Anker
    r = bot.respond("s", "add the jbl one", "C001")
    assert r.reply.startswith("Added JBL Flip 5 waterproof bluetooth speaker ($89.95)")
    r = bot.respond("s", "add the speaker", "C001")  # three are shown: which?
    assert r.reply.startswith(
        "Which speaker do you mean: 1. Sony SRS-XB13 waterproof bluetooth speaker; 2. JBL Flip "
        "5 waterproof bluetooth speaker; 3. Anker Soundcore mini bluetooth speaker? "
        'Say "add number 1", for example.'
    )
    assert r.grounded and not r.state_changed
    bot.respond("s", "logitech mouse", "C001")
    # named, not shown now, shown before: that product, not the subject or the list
    r = bot.respond("s", "ok add the sony speaker to my cart", "C001")
    assert r.reply.startswith("Added Sony SRS-XB13 waterproof bluetooth speaker ($49.99)")
    r = bot.respond("s", "add the printer", "C001")  # nothing seen is a printer
    assert r.reply.startswith("I cannot tell which product you mean by 'printer'")
    assert not r.state_changed
    assert sorted(line.product_id for line in store_of(bot).cart("C001")) == ["s1", "s2"]
    # "add it" still adds the subject
    assert bot.respond("s", "add it", "C001").reply.startswith("Added Sony SRS-XB13")
    # a comparative names no product: it picks among those shown, here the one mouse
    for text in ("I'll take the cheaper of the two", "add the more expensive one"):
        r = bot.respond("s", text, "C001")
        assert r.reply.startswith("Added Logitech M185 wireless mouse ($14.99)"), r.reply


def test_a_refund_status_question_shows_the_returns_and_when_refunds_are_paid(
    tmp_path: Path,
) -> None:
    bot = make_assistant(tmp_path)
    returned = [o for o in store_of(bot).orders("C001") if o.rma]
    assert len(returned) == 1 and returned[0].rma is not None
    r = bot.respond("s", "what's the status of my refund?", "C001")
    assert r.reply.startswith(f"Your return:\nOrder {returned[0].id} (placed ")
    assert f"Return {returned[0].rma.id} is {returned[0].rma.status}." in r.reply
    assert 'Our store policy ("Returns: refunds") says:' in r.reply
    assert "within 5 business days" in r.reply and r.grounded and not r.state_changed
    assert r.tools_called == ["list_orders", "order_status", "search_policies"]
    # a customer without returns is told so, and how to start one
    line = OrderLine("s1", "Zeta speaker", "speaker", Decimal("10.00"), "USD", 1)
    store_of(bot).insert(
        [Customer("C901", "Bo", "bo@example.com")],
        [NewOrder("990", "C901", "processing", datetime(2026, 11, 1, tzinfo=UTC), [line])],
    )
    none = bot.respond("t", "where is my refund?", "C901")
    assert none.reply.startswith("You have no returns.")


def test_a_shipped_order_past_its_expected_date_says_so_and_how_to_have_it_looked_into(
    tmp_path: Path,
) -> None:
    clock = Clock()
    bot = make_assistant(tmp_path, store=seeded_store(clock=clock))
    shipped = orders_of(store_of(bot), "C001", "shipped")[0]
    order = store_of(bot).order("C001", shipped)
    assert order and order.shipment
    clock.now = order.shipment.eta  # the expected day: not late
    r = bot.respond("s", f"where is my order {shipped}?", "C001")
    assert "ago" not in r.reply and "agent" not in r.reply
    clock.now = order.shipment.eta + timedelta(days=3)
    r = bot.respond("s", f"where is my order {shipped}?", "C001")
    assert (
        f"it is expected on {order.shipment.eta.date().isoformat()}. That is 3 days ago: if it "
        'has not arrived, say "agent" and a human agent will look into it with the carrier.'
    ) in r.reply
    assert r.grounded


def test_an_add_naming_a_kind_prefers_a_product_of_that_kind(tmp_path: Path) -> None:
    index = InMemoryIndex()
    index.upsert(
        [*sample_products(), product("p1", "HP DeskJet 2710 printer", "59.00", category="printer")]
    )
    bot = make_assistant(tmp_path, index=index)
    shown = [c.id for c in bot.respond("s", "hp deskjet", "C001").products]
    assert set(shown) == {"t1", "p1"}  # the ink's description names DeskJet printers too
    r = bot.respond("s", "ok add the printer to my cart", "C001")
    assert r.reply.startswith("Added HP DeskJet 2710 printer ($59.00)")


def test_a_comparative_adds_the_product_it_picks(tmp_path: Path) -> None:
    bot = make_assistant(tmp_path)
    bot.respond("s", "bluetooth speaker", "C001")
    bot.respond("s", "compare the first two", "C001")
    r = bot.respond("s", "I'll take the more expensive one", "C001")
    assert r.reply.startswith("Added JBL Flip 5 waterproof bluetooth speaker ($89.95)")
    r = bot.respond("s", "add the cheaper of the two", "C001")
    assert r.reply.startswith("Added Sony SRS-XB13 waterproof bluetooth speaker ($49.99)")
