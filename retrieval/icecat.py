"""Loading the Icecat catalog (and the vendored demo subset of it) as `Product`s.

Icecat has neither a category field nor stock. The category is derived from the title, which
Icecat writes as "<brand> <model> <category phrase> <specs>", falling back to Icecat's product
type (`attr_t_product_type`, about one record in thirteen), `attr_t_type`, the specification
fields (a SIM card and a 6" screen make a phone) and a keyword table.
Stock is generated deterministically: a seeded hash of the product id, so every machine and every
run sees the same quantities.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from retrieval.errors import CatalogSourceError
from retrieval.product import Product

DEMO_FILE = "demo_catalog.jsonl.gz"
STOCK_SEED = "shopassist-stock-v1"

# Specification fields worth keeping as filterable attributes, by the name the assistant uses.
ATTRIBUTE_FIELDS: dict[str, str] = {
    "colour": "attr_t_product_colour",
    "type": "attr_t_type",
    "compatibility": "attr_t_compatibility",
    "brand_compatibility": "attr_t_brand_compatibility",
    "material": "attr_t_material",
    "print_technology": "attr_t_print_technology",
    "printing_colours": "attr_t_printing_colours",
    "connector": "attr_t_connector_1",
    "processor_family": "attr_t_processor_family",
    "internal_memory": "attr_n_internal_memory",
    "storage_capacity": "attr_n_total_storage_capacity",
    "display_diagonal": "attr_n_display_diagonal",
    "cable_length": "attr_n_cable_length",
    "weight": "attr_n_weight",
    "battery_life": "attr_n_battery_life__max_",
}

_TV_WORDS = r"\btv\b|\btelevision\b"
# Title keywords -> category, for titles that carry no lower-case category phrase.
KEYWORD_CATEGORIES: list[tuple[str, str]] = [
    (r"\bribbon\b", "printer ribbon"),
    (r"\btoner\b", "toner cartridge"),
    (r"\bink\b", "ink cartridge"),
    (r"\bcable\b|\bcord\b", "cable"),
    (r"\badapter\b|\badaptor\b", "adapter"),
    (r"\bcharger\b", "charger"),
    (r"\bbattery\b|\bbatteries\b", "battery"),
    # An accessory is what it is, not the product it is for: "Laptop Bag" is a case.
    (r"\bcase\b|\bbag\b|\bsleeve\b|\bbackpack\b", "case"),
    (r"\bstand\b", "stand"),
    (r"\bcooler\b|\bcooling pad\b", "cooler"),
    (r"\bspeaker", "speaker"),
    (r"\bheadphone|\bheadset|\bearphone|\bearbud", "headphones"),
    (r"\bmouse\b", "mouse"),
    (r"\bkeyboard\b", "keyboard"),
    (r"\bmount\b", "mount"),
    (r"\bgamepad\b|\bjoystick\b", "gamepad"),
    (_TV_WORDS, "tv"),
    (r"\bmonitor\b|\bdisplay\b", "monitor"),
    (r"\blaptop\b|\bnotebook\b", "notebook"),
    (r"\btablet\b", "tablet"),
    (r"\bprinter\b", "printer"),
    (r"\bcamera\b", "camera"),
    (r"\bpower supply\b", "power supply unit"),
    (r"\bmidi tower\b|\bmid tower\b", "computer case"),  # "Computer Case" is a case above
    (r"\bpc\b(?!\(|\s+card)|\bworkstation\b|\bthin client\b", "pc"),
    (r"\bmemory\b|\bdimm\b|\bram\b", "memory"),
    (r"\bhdd\b|\bhard drive\b|\bssd\b", "storage drive"),
    (r"\bpaper\b", "paper"),
    (r"\bprint ?head\b", "printhead"),
    (r"\bflash drive\b|\busb stick\b", "flash drive"),
    (r"\bwebcam\b", "webcam"),
    (r"\bscanner\b", "scanner"),
    (r"\btrackball\b", "trackball"),
    (r"\brouter\b", "router"),
    (r"\bradio\b", "radio"),
    (r"\bshaver\b", "shaver"),
    (r"\bflashlight\b", "flashlight"),
]

# What follows a kind's keyword when the product is an accessory of that kind: a "Laptop Lock",
# "Mouse Pad", "Keyboard Wrist Rest", "TV antenna" or "Monitor Privacy Filter" is not a laptop,
# mouse, keyboard, TV or monitor. The category is then the phrase itself ("mouse pad"), up to
# two words between ("dual monitor kvm switch" is a "monitor kvm switch"). Adapters, cables,
# mounts and cases are accessories already: an "Adapter Card" stays an adapter.
_ACCESSORY_AFTER = re.compile(
    r"(?:\s+(?!(?:for|with|to|and|of|or)\b)\w[\w-]*){0,2}?\s+(?:pad|rest|wire|antenna|filter|screen|lock|roller|riser|arm|shelf|"
    r"support|dock|quickdock|docking station|station|switch|bracket|housing|converter|card|"
    r"ram|remote|light|panel|cleaning|container)\b"
)
_ACCESSORY_KINDS = {"adapter", "cable", "case", "mount"}
# Kinds of device that a product is made for when "for" comes just before them.
_DEVICES = {"notebook", "tablet", "tv", "monitor", "printer", "camera", "pc"}
_FOR_BEFORE = re.compile(r"\bfor(?:\s+[\w.-]+){0,2}\s+$")
_LOWER_WORD = re.compile(r"^[a-z][a-z0-9/&+-]*$")
_NOT_CATEGORY = {
    "x",
    "cm",
    "mm",
    "m",
    "g",
    "kg",
    "w",
    "for",
    "and",
    "with",
    "the",
    "of",
    "in",
    "to",
    "pixels",
    "ppm",
    "dpi",
    "sheets",
    "pages",
    "mbit/s",
    "gbit/s",
    "ghz",
    "mhz",
    "gb",
    "mb",
    "tb",
    "mah",
    "wh",
    "v",
    "hz",
    "cd/m²",
    "ms",
    "rpm",
    "ips",
    "lumens",
}
# A title's first lower-case run is not a category when it is only colour words ("HP 70 Original
# Matte black", "Black,Stainless steel") or follows an ordinal ("... 1920 x 1080 pixels 9th gen
# Intel® Core™ i5"). A lower-case word with a digit is a model or a processor, not a category
# ("Intel® Core™ i7", "HP ENVY x360", "Kingston ... Dual Rank, x4 memory module").
_COLOUR_WORDS = frozenset(
    "black white cyan magenta yellow red blue green grey gray silver gold pink purple orange "
    "brown beige transparent matte photo light dark steel".split()
)
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$")
_DIGIT = re.compile(r"\d")
# Units of a title's specifications: a lower-case run after one of them comes from the specs
# ("... 25.6 cm (10.1") 1 GB 16 GB ... Android 8.1 Go edition"), and a category that the
# specification fields give wins over it.
_SPEC_UNITS = frozenset("cm mm gb mb tb mah ghz mhz pixels dpi ppm".split())

# A TV's specification fields: broadcast standards, tuner, teletext.
_TV_FIELDS = (
    "attr_t_analog_signal_format_system",
    "attr_t_digital_signal_format_system",
    "attr_t_tuner_type",
    "attr_t_tuner_display",
    "attr_t_supported_tv_bands",
    "attr_t_dvb",
    "attr_b_teletext_function",
    "attr_b_smart_tv",
)
# Specification fields that tell what a product is when its title names no category: Icecat
# titles of phones, tablets, monitors and printers are often model and specs alone ("Samsung
# Galaxy Tab S6 Lite SM-P615N 26.4 cm (10.4") Samsung Exynos 4 GB 64 GB ... Android 10").
SPEC_FIELDS = (
    "attr_t_device_type",
    "attr_t_form_factor",
    "attr_t_sim_card_type",
    "attr_t_platform",
    "attr_t_operating_system_installed",
    "attr_n_display_diagonal",
    "attr_n_print_speed__black__normal_quality__a4_us_letter_",
    "attr_n_processor_frequency",
    "attr_n_total_storage_capacity",
    "attr_t_optical_drive_type",
    "attr_n_response_time",
    "attr_t_ups_topology",
    *_TV_FIELDS,
)


def spec_category(specs: dict[str, Any]) -> str | None:
    """The kind of product its Icecat specification fields describe, or None.

    A tablet by its device type or slate form; a phone by a SIM card or bar form with a screen
    under 7.5"; a printer by its print speed; a notebook by its clamshell form, or a processor,
    storage and a 10-18.5" screen; an uninterruptible power supply by its topology; a TV or
    monitor (15" and up) by its response time, a TV when it names a broadcast standard, a
    tuner or teletext.
    """

    def has(field: str) -> bool:
        return specs.get(field) not in (None, "", False)

    try:
        diagonal = float(specs.get("attr_n_display_diagonal") or 0)
    except (TypeError, ValueError):
        diagonal = 0.0
    form = specs.get("attr_t_form_factor")
    if "tablet" in str(specs.get("attr_t_device_type") or "").lower() or form == "Slate":
        return "tablet"
    if (has("attr_t_sim_card_type") or form == "Bar") and 0 < diagonal < 7.5:
        smart = has("attr_t_platform") or has("attr_t_operating_system_installed")
        return "smartphone" if smart else "mobile phone"
    if has("attr_n_print_speed__black__normal_quality__a4_us_letter_"):
        return "printer"
    if form == "Clamshell" or (
        has("attr_n_processor_frequency")
        and 10 <= diagonal <= 18.5
        and (has("attr_n_total_storage_capacity") or has("attr_t_optical_drive_type"))
    ):
        return "notebook"
    if has("attr_t_ups_topology"):
        return "uninterruptible power supply"
    if has("attr_n_response_time") and diagonal >= 15:
        return "tv" if any(has(f) for f in _TV_FIELDS) else "monitor"
    return None


def _after(text: str, prefix: str) -> str:
    """`text` without `prefix` (case-insensitive) at its start, or `text` as it is."""
    if prefix and text.lower().startswith(prefix.lower()):
        return text[len(prefix) :].strip(" ,-")
    return text


def derive_category(
    title: str,
    brand: str,
    model: str,
    type_attr: str | None,
    product_type: str | None = None,
    specs: dict[str, Any] | None = None,
    compatibility: str | None = None,
) -> str:
    """The category phrase of an Icecat product.

    Args:
        title: The full Icecat title.
        brand: The supplier, usually the title's first words.
        model: Icecat's `name` (the model), usually following the brand.
        type_attr: `attr_t_type`, used when the title has no category phrase.
        product_type: `attr_t_product_type` ("Notebook", "Headphones"), used when the title
            has no category phrase and it has a word in it (some records hold a bare number).
        specs: The record's `SPEC_FIELDS`, read by `spec_category` when the title has no
            category phrase, or one only after its specifications.
        compatibility: `attr_t_compatibility`, the products it is made for: a device kind
            found only by a title keyword is then an accessory of that kind ("RAM Mounts
            EZ-Roll'r Tablet/UMPC", for a Galaxy Tab, is a "tablet accessory").

    Returns:
        A lower-case phrase such as "toner cartridge", or "other".
    """
    unbranded = _after(title, brand)
    rest = _after(unbranded, model)
    # The first run of lower-case words after the brand and model is Icecat's category phrase.
    words: list[str] = []
    before = ""
    after_specs = False
    for word in rest.split():
        if _DIGIT.search(word) and _LOWER_WORD.match(word):
            # A model or a processor, and with it the lower-case words just before it: "Motorola
            # Moto G moto g8 16.3 cm", "Dual Rank, x4 memory module", "Intel® Core™ i7 4 GB".
            words = []
            before = word
        elif _LOWER_WORD.match(word) and word not in _NOT_CATEGORY:
            words.append(word)
        elif words:
            break
        else:
            before = word
            after_specs = after_specs or word.lower() in _SPEC_UNITS
    lowered = unbranded.lower()
    from_specs = spec_category(specs or {})
    if from_specs == "monitor" and re.search(_TV_WORDS, lowered):
        from_specs = "tv"  # "LG 42LD550 TV 106.7 cm": a TV whose record names no tuner
    if (
        words
        and not _ORDINAL.match(before)
        and not _COLOUR_WORDS.issuperset(words)
        and not (after_specs and from_specs)
    ):
        return " ".join(words[:4])
    if product_type and re.search(r"[A-Za-z]{2}", product_type):
        return " ".join(product_type.lower().split())
    if type_attr and type_attr not in {"Original", "Compatible"}:
        return type_attr.lower()
    if from_specs:
        return from_specs
    # Keywords are looked for after the brand: "Cooler Master" makes no cooler, "Case Logic" does.
    for pattern, category in KEYWORD_CATEGORIES:
        if found := re.search(pattern, lowered):
            if category in _DEVICES and _FOR_BEFORE.search(lowered, 0, found.start()):
                continue  # "FireWire for Laptop": made for a notebook, not one
            accessory = _ACCESSORY_AFTER.match(lowered, found.end())
            if accessory and category not in _ACCESSORY_KINDS:
                return " ".join(lowered[found.start() : accessory.end()].split())
            if category in _DEVICES and compatibility:
                return f"{category} accessory"
            return category
    if type_attr in {"Original", "Compatible"}:
        return "printer supplies"
    return "other"


def seeded_stock(product_id: str) -> int:
    """A deterministic stock quantity for a product that has none in its source.

    About one product in eight is out of stock, one in eight has low stock (1-5), the rest 6-120.
    """
    digest = hashlib.sha256(f"{STOCK_SEED}:{product_id}".encode()).digest()
    bucket, amount = digest[0] % 8, int.from_bytes(digest[1:3], "big")
    if bucket == 0:
        return 0
    if bucket == 1:
        return 1 + amount % 5
    return 6 + amount % 115


def _attr_value(raw: Any) -> str | None:
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw).strip()
    return text if text and len(text) <= 80 else None


def product_from_icecat(record: dict[str, Any]) -> Product:
    """Convert one Icecat JSON record into a `Product`.

    Raises:
        CatalogSourceError: The record lacks an id, a title or a price.
    """
    try:
        product_id, title, cents = str(record["id"]), str(record["title"]).strip(), record["price"]
    except KeyError as exc:
        raise CatalogSourceError(f"Icecat record without {exc.args[0]!r}: {record!r:.120}") from exc
    brand = str(record.get("supplier") or "").strip()
    attributes = {
        name: value
        for name, field in ATTRIBUTE_FIELDS.items()
        if (value := _attr_value(record.get(field))) is not None
    }
    released = record.get("date_released")
    updated_at = (
        datetime.fromisoformat(released.replace("Z", "+00:00"))
        if isinstance(released, str) and released
        else datetime(2020, 1, 1, tzinfo=UTC)
    )
    return Product(
        id=product_id,
        title=" ".join(title.split()),
        brand=brand,
        description=str(record.get("short_description") or "").strip(),
        price=Decimal(int(cents)) / 100,
        currency="USD",
        stock=seeded_stock(product_id),
        category=derive_category(
            title,
            brand,
            str(record.get("name") or ""),
            record.get("attr_t_type"),
            _attr_value(record.get("attr_t_product_type")),
            {field: record.get(field) for field in SPEC_FIELDS},
            _attr_value(record.get("attr_t_compatibility")),
        ),
        attributes=attributes,
        image_url=record.get("img_500x500") or record.get("img_high") or None,
        version=1,
        updated_at=updated_at,
    )


def read_icecat_records(directory: Path) -> Iterator[dict[str, Any]]:
    """The raw records of an Icecat folder holding `1.json.zip` .. `4.json.zip`.

    Raises:
        CatalogSourceError: The folder or its zip files are missing or unreadable.
    """
    archives = sorted(directory.glob("*.json.zip")) if directory.is_dir() else []
    if not archives:
        raise CatalogSourceError(
            f"No Icecat archives (1..4.json.zip) in {directory} - pass --icecat DIR with the "
            "folder that holds them, or use --demo for the vendored subset."
        )
    for archive in archives:
        try:
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    yield from json.loads(zf.read(name))
        except (zipfile.BadZipFile, json.JSONDecodeError, OSError) as exc:
            raise CatalogSourceError(f"Cannot read {archive}: {exc}") from exc


def load_icecat(directory: Path, limit: int | None = None) -> list[Product]:
    """All products of an Icecat folder (the first `limit` when given)."""
    return _convert(read_icecat_records(directory), limit)


def read_demo_records() -> Iterator[dict[str, Any]]:
    """The raw Icecat records of the vendored demo subset (see `retrieval/data/ATTRIBUTION.md`)."""
    data = resources.files("retrieval") / "data" / DEMO_FILE
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def load_demo(limit: int | None = None) -> list[Product]:
    """The products of the vendored demo subset."""
    return _convert(read_demo_records(), limit)


def _convert(records: Iterable[dict[str, Any]], limit: int | None) -> list[Product]:
    products: list[Product] = []
    for record in records:
        if limit is not None and len(products) >= limit:
            break
        products.append(product_from_icecat(record))
    return products


KEEP_FIELDS = (
    "id",
    "name",
    "title",
    "supplier",
    "price",
    "short_description",
    "img_500x500",
    "date_released",
    "attr_t_product_type",
    *ATTRIBUTE_FIELDS.values(),
    *SPEC_FIELDS,
)


def write_demo_subset(
    directory: Path, out: Path, size: int = 4000, must_include: Iterable[str] = (), seed: int = 7
) -> int:
    """Write a compact Icecat subset (the vendored demo catalog) as gzipped JSON lines.

    Args:
        directory: The full Icecat folder.
        out: The .jsonl.gz file to write.
        size: How many products to keep.
        must_include: Ids kept whatever the sample (e.g. every judged product).
        seed: The sampling seed, so the subset is reproducible.

    Returns:
        The number of products written.
    """
    import random

    records = list(read_icecat_records(directory))
    wanted = set(must_include)
    chosen = [r for r in records if str(r["id"]) in wanted]
    rest = [r for r in records if str(r["id"]) not in wanted]
    random.Random(seed).shuffle(rest)
    chosen += rest[: max(0, size - len(chosen))]
    chosen.sort(key=lambda r: str(r["id"]))
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as fh:
        for r in chosen:
            slim = {k: r[k] for k in KEEP_FIELDS if r.get(k) is not None}
            fh.write(json.dumps(slim, ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(chosen)
