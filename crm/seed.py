"""Deterministic, realistic demo data: the same seed, count and date give the same business."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from .models import (
    CENT,
    PAYMENT_METHODS,
    Customer,
    MarketSegment,
    Product,
    Receipt,
    Sale,
    SaleLine,
    db,
)

SEGMENTS = ("Windows & Doors", "Roofing", "Siding", "Bath Remodel")
PRODUCTS = (
    ("Double-Hung Window", "WIN-DH", "489.00"),
    ("Casement Window", "WIN-CS", "612.50"),
    ("Bay Window", "WIN-BAY", "2450.00"),
    ("Sliding Patio Door", "DR-SLD", "1875.00"),
    ("Fiberglass Entry Door", "DR-FBG", "1340.00"),
    ("Storm Door", "DR-STM", "395.00"),
    ("Window Installation Labor", "LAB-WIN", "145.00"),
    ("Door Installation Labor", "LAB-DR", "260.00"),
    ("Architectural Shingles (square)", "RF-SHG", "118.75"),
    ("Roof Tear-Off (square)", "RF-TRO", "65.00"),
    ("Ice & Water Shield (roll)", "RF-IWS", "92.40"),
    ("Ridge Vent (10 ft)", "RF-RDG", "38.20"),
    ("Gutter (linear ft)", "GT-LF", "11.85"),
    ("Gutter Guard (linear ft)", "GT-GRD", "8.90"),
    ("Vinyl Siding (square)", "SD-VNL", "310.00"),
    ("Fiber Cement Siding (square)", "SD-FBC", "455.00"),
    ("House Wrap (roll)", "SD-WRP", "174.99"),
    ("Soffit & Fascia (linear ft)", "SD-SOF", "14.25"),
    ("Walk-In Shower System", "BA-SHW", "6850.00"),
    ("Tub-to-Shower Conversion", "BA-T2S", "4990.00"),
    ("Grab Bar", "BA-GRB", "89.00"),
    ("Vanity with Top", "BA-VAN", "1249.00"),
    ("Permit and Inspection", "ADM-PRM", "225.00"),
    ("Debris Disposal", "ADM-DSP", "175.00"),
)
FIRST = (
    "William",
    "Patricia",
    "James",
    "Linda",
    "Robert",
    "Barbara",
    "Michael",
    "Susan",
    "David",
    "Jessica",
    "Richard",
    "Sarah",
    "Joseph",
    "Karen",
    "Thomas",
    "Nancy",
    "Charles",
    "Lisa",
    "Daniel",
    "Margaret",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Ashley",
    "Donald",
    "Dorothy",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Ronald",
    "Rebecca",
    "Jason",
    "Laura",
    "Seán",
    "Zoë",
)
LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "O'Brien",
    "Van der Berg",
)
STREETS = (
    "W 1st Ave",
    "N High St",
    "E Broad St",
    "Maple Ave",
    "Oak St",
    "Elm St",
    "Park Rd",
    "Lakeview Dr",
    "Cedar Ln",
    "Sunset Blvd",
    "Hillcrest Dr",
    "Riverside Dr",
    "Main St",
    "Washington St",
    "Church St",
    "Highland Ave",
    "Walnut St",
    "Chestnut St",
)
CITIES = (
    ("Columbus", "OH", "432"),
    ("Dublin", "OH", "430"),
    ("Westerville", "OH", "430"),
    ("Grove City", "OH", "431"),
    ("Delaware", "OH", "430"),
    ("Newark", "OH", "430"),
    ("Lancaster", "OH", "431"),
    ("Marysville", "OH", "430"),
)
AREA_CODES = ("614", "740", "380")
COMPANY_SUFFIX = ("Properties LLC", "Rentals", "Holdings Inc", "Realty", "Property Management")


@dataclass
class SeedCounts:
    segments: int
    products: int
    customers: int
    sales: int
    receipts: int
    adjustments: int


def _phone(rng: random.Random) -> str:
    return f"({rng.choice(AREA_CODES)}) {rng.randint(200, 989)}-{rng.randint(0, 9999):04d}"


def seed(customers: int = 200, seed_value: int = 1, today: date | None = None) -> SeedCounts:
    """Insert the demo business into an empty CRM and return what was created."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Customer)):
        raise ValueError("The CRM already holds customers; demo data goes into an empty one.")
    rng = random.Random(seed_value)
    today = today or date.today()
    segment_ids = list(range(1, len(SEGMENTS) + 1))
    db.session.execute(
        sa.insert(MarketSegment),
        [{"id": i, "name": name} for i, name in zip(segment_ids, SEGMENTS, strict=True)],
    )
    prices = {i: Decimal(p[2]) for i, p in enumerate(PRODUCTS, start=1)}
    db.session.execute(
        sa.insert(Product),
        [
            {"id": i, "name": n, "sku": s, "unit_price": prices[i]}
            for i, (n, s, _) in enumerate(PRODUCTS, start=1)
        ],
    )
    people, sales, lines, receipts = [], [], [], []
    adjustments = 0
    for cid in range(1, customers + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, state, zip3 = rng.choice(CITIES)
        people.append(
            {
                "id": cid,
                "first_name": first,
                "last_name": last,
                "company_name": f"{last} {rng.choice(COMPANY_SUFFIX)}"
                if rng.random() < 0.1
                else None,
                "email": f"{first}.{last}{cid}@example.com".lower()
                .replace(" ", "")
                .replace("'", ""),
                "phone": _phone(rng),
                "alt_phone": _phone(rng) if rng.random() < 0.4 else None,
                "street": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
                "city": city,
                "state": state,
                "postal_code": f"{zip3}{rng.randint(1, 99):02d}",
            }
        )
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            sid = len(sales) + 1
            sold_on = today - timedelta(days=rng.randint(0, 730))
            status = "cancelled" if rng.random() < 0.04 else "sold"
            sales.append(
                {
                    "id": sid,
                    "number": f"S{sid + 100}",
                    "customer_id": cid,
                    "market_segment_id": rng.choice(segment_ids),
                    "sold_on": sold_on,
                    "status": status,
                }
            )
            amount = Decimal("0.00")
            for pid in rng.sample(range(1, len(PRODUCTS) + 1), rng.randint(1, 5)):
                qty = Decimal(rng.choice((1, 1, 1, 2, 3, 4, 6, 10, 12, 25)))
                lines.append(
                    {
                        "id": len(lines) + 1,
                        "sale_id": sid,
                        "product_id": pid,
                        "description": PRODUCTS[pid - 1][0],
                        "quantity": qty,
                        "unit_price": prices[pid],
                    }
                )
                amount += (qty * prices[pid]).quantize(CENT)
            if status == "cancelled":
                continue
            paid = Decimal("0.00")
            if rng.random() < 0.1:
                adj = (amount * Decimal(rng.choice(("0.05", "0.10")))).quantize(CENT)
                receipts.append(
                    _receipt(rng, receipts, cid, sid, sold_on, today, adj, kind="adjustment")
                )
                adjustments += 1
                paid += adj
            plan = rng.random()
            if plan < 0.4:  # paid in full, in one or two receipts
                parts = [amount - paid] if rng.random() < 0.6 else _split(amount - paid)
            elif plan < 0.7:  # partly paid: a deposit
                parts = [
                    ((amount - paid) * Decimal(rng.choice(("0.25", "0.3", "0.5")))).quantize(CENT)
                ]
            else:
                parts = []
            for part in parts:
                receipts.append(_receipt(rng, receipts, cid, sid, sold_on, today, part))
    db.session.execute(sa.insert(Customer), people)
    db.session.execute(sa.insert(Sale), sales)
    db.session.execute(sa.insert(SaleLine), lines)
    if receipts:
        db.session.execute(sa.insert(Receipt), receipts)
    _advance_sequences()
    db.session.commit()
    return SeedCounts(
        len(SEGMENTS),
        len(PRODUCTS),
        len(people),
        len(sales),
        len(receipts) - adjustments,
        adjustments,
    )


def _advance_sequences() -> None:
    """PostgreSQL's id sequences do not see explicit ids; move them past what was inserted."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in (MarketSegment, Product, Customer, Sale, SaleLine, Receipt):
        table = model.__tablename__
        db.session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )
        )


def _split(total: Decimal) -> list[Decimal]:
    first = (total / 2).quantize(CENT)
    return [first, total - first]


def _receipt(
    rng: random.Random,
    receipts: list[dict[str, object]],
    cid: int,
    sid: int,
    sold_on: date,
    today: date,
    amount: Decimal,
    kind: str = "receipt",
) -> dict[str, object]:
    rid = len(receipts) + 1
    received = min(today, sold_on + timedelta(days=rng.randint(0, 45)))
    return {
        "id": rid,
        "number": f"R{rid:03d}",
        "kind": kind,
        "customer_id": cid,
        "sale_id": sid,
        "received_on": received,
        "payment_method": None if kind == "adjustment" else rng.choice(PAYMENT_METHODS),
        "amount": amount,
    }
