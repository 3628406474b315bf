"""Fast unit tests of the catalog's pieces (no Chroma, no model)."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from retrieval.errors import CatalogSourceError, EventError
from retrieval.evaluation import (
    condensed_ndcg_at_k,
    judged_irrelevant_at_k,
    ndcg_at_k,
    oracle_order,
    read_judgments,
)
from retrieval.events import PatchEvent, UpsertEvent, parse_event, parse_feed
from retrieval.icecat import (
    derive_category,
    load_demo,
    load_icecat,
    product_from_icecat,
    seeded_stock,
    write_demo_subset,
)
from retrieval.lexical import BM25Index, LexicalDoc, query_terms, stem, tokenize
from retrieval.product import Availability, Product
from retrieval.search import FilterView, FusionConfig, SearchFilters, fuse
from tests.retrieval.catalog_fixtures import product

ICECAT_RECORD = {
    "id": "3920564",
    "name": "006R90321",
    "title": "Xerox 006R90321 toner cartridge Original Black 6 pc(s)",
    "short_description": "Toner (6 Per Box) for CopyCentre C65 Digital Copier",
    "img_500x500": "http://images.example/img.jpg",
    "date_released": "2009-12-10T00:00:00Z",
    "supplier": "Xerox",
    "price": 4995,
    "attr_t_product_colour": "Black",
}


def test_price_is_exact_decimal_and_float_input_does_not_drift() -> None:
    q = Product(id="1", title="x", price=49.95)  # type: ignore[arg-type]
    assert q.price == Decimal("49.95") and q.price_cents == 4995


def test_product_rejects_bad_values() -> None:
    with pytest.raises(ValidationError):
        Product(id="1", title="x", price=Decimal("-1"))
    with pytest.raises(ValidationError):
        Product(id="1", title="x", price=Decimal("1.001"))
    with pytest.raises(ValidationError):
        Product(id="", title="x", price=Decimal("1"))
    with pytest.raises(ValidationError):
        Product(id="1", title="x", price=Decimal("1"), stock=-2)


def test_availability_follows_stock() -> None:
    assert Availability.for_quantity(0) is Availability.OUT_OF_STOCK
    assert Availability.for_quantity(3) is Availability.LOW_STOCK
    assert Availability.for_quantity(50) is Availability.IN_STOCK


def test_icecat_record_becomes_a_product() -> None:
    p = product_from_icecat(ICECAT_RECORD)
    assert p.price == Decimal("49.95") and p.brand == "Xerox"
    assert p.category == "toner cartridge"
    assert p.attributes == {"colour": "Black"}
    assert p.stock == seeded_stock("3920564")
    assert p.public_dict()["price"] == 49.95


def test_icecat_record_without_price_is_a_clear_error() -> None:
    with pytest.raises(CatalogSourceError, match="price"):
        product_from_icecat({k: v for k, v in ICECAT_RECORD.items() if k != "price"})


@pytest.mark.parametrize(
    ("title", "brand", "model", "type_attr", "expected"),
    [
        (
            "Lexmark 08A0476 toner cartridge Original Black 1 pc(s)",
            "Lexmark",
            "08A0476",
            None,
            "toner cartridge",
        ),
        ("HP LaserJet Q7003A output stacker 750 sheets", "HP", "x", None, "output stacker"),
        ("Canon BCI-6Y Original", "Canon", "BCI-6Y", "Original", "printer supplies"),
        ("StarTech.com 3 ft Cat5e RJ45 UTP Patch Cable", "StarTech.com", "3 ft", None, "cable"),
        ("Origin Storage 1TB Desktop SATA HD", "Origin Storage", "1TB", "HDD", "hdd"),
        ("Foo Bar 9000", "Foo", "Bar", None, "other"),
        # A run of colour words or one after an ordinal is not a category phrase.
        ("HP 70 Original Matte black", "HP", "70", "Original", "printer supplies"),
        (
            'Lenovo IdeaPad S340 Notebook Gray 35.6 cm (14") 1920 x 1080 pixels 10th gen Intel® '
            "Core™ i3 8 GB",
            "Lenovo",
            "S340",
            None,
            "notebook",
        ),
        ("Epson ERC28B Ribbon Cartridge for M-2000, black", "Epson", "x", None, "printer ribbon"),
        (
            'Philips 47PFL3603D 47" Full HD 1080p LCD TV',
            "Philips",
            '47PFL3603D 47" Full HD 1080p LCD TV',
            None,
            "tv",
        ),
        ("HP Compaq dc5800 Microtower PC", "HP", "Compaq dc5800 Microtower PC", None, "pc"),
        ("HP Intel IIIB Wireless LAN 802.11b/g PC Card", "HP", "x", None, "other"),
        # An accessory is itself, not the product it is for.
        ('Urban Factory Modulo2 Laptop Bag 17.3" Black', "Urban Factory", "x", None, "case"),
        ("HP Universal Notebook Stand Black", "HP", "x", None, "stand"),
        ("StarTech.com Lightweight Laptop Cooler with 2 Fans", "StarTech.com", "x", None, "cooler"),
        (
            "Cooler Master Elite 310 Midi Tower Black,Silver",
            "Cooler Master",
            "x",
            None,
            "computer case",
        ),
        ("StarTech.com TV Wall Mount for Large Displays", "StarTech.com", "x", None, "mount"),
        # A kind's keyword followed by an accessory word names the accessory: a laptop lock
        # is not a laptop, a mouse pad not a mouse.
        ("Kensington MicroSaver® Keyed Laptop Lock", "Kensington", "x", None, "laptop lock"),
        ("Adesso TruForm P100 - 9 x 7 Mouse Pad", "Adesso", "x", None, "mouse pad"),
        ("Kensington Gel Keyboard Wrist Rest Blue", "Kensington", "x", None, "keyboard wrist rest"),
        (
            "StarTech.com Dual Monitor KVM Switch USB",
            "StarTech.com",
            "x",
            None,
            "monitor kvm switch",
        ),
        ("HP 128MB SD memory card 0.125 GB", "HP", "128MB SD memory card", None, "memory card"),
        # Kinds the title names in capitals, and their accessories.
        ("Philips Webcam SPC1300NC/00", "Philips", "x", None, "webcam"),
        ("V7 32GB USB 3.1 Flash Drive", "V7", "32GB USB 3.1 Flash Drive", None, "flash drive"),
        ("HP 85 Light Cyan DesignJet Printhead", "HP", "x", None, "printhead"),
        ("HP 789 DesignJet Printhead Cleaning Kit", "HP", "x", None, "printhead cleaning"),
        ("Xerox Waste Toner Container 31000 pages", "Xerox", "x", None, "toner container"),
        ("Logitech Pro Flight Radio Panel Flight Sim", "Logitech", "x", None, "radio panel"),
        ("Philips AJ100 Clock Radio", "Philips", "AJ100", None, "radio"),
        # A device named after "for" is what the product is for, not what it is.
        ("Sandberg FireWire for Laptop (3 ports)", "Sandberg", "x", None, "other"),
        (
            "StarTech.com Hard Drive Bay for PC Expansion Slot",
            "StarTech.com",
            "x",
            None,
            "storage drive",
        ),
        # ... but not across "for"/"with", nor for kinds that are accessories already.
        ("StarTech.com Adapter for KVM Switch", "StarTech.com", "x", None, "adapter"),
        ("StarTech.com USB Adapter Card", "StarTech.com", "x", None, "adapter"),
        ("Philips Wireless Mouse with Pad", "Philips", "x", None, "mouse"),
        ("HP 88XL Black Original 1 pc(s)", "HP", "88XL", "Original", "printer supplies"),
    ],
)
def test_category_is_derived_from_the_title(
    title: str, brand: str, model: str, type_attr: str | None, expected: str
) -> None:
    assert derive_category(title, brand, model, type_attr) == expected


def test_icecat_product_type_is_the_category_when_the_title_has_none() -> None:
    title = 'MSI Gaming GE75 10SGS-223 Raider Notebook Black 43.9 cm (17.3") 10th gen Intel® Core™'
    assert derive_category(title, "MSI", "GE75", None, "Gaming Notebook") == "gaming notebook"
    # A bare number there is no product type: the keyword table decides.
    assert derive_category(title, "MSI", "GE75", None, "1") == "notebook"
    # The title's own phrase wins over the product type.
    title = "Lexmark 08A0476 toner cartridge Original Black 1 pc(s)"
    assert derive_category(title, "Lexmark", "08A0476", None, "Maintenance kit") == (
        "toner cartridge"
    )


def test_a_device_keyword_of_a_product_made_for_others_is_an_accessory() -> None:
    # The title names the device only as what it is for; the record's compatibility says so.
    title, galaxy = "RAM Mounts EZ-Roll'r Tablet/UMPC Black", "Samsung Galaxy Tab Active2"
    assert derive_category(title, "RAM Mounts", "EZ-Roll'r", None) == "tablet"
    assert derive_category(title, "RAM Mounts", "EZ-Roll'r", None, None, None, galaxy) == (
        "tablet accessory"
    )
    # Only a device kind: a toner "for HP LaserJet" stays a toner; the title's phrase wins.
    toner = "Acme TN-1 Toner Black"
    assert derive_category(toner, "Acme", "TN-1", None, None, None, "HP LaserJet") == (
        "toner cartridge"
    )
    phrase = "HP LaserJet CM2320fxi printer Laser 600 x 600 DPI"
    assert derive_category(phrase, "HP", "LaserJet CM2320fxi", None, None, None, "PC") == "printer"


TABLET_SPECS = {
    "attr_t_device_type": "Full-size tablet",
    "attr_t_form_factor": "Slate",
    "attr_n_display_diagonal": 10.1,
    "attr_t_platform": "Android",
}
PHONE_SPECS = {
    "attr_t_form_factor": "Bar",
    "attr_t_sim_card_type": "NanoSIM",
    "attr_n_display_diagonal": 6.39,
    "attr_t_operating_system_installed": "Android 9.0",
}
MONITOR_SPECS = {"attr_n_display_diagonal": 19.0, "attr_n_response_time": 5.0}
PRINTER_SPECS = {"attr_n_print_speed__black__normal_quality__a4_us_letter_": 16.0}
NOTEBOOK_SPECS = {
    "attr_n_processor_frequency": 2.66,
    "attr_n_display_diagonal": 15.6,
    "attr_n_total_storage_capacity": 320.0,
}


@pytest.mark.parametrize(
    ("title", "model", "specs", "expected"),
    [
        # Titles of model and specs alone: the specification fields say what the product is.
        (
            'Samsung Galaxy Tab S6 Lite SM-P615N 26.4 cm (10.4") Samsung Exynos 4 GB 64 GB',
            "SM-P615N",
            TABLET_SPECS,
            "tablet",
        ),
        (
            'Huawei P40 lite E 16.2 cm (6.39") 4 GB 64 GB Dual SIM 4G Micro-USB Black',
            "P40 lite E",
            PHONE_SPECS,
            "smartphone",
        ),
        (
            'Samsung SGH-F480 7.11 cm (2.8") 115 g Pink',
            "SGH-F480",
            {"attr_t_form_factor": "Bar", "attr_n_display_diagonal": 2.8},
            "mobile phone",
        ),
        ("HP OfficeJet L7680 Inkjet 16 ppm", "L7680", PRINTER_SPECS, "printer"),
        (
            'HP LP1965 48.3 cm (19") 1280 x 1024 pixels LCD Black',
            "LP1965",
            MONITOR_SPECS,
            "monitor",
        ),
        (
            "Philips widescreen flat TV 42PF5421/10",
            "widescreen flat TV 42PF5421/10",
            {**MONITOR_SPECS, "attr_t_tuner_display": "PLL"},
            "tv",
        ),
        # A TV whose record names no tuner is still a TV when its title says so.
        ('LG 42LD550 TV 106.7 cm (42") Full HD Black', "42LD550", MONITOR_SPECS, "tv"),
        (
            "Tripp Lite SmartPro LCD 120V 1kVA 500W Line-Interactive UPS, Tower, LCD Display, USB",
            "x",
            {"attr_t_ups_topology": "Line-Interactive"},
            "uninterruptible power supply",
        ),
        # A lower-case run after the specifications is not the category when the specs tell it.
        (
            'Denver TAQ-10383K 25.6 cm (10.1") 1 GB 16 GB Black Android 8.1 Go edition',
            "TAQ-10383K",
            TABLET_SPECS,
            "tablet",
        ),
        # Lower-case words with digits are models and processors, not categories.
        (
            'HP EliteBook 8540p 39.6 cm (15.6") 1600 x 900 pixels Intel® Core™ i7 4 GB 320 GB HDD',
            "8540p",
            NOTEBOOK_SPECS,
            "notebook",
        ),
        (
            'Motorola Moto G moto g8 16.3 cm (6.4") 4 GB 64 GB Hybrid Dual SIM 4G',
            "x",
            PHONE_SPECS,
            "smartphone",
        ),
        (
            "Kingston Technology ValueRAM 8GB DDR2 ECC DIMM Dual Rank, x4 memory module",
            "x",
            {},
            "memory module",
        ),
        ("HP Jetdirect ew2400 print server Gray", "x", {}, "print server"),
        # The title's own phrase wins over the specification fields ...
        (
            "PanzerGlass P6251 screen protector Clear screen protector Tablet Microsoft 1 pc(s)",
            "P6251",
            TABLET_SPECS,
            "screen protector",
        ),
        # ... and specifications of no known kind leave the title's keywords to decide.
        ("Samsung NV66M3571BS Electric 66 L 1200 W Black,Stainless steel A", "x", {}, "other"),
    ],
)
def test_category_from_the_specification_when_the_title_names_none(
    title: str, model: str, specs: dict[str, object], expected: str
) -> None:
    brand = title.split()[0]
    assert derive_category(title, brand, model, None, None, specs) == expected
    if expected in {"tablet", "smartphone", "printer", "monitor"}:
        # Without the specification fields these titles name no category.
        assert derive_category(title, brand, model, None) != expected


def test_seeded_stock_is_deterministic_and_varied() -> None:
    stocks = [seeded_stock(str(i)) for i in range(2000)]
    assert stocks == [seeded_stock(str(i)) for i in range(2000)]
    zero = sum(s == 0 for s in stocks) / len(stocks)
    assert 0.08 < zero < 0.18 and max(stocks) <= 120


def test_demo_subset_loads_and_round_trips(tmp_path: Path) -> None:
    demo = load_demo()
    assert 2000 <= len(demo) <= 10000
    assert len({p.id for p in demo}) == len(demo)
    # The subset keeps the fields the category is derived from: Icecat's product type, and
    # the specification fields of a tablet whose title is model and specs alone.
    categories = {p.id: p.category for p in demo}
    assert categories["79042322"] == "tablet"  # Samsung Galaxy Tab S6 Lite SM-P615N ...
    assert categories["1198614"] == "tablet"  # HP Compaq tc4400 Tablet PC
    assert load_demo(limit=5) == demo[:5]
    source = tmp_path / "icecat"
    source.mkdir()
    import zipfile

    with zipfile.ZipFile(source / "1.json.zip", "w") as zf:
        zf.writestr("1.json", json.dumps([ICECAT_RECORD, {**ICECAT_RECORD, "id": "2"}]))
    out = tmp_path / "demo.jsonl.gz"
    assert write_demo_subset(source, out, size=1, must_include=["2"]) == 1
    with gzip.open(out, "rt") as fh:
        assert [json.loads(line)["id"] for line in fh] == ["2"]
    assert [p.id for p in load_icecat(source)] == ["3920564", "2"]
    # A tablet's specification fields survive the trimming, so it stays a tablet.
    tablet = {**ICECAT_RECORD, "id": "3", "name": "SM-P615N", **TABLET_SPECS}
    tablet["title"] = 'Samsung Galaxy Tab S6 Lite SM-P615N 26.4 cm (10.4") 4 GB 64 GB'
    with zipfile.ZipFile(source / "1.json.zip", "w") as zf:
        zf.writestr("1.json", json.dumps([tablet]))
    assert write_demo_subset(source, out, size=1) == 1
    with gzip.open(out, "rt") as fh:
        kept = json.loads(fh.readline())
    assert product_from_icecat(kept).category == "tablet"


def test_missing_icecat_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CatalogSourceError, match="--demo"):
        load_icecat(tmp_path / "nowhere")


def test_tokenize_and_stem() -> None:
    assert tokenize("The Bluetooth Speakers, for my PC!") == ["bluetooth", "speaker", "pc"]
    assert [stem(w) for w in ("batteries", "glasses", "cables", "bus", "ps4")] == [
        "battery",
        "glass",
        "cable",
        "bus",
        "ps4",
    ]
    terms = query_terms("head set laptop")
    assert terms["headset"] == 1.0 and terms["notebook"] < 1.0


def test_words_the_catalog_writes_as_one_count_less_apart() -> None:
    assert query_terms("head set", lambda term: term == "headset") == {
        "head": 0.5,
        "set": 0.5,
        "headset": 1.0,
        "headphone": 0.5,
    }
    assert query_terms("head set")["head"] == 1.0  # without a catalog to ask
    bm = BM25Index()
    for i, thing in enumerate(("usb cable", "toner", "mouse", "keyboard", "monitor", "tablet")):
        bm.add(LexicalDoc(f"x{i}", thing, ""))
    for i in range(3):
        bm.add(LexicalDoc(f"h{i}", f"Philips SHP{i} headphones/headset Head-band", ""))
    bm.add(LexicalDoc("doll", "OMG Styling Head Doll hair styling set", ""))
    assert bm.is_word("headset") and not bm.is_word("styling")
    assert [h.id for h in bm.search("head set")][0] != "doll"
    # A word the catalog does not write as one changes nothing: "styling head" stays two words.
    assert [h.id for h in bm.search("styling head")][0] == "doll"


def test_a_correction_is_one_edit_to_a_word_of_three_documents() -> None:
    bm = BM25Index()
    for i in range(3):
        bm.add(LexicalDoc(f"b{i}", f"bluetooth speakers {i}", "wireless"))
    bm.add(LexicalDoc("base", "base station", ""))
    bm.add(LexicalDoc("sp", "speaker stand", ""))
    assert bm.correction("blutooth") == "bluetooth"  # a letter missing
    assert bm.correction("speakr") == "speaker"  # a plural in the catalog is its stem
    assert bm.correction("spaekers") == "speaker"  # two letters swapped
    assert bm.correction("wireles") == "wireless"  # before stemming: "wirele" is two away
    assert bm.correction("Wirelesss") == "wireless"  # a letter too many, any case
    assert bm.correction("speaker") is None  # known
    assert bm.correction("station") is None  # known, in one document
    assert bm.correction("statio") is None  # one edit from a word of one document only
    assert bm.correction("bose") is None  # too short to read as "base"
    assert bm.correction("blu3tooth") is None  # not all letters
    assert bm.correction("netflix") is None  # nothing near
    for i in range(3):
        bm.add(LexicalDoc(f"d{i}", f"hair dryers {i}", ""))
    # A word of the dictionary is a word, even one edit from a catalog word: "office chair".
    assert bm.correction("chairs") == "hair" and bm.correction("chairs", {"chair"}) is None
    assert bm.correction("dryerz", {"dryerz"}) is None and bm.correction("dryerz") == "dryer"


def test_bm25_add_replace_remove_keeps_postings_consistent() -> None:
    bm = BM25Index()
    bm.add(LexicalDoc("a", "red bluetooth speaker", "audio"))
    bm.add(LexicalDoc("b", "blue wireless mouse", "computer"))
    assert [h.id for h in bm.search("speaker")] == ["a"]
    bm.add(LexicalDoc("a", "red wireless keyboard", "computer"))
    assert bm.search("speaker") == []
    assert {h.id for h in bm.search("wireless")} == {"a", "b"}
    assert bm.remove("a") and not bm.remove("a")
    assert [h.id for h in bm.search("wireless")] == ["b"] and len(bm) == 1
    assert bm.search("keyboard") == []


def test_bm25_prefers_the_title_and_rarer_terms() -> None:
    bm = BM25Index()
    bm.add(LexicalDoc("title", "usb cable", ""))
    bm.add(LexicalDoc("body", "adapter", "usb cable"))
    bm.add(LexicalDoc("other", "usb hub", ""))
    hits = bm.search("usb cable")
    assert [h.id for h in hits][:2] == ["title", "body"]
    assert hits[0].matched == ("usb", "cable")


def test_filters_admit_exactly_what_they_say() -> None:
    p = FilterView.of(product("x", "Sony speaker", "49.99", attributes={"colour": "Black"}))
    assert SearchFilters(price_max=Decimal("49.99")).admits(p)
    assert not SearchFilters(price_max=Decimal("49.98")).admits(p)
    assert SearchFilters(price_min=Decimal("49.99"), brands=("SONY",)).admits(p)
    assert not SearchFilters(brands=("JBL",)).admits(p)
    assert SearchFilters(attributes={"Colour": "black"}, category="Speaker").admits(p)
    assert not SearchFilters(attributes={"colour": "red"}).admits(p)
    out = FilterView.of(product("y", "Sony speaker", "10", stock=0))
    assert not SearchFilters(in_stock=True).admits(out)
    assert SearchFilters(price_min=Decimal("5"), price_max=Decimal("5")).admits(
        FilterView.of(product("z", "Sony speaker", "5"))
    )
    with pytest.raises(ValidationError, match="price_min 10 is above price_max 5"):
        SearchFilters(price_min=Decimal("10"), price_max=Decimal("5"))


def test_rrf_fusion_rewards_agreement() -> None:
    lexical = [("a", 9.0, ("x",)), ("b", 5.0, ("x",))]
    dense = [("b", 0.9), ("c", 0.8)]
    fused = fuse(lexical, dense, FusionConfig())
    assert [c.id for c in fused] == ["b", "a", "c"]
    assert fused[0].lexical_rank == 2 and fused[0].dense_rank == 1
    lex_only = fuse(lexical, dense, FusionConfig(dense_weight=0))
    assert [c.id for c in lex_only][:2] == ["a", "b"]


def test_events_validate_with_clear_messages() -> None:
    assert isinstance(parse_event({"op": "patch", "id": "1", "price": 9.99}), PatchEvent)
    up = parse_event({"op": "upsert", "id": "1", "title": "t", "price": 3})
    assert isinstance(up, UpsertEvent) and up.product.price == Decimal("3")
    with pytest.raises(EventError, match="line 4.*price"):
        parse_event({"op": "patch", "id": "1", "price": -1}, line=4)
    with pytest.raises(EventError, match="needs 'price' and/or 'stock'"):
        parse_event({"op": "patch", "id": "1"})
    with pytest.raises(EventError, match="colour"):
        parse_event({"op": "patch", "id": "1", "stock": 1, "colour": "red"})
    parsed = parse_feed(["", "{", '{"op": "delete", "id": "9"}', "[1]"])
    assert [e.line for e in parsed.errors] == [2, 4]
    assert [line for line, _ in parsed.events] == [3]


def test_ndcg() -> None:
    labels = {"a": 3.0, "b": 1.0, "c": 0.0}
    assert ndcg_at_k(["a", "b", "c"], labels) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], labels) == 0.0
    assert 0 < ndcg_at_k(["b", "a"], labels) < 1
    assert ndcg_at_k(["a"], {"a": 0.0}) == 0.0


def test_condensed_ndcg_ignores_unjudged_products_and_irrelevant_ones_are_counted() -> None:
    labels = {"a": 3.0, "b": 1.0, "c": 0.0}
    # Unjudged "x" and "y" cost the official figure but not the condensed one.
    ranked = ["x", "a", "y", "b", "c"]
    assert ndcg_at_k(ranked, labels) < 1
    assert condensed_ndcg_at_k(ranked, labels) == pytest.approx(1.0)
    # The judged order still counts: "b" above "a" is worse however many unjudged are between.
    assert condensed_ndcg_at_k(["b", "x", "a"], labels) < 1
    assert condensed_ndcg_at_k(["x", "y"], labels) == 0.0
    # Known mistakes: "c" (rating 0) in the top k; unjudged ones are not counted.
    assert judged_irrelevant_at_k(["c", "x", "a"], labels) == 1
    assert judged_irrelevant_at_k(["x", "a", "c"], labels, k=2) == 0


def test_oracle_order_is_the_ceiling_of_reranking_what_was_retrieved() -> None:
    labels = {"a": 3.0, "b": 1.0, "c": 0.0, "d": 2.0}
    # Unjudged "x" and "y" go last in their order, below the judged-irrelevant "c".
    assert oracle_order(["x", "c", "b", "y", "a"], labels) == ["a", "b", "c", "x", "y"]
    retrieved = ["x", "c", "b", "y", "a"]  # "d" was not retrieved: no re-ranking recovers it
    best = ndcg_at_k(oracle_order(retrieved, labels), labels)
    assert 0 < best < 1
    assert best >= max(ndcg_at_k(p, labels) for p in (retrieved, retrieved[::-1], ["a", "b"]))


def test_judgments_reader_reports_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "j.csv"
    good.write_text("query,docid,rating\nspeaker,1,3\nspeaker,2,0\nmouse,3,2\n")
    assert read_judgments(good) == {"speaker": {"1": 3.0, "2": 0.0}, "mouse": {"3": 2.0}}
    bad = tmp_path / "bad.csv"
    bad.write_text("query,doc\nx,1\n")
    with pytest.raises(CatalogSourceError, match="docid"):
        read_judgments(bad)
    worse = tmp_path / "worse.csv"
    worse.write_text("query,docid,rating\nx,1,high\n")
    with pytest.raises(CatalogSourceError, match=":2"):
        read_judgments(worse)
    for body, line in (("x,1,2\nx,2,nan\n", 3), ("x,1,inf\n", 2), ("x,1,2\nx,2\n", 3)):
        worse.write_text("query,docid,rating\n" + body)
        with pytest.raises(CatalogSourceError, match=f":{line}: rating"):
            read_judgments(worse)
    worse.write_bytes(b"query,docid,rating\n\xff\xfe,1,2\n")
    with pytest.raises(CatalogSourceError, match="Cannot read judgments.*utf-8"):
        read_judgments(worse)


def test_vectorised_filter_mask_agrees_with_admits() -> None:
    from itertools import product as combos

    from retrieval.columns import FilterColumns
    from tests.retrieval.catalog_fixtures import sample_products

    views = [FilterView.of(p) for p in sample_products()]
    columns = FilterColumns(capacity=2)  # forces growth
    for row, view in enumerate(views):
        columns.set(row, view)
    columns.kill(7)
    prices = [None, Decimal("15"), Decimal("49.99")]
    for lo, hi, brands, category, stock, attrs in combos(
        prices,
        prices,
        [(), ("logitech", "SONY")],
        [None, "speaker", "Mouse"],
        [False, True],
        [{}, {"colour": "BLACK"}],
    ):
        if lo is not None and hi is not None and lo > hi:
            continue  # an empty price range is refused (test_filters_admit_exactly_what_they_say)
        f = SearchFilters(
            price_min=lo,
            price_max=hi,
            brands=brands,
            category=category,
            in_stock=stock,
            attributes=attrs,
        )
        expected = [row < 7 and f.admits(v) for row, v in enumerate(views)]
        assert columns.mask(f)[: len(views)].tolist() == expected, f
