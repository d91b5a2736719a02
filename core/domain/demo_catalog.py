"""The raw material of demo history: people, places, products, carriers, reasons.

Everything here is data; `demo_data` draws from it with a seeded random source,
so the same seed always makes the same history.
"""

from __future__ import annotations

import random
import string
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from .order_events import Address

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Ethan", "Harper", "Aiden", "Evelyn", "Mason", "Aria", "Logan",
    "Chloe", "Jackson", "Layla", "Sebastian", "Nora", "Henry", "Zoe", "Owen", "Priya", "Wei",
    "Fatima", "Diego", "Hana", "Kofi", "Ingrid", "Tomás", "Aisha", "Yuki", "Ravi", "Maren",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Walker", "Young", "Allen", "Nguyen", "Patel", "Kim", "Okafor", "Schmidt",
    "Rossi", "Novak", "Larsen", "Costa", "Tanaka",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "inbox.example.io")
STREET_NAMES = (
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St", "Washington Ave",
    "Lake View Rd", "Hillcrest Dr", "Sunset Blvd", "Park Pl", "River Rd", "Mill St",
    "Church St", "Highland Ave", "Meadow Way", "Broadway", "2nd St", "5th Ave", "Harbor Dr",
)  # fmt: skip
#: (city, state, zip prefix)
CITIES = (
    ("New York", "NY", "100"), ("Brooklyn", "NY", "112"), ("Boston", "MA", "021"),
    ("Philadelphia", "PA", "191"), ("Chicago", "IL", "606"), ("Austin", "TX", "787"),
    ("Houston", "TX", "770"), ("Denver", "CO", "802"), ("Seattle", "WA", "981"),
    ("Portland", "OR", "972"), ("San Francisco", "CA", "941"), ("Los Angeles", "CA", "900"),
    ("San Diego", "CA", "921"), ("Phoenix", "AZ", "850"), ("Atlanta", "GA", "303"),
    ("Miami", "FL", "331"), ("Minneapolis", "MN", "554"), ("Nashville", "TN", "372"),
    ("Raleigh", "NC", "276"), ("Salt Lake City", "UT", "841"),
)  # fmt: skip


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Decimal


PRODUCTS = tuple(
    Product(sku, name, Decimal(price))
    for sku, name, price in (
        ("WIDGET-1", "Standard widget", "9.99"),
        ("WIDGET-2", "Deluxe widget", "24.50"),
        ("GADGET-S", "Pocket gadget", "39.00"),
        ("GADGET-L", "Gadget pro", "129.00"),
        ("CABLE-USB-C", "USB-C cable, 2 m", "12.99"),
        ("CHARGER-65W", "65 W charger", "49.95"),
        ("HEADPH-BT", "Bluetooth headphones", "89.00"),
        ("MOUSE-WL", "Wireless mouse", "29.99"),
        ("KBD-MECH", "Mechanical keyboard", "119.00"),
        ("MONITOR-27", "27-inch monitor", "279.00"),
        ("LAMP-DESK", "Desk lamp", "34.90"),
        ("MUG-CERAMIC", "Ceramic mug", "14.00"),
        ("BOTTLE-STEEL", "Steel water bottle", "22.00"),
        ("NOTEBOOK-A5", "A5 notebook", "7.50"),
        ("PEN-GEL-10", "Gel pens, pack of 10", "11.25"),
        ("BACKPACK-20L", "Backpack 20 L", "64.00"),
        ("CHAIR-ERGO", "Ergonomic chair", "349.00"),
        ("STAND-LAPTOP", "Laptop stand", "45.00"),
    )
)

#: What customers pay with; PREPAID_CARD is always declined (`payment.DECLINED_METHODS`).
PAYMENT_METHODS = ("CARD", "CARD", "CARD", "PAYPAL", "BANK_TRANSFER", "GIFT_CARD", "PREPAID_CARD")
CARRIERS = ("UPS", "FedEx", "DHL", "USPS")
OPERATORS = ("alice", "bob", "carol")
APPROVAL_NOTES = (
    "", "", "", "payment verified", "stock confirmed", "priority customer",
    "address checked", "split shipment not needed",
)  # fmt: skip
CANCEL_REASONS = {
    "CUSTOMER": ("changed my mind", "found a better price", "ordered by mistake",
                 "delivery too slow"),
    "ADMIN": ("duplicate order", "customer asked by phone", "address could not be verified"),
    "SYSTEM": ("fraud check failed", "item out of stock", "address undeliverable"),
}  # fmt: skip
#: Who wrote the poison rows: an old importer that wrote straight to the store.
IMPORTER = "legacy-importer"
ACCOUNT_OWNERS_EXTRA = (
    "Acme Supplies Ltd", "Northwind Traders", "Blue Harbor Cafe", "Riverside Bakery",
    "Summit Outdoor Co", "Pixel & Press Studio",
)  # fmt: skip


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    email: str
    address: Address
    payment_method: str


def make_customer(rng: random.Random, number: int) -> Customer:
    """A plausible customer with a stable id `cust-0001`."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    ascii_first = unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode()
    email = f"{ascii_first.lower()}.{last.lower()}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"
    return Customer(
        customer_id=f"cust-{number:04d}",
        name=f"{first} {last}",
        email=email,
        address=make_address(rng),
        payment_method=rng.choice(PAYMENT_METHODS),
    )


def make_address(rng: random.Random) -> Address:
    city, state, zip_prefix = rng.choice(CITIES)
    return Address(
        street=f"{rng.randint(1, 9899)} {rng.choice(STREET_NAMES)}",
        city=city,
        state=state,
        zip_code=f"{zip_prefix}{rng.randint(0, 99):02d}",
        country="USA",
    )


def tracking_number(rng: random.Random, carrier: str) -> str:
    """A tracking number in the carrier's usual shape."""
    if carrier == "UPS":
        return "1Z" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))
    if carrier == "FedEx":
        return "".join(rng.choices(string.digits, k=12))
    if carrier == "DHL":
        return "".join(rng.choices(string.digits, k=10))
    return "9400" + "".join(rng.choices(string.digits, k=18))  # USPS
